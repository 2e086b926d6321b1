"""Work orders in the closed loop 接单—派单—办单—评单, with 二次办理 and 撤销.

``ORDERS`` is the one table of allowed transitions (services/transitions.py); every
change of state goes through ``move()``, which validates what the move needs and hands
it to the table: the check, the conditional UPDATE, the timestamp, the audit row and the
Chinese refusal are the machine's. Admin buttons come from ``allowed_actions``.
"""
import datetime as dt
from peewee import IntegrityError, fn

from models import (Grid, MemberUnit, OrderCategory, OrderStatus, Rating, StepKind, Volunteer, WorkOrder,
                    WorkOrderStep, now)
from models.bounds import date_in_range, date_range_message
from models.workorders import Channel

from . import audit
from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict, NotFound, ServiceError
from .transitions import Machine, Transition

OPEN = (OrderStatus.ACCEPTED, OrderStatus.DISPATCHED, OrderStatus.IN_HAND, OrderStatus.REDO)
# with the assignee: dispatched to it, or accepted (签收) and being handled
WITH_ASSIGNEE = (OrderStatus.DISPATCHED, OrderStatus.IN_HAND)
# 已办结 awaits the resident's rating but the work is done: it counts as closed.
CLOSED = (OrderStatus.RESOLVED, OrderStatus.RATED, OrderStatus.REVOKED)


def _redo_guard(order):
    # only an unsatisfied rating reopens an order
    if order.rating != Rating.UNSATISFIED:
        return "只有评价为“不满意”的工单才能启动二次办理"
    return None


def _free_to_take(order):
    # 党员接单: opened to volunteers by a clerk and nobody holds it yet
    if not order.open_to_volunteers:
        return "该工单未开放党员接单"
    if order.assignee_unit_id or order.assignee_volunteer_id or order.assignee_worker:
        return "该工单已有承办方"
    return None


