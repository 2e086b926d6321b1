"""群众点单: residents' needs from the form, the poster's QR code or the mini-program, the
clerks' 待受理 queue, the resident's tracking page and their rating (评单).

``NEEDS`` is the one table of a need's moves (services/transitions.py). A clerk handles a
need once: 受理 makes a work order (channel 线上点单) in the same transaction, so two
clerks accepting at the same instant make one order (the row lock / write lock taken
first, then the machine's conditional UPDATE); 发布为微心愿 hands it to the wish wall
(services/wishes.py); 合并 links it to an existing order; 不予受理 keeps the reason the
resident reads. From then on the work-order machine (services/workorders.py) is the only
thing that moves the order; the resident follows it on /track and rates it there.
"""
import datetime as dt
import hmac
import re
import secrets

from peewee import JOIN, IntegrityError, fn

from models import Grid, OrderCategory, OrderStatus, Photo, Rating, WorkOrder, db, now
from models.bounds import parse_id
from models.fields import normalise_phone
from models.needs import CODE_ALPHABET, CODE_LENGTH, Need, NeedKind, NeedSource, NeedStatus, grouped
from models.workorders import Channel, StepKind, WorkOrderStep

from . import audit, workorders
from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict, NotFound, ServiceError
from .stats import month_of, on_postgres
from .transitions import Machine, Transition

TEXT_MIN = 5
TEXT_MAX = 1000
NAME_MAX = 30
REASON_MAX = 500
NOTE_MAX = 500
PHOTO_ROLE = "request"
NOT_FOUND = "点单不存在"
# a need that was accepted, published or merged was taken up (受理); a refusal is not
TAKEN_UP = (NeedStatus.ACCEPTED, NeedStatus.WISHED, NeedStatus.MERGED)
FINISHED = (OrderStatus.RESOLVED, OrderStatus.RATED)

audit.ACTION_LABELS.update({
    "need_submit": "提交点单", "need_accept": "受理点单", "need_publish_wish": "发布为微心愿",
    "need_merge": "合并点单", "need_refuse": "不予受理", "need_rate": "居民评价",
})

NEEDS = Machine(Need, NeedStatus, [
    Transition("accept", (NeedStatus.PENDING,), NeedStatus.ACCEPTED, "受理并生成工单", "records.manage",
               stamp="handled_at", audit="need_accept"),
    Transition("publish_wish", (NeedStatus.PENDING,), NeedStatus.WISHED, "发布为微心愿", "records.manage",
               stamp="handled_at", audit="need_publish_wish"),
    Transition("merge", (NeedStatus.PENDING,), NeedStatus.MERGED, "合并到已有工单", "records.manage",
               stamp="handled_at", audit="need_merge", ask="合并到的工单编号"),
    Transition("refuse", (NeedStatus.PENDING,), NeedStatus.REFUSED, "不予受理", "records.manage",
               stamp="handled_at", audit="need_refuse", ask="不予受理原因（居民可以看到）"),
], closed=(NeedStatus.ACCEPTED, NeedStatus.WISHED, NeedStatus.MERGED, NeedStatus.REFUSED))
MOVES = NEEDS.transitions


# --- time: one working day -------------------------------------------------------------------

def one_working_day_after(at):
    """The same time on the next working day (Saturdays and Sundays do not count; a need
    sent at the weekend has until the end of Monday)."""
    start = at
    if start.weekday() >= 5:
        start = dt.datetime.combine(start.date() + dt.timedelta(days=7 - start.weekday()), dt.time())
    due = start + dt.timedelta(days=1)
    while due.weekday() >= 5:
        due += dt.timedelta(days=1)
    return due


# --- the tracking code -----------------------------------------------------------------------

def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text):
    """What a person typed or read out (spaces, dashes, lower case) → the stored code, or None."""
    code = re.sub(r"[\s\-－—_·.]", "", str(text or "")).upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


# --- submitting --------------------------------------------------------------------------------

def validate(*, kind, text, name, mobile, grid=None, consent=False):
    """The fields of a new need, checked (Chinese messages naming the field); the clean dict."""
    if kind not in NeedKind.codes():
        raise ServiceError("请选择点单类型", field="kind")
    body = clean_text(text, "需求内容", max_length=TEXT_MAX, field="text")
    if len(body) < TEXT_MIN:
        raise ServiceError(f"需求内容至少 {TEXT_MIN} 个字，请说清楚需要什么帮助", field="text")
    person = clean_text(name, "姓名", max_length=NAME_MAX, field="name")
    try:
        phone = normalise_phone(mobile or "")
    except ValueError as exc:
        raise ServiceError(str(exc), field="mobile")
    grid_id = None
    if grid not in (None, ""):
        grid_id = parse_id(grid)
        if grid_id is None or not Grid.select().where(Grid.id == grid_id).exists():
            raise ServiceError("所选网格不存在", field="grid")
    if not consent:
        raise ServiceError("请勾选“同意社区工作人员通过手机号联系我”，否则无法办理", field="consent")
    return {"kind": kind, "text": body, "name": person, "mobile": phone, "grid": grid_id, "consent": True}


