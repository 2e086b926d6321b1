"""Work orders in the closed loop 接单—派单—办单—评单, with 二次办理 and 撤销.

``MOVES`` is the one table of allowed transitions; every change of state goes through
``move()``, which checks it, stamps the time, writes the audit row and refuses
anything else with a Chinese message.
"""
import datetime as dt
from collections import namedtuple

from peewee import IntegrityError, fn

from models import Grid, MemberUnit, OrderCategory, OrderStatus, Rating, Volunteer, WorkOrder, db, now
from models.fields import PHONE_RE
from models.workorders import Channel

from . import audit
from .common import clean_text, get_or_404
from .errors import Conflict, NotFound, ServiceError

Move = namedtuple("Move", "sources target label stamp")

OPEN = (OrderStatus.ACCEPTED, OrderStatus.DISPATCHED, OrderStatus.REDO)
# 已办结 awaits the resident's rating but the work is done: it counts as closed.
CLOSED = (OrderStatus.RESOLVED, OrderStatus.RATED, OrderStatus.REVOKED)

# action → which states it may start from, where it goes, its Chinese label, the timestamp column
MOVES = {
    "dispatch": Move((OrderStatus.ACCEPTED, OrderStatus.REDO), OrderStatus.DISPATCHED, "派单", "dispatched_at"),
    "resolve": Move((OrderStatus.DISPATCHED,), OrderStatus.RESOLVED, "办结", "resolved_at"),
    "rate": Move((OrderStatus.RESOLVED,), OrderStatus.RATED, "评价", "rated_at"),
    # only an unsatisfied rating reopens an order (checked in ``_guard``)
    "redo": Move((OrderStatus.RATED,), OrderStatus.REDO, "二次办理", "reopened_at"),
    "revoke": Move(OPEN, OrderStatus.REVOKED, "撤销", "revoked_at"),
}


def allowed_actions(order):
    """The moves the list may offer for this order right now."""
    return [name for name, m in MOVES.items() if order.status in m.sources and _guard(order, name) is None]


def _guard(order, action):
    if action == "redo" and order.rating != Rating.UNSATISFIED:
        return "工单已关闭（已评价），不能二次办理：只有评价为“不满意”的工单才能启动二次办理"
    return None


def _get(order_id):
    return get_or_404(WorkOrder, order_id, "工单不存在")


def _fk(model, value, label):
    if value in (None, ""):
        return None
    try:
        return get_or_404(model, value, f"所选{label}不存在").id
    except NotFound as exc:
        raise ServiceError(exc.message)


def next_number(day=None):
    day = day or now().date()
    prefix = f"GD{day:%Y%m%d}"
    last = WorkOrder.select(fn.MAX(WorkOrder.number)).where(WorkOrder.number.startswith(prefix)).scalar()
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def validate_fields(*, channel, requester_name, requester_phone=None, category, description, grid=None, due_at=None):
    """The fields of a new order, checked; returns the clean dict."""
    if channel not in Channel.codes():
        raise ServiceError("请选择来源渠道", field="channel")
    if category not in OrderCategory.codes():
        raise ServiceError("请选择诉求类别", field="category")
    name = clean_text(requester_name, "诉求人姓名", max_length=30)
    phone = (requester_phone or "").strip() or None
    if phone and not PHONE_RE.match(phone):
        raise ServiceError("请输入有效的手机号（11位）或座机号（区号-号码）", field="requester_phone")
    if due_at is not None and not isinstance(due_at, dt.datetime):
        raise ServiceError("办理时限格式不正确", field="due_at")
    return {"channel": channel, "requester_name": name, "requester_phone": phone, "category": category,
            "description": clean_text(description, "诉求内容", max_length=5000), "grid": _fk(Grid, grid, "网格"),
            "due_at": due_at}


def create_order(*, user=None, **fields):
    """接单: a new order in 已受理."""
    clean = validate_fields(**fields)
    for _attempt in range(3):
        try:
            with db.atomic():
                order = WorkOrder.create(number=next_number(), status=OrderStatus.ACCEPTED,
                                         accepted_at=now(), **clean)
                audit.record("create", order, user=user, changes={**clean, "status": OrderStatus.ACCEPTED})
            return order
        except IntegrityError:
            continue  # two clerks took the same number at once; take the next
    raise Conflict("工单编号冲突，请重试")


def move(order_id, action, *, user=None, unit=None, volunteer=None, worker=None, result=None,
         rating=None, note=None, reason=None):
    """Make one move of ``MOVES`` or refuse it; returns the updated order."""
    order = _get(order_id)
    spec = MOVES.get(action)
    if spec is None:
        raise ServiceError("不支持的工单操作")
    if order.status not in spec.sources:
        if order.status in (OrderStatus.RATED, OrderStatus.REVOKED):
            raise Conflict(f"工单已关闭（{OrderStatus.label(order.status)}），不能{spec.label}")
        raise Conflict(f"工单当前为“{OrderStatus.label(order.status)}”，不能{spec.label}")
    refusal = _guard(order, action)
    if refusal:
        raise Conflict(refusal)
    stamp = now()
    changes = {"status": spec.target, spec.stamp: stamp}
    if action == "dispatch":
        assignees = {"assignee_unit": _fk(MemberUnit, unit, "承办单位"),
                     "assignee_volunteer": _fk(Volunteer, volunteer, "志愿者"),
                     "assignee_worker": clean_text(worker, "承办网格员", required=False, max_length=30)}
        if sum(1 for v in assignees.values() if v) != 1:
            raise ServiceError("派单时请选择一个承办方：成员单位、网格员或志愿者（只选一个）")
        changes.update(assignees)
    elif action == "resolve":
        changes["result"] = clean_text(result, "办理结果")
    elif action == "rate":
        if rating not in Rating.codes():
            raise ServiceError("请选择评价：满意或不满意")
        changes["rating"] = rating
        changes["rating_note"] = clean_text(note, "评价意见", required=False)
    elif action == "redo":
        changes["redo_count"] = WorkOrder.redo_count + 1
        changes["rating_note"] = clean_text(note, "二次办理说明", required=False) or order.rating_note
    elif action == "revoke":
        changes["revoke_reason"] = clean_text(reason, "撤销原因")
    with db.atomic():
        updated = (WorkOrder.update(updated_at=stamp, **changes)
                   .where(WorkOrder.id == order.id, WorkOrder.status == order.status).execute())
        if not updated:
            raise Conflict("该工单刚被他人处理，请刷新后重试")
        logged = {k: v for k, v in changes.items() if k != "redo_count"}
        logged["status"] = [order.status, spec.target]
        if action == "redo":
            logged["redo_count"] = order.redo_count + 1
        audit.record(action, order, user=user, changes=logged)
    return WorkOrder.get_by_id(order.id)


def overdue_clause(at=None):
    """Past due and not closed."""
    return (WorkOrder.due_at.is_null(False) & (WorkOrder.due_at < (at or now()))
            & WorkOrder.status.in_(OPEN))
