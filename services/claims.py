"""Claiming governance projects (认领): the slot rule, in one place.

A live claim (待审核 or 已确认) holds one slot. ``Project.live_claims`` is moved in the
same transaction as the claim by a conditional UPDATE (``… WHERE live_claims < slots``),
and a CHECK constraint backs it, so concurrent claims can never overbook a project on
SQLite or PostgreSQL. A partial unique index keeps one live claim per unit per project.

Every status change is a move of ``CLAIMS`` (services/transitions.py); its ``after`` hook
keeps the slot counter, the project's 待认领 ⇄ 已认领 and its progress in the same
transaction, whichever path moved the claim (a unit, a clerk, a project being closed).

A unit withdraws a pending claim with one tap; a confirmed claim only with a reason, and
then it waits in the clerks' 撤回待知悉 queue (``needs_ack``) until one acknowledges it.

Admin, public pages and the API all call these functions; none of them writes a
claim's status or a project's ``live_claims`` any other way.
"""
from peewee import IntegrityError

from models import (Claim, ClaimStatus, MemberUnit, ProgressReport, Project, ProjectStatus, Role,
                    UnitStatus, User, db, now, statements)
from models.bounds import parse_id

from . import audit, notices, projects
from .common import get_or_404, write_transaction
from .errors import Conflict, Forbidden, NotFound, ServiceError
from .transitions import Machine, Transition

CLAIMABLE = (ProjectStatus.OPEN,)
# what the public may see of a project: published and past the draft stage
PUBLIC_STATUSES = (ProjectStatus.OPEN, ProjectStatus.CLAIMED, ProjectStatus.IN_PROGRESS,
                   ProjectStatus.DONE, ProjectStatus.CLOSED)
PLAN_MAX = 2000
NOTE_MAX = 2000
REPORT_MAX = 5000
ACK_QUEUE_PATH = "/admin/withdrawn_claim/"  # the clerks' 撤回待知悉 queue
FULL = "名额已满"
DUPLICATE = "贵单位已认领该项目，请勿重复认领"

def public_projects():
    """Projects anyone may see: published and no longer a draft."""
    return Project.select().where(Project.published == True,  # noqa: E712
                                  Project.status.in_(PUBLIC_STATUSES))


def get_public_project(project_id):
    """The public project (404 otherwise). Every project page and every claim reads it —
    the whole of a claim storm — so its SQL text is generated once (models/statements.py)."""
    record_id = parse_id(project_id)
    if record_id is None:
        raise NotFound("项目不存在或尚未发布")
    query = public_projects().where(Project.id == record_id).limit(1)
    params = [True, *PUBLIC_STATUSES, record_id, 1]
    project = next(iter(statements.rows("public_project", query, params)), None)
    if project is None:
        raise NotFound("项目不存在或尚未发布")
    return project


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
    """The unit's live claim on the project (its id and status only), or None."""
    if unit is None:
        return None
    query = (Claim.select(Claim.id, Claim.status)
             .where(Claim.project == project.id, Claim.unit == unit.id, Claim.status.in_(ClaimStatus.LIVE))
             .limit(1))
    params = [project.id, unit.id, *ClaimStatus.LIVE, 1]
    return next(iter(statements.rows("live_claim_of", query, params)), None)


def claim_project(project_id, unit, plan, *, user=None, unit_fresh=False):
    """Reserve a slot for ``unit`` on the project; returns the pending Claim.

    Raises NotFound (missing or unpublished), Forbidden (not an active unit),
    Conflict (full: "名额已满", closed, past the deadline, or a duplicate) or
    ServiceError (the plan is missing or too long). Nothing is written on error.
    A "名额已满" / duplicate refusal carries the project as read (``record``) and the
    unit's live claim on it or None (``own_claim``), for the page that says so.

    ``unit_fresh``: the caller read ``unit`` from the database in this request (the
    session loader reads the account's unit), so it is not read again; otherwise the
    unit's status is read afresh here.
    """
    if unit is None:
        raise Forbidden("只有成员单位账号可以认领项目")
    project = get_public_project(project_id)
    plan = (plan or "").strip()
    if not plan:
        raise ServiceError("请填写认领说明", field="plan")
    if len(plan) > PLAN_MAX:
        raise ServiceError(f"认领说明不能超过 {PLAN_MAX} 字", field="plan")
    if not unit_fresh:
        unit = MemberUnit.get_or_none(MemberUnit.id == unit.id)
    if unit is None:
        raise Forbidden("只有成员单位账号可以认领项目")
    refusal = claim_refusal(project, unit)
    if refusal == FULL:
        # Full as just read: refused without taking the write lock, as every loser of a
        # claim storm is once the winner has committed (the refusal is as true as one
        # made under the lock a moment earlier). A unit holding one of the slots is
        # told it has claimed already.
        own_claim = live_claim_of(project, unit)
        refused = Conflict(DUPLICATE if own_claim is not None else FULL)
        refused.record = project  # as just read: the page that says so shows it …
        refused.own_claim = own_claim  # … and the unit's own claim on it, read once
        raise refused
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
            projects.sync_status(project.id, user=user)
            audit.record("claim", claim, changes={"project": project.id, "unit": unit.id}, user=user)
    except IntegrityError as exc:
        # the partial unique index or the CHECK caught what slipped past the checks
        text = str(exc).lower()
        raise Conflict(DUPLICATE if "unique" in text or "duplicate" in text else FULL)
    return claim