def submit(*, kind, text, name, mobile, grid=None, consent=False, source=NeedSource.WEB, photos=()):
    """A new need in 待受理, with its photos (``photos``: ``services.photos.prepare_all``
    output, prepared before this is called), in one transaction; returns the need."""
    from . import photos as photo_service

    clean = validate(kind=kind, text=text, name=name, mobile=mobile, grid=grid, consent=consent)
    if source not in NeedSource.codes():
        source = NeedSource.WEB
    at = now()
    with write_transaction():
        need = None
        for _attempt in range(8):
            try:
                with db.atomic():  # a savepoint: a clashing code is retried, nothing else undone
                    need = Need.create(code=new_code(), source=source, status=NeedStatus.PENDING,
                                       submitted_at=at, accept_due_at=one_working_day_after(at), **clean)
                break
            except IntegrityError:
                continue
        if need is None:
            raise Conflict("生成查询码失败，请重试")
        photo_service.store(list(photos), "Need", need.id, role=PHOTO_ROLE)
        audit.record("need_submit", need, user=None, changes={
            "kind": need.kind, "grid": need.grid_id, "source": source, "photos": len(photos)})
        _tell_staff(need)
    return need


def _tell_staff(need):
    from . import notices

    notices.notify("need_submitted", title=f"新的群众点单（{NeedKind.label(need.kind)}）", users=notices.staff_ids(),
                   subject=need, link="/admin/need/queue/",
                   body=f"{need.name}提交了{NeedKind.label(need.kind)}：{need.text[:80]}。请在一个工作日内受理。")


# --- tracking ------------------------------------------------------------------------------------

def find_for_resident(code, phone_tail):
    """The need with this code whose phone ends with these four digits, else None. A wrong
    code and a wrong tail look the same (no hint which was wrong)."""
    code = normalise_code(code)
    tail = re.sub(r"\s", "", str(phone_tail or ""))
    if code is None or not re.fullmatch(r"\d{4}", tail):
        return None
    need = Need.get_or_none(Need.code == code)
    if need is None:
        hmac.compare_digest(tail, "0000")  # the same work either way
        return None
    return need if hmac.compare_digest(need.mobile[-4:], tail) else None


def get(need_id):
    return get_or_404(Need, need_id, NOT_FOUND)


def photos_of(need):
    return photos_of_needs([need.id])[need.id]


def photos_of_needs(need_ids):
    """{need id: [Photo …]} in one query (no image bytes)."""
    from . import photos as photo_service

    return photo_service.photos_of("Need", need_ids, role=PHOTO_ROLE)


# --- the clerks' moves ----------------------------------------------------------------------------

def _locked(need_id):
    """The need re-read inside the caller's write transaction (locked on PostgreSQL)."""
    query = Need.select().where(Need.id == need_id)
    if on_postgres():
        query = query.for_update()
    need = query.first()
    if need is None:
        raise NotFound(NOT_FOUND)
    return need


def _user_id(user):
    return getattr(user, "id", None)


def accept(need_id, *, user, category=OrderCategory.OTHER, due_at=None):
    """受理: the need becomes a work order in 已受理 (channel 线上点单), linked both ways
    (``need.work_order`` / ``order.needs``). Accepting twice makes one order."""
    need = get(need_id)
    NEEDS.check(need, "accept", user=user)
    if category not in OrderCategory.codes():
        raise ServiceError("请选择诉求类别", field="category")
    with write_transaction():
        need = _locked(need.id)
        NEEDS.check(need, "accept", user=user)  # judged on the locked row: the second clerk stops here
        order = workorders.create_order(
            user=user, channel=Channel.ONLINE, requester_name=need.name, requester_phone=need.mobile,
            category=category, description=need.text, grid=need.grid_id, due_at=due_at)
        NEEDS.move(need, "accept", user=user, values={"work_order": order.id, "handled_by": _user_id(user)},
                   changes={"work_order_number": order.number})
    return Need.get_by_id(need.id)


