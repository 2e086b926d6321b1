"""Claiming governance projects (认领): the slot rule, in one place.

A live claim (待审核 or 已确认) holds one slot. ``Project.live_claims`` is moved in the
same transaction as the claim by a conditional UPDATE (``… WHERE live_claims < slots``),
and a CHECK constraint backs it, so concurrent claims can never overbook a project on
SQLite or PostgreSQL. A partial unique index keeps one live claim per unit per project.

Admin, public pages and the API all call these functions; none of them writes a
claim's status or a project's ``live_claims`` any other way.
"""
from peewee import IntegrityError

from models import (Claim, ClaimStatus, MemberUnit, ProgressReport, Project, ProjectStatus,
                    UnitStatus, db, now)

from . import audit
from .common import get_or_404, write_transaction
from .errors import Conflict, Forbidden, NotFound, ServiceError

CLAIMABLE = (ProjectStatus.OPEN,)
# what the public may see of a project: published and past the draft stage
PUBLIC_STATUSES = (ProjectStatus.OPEN, ProjectStatus.CLAIMED, ProjectStatus.IN_PROGRESS,
                   ProjectStatus.DONE, ProjectStatus.CLOSED)
PLAN_MAX = 2000
NOTE_MAX = 2000
REPORT_MAX = 5000
FULL = "名额已满"
DUPLICATE = "贵单位已认领该项目，请勿重复认领"

# claim state machine: (from, to) pairs allowed, and who may make the move
CLAIM_MOVES = {
    (ClaimStatus.PENDING, ClaimStatus.CONFIRMED): "review",
    (ClaimStatus.PENDING, ClaimStatus.REJECTED): "review",
    (ClaimStatus.PENDING, ClaimStatus.WITHDRAWN): "owner",
    (ClaimStatus.CONFIRMED, ClaimStatus.WITHDRAWN): "owner",
}


def public_projects():
    """Projects anyone may see: published and no longer a draft."""
    return Project.select().where(Project.published == True,  # noqa: E712
                                  Project.status.in_(PUBLIC_STATUSES))


def get_public_project(project_id):
    return get_or_404(Project, project_id, "项目不存在或尚未发布", query=public_projects())


def status_for_slots(status, live_claims, slots):
    """待认领 ⇄ 已认领 follows the slots; later states are the clerks' to set."""
    if status == ProjectStatus.OPEN and live_claims >= slots:
        return ProjectStatus.CLAIMED
    if status == ProjectStatus.CLAIMED and live_claims < slots:
        return ProjectStatus.OPEN
    return status


def _sync_project_status(project_id):
    Project.update(status=ProjectStatus.CLAIMED, updated_at=now()).where(
        Project.id == project_id, Project.status == ProjectStatus.OPEN,
        Project.live_claims >= Project.slots).execute()
    Project.update(status=ProjectStatus.OPEN, updated_at=now()).where(
        Project.id == project_id, Project.status == ProjectStatus.CLAIMED,
        Project.live_claims < Project.slots).execute()


def claim_refusal(project, unit):
    """Why ``unit`` cannot claim ``project`` right now (a Chinese sentence), or None.

    Used to decide whether to show the claim form; ``claim_project`` re-checks
    everything under the write lock.
    """
    if unit is None:
        return "只有成员单位账号可以认领项目"
    if unit.status != UnitStatus.ACTIVE:
        return f"贵单位当前状态为“{UnitStatus.label(unit.status)}”，不能认领项目"
    if project.status == ProjectStatus.CLAIMED or (
            project.status in CLAIMABLE and project.live_claims >= project.slots):
        return FULL
    if project.status not in CLAIMABLE:
        return f"该项目当前状态为“{ProjectStatus.label(project.status)}”，不能认领"
    if project.deadline and project.deadline < now().date():
        return "该项目已过认领截止日期"
    return None


def live_claim_of(project, unit):
    if unit is None:
        return None
    return (Claim.select().where(Claim.project == project.id, Claim.unit == unit.id,
                                 Claim.status.in_(ClaimStatus.LIVE)).first())


