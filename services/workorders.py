"""Work orders in the closed loop 接单—派单—办单—评单, with 二次办理 and 撤销.

``ORDERS`` is the one table of allowed transitions (services/transitions.py); every
change of state goes through ``move()``, which validates what the move needs and hands
it to the table: the check, the conditional UPDATE, the timestamp, the audit row and the
Chinese refusal are the machine's. Admin buttons come from ``allowed_actions``.
"""
import datetime as dt
from peewee import IntegrityError, fn

from models import Grid, MemberUnit, OrderCategory, OrderStatus, Rating, Volunteer, WorkOrder, now
from models.bounds import date_in_range, date_range_message
from models.workorders import Channel

from . import audit
from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict, NotFound, ServiceError
from .transitions import Machine, Transition

OPEN = (OrderStatus.ACCEPTED, OrderStatus.DISPATCHED, OrderStatus.REDO)
# 已办结 awaits the resident's rating but the work is done: it counts as closed.
CLOSED = (OrderStatus.RESOLVED, OrderStatus.RATED, OrderStatus.REVOKED)


def _redo_guard(order):
    # only an unsatisfied rating reopens an order
    if order.rating != Rating.UNSATISFIED:
        return "只有评价为“不满意”的工单才能启动二次办理"
    return None


ORDERS = Machine(WorkOrder, OrderStatus, [
    Transition("dispatch", (OrderStatus.ACCEPTED, OrderStatus.REDO), OrderStatus.DISPATCHED, "派单",
               "records.manage", stamp="dispatched_at"),
    Transition("resolve", (OrderStatus.DISPATCHED,), OrderStatus.RESOLVED, "办结", "records.manage",
               stamp="resolved_at"),
    Transition("rate", (OrderStatus.RESOLVED,), OrderStatus.RATED, "评价", "records.manage", stamp="rated_at"),
    Transition("redo", (OrderStatus.RATED,), OrderStatus.REDO, "二次办理", "records.manage",
               stamp="reopened_at", guard=_redo_guard),
    Transition("revoke", OPEN, OrderStatus.REVOKED, "撤销", "records.manage", stamp="revoked_at",
               ask="撤销原因"),
], closed=(OrderStatus.RATED, OrderStatus.REVOKED))
# action → its Transition (``.sources``, ``.target``, ``.label``, ``.stamp``)
MOVES = ORDERS.transitions


def allowed_actions(order, user=None):
    """The moves the list may offer ``user`` for this order right now."""
    return [t.name for t in ORDERS.allowed(order, user)]


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
    if phone:
        try:
            phone = WorkOrder.requester_phone.normalise(phone)
        except ValueError as exc:
            raise ServiceError(str(exc), field="requester_phone")
    if due_at is not None and not isinstance(due_at, dt.datetime):
        raise ServiceError("办理时限格式不正确", field="due_at")
    if due_at is not None and not date_in_range(due_at):
        raise ServiceError(date_range_message("办理时限"), field="due_at")
    return {"channel": channel, "requester_name": name, "requester_phone": phone, "category": category,
            "description": clean_text(description, "诉求内容", max_length=5000), "grid": _fk(Grid, grid, "网格"),
            "due_at": due_at}


def create_order(*, user=None, **fields):
    """接单: a new order in 已受理."""
    clean = validate_fields(**fields)
    for _attempt in range(3):
        try:
            with write_transaction():
                order = WorkOrder.create(number=next_number(), status=OrderStatus.ACCEPTED,
                                         accepted_at=now(), **clean)
                audit.record("create", order, user=user, changes={**clean, "status": OrderStatus.ACCEPTED})
            return order
        except IntegrityError:
            continue  # two clerks took the same number at once; take the next
    raise Conflict("工单编号冲突，请重试")


def move(order_id, action, *, user=None, unit=None, volunteer=None, worker=None, result=None,
         rating=None, note=None, reason=None):
    """Make one move of ``ORDERS`` or refuse it; returns the updated order."""
    order = _get(order_id)
    ORDERS.check(order, action, user=user)  # the state refusal comes before any input error
    values = {}
    if action == "dispatch":
        values = {"assignee_unit": _fk(MemberUnit, unit, "承办单位"),
                  "assignee_volunteer": _fk(Volunteer, volunteer, "志愿者"),
                  "assignee_worker": clean_text(worker, "承办网格员", required=False, max_length=30)}
        if sum(1 for v in values.values() if v) != 1:
            raise ServiceError("派单时请选择一个承办方：成员单位、网格员或志愿者（只选一个）")
    elif action == "resolve":
        values["result"] = clean_text(result, "办理结果")
    elif action == "rate":
        if rating not in Rating.codes():
            raise ServiceError("请选择评价：满意或不满意")
        values["rating"] = rating
        values["rating_note"] = clean_text(note, "评价意见", required=False)
    elif action == "redo":
        values["redo_count"] = WorkOrder.redo_count + 1
        values["rating_note"] = clean_text(note, "二次办理说明", required=False) or order.rating_note
    elif action == "revoke":
        values["revoke_reason"] = clean_text(reason, "撤销原因")
    ORDERS.move(order, action, user=user, values=values)
    return WorkOrder.get_by_id(order.id)


def overdue_clause(at=None):
    """Past due and not closed."""
    return (WorkOrder.due_at.is_null(False) & (WorkOrder.due_at < (at or now()))
            & WorkOrder.status.in_(OPEN))