def publish_wish(need_id, *, user, grid=None):
    """发布为微心愿: the need goes to the wish wall (services.wishes.publish) with its photos;
    ``grid`` (optional) places a wish whose resident did not choose one."""
    from . import wishes

    need = get(need_id)
    NEEDS.check(need, "publish_wish", user=user)
    with write_transaction():
        need = _locked(need.id)
        NEEDS.check(need, "publish_wish", user=user)
        photo_ids = [p.id for p in photos_of(need)]
        wish = wishes.publish(text=need.text, grid=need.grid_id or parse_id(grid), requester_name=need.name,
                              requester_phone=need.mobile, photos=photo_ids, user=user)
        NEEDS.move(need, "publish_wish", user=user, values={"wish_id": wish.id, "handled_by": _user_id(user)})
    return Need.get_by_id(need.id)


def find_order(reference):
    """An existing work order by its number (GD…) or id, else a Chinese 400."""
    text = str(reference or "").strip()
    if not text:
        raise ServiceError("请填写要合并到的工单编号", field="order")
    order = WorkOrder.get_or_none(WorkOrder.number == text[:20])
    if order is None and text.isdigit():
        pk = parse_id(text)
        order = WorkOrder.get_or_none(WorkOrder.id == pk) if pk else None
    if order is None:
        raise ServiceError(f"找不到工单“{text[:20]}”", field="order")
    return order


def merge(need_id, *, user, order):
    """合并: the need repeats an existing order; the resident follows that order."""
    need = get(need_id)
    NEEDS.check(need, "merge", user=user)
    target = find_order(order)
    if target.status == OrderStatus.REVOKED:
        raise Conflict(f"工单 {target.number} 已撤销，不能合并到该工单", field="order")
    NEEDS.move(need, "merge", user=user, values={"merged_into": target.id, "handled_by": _user_id(user)},
               changes={"work_order_number": target.number})
    return Need.get_by_id(need.id)


def refuse(need_id, *, user, reason):
    """不予受理, with the reason the resident reads on the tracking page."""
    need = get(need_id)
    NEEDS.check(need, "refuse", user=user)
    text = clean_text(reason, "不予受理原因", max_length=REASON_MAX, field="reason")
    NEEDS.move(need, "refuse", user=user, values={"refuse_reason": text, "handled_by": _user_id(user)})
    return Need.get_by_id(need.id)


def handle(need_id, action, *, user, category=None, order=None, reason=None, grid=None):
    """One clerk's decision on a need, by name (the admin's queue and move page)."""
    if action == "accept":
        return accept(need_id, user=user, category=category or OrderCategory.OTHER)
    if action == "publish_wish":
        return publish_wish(need_id, user=user, grid=grid)
    if action == "merge":
        return merge(need_id, user=user, order=order if order is not None else reason)
    if action == "refuse":
        return refuse(need_id, user=user, reason=reason)
    raise ServiceError("不支持的点单操作")


def _tell_resident(moved):
    """The machine's after hook: the resident hears of the decision by phone."""
    from . import notices

    need, name = moved.obj, moved.transition.name
    code = grouped(need.code)
    if name == "accept":
        order = WorkOrder.get_by_id(need.work_order_id)
        body = f"您的点单（查询码 {code}）已受理，工单号 {order.number}。办理进度可凭查询码查看。"
    elif name == "publish_wish":
        body = f"您的点单（查询码 {code}）已作为微心愿发布到心愿墙，等待爱心单位认领。"
    elif name == "merge":
        order = WorkOrder.get_by_id(need.merged_into_id)
        body = f"您反映的问题（查询码 {code}）已有其他居民反映，已并入工单 {order.number} 一并办理。"
    else:
        body = f"您的点单（查询码 {code}）未予受理。原因：{need.refuse_reason}"
    notices.notify(f"need_{name}", title=f"点单{NEEDS[name].label}（{code}）", phones=[need.mobile],
                   subject=need, body=body)


NEEDS.add_after(_tell_resident)


# --- the resident's rating (评单) -------------------------------------------------------------------

RESIDENT_RATINGS = (Rating.SATISFIED, Rating.FAIR, Rating.UNSATISFIED)


def can_rate(need):
    """The resident rates their own need's order once it is 已办结."""
    if not need.work_order_id:
        return False
    return WorkOrder.select(WorkOrder.status).where(WorkOrder.id == need.work_order_id).scalar() == OrderStatus.RESOLVED


