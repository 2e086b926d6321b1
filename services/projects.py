"""A governance project's life: 草稿 → 待认领 ⇄ 已认领 → 实施中 → 已完成, or 已关闭.

``PROJECTS`` is the one table of moves (services/transitions.py); the admin shows its
buttons from ``PROJECTS.allowed`` and no form edits the status or the progress. What the
table decides, and why:

- 发布并开放认领 (草稿 → 待认领) makes the project public (``published``) and needs a
  deadline that has not passed.
- 待认领 ⇄ 已认领 follows the slots: SYSTEM moves the claim service makes (``sync_status``)
  whenever live claims or slots change, never a person.
- 开始实施 (已认领 → 实施中) once every slot-holding claim is confirmed: pending claims are
  reviewed first, so a project never starts with a unit nobody accepted.
- 重新开放认领 (实施中 → 待认领) when confirmed units withdrew and left a slot free.
- 标记完成 (实施中 → 已完成) needs a confirmed unit; progress becomes 100 % and stays so
  (progress reports on a finished or closed project are refused; roll-ups skip it).
- 退回草稿 (待认领 → 草稿) only while no claim holds a slot.
- 关闭项目 (any live state → 已关闭) needs a reason. In the same transaction every pending
  claim is rejected with the reason "项目已关闭：…" (its slot is released, the unit sees
  why); confirmed claims stay 已确认 as the record of who took part, and can no longer be
  withdrawn or reported on. Progress keeps its last figure.
"""
from peewee import fn

from models import Claim, ClaimStatus, Project, ProjectStatus, now

from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict
from .stats import on_postgres
from .transitions import RACE, SYSTEM, Machine, Transition

S = ProjectStatus
LIVE = (S.DRAFT, S.OPEN, S.CLAIMED, S.IN_PROGRESS)
FROZEN = (S.DONE, S.CLOSED)  # progress no longer moves
REASON_MAX = 2000


def _claims_by_status(project):
    return dict(Claim.select(Claim.status, fn.COUNT(Claim.id))
                .where(Claim.project == project.id, Claim.status.in_(ClaimStatus.LIVE))
                .group_by(Claim.status).tuples())


def _deadline_ahead(project):
    if project.deadline and project.deadline < now().date():
        return "认领截止日期已过，请先修改截止日期"
    return None


def _ready_to_start(project):
    counts = _claims_by_status(project)
    if counts.get(ClaimStatus.PENDING):
        return f"尚有 {counts[ClaimStatus.PENDING]} 条认领待审核，请先审核"
    if not counts.get(ClaimStatus.CONFIRMED):
        return "还没有已确认的认领单位"
    return None


def _slot_free(project):
    if project.live_claims >= project.slots:
        return "认领名额已满，没有空出的名额"
    return None


def _has_confirmed(project):
    if not _claims_by_status(project).get(ClaimStatus.CONFIRMED):
        return "没有已确认的认领单位"
    return None


def _no_live_claims(project):
    if project.live_claims:
        return f"仍有 {project.live_claims} 个单位的认领占用名额，请先处理这些认领，或关闭项目"
    return None


def _release_claims(moved):
    """关闭项目: reject every pending claim with the reason, in the closing transaction
    (the claim machine's own hook releases each slot)."""
    from . import claims

    project, user = moved.obj, moved.user
    note = f"项目已关闭：{project.close_reason}"[:claims.NOTE_MAX]
    pending = Claim.select().where(Claim.project == project.id, Claim.status == ClaimStatus.PENDING)
    for claim in pending.order_by(Claim.id):
        claims.CLAIMS.move(claim, "reject", user=user, system=True, changes={"project_closed": True},
                           values={"note": note, "reviewed_by": getattr(user, "id", None)})


PROJECTS = Machine(Project, ProjectStatus, [
    Transition("publish", (S.DRAFT,), S.OPEN, "发布并开放认领", "records.manage", stamp="opened_at",
               guard=_deadline_ahead, confirm="发布后项目将在公开网站显示，成员单位即可认领。"),
    Transition("fill", (S.OPEN,), S.CLAIMED, "名额已满", SYSTEM),
    Transition("unfill", (S.CLAIMED,), S.OPEN, "名额空出", SYSTEM),
    Transition("start", (S.CLAIMED,), S.IN_PROGRESS, "开始实施", "records.manage", stamp="started_at",
               guard=_ready_to_start),
    Transition("reopen", (S.IN_PROGRESS,), S.OPEN, "重新开放认领", "records.manage", guard=_slot_free),
    Transition("complete", (S.IN_PROGRESS,), S.DONE, "标记完成", "records.manage", stamp="completed_at",
               guard=_has_confirmed, confirm="标记完成后进度记为 100%，不再接受进展汇报。"),
    Transition("to_draft", (S.OPEN,), S.DRAFT, "退回草稿", "records.manage", guard=_no_live_claims),
    Transition("close", LIVE, S.CLOSED, "关闭项目", "records.manage", stamp="closed_at", ask="关闭原因",
               after=_release_claims,
               confirm="关闭后不再接受认领：待审核的认领将被驳回并释放名额，已确认的认领保留为参与记录。"),
], closed=FROZEN)


def lock(project_id):
    """The project row, locked on PostgreSQL until the caller's transaction ends.

    Every write that touches a project and its claims locks the project first (claiming
    does, by its conditional UPDATE), so they queue in one order and never deadlock.
    """
    query = Project.select().where(Project.id == project_id)
    if on_postgres():
        query = query.for_update()
    return query.first()


def status_for_slots(status, live_claims, slots):
    """待认领 ⇄ 已认领 follows the slots; later states are the machine's other moves."""
    if status == S.OPEN and live_claims >= slots:
        return S.CLAIMED
    if status == S.CLAIMED and live_claims < slots:
        return S.OPEN
    return status


def sync_status(project_id, *, user=None):
    """After live claims or slots changed (in the caller's transaction): fill or unfill."""
    project = Project.get_or_none(Project.id == project_id)
    if project is None:
        return None
    target = status_for_slots(project.status, project.live_claims, project.slots)
    if target != project.status:
        PROJECTS.move(project, "fill" if target == S.CLAIMED else "unfill", user=user, system=True)
    return project


def move(project_id, name, *, user=None, reason=None, expected=None):
    """A clerk's move from the project's buttons; ``reason`` when the move asks for one,
    ``expected`` the status the clerk saw (someone else moved it since: a conflict)."""
    project = get_or_404(Project, project_id, "项目不存在")
    if expected and expected != project.status:
        raise Conflict(RACE.format(noun=PROJECTS.noun))
    transition = PROJECTS.check(project, name, user=user, guard=False)
    values = {}
    if transition.ask:
        reason = clean_text(reason, transition.ask, max_length=REASON_MAX, field="reason")
    if name == "publish":
        values["published"] = True
    elif name == "complete":
        values["progress"] = 100
    elif name == "close":
        values["close_reason"] = reason
    with write_transaction():
        lock(project.id)
        PROJECTS.move(project, name, user=user, values=values)
    return Project.get_by_id(project.id)