def claim_project(project_id, unit, plan, *, user=None):
    """Reserve a slot for ``unit`` on the project; returns the pending Claim.

    Raises NotFound (missing or unpublished), Forbidden (not an active unit),
    Conflict (full: "名额已满", closed, past the deadline, or a duplicate) or
    ServiceError (the plan is missing or too long). Nothing is written on error.
    """
    if unit is None:
        raise Forbidden("只有成员单位账号可以认领项目")
    project = get_public_project(project_id)
    plan = (plan or "").strip()
    if not plan:
        raise ServiceError("请填写认领说明", field="plan")
    if len(plan) > PLAN_MAX:
        raise ServiceError(f"认领说明不能超过 {PLAN_MAX} 字", field="plan")
    unit = MemberUnit.get_or_none(MemberUnit.id == unit.id)
    if unit is None:
        raise Forbidden("只有成员单位账号可以认领项目")
    refusal = claim_refusal(project, unit)
    if refusal == FULL:
        # Full as just read: refused without taking the write lock, as every loser of a
        # claim storm is once the winner has committed (the refusal is as true as one
        # made under the lock a moment earlier). A unit holding one of the slots is
        # told it has claimed already.
        raise Conflict(DUPLICATE if live_claim_of(project, unit) is not None else FULL)
    if refusal:
        status = 403 if unit.status != UnitStatus.ACTIVE else 409
        raise ServiceError(refusal, status=status)
    try:
        with write_transaction():
            # The write comes first: on PostgreSQL the row lock it takes orders
            # concurrent claims on this project, so the duplicate check below sees
            # every claim committed before ours (READ COMMITTED, new snapshot).
            taken = (Project.update(live_claims=Project.live_claims + 1, updated_at=now())
                     .where(Project.id == project.id, Project.live_claims < Project.slots,
                            Project.status.in_(CLAIMABLE), Project.published == True)  # noqa: E712
                     .execute())
            if live_claim_of(project, unit) is not None:
                raise Conflict(DUPLICATE)
            if not taken:
                raise Conflict(FULL)
            claim = Claim.create(project=project.id, unit=unit.id, plan=plan)
            _sync_project_status(project.id)
            audit.record("claim", claim, changes={"project": project.id, "unit": unit.id}, user=user)
    except IntegrityError as exc:
        # the partial unique index or the CHECK caught what slipped past the checks
        text = str(exc).lower()
        raise Conflict(DUPLICATE if "unique" in text or "duplicate" in text else FULL)
    return claim


def _move(claim, to_status, *, note=None, user=None, reviewer=False):
    if (claim.status, to_status) not in CLAIM_MOVES:
        raise Conflict(f"认领当前为“{ClaimStatus.label(claim.status)}”，不能改为“{ClaimStatus.label(to_status)}”")
    frees_slot = claim.status in ClaimStatus.LIVE and to_status not in ClaimStatus.LIVE
    with write_transaction():
        changes = {"status": [claim.status, to_status]}
        if note is not None:
            changes["note"] = note
        updated = (Claim.update(status=to_status, note=note if note is not None else Claim.note,
                                reviewed_by=(user.id if reviewer and user else Claim.reviewed_by),
                                reviewed_at=(now() if reviewer else Claim.reviewed_at),
                                updated_at=now())
                   .where(Claim.id == claim.id, Claim.status == claim.status).execute())
        if not updated:
            raise Conflict("该认领刚被他人处理，请刷新后重试")
        if frees_slot:
            Project.update(live_claims=Project.live_claims - 1, updated_at=now()).where(
                Project.id == claim.project_id).execute()
        _sync_project_status(claim.project_id)
        if ClaimStatus.CONFIRMED in (claim.status, to_status):
            roll_up_progress(claim.project_id)
        audit.record(to_status, claim, changes=changes, user=user)
    return Claim.get_by_id(claim.id)


def _get_claim(claim_id):
    return get_or_404(Claim, claim_id, "认领记录不存在")


def get_own_claim(claim_id, unit):
    """The unit's own claim, or 404 (never reveals another unit's claim exists)."""
    try:
        claim = _get_claim(claim_id)
    except NotFound:
        claim = None
    if claim is None or unit is None or claim.unit_id != unit.id:
        raise NotFound("认领记录不存在")
    return claim