def rate(need, rating, note=None):
    """评单 by the resident (proven by code + phone tail): 满意/基本满意/不满意 and a note;
    不满意 sends the order to 二次办理 in the same transaction."""
    if not need.work_order_id:
        raise Conflict("该点单没有对应的工单，无需评价")
    if rating not in RESIDENT_RATINGS:
        raise ServiceError("请选择评价：" + "、".join(Rating.label(c) for c in RESIDENT_RATINGS), field="rating")
    note = clean_text(note, "评价意见", required=False, max_length=NOTE_MAX, field="note")
    with write_transaction():
        workorders.rate(need.work_order_id, rating, note, user=None, by_resident=True)
        if rating == Rating.UNSATISFIED:
            workorders.redo(need.work_order_id, note, user=None, by_resident=True)
        audit.record("need_rate", need, user=None, changes={"rating": rating, "note": note})
    return WorkOrder.get_by_id(need.work_order_id)


# --- the timeline the resident reads --------------------------------------------------------------

def timeline(need):
    """Every step in plain Chinese, oldest first: dicts with ``at``, ``title``, ``text``,
    ``photos`` (approved ones only) and ``round``."""
    from . import photos as photo_service

    steps = [{"at": need.submitted_at, "title": "已提交",
              "text": f"{NeedKind.label(need.kind)}已提交，等待社区受理（一般一个工作日内）。", "photos": [], "round": 1}]
    if need.status == NeedStatus.REFUSED:
        steps.append({"at": need.handled_at, "title": "未受理", "text": f"原因：{need.refuse_reason}",
                      "photos": [], "round": 1})
        return steps
    if need.status == NeedStatus.WISHED:
        return steps + _wish_steps(need)
    order = need.order
    if order is None:
        return steps
    if need.status == NeedStatus.MERGED:
        steps.append({"at": need.handled_at, "title": "已受理（合并办理）",
                      "text": f"已有居民反映同一问题，并入工单 {order.number} 一并办理。", "photos": [], "round": 1})
    else:
        steps.append({"at": need.handled_at, "title": "已受理", "text": f"已生成工单 {order.number}。",
                      "photos": [], "round": 1})
    steps += _order_steps(order)
    return steps


def _wish_steps(need):
    """A need published as 微心愿: the wish's own progress on the wall."""
    from models import Wish, WishStatus

    from . import photos as photo_service

    steps = [{"at": need.handled_at, "title": "已发布为微心愿", "text": "已发布到微心愿墙，等待爱心单位认领。",
              "photos": [], "round": 1, "wish_id": need.wish_id}]
    wish = Wish.get_or_none(Wish.id == need.wish_id) if need.wish_id else None
    if wish is None:
        return steps
    if wish.status in WishStatus.TAKEN and wish.claimer_id:
        steps.append({"at": wish.claimed_at, "title": "已被认领", "text": f"{wish.claimer.name}认领了您的心愿。",
                      "photos": [], "round": 1})
    if wish.status == WishStatus.FULFILLED:
        shown = [p for p in photo_service.photos_of("Wish", [wish.id], role="result")[wish.id] if p.approved]
        steps.append({"at": wish.fulfilled_at, "title": "已圆梦", "text": wish.fulfil_note or "", "photos": shown,
                      "round": 1})
    elif wish.status == WishStatus.CLOSED:
        steps.append({"at": wish.closed_at, "title": "心愿已下架", "text": f"原因：{wish.close_reason or ''}",
                      "photos": [], "round": 1})
    return steps


def _result_photos(order, steps):
    """{result step id: [approved Photo …]}: each result photo belongs to the last 办结 step
    made before it was stored (a report stores its photos in its own transaction)."""
    results = [s for s in steps if s.kind in (StepKind.RESOLVE, StepKind.REPORT)]
    out = {s.id: [] for s in results}
    if not results:
        return out
    photos = (Photo.select(Photo.id, Photo.created_at, Photo.approved, Photo.position)
              .where(Photo.subject == "WorkOrder", Photo.subject_id == order.id, Photo.role == "result",
                     Photo.approved == True).order_by(Photo.created_at, Photo.position, Photo.id))  # noqa: E712
    for photo in photos:
        owner = None
        for step in results:
            if step.at <= photo.created_at:
                owner = step
        out[(owner or results[0]).id].append(photo)
    return out