def _project_running(claim):
    status = claim.project.status  # joined by list pages; read afresh under the lock by move()
    if status in projects.FROZEN:
        return f"项目{ProjectStatus.label(status)}，认领不能再撤回"
    return None


def _after_move(moved):
    """In the move's transaction: a claim leaving 待审核/已确认 frees its slot; the
    project follows its slots; progress follows the confirmed claims."""
    claim, source, target = moved.obj, moved.source, moved.transition.target
    if source in ClaimStatus.LIVE and target not in ClaimStatus.LIVE:
        Project.update(live_claims=Project.live_claims - 1, updated_at=now()).where(
            Project.id == claim.project_id).execute()
    projects.sync_status(claim.project_id, user=moved.user)
    if ClaimStatus.CONFIRMED in (source, target):
        roll_up_progress(claim.project_id)


def _tell_the_clerks(moved):
    """A confirmed claim withdrawn: beside the 撤回待知悉 queue, a notice to every active
    clerk and admin, written in the withdrawal's transaction."""
    claim = moved.obj
    staff = [pk for (pk,) in User.select(User.id).where(
        User.role.in_((Role.ADMIN, Role.CLERK)), User.active == True).tuples()]  # noqa: E712
    unit = MemberUnit.get_by_id(claim.unit_id).name
    project = Project.get_by_id(claim.project_id).title
    notices.notify("claim_withdrawn", title=f"{unit}撤回了已确认的认领", users=staff, subject=claim,
                   body=f"{unit}撤回了对“{project}”的认领（已确认）。原因：{claim.withdraw_reason or '未说明'}",
                   link=ACK_QUEUE_PATH)


C = ClaimStatus
CLAIMS = Machine(Claim, ClaimStatus, [
    Transition("confirm", (C.PENDING,), C.CONFIRMED, "确认认领", "records.manage", stamp="reviewed_at",
               audit=C.CONFIRMED),
    Transition("reject", (C.PENDING,), C.REJECTED, "驳回认领", "records.manage", stamp="reviewed_at",
               audit=C.REJECTED, ask="驳回原因"),
    Transition("withdraw", (C.PENDING,), C.WITHDRAWN, "撤回认领", "claims.owner", stamp="withdrawn_at",
               audit=C.WITHDRAWN),
    Transition("withdraw_confirmed", (C.CONFIRMED,), C.WITHDRAWN, "撤回认领", "claims.owner",
               stamp="withdrawn_at", audit=C.WITHDRAWN, ask="撤回原因", guard=_project_running,
               after=_tell_the_clerks, confirm="该认领已经工作人员确认，项目可能已在实施。撤回后名额将释放，工作人员会收到提醒。"),
], refusal="认领当前为“{state}”，不能改为“{target}”", after=_after_move)


def _tell_the_unit(moved):
    """A claim confirmed or rejected (by a clerk, or by a project being closed): the
    unit's accounts hear of it, with the reason, in the move's transaction."""
    name = moved.transition.name
    if name not in ("confirm", "reject"):
        return
    claim = Claim.get_by_id(moved.obj.id)
    users = notices.unit_user_ids(claim.unit_id)
    if not users:
        return
    project = Project.get_by_id(claim.project_id).title
    link = f"/my/claims/{claim.id}"
    if name == "confirm":
        note = f"审核意见：{claim.note}" if claim.note else "请按认领说明推进实施，并及时汇报进展。"
        notices.notify("claim_confirmed", title=f"认领已确认：{project}"[:100], users=users, subject=claim,
                       link=link, body=f"贵单位对“{project}”的认领已确认。{note}")
    else:
        notices.notify("claim_rejected", title=f"认领未通过：{project}"[:100], users=users, subject=claim,
                       link=link, body=f"贵单位对“{project}”的认领已被驳回。原因：{claim.note or '未说明'}")


CLAIMS.add_after(_tell_the_unit)


def _move(claim, name, *, user=None, values=None):
    """One claim move, the project row locked first (the order every claim write keeps)."""
    with write_transaction():
        projects.lock(claim.project_id)
        CLAIMS.move(claim, name, user=user, values=values)
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


def withdraw_move(claim):
    """Which withdrawal a claim in this state takes: one tap, or with a reason."""
    return "withdraw_confirmed" if claim.status == ClaimStatus.CONFIRMED else "withdraw"


def withdraw_claim(claim_id, unit, *, user=None, reason=None):
    """The unit withdraws its claim: a pending one with one tap (reason optional), a
    confirmed one only with a reason, and then the clerks are asked to take note."""
    claim = get_own_claim(claim_id, unit)
    name = withdraw_move(claim)
    CLAIMS.check(claim, name, user=user, guard=False)
    reason = (reason or "").strip()
    if name == "withdraw_confirmed" and not reason:
        raise ServiceError("该认领已经确认，撤回时必须填写原因", field="reason")
    if len(reason) > NOTE_MAX:
        raise ServiceError(f"撤回原因不能超过 {NOTE_MAX} 字", field="reason")
    values = {"withdraw_reason": reason or None}
    if name == "withdraw_confirmed":
        values["needs_ack"] = True
    return _move(claim, name, user=user, values=values)