ORDERS = Machine(WorkOrder, OrderStatus, [
    Transition("dispatch", (OrderStatus.ACCEPTED, OrderStatus.REDO), OrderStatus.DISPATCHED, "派单",
               "records.manage", stamp="dispatched_at"),
    Transition("resolve", WITH_ASSIGNEE, OrderStatus.RESOLVED, "办结", "records.manage",
               stamp="resolved_at"),
    # the assignee's side (a partner unit — 吹哨报到/部门领办 — or a volunteer): 签收, report
    # the result (→ 已办结 for the clerk and the resident to review), or hand it back
    Transition("accept", (OrderStatus.DISPATCHED,), OrderStatus.IN_HAND, "签收办理", "orders.assignee",
               stamp="taken_at"),
    Transition("report", WITH_ASSIGNEE, OrderStatus.RESOLVED, "上报办理结果", "orders.assignee",
               stamp="resolved_at", ask="办理结果"),
    Transition("hand_back", WITH_ASSIGNEE, OrderStatus.ACCEPTED, "退回工单", "orders.assignee",
               stamp="returned_at", ask="退回原因",
               confirm="退回后工单回到社区，由工作人员重新派单。"),
    # 党员接单: the first volunteer to take an order opened to volunteers has it (the
    # conditional UPDATE of the move; the CHECK of one assignee backs it)
    Transition("take", (OrderStatus.ACCEPTED, OrderStatus.REDO), OrderStatus.IN_HAND, "接单", "orders.take",
               stamp="taken_at", guard=_free_to_take),
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
                record_step(order, StepKind.CREATE, user=user, at=order.accepted_at)
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
        values.update(open_to_volunteers=False, taken_at=None)
    elif action == "resolve":
        values["result"] = clean_text(result, "办理结果")
    elif action == "rate":
        return rate(order.id, rating, note, user=user)
    elif action == "redo":
        return redo(order.id, note, user=user)
    elif action == "revoke":
        values["revoke_reason"] = clean_text(reason, "撤销原因")
    elif action in ASSIGNEE_MOVES:
        raise ServiceError("该操作由承办方在“我的工作台”中办理")
    ORDERS.move(order, action, user=user, values=values)
    return WorkOrder.get_by_id(order.id)


def rate(order_id, rating, note=None, *, user=None, by_resident=False):
    """评价 an order that is 已办结. A clerk records it (``user`` = the clerk), or the resident
    rates it themselves on the tracking page: trusted code that proved the resident by
    tracking code and phone calls ``user=None, by_resident=True`` (services/transitions.py:
    ``user=None`` is trusted code). The step keeps the rating whatever later rounds bring."""
    order = _get(order_id)
    ORDERS.check(order, "rate", user=user)  # the state refusal comes before any input error
    if rating not in Rating.codes():
        raise ServiceError("请选择评价：满意、基本满意或不满意", field="rating")
    values = {"rating": rating, "rating_note": clean_text(note, "评价意见", required=False, field="note")}
    ORDERS.move(order, "rate", user=user, values=values, changes={"by_resident": True} if by_resident else None)
    return WorkOrder.get_by_id(order.id)


def redo(order_id, note=None, *, user=None, by_resident=False):
    """二次办理 of an order rated 不满意: round ``redo_count + 1`` starts; the rounds before stay
    in the order's steps (``timeline``). ``user=None, by_resident=True`` as for ``rate``."""
    order = _get(order_id)
    ORDERS.check(order, "redo", user=user)
    text = clean_text(note, "二次办理说明", required=False, field="note")
    changes = {"reason": text} if text else {}
    if by_resident:
        changes["by_resident"] = True
    ORDERS.move(order, "redo", user=user, changes=changes or None,
                values={"redo_count": WorkOrder.redo_count + 1, "rating_note": text or order.rating_note})
    return WorkOrder.get_by_id(order.id)


# --- the steps: every round kept (models.WorkOrderStep) --------------------------------------

RESIDENT = "居民"
SYSTEM_ACTOR = "系统"
# how the residents' tracking page may word each step (the admin uses StepKind labels)
PUBLIC_LABELS = {
    StepKind.CREATE: "已受理", StepKind.DISPATCH: "已派单", StepKind.ACCEPT: "承办方已签收",
    StepKind.TAKE: "志愿者已接单", StepKind.HAND_BACK: "承办方退回，待重新派单", StepKind.RESOLVE: "已办结",
    StepKind.REPORT: "已办结", StepKind.RATE: "已评价", StepKind.REDO: "二次办理", StepKind.REVOKE: "已撤销",
}


def _account(user):
    """The acting account, or None (a resident, the system, an anonymous caller)."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return None
    return user


def actor_label(user, by_resident=False):
    """Who made a step, as the timeline names them: 居民, the unit's name for a unit's account,
    志愿者 X for a volunteer's, else the person's name (or 系统)."""
    if by_resident:
        return RESIDENT
    account = _account(user)
    if account is None:
        return SYSTEM_ACTOR
    if account.role == "unit" and account.unit_id:
        return account.unit.name[:100]
    if account.role == "volunteer" and account.volunteer_id:
        return f"志愿者 {account.volunteer.name}"[:100]
    return (account.display_name or account.username)[:100]


def record_step(order, kind, *, user=None, at=None, by_resident=False, **fields):
    """One step of ``order`` in the caller's transaction; the round is the order's current one."""
    account = _account(user)
    return WorkOrderStep.create(order=order.id, round=(order.redo_count or 0) + 1, kind=kind, at=at or now(),
                                actor=account.id if account else None,
                                actor_label=actor_label(user, by_resident), by_resident=bool(by_resident),
                                **fields)


def _write_step(moved):
    """The machine's after hook: every move of an order writes exactly one step, in the
    move's transaction (so no path moves an order without leaving its step)."""
    order, name = moved.obj, moved.transition.name
    fields = {}
    if name in ("dispatch", "take", "accept"):
        fields["assignee_label"] = WorkOrder.get_by_id(order.id).assignee_label[:120] or None
    elif name in ("resolve", "report"):
        fields["result"] = order.result
    elif name == "rate":
        fields.update(rating=order.rating, rating_note=order.rating_note)
    elif name == "hand_back":
        fields["reason"] = order.return_reason
    elif name == "revoke":
        fields["reason"] = order.revoke_reason
    elif name == "redo":
        fields["reason"] = moved.changes.get("reason")
    record_step(order, name, user=moved.user, at=moved.at, by_resident=moved.changes.get("by_resident", False),
                **fields)


ORDERS.add_after(_write_step)


def timeline(order):
    """Every step of ``order`` (a WorkOrder or its id), oldest first: round by round, each step
    carrying ``label`` (环节), ``public_label`` (the residents' wording), ``rating_label`` and
    ``round_label`` (第N轮)."""
    order_id = order if isinstance(order, int) else order.id
    steps = list(WorkOrderStep.select().where(WorkOrderStep.order == order_id)
                 .order_by(WorkOrderStep.round, WorkOrderStep.at, WorkOrderStep.id))
    for step in steps:
        step.label = StepKind.label(step.kind)
        step.public_label = PUBLIC_LABELS.get(step.kind, step.label)
        step.rating_label = Rating.label(step.rating) if step.rating else ""
        step.round_label = "第1轮（首次办理）" if step.round == 1 else f"第{step.round}轮（二次办理）"
    return steps


def rounds(order):
    """``timeline(order)`` grouped: [(round, round_label, [steps])], first round first."""
    out = []
    for step in timeline(order):
        if not out or out[-1][0] != step.round:
            out.append((step.round, step.round_label, []))
        out[-1][2].append(step)
    return out


def overdue_clause(at=None):
    """Past due and not closed."""
    return (WorkOrder.due_at.is_null(False) & (WorkOrder.due_at < (at or now()))
            & WorkOrder.status.in_(OPEN))


# --- the assignee's side: a partner unit or a volunteer ------------------------------------

ASSIGNEE_MOVES = ("accept", "report", "hand_back", "take")
RESULT_MAX = 5000
REASON_MAX = 2000
NOT_FOUND = "工单不存在或不是派给您的"


def assigned_to(user):
    """The orders a unit account's unit, or a volunteer account's volunteer, holds now."""
    query = WorkOrder.select().where(WorkOrder.status.in_(WITH_ASSIGNEE))
    if getattr(user, "unit_id", None) and user.role == "unit":
        return query.where(WorkOrder.assignee_unit == user.unit_id)
    if getattr(user, "volunteer_id", None) and user.role == "volunteer":
        return query.where(WorkOrder.assignee_volunteer == user.volunteer_id)
    return query.where(WorkOrder.id == 0)


def handled_by(user):
    """Every order ever assigned to the caller's unit or volunteer (their history)."""
    if getattr(user, "unit_id", None) and user.role == "unit":
        return WorkOrder.select().where(WorkOrder.assignee_unit == user.unit_id)
    if getattr(user, "volunteer_id", None) and user.role == "volunteer":
        return WorkOrder.select().where(WorkOrder.assignee_volunteer == user.volunteer_id)
    return WorkOrder.select().where(WorkOrder.id == 0)


def get_assigned(order_id, user):
    """An order assigned (now or before) to the caller's unit or volunteer, else 404:
    another unit's order is never revealed."""
    return get_or_404(WorkOrder, order_id, NOT_FOUND, query=handled_by(user))


def open_for_volunteers():
    """党员接单: orders a clerk opened to volunteers that nobody has taken."""
    return (WorkOrder.select().where(WorkOrder.open_to_volunteers == True,  # noqa: E712
                                     WorkOrder.status.in_((OrderStatus.ACCEPTED, OrderStatus.REDO)),
                                     WorkOrder.assignee_unit.is_null(), WorkOrder.assignee_volunteer.is_null(),
                                     WorkOrder.assignee_worker.is_null()))


def accept(order_id, *, user):
    """签收: the assignee takes the dispatched order in hand."""
    order = get_assigned(order_id, user)
    ORDERS.move(order, "accept", user=user)
    return WorkOrder.get_by_id(order.id)


def report_result(order_id, *, user, result, photos=()):
    """上报办理结果 with text and photos (``photos``: ``services.photos.prepare_all`` output,
    made before this is called): the order is 已办结 for the clerk and the resident."""
    from . import photos as photo_service

    order = get_assigned(order_id, user)
    ORDERS.check(order, "report", user=user, guard=False)
    text = clean_text(result, "办理结果", max_length=RESULT_MAX, field="result")
    with write_transaction():
        ORDERS.move(order, "report", user=user, values={"result": text}, changes={"photos": len(photos)})
        photo_service.store(list(photos), "WorkOrder", order.id, role="result", user=user)
    return WorkOrder.get_by_id(order.id)


def hand_back(order_id, *, user, reason):
    """退回: the assignee gives the order back with a reason; the clerks hear of it."""
    order = get_assigned(order_id, user)
    ORDERS.check(order, "hand_back", user=user, guard=False)
    reason = clean_text(reason, "退回原因", max_length=REASON_MAX, field="reason")
    ORDERS.move(order, "hand_back", user=user, values={
        "return_reason": reason, "assignee_unit": None, "assignee_worker": None, "taken_at": None,
        # a volunteer's hand-back leaves it open to the other volunteers
        "assignee_volunteer": None})
    return WorkOrder.get_by_id(order.id)


def take(order_id, *, user):
    """党员接单: the first volunteer to take an order opened to volunteers has it."""
    order = get_or_404(WorkOrder, order_id, "工单不存在或未开放党员接单",
                       query=WorkOrder.select().where(WorkOrder.open_to_volunteers == True))  # noqa: E712
    try:
        ORDERS.move(order, "take", user=user, values={"assignee_volunteer": user.volunteer_id,
                                                      "dispatched_at": now()})
    except Conflict:
        current = WorkOrder.get_by_id(order.id)
        if current.assignee_volunteer_id and current.assignee_volunteer_id != getattr(user, "volunteer_id", None):
            raise Conflict("该工单已被其他志愿者接单")
        raise
    except IntegrityError:  # the one-assignee CHECK caught what slipped past the move
        raise Conflict("该工单已被其他承办方接单")
    return WorkOrder.get_by_id(order.id)


def set_open_to_volunteers(order_ids, opened, *, user):
    """A clerk opens (or closes) accepted orders to 党员接单; returns (done, failures)."""
    done, failures = [], []
    for order_id in order_ids:
        try:
            order = _get(order_id)
        except NotFound as exc:
            failures.append((order_id, exc.message))
            continue
        if opened and (order.status not in (OrderStatus.ACCEPTED, OrderStatus.REDO)
                       or order.assignee_unit_id or order.assignee_volunteer_id or order.assignee_worker):
            failures.append((order.id, f"工单 {order.number} 当前为“{OrderStatus.label(order.status)}”，"
                                       "只有待派单的工单可以开放党员接单"))
            continue
        with write_transaction():
            changed = (WorkOrder.update(open_to_volunteers=bool(opened), updated_at=now())
                       .where(WorkOrder.id == order.id, WorkOrder.open_to_volunteers == (not opened)).execute())
            if changed:
                audit.record("open_to_volunteers" if opened else "close_to_volunteers", order, user=user,
                             changes={"open_to_volunteers": [not opened, bool(opened)]})
                if opened:
                    _tell_volunteers_opened(order)
        done.append(order.id)
    return done, failures


# --- notices: every happening of an order, told in its move's transaction -------------------

def _order_link(order):
    return f"/my/orders/{order.id}"


def _assignee_users(order):
    from . import notices

    return notices.unit_user_ids(order.assignee_unit_id) + notices.volunteer_user_ids(order.assignee_volunteer_id)


def _due_text(order):
    return f"，请于 {order.due_at:%m-%d %H:%M} 前办结" if order.due_at else ""


def _tell(moved):
    """The machine's after hook: who hears of each move."""
    from . import notices

    order, name = moved.obj, moved.transition.name
    order = WorkOrder.get_by_id(order.id)  # the columns as the move left them
    category = OrderCategory.label(order.category)
    if name == "dispatch":
        users = _assignee_users(order)
        if users:
            notices.notify("order_dispatched", title=f"新派工单 {order.number}（{category}）", users=users,
                           subject=order, link=_order_link(order),
                           body=f"社区向您派发了工单 {order.number}（{category}）：{order.description[:80]}"
                                f"{_due_text(order)}。请签收办理，或说明原因退回。")
        if order.requester_phone:
            notices.notify("order_dispatched_resident", title=f"您的诉求已派单（{order.number}）",
                           phones=[order.requester_phone], subject=order,
                           body=f"您反映的问题（工单 {order.number}）已派给{order.assignee_label}办理。")
    elif name in ("report", "resolve"):
        if name == "report":
            notices.notify("order_resolved", title=f"工单 {order.number} 已办结，待回访",
                           users=notices.staff_ids(), subject=order, link=f"/admin/work_order/details/?id={order.id}",
                           body=f"{order.assignee_label}上报了工单 {order.number} 的办理结果：{(order.result or '')[:120]}")
        if order.requester_phone:
            notices.notify("order_resolved_resident", title=f"您的诉求已办结（{order.number}）",
                           phones=[order.requester_phone], subject=order,
                           body=f"您反映的问题（工单 {order.number}）已办结：{(order.result or '')[:120]}。"
                                "欢迎对办理结果进行评价。")
    elif name == "hand_back":
        who = moved.user.unit.name if getattr(moved.user, "unit_id", None) else getattr(
            getattr(moved.user, "volunteer", None), "name", "承办方")
        notices.notify("order_returned", title=f"工单 {order.number} 被退回", users=notices.staff_ids(),
                       subject=order, link=f"/admin/work_order/details/?id={order.id}",
                       body=f"{who}退回了工单 {order.number}（{category}）。原因：{order.return_reason}")
    elif name == "take":
        notices.notify("order_taken", title=f"工单 {order.number} 已被志愿者接单", users=notices.staff_ids(),
                       subject=order, link=f"/admin/work_order/details/?id={order.id}",
                       body=f"志愿者 {order.assignee_label.removeprefix('志愿者 ')} 接下了工单 {order.number}"
                            f"（{category}）。")
    elif name == "revoke" and moved.source in WITH_ASSIGNEE:
        before = WorkOrder(assignee_unit=order.assignee_unit_id, assignee_volunteer=order.assignee_volunteer_id)
        users = _assignee_users(before)
        if users:
            notices.notify("order_revoked", title=f"工单 {order.number} 已撤销", users=users, subject=order,
                           link=_order_link(order),
                           body=f"工单 {order.number} 已由社区撤销，无需继续办理。原因：{order.revoke_reason}")


ORDERS.add_after(_tell)


def _tell_volunteers_opened(order):
    """党员接单: an order opened to volunteers is announced to party-member volunteers with accounts."""
    from models import Role, User

    from . import notices

    users = [pk for (pk,) in User.select(User.id).join(Volunteer, on=(User.volunteer == Volunteer.id))
             .where(User.role == Role.VOLUNTEER, User.active == True, Volunteer.party_member == True)  # noqa: E712
             .tuples()]
    if users:
        notices.notify("order_open", title=f"可接工单：{OrderCategory.label(order.category)}", users=users,
                       subject=order, link="/me/orders",
                       body=f"社区开放了工单 {order.number}（{OrderCategory.label(order.category)}）供党员志愿者接单："
                            f"{order.description[:80]}")


def notify_overdue(at=None):
    """Tell each overdue order's assignee and the clerks, once per order (a conditional
    UPDATE of ``overdue_notified_at``: two workers scanning at once tell once). Returns
    the orders told about."""
    from . import notices

    at = at or now()
    told = []
    due = (WorkOrder.select(WorkOrder.id).where(overdue_clause(at), WorkOrder.overdue_notified_at.is_null())
           .order_by(WorkOrder.due_at).limit(500))
    for (order_id,) in due.tuples():
        with write_transaction():
            claimed = (WorkOrder.update(overdue_notified_at=at).where(
                WorkOrder.id == order_id, WorkOrder.overdue_notified_at.is_null()).execute())
            if not claimed:
                continue
            order = WorkOrder.get_by_id(order_id)
            users = _assignee_users(order) + notices.staff_ids()
            notices.notify("order_overdue", title=f"工单 {order.number} 已超期", users=users, subject=order,
                           link=_order_link(order),
                           body=f"工单 {order.number}（{OrderCategory.label(order.category)}）办理时限为 "
                                f"{order.due_at:%Y-%m-%d %H:%M}，目前仍为“{OrderStatus.label(order.status)}”。"
                                f"承办：{order.assignee_label or '尚未派单'}。")
            told.append(order)
    return told