def withdraw_claim(claim_id, unit, *, user=None):
    claim = get_own_claim(claim_id, unit)
    return _move(claim, ClaimStatus.WITHDRAWN, user=user)


def confirm_claim(claim_id, *, user, note=None):
    note = (note or "").strip()[:NOTE_MAX] or None
    return _move(_get_claim(claim_id), ClaimStatus.CONFIRMED, note=note, user=user, reviewer=True)


def reject_claim(claim_id, *, user, reason):
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("驳回时必须填写原因", field="reason")
    if len(reason) > NOTE_MAX:
        raise ServiceError(f"驳回原因不能超过 {NOTE_MAX} 字", field="reason")
    return _move(_get_claim(claim_id), ClaimStatus.REJECTED, note=reason, user=user, reviewer=True)


def review_claims(claim_ids, decision, *, user, note=None):
    """Confirm or reject several claims, each in its own transaction.

    Returns (done, failures) where failures is a list of (claim_id, message): one
    claim already handled by someone else does not undo the others.
    """
    if decision not in ("confirm", "reject"):
        raise ServiceError("未知的审核操作")
    if decision == "reject" and not (note or "").strip():
        raise ServiceError("驳回时必须填写原因", field="reason")
    done, failures = [], []
    for claim_id in claim_ids:
        try:
            if decision == "confirm":
                done.append(confirm_claim(claim_id, user=user, note=note))
            else:
                done.append(reject_claim(claim_id, user=user, reason=note))
        except ServiceError as exc:
            failures.append((claim_id, exc.message))
    return done, failures


def annotate_claim(claim_id, note, *, user=None):
    """Change only a claim's note (审核意见); status, project and unit stay as they are."""
    claim = _get_claim(claim_id)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(f"审核意见不能超过 {NOTE_MAX} 字", field="note")
    with db.atomic():
        Claim.update(note=note or None, updated_at=now()).where(Claim.id == claim.id).execute()
        audit.record("update", claim, changes={"note": [claim.note, note or None]}, user=user)
    return Claim.get_by_id(claim.id)


def report_progress(claim_id, unit, text, percent, *, user=None):
    """A progress report (进展) on the unit's own confirmed claim."""
    claim = get_own_claim(claim_id, unit)
    return _add_report(claim, text, percent, user=user)


def record_progress(claim_id, text, percent, *, user, reported_on=None):
    """A clerk records progress on a unit's behalf (same rules as the unit's own report)."""
    return _add_report(_get_claim(claim_id), text, percent, user=user, reported_on=reported_on)


def roll_up_progress(project_id):
    """The project's progress follows its units' reports: the mean of the latest percent
    of each confirmed claim (a claim with no report yet counts 0). With no confirmed
    claim the clerk's figure stands."""
    confirmed = [pk for (pk,) in Claim.select(Claim.id).where(
        Claim.project == project_id, Claim.status == ClaimStatus.CONFIRMED).tuples()]
    if not confirmed:
        return
    latest = dict(ProgressReport.select(ProgressReport.claim, ProgressReport.percent)
                  .where(ProgressReport.claim.in_(confirmed))
                  .order_by(ProgressReport.reported_on, ProgressReport.id).tuples())
    progress = round(sum(latest.get(pk, 0) for pk in confirmed) / len(confirmed))
    Project.update(progress=progress, updated_at=now()).where(Project.id == project_id).execute()


def _add_report(claim, text, percent, *, user=None, reported_on=None):
    if claim.status != ClaimStatus.CONFIRMED:
        raise Conflict("只有已确认的认领可以汇报进展")
    text = (text or "").strip()
    if not text:
        raise ServiceError("请填写进展内容", field="text")
    if len(text) > REPORT_MAX:
        raise ServiceError(f"进展内容不能超过 {REPORT_MAX} 字", field="text")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        raise ServiceError("完成进度必须是 0 到 100 的整数", field="percent")
    if not 0 <= percent <= 100:
        raise ServiceError("完成进度必须是 0 到 100 的整数", field="percent")
    with write_transaction():
        report = ProgressReport.create(claim=claim.id, text=text, percent=percent,
                                       reported_on=reported_on or now().date())
        roll_up_progress(claim.project_id)
        audit.record("progress", report, changes={"claim": claim.id, "percent": percent}, user=user)
    return report