def _order_steps(order):
    """The order's steps after 受理, every round (``workorders.timeline``), in the residents'
    words (``public_label``), with each round's approved result photos."""
    out = []
    steps = workorders.timeline(order)
    result_photos = _result_photos(order, steps)
    for step in steps:
        if step.kind == StepKind.CREATE:
            continue
        entry = {"at": step.at, "title": step.public_label, "text": "", "photos": [], "round": step.round}
        if step.kind in (StepKind.DISPATCH, StepKind.TAKE) and step.assignee_label:
            entry["text"] = f"由{step.assignee_label}办理。"
        elif step.kind in (StepKind.RESOLVE, StepKind.REPORT):
            entry["text"] = f"办理结果：{step.result or ''}"
            entry["photos"] = result_photos.get(step.id, [])
        elif step.kind == StepKind.RATE:
            who = "居民评价" if step.by_resident else "社区回访评价"
            entry["text"] = f"{who}：{step.rating_label}" + (f"。{step.rating_note}" if step.rating_note else "")
        elif step.kind == StepKind.REDO:
            entry["text"] = "对办理结果不满意，重新办理。" + (f"说明：{step.reason}" if step.reason else "")
        elif step.kind == StepKind.REVOKE:
            entry["text"] = f"原因：{step.reason or ''}"
        out.append(entry)
    return out


# --- figures --------------------------------------------------------------------------------------

def month_bounds(at):
    start = dt.datetime(at.year, at.month, 1)
    end = dt.datetime(at.year + (at.month == 12), at.month % 12 + 1, 1)
    return start, end


def month_figures(at=None):
    """This month's needs: received, share taken up within one working day, 办结率 of
    the ones that became orders, 满意率 of the residents' own ratings (resident steps
    only). A constant number of aggregate queries."""
    at = at or now()
    start, end = month_bounds(at)
    in_month = (Need.submitted_at >= start) & (Need.submitted_at < end)
    rated_q, satisfied_q = resident_ratings(start, end)
    received, in_time, became, finished, rated, satisfied = (Need.select(
        fn.COUNT(Need.id),
        fn.COUNT(Need.id).filter(Need.status.in_(TAKEN_UP) & (Need.handled_at <= Need.accept_due_at)),
        fn.COUNT(Need.work_order),
        fn.COUNT(Need.id).filter(WorkOrder.status.in_(FINISHED)),
        rated_q, satisfied_q)  # one statement: the home page's budget counts them
        .join(WorkOrder, JOIN.LEFT_OUTER, on=(Need.work_order == WorkOrder.id))
        .where(in_month).tuples().get())
    rated, satisfied = rated or 0, satisfied or 0
    return {
        "month": f"{at.year}年{at.month}月",
        "received": received or 0,
        "in_time": in_time or 0,
        "in_time_share": round(in_time / received, 3) if received else None,
        "orders": became or 0,
        "finished": finished or 0,
        "finish_share": round(finished / became, 3) if became else None,
        "rated": rated,
        "satisfied": satisfied,
        "satisfaction": round(satisfied / rated, 3) if rated else None,
    }


def resident_ratings(start, end):
    """Two scalar subqueries: ratings residents made themselves in [start, end), and how
    many of them were 满意 or 基本满意 (a clerk's 回访 rating is not the resident's)."""
    made = ((WorkOrderStep.kind == StepKind.RATE) & (WorkOrderStep.by_resident == True)  # noqa: E712
            & (WorkOrderStep.at >= start) & (WorkOrderStep.at < end))
    good = WorkOrderStep.rating.in_((Rating.SATISFIED, Rating.FAIR))
    return (WorkOrderStep.select(fn.COUNT(WorkOrderStep.id)).where(made),
            WorkOrderStep.select(fn.COUNT(WorkOrderStep.id)).where(made & good))


def per_month(year):
    """The dashboard's charts: needs per month by kind, and by grid, for ``year``."""
    start, end = dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    month = month_of(Need.submitted_at)
    window = (Need.submitted_at >= start) & (Need.submitted_at < end)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    by_kind, by_grid = {}, {}
    for m, kind, grid, n in (Need.select(month, Need.kind, Need.grid, fn.COUNT(Need.id)).where(window)
                             .group_by(month, Need.kind, Need.grid).tuples()):
        by_kind[(m, kind)] = by_kind.get((m, kind), 0) + n
        by_grid[(m, grid)] = by_grid.get((m, grid), 0) + n
    grids = list(Grid.select(Grid.id, Grid.name).order_by(Grid.number).tuples())
    if any(g is None for _m, g in by_grid):
        grids.append((None, "未选网格"))
    return {
        "labels": [f"{m}月" for m in range(1, 13)],
        "kinds": [{"label": label, "key": code, "data": [by_kind.get((m, code), 0) for m in months]}
                  for code, label in NeedKind.choices],
        "grids": [{"label": name, "data": [by_grid.get((m, pk), 0) for m in months]} for pk, name in grids],
    }


def pending_count():
    return Need.select(fn.COUNT(Need.id)).where(Need.status == NeedStatus.PENDING).scalar() or 0

