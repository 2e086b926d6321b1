"""Claiming governance projects (认领): the slot rule, in one place.

A live claim (待审核 or 已确认) holds one slot. ``Project.live_claims`` is moved in the
same transaction as the claim by a conditional UPDATE (``… WHERE live_claims < slots``),
and a CHECK constraint backs it, so concurrent claims can never overbook a project on
SQLite or PostgreSQL. A partial unique index keeps one live claim per unit per project.
"""
from peewee import IntegrityError

from models import Claim, ClaimStatus, ProgressReport, Project, ProjectStatus, db, now

from . import audit
from .errors import Conflict, Forbidden, NotFound, ServiceError

CLAIMABLE = (ProjectStatus.OPEN,)
PLAN_MAX = 2000

# claim state machine: (from, to) pairs allowed, and who may make the move
CLAIM_MOVES = {
    (ClaimStatus.PENDING, ClaimStatus.CONFIRMED): "review",
    (ClaimStatus.PENDING, ClaimStatus.REJECTED): "review",
    (ClaimStatus.PENDING, ClaimStatus.WITHDRAWN): "owner",
    (ClaimStatus.CONFIRMED, ClaimStatus.WITHDRAWN): "owner",
}


def _sync_project_status(project_id):
    """待认领 ⇄ 已认领 follows the slots; later states are the clerks' to set."""
    Project.update(status=ProjectStatus.CLAIMED, updated_at=now()).where(
        Project.id == project_id, Project.status == ProjectStatus.OPEN,
        Project.live_claims >= Project.slots).execute()
    Project.update(status=ProjectStatus.OPEN, updated_at=now()).where(
        Project.id == project_id, Project.status == ProjectStatus.CLAIMED,
        Project.live_claims < Project.slots).execute()


def claim_project(project_id, unit, plan, *, user=None):
    """Reserve a slot for ``unit`` on the project; returns the pending Claim."""
    plan = (plan or "").strip()
    if not plan:
        raise ServiceError("请填写认领说明", field="plan")
    if len(plan) > PLAN_MAX:
        raise ServiceError(f"认领说明不能超过 {PLAN_MAX} 字", field="plan")
    if unit is None:
        raise Forbidden("只有成员单位账号可以认领项目")
    project = Project.get_or_none(Project.id == project_id)
    if project is None or not project.published:
        raise NotFound("项目不存在或尚未发布")
    if project.status not in CLAIMABLE and project.status != ProjectStatus.CLAIMED:
        raise Conflict(f"该项目当前状态为“{ProjectStatus.label(project.status)}”，不能认领")
    if project.deadline and project.deadline < now().date():
        raise Conflict("该项目已过认领截止日期")
    try:
        with db.atomic():
            if Claim.select().where(Claim.project == project.id, Claim.unit == unit.id,
                                    Claim.status.in_(ClaimStatus.LIVE)).exists():
                raise Conflict("贵单位已认领该项目，请勿重复认领")
            taken = (Project.update(live_claims=Project.live_claims + 1, updated_at=now())
                     .where(Project.id == project.id, Project.live_claims < Project.slots,
                            Project.status.in_(CLAIMABLE))
                     .execute())
            if not taken:
                raise Conflict("名额已满")
            claim = Claim.create(project=project.id, unit=unit.id, plan=plan)
            _sync_project_status(project.id)
            audit.record("claim", claim, changes={"project": project.id, "unit": unit.id}, user=user)
    except IntegrityError:
        # the partial unique index or the CHECK caught a concurrent duplicate
        raise Conflict("贵单位已认领该项目，或名额已满")
    return claim


def _move(claim, to_status, *, note=None, user=None, reviewer=False):
    if (claim.status, to_status) not in CLAIM_MOVES:
        raise Conflict(f"认领当前为“{ClaimStatus.label(claim.status)}”，不能改为“{ClaimStatus.label(to_status)}”")
    frees_slot = claim.status in ClaimStatus.LIVE and to_status not in ClaimStatus.LIVE
    with db.atomic():
        changes = {"status": [claim.status, to_status]}
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
        audit.record(to_status, claim, changes=changes, user=user)
    return Claim.get_by_id(claim.id)


def get_own_claim(claim_id, unit):
    """The unit's own claim, or 404 (never reveals another unit's claim exists)."""
    claim = Claim.get_or_none(Claim.id == claim_id)
    if claim is None or unit is None or claim.unit_id != unit.id:
        raise NotFound("认领记录不存在")
    return claim


def withdraw_claim(claim_id, unit, *, user=None):
    claim = get_own_claim(claim_id, unit)
    return _move(claim, ClaimStatus.WITHDRAWN, user=user)


def confirm_claim(claim_id, *, user, note=None):
    claim = Claim.get_or_none(Claim.id == claim_id)
    if claim is None:
        raise NotFound("认领记录不存在")
    return _move(claim, ClaimStatus.CONFIRMED, note=note, user=user, reviewer=True)


def reject_claim(claim_id, *, user, reason):
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("驳回时必须填写原因", field="reason")
    claim = Claim.get_or_none(Claim.id == claim_id)
    if claim is None:
        raise NotFound("认领记录不存在")
    return _move(claim, ClaimStatus.REJECTED, note=reason[:2000], user=user, reviewer=True)


def report_progress(claim_id, unit, text, percent, *, user=None):
    claim = get_own_claim(claim_id, unit)
    if claim.status != ClaimStatus.CONFIRMED:
        raise Conflict("只有已确认的认领可以汇报进展")
    text = (text or "").strip()
    if not text:
        raise ServiceError("请填写进展内容", field="text")
    if len(text) > 5000:
        raise ServiceError("进展内容不能超过 5000 字", field="text")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        raise ServiceError("完成进度必须是 0 到 100 的整数", field="percent")
    if not 0 <= percent <= 100:
        raise ServiceError("完成进度必须是 0 到 100 的整数", field="percent")
    with db.atomic():
        report = ProgressReport.create(claim=claim.id, text=text, percent=percent)
        audit.record("progress", report, changes={"claim": claim.id, "percent": percent}, user=user)
    return report