def confirm_claim(claim_id, *, user, note=None):
    note = (note or "").strip()[:NOTE_MAX] or None
    claim = _get_claim(claim_id)
    CLAIMS.check(claim, "confirm", user=user, guard=False)
    values = {"reviewed_by": user.id if user else None}
    if note is not None:
        values["note"] = note
    return _move(claim, "confirm", user=user, values=values)


def reject_claim(claim_id, *, user, reason):
    claim = _get_claim(claim_id)
    CLAIMS.check(claim, "reject", user=user, guard=False)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("驳回时必须填写原因", field="reason")
    if len(reason) > NOTE_MAX:
        raise ServiceError(f"驳回原因不能超过 {NOTE_MAX} 字", field="reason")
    return _move(claim, "reject", user=user, values={"note": reason, "reviewed_by": user.id if user else None})


def withdrawals_to_acknowledge():
    """撤回待知悉: confirmed claims their units withdrew, not yet seen by a clerk."""
    return Claim.select().where(Claim.needs_ack == True)  # noqa: E712


def acknowledge_withdrawals(claim_ids, *, user):
    """A clerk takes note of withdrawn confirmed claims; returns (done, failures)."""
    done, failures = [], []
    for claim_id in claim_ids:
        try:
            claim = _get_claim(claim_id)
        except NotFound as exc:
            failures.append((claim_id, exc.message))
            continue
        with write_transaction():
            taken = (Claim.update(needs_ack=False, acknowledged_at=now(), acknowledged_by=user.id,
                                  updated_at=now())
                     .where(Claim.id == claim.id, Claim.needs_ack == True).execute())  # noqa: E712
            if taken:
                audit.record("acknowledge", claim, user=user,
                             changes={"needs_ack": [True, False], "withdraw_reason": claim.withdraw_reason})
        if taken:
            done.append(claim.id)
        else:
            failures.append((claim.id, "该撤回无需知悉或已由他人知悉"))
    return done, failures


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
    claim the last figure stands; a finished or closed project's figure is frozen."""
    confirmed = [pk for (pk,) in Claim.select(Claim.id).where(
        Claim.project == project_id, Claim.status == ClaimStatus.CONFIRMED).tuples()]
    if not confirmed:
        return
    latest = dict(ProgressReport.select(ProgressReport.claim, ProgressReport.percent)
                  .where(ProgressReport.claim.in_(confirmed))
                  .order_by(ProgressReport.reported_on, ProgressReport.id).tuples())
    progress = round(sum(latest.get(pk, 0) for pk in confirmed) / len(confirmed))
    Project.update(progress=progress, updated_at=now()).where(
        Project.id == project_id, Project.status.not_in(projects.FROZEN)).execute()


def _clean_report(text, percent):
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
    return text, percent


def _refuse_frozen(project):
    if project is not None and project.status in projects.FROZEN:
        raise Conflict(f"项目{ProjectStatus.label(project.status)}，不能再汇报进展")


def _add_report(claim, text, percent, *, user=None, reported_on=None):
    if claim.status != ClaimStatus.CONFIRMED:
        raise Conflict("只有已确认的认领可以汇报进展")
    text, percent = _clean_report(text, percent)
    with write_transaction():
        _refuse_frozen(projects.lock(claim.project_id))
        # re-read under the project's lock: a withdrawal in between is seen
        if Claim.select(Claim.status).where(Claim.id == claim.id).scalar() != ClaimStatus.CONFIRMED:
            raise Conflict("只有已确认的认领可以汇报进展")
        report = ProgressReport.create(claim=claim.id, text=text, percent=percent,
                                       reported_on=reported_on or now().date())
        roll_up_progress(claim.project_id)
        audit.record("progress", report, changes={"claim": claim.id, "percent": percent}, user=user)
    return report


def edit_report(report_id, text, percent, reported_on=None, *, user=None):
    """A clerk corrects a progress report (text, percent, date; never its claim); the
    project's progress is recomputed in the same transaction."""
    report = get_or_404(ProgressReport, report_id, "进展记录不存在")
    text, percent = _clean_report(text, percent)
    claim = Claim.get_by_id(report.claim_id)
    with write_transaction():
        projects.lock(claim.project_id)
        before = {"text": report.text, "percent": report.percent, "reported_on": report.reported_on}
        after = {"text": text, "percent": percent, "reported_on": reported_on or report.reported_on}
        ProgressReport.update(updated_at=now(), **after).where(ProgressReport.id == report.id).execute()
        roll_up_progress(claim.project_id)
        audit.record("update", report, user=user,
                     changes={k: [audit._plain(before[k]), audit._plain(v)] for k, v in after.items()
                              if audit._plain(before[k]) != audit._plain(v)})
    return ProgressReport.get_by_id(report.id)
