"""微心愿 (issue 10, seed 002): a resident's small wish on the public wall, claimed by
exactly one partner unit (merchants are units) and reported 已圆梦 with a photo and a note.

Every status change is a move of ``WISHES`` (services/transitions.py):
待审核 → 已发布 (a clerk approves) → 已认领 (one unit claims) → 已圆梦 (the claimer reports
it with photos and a note); the claimer may withdraw (已认领 → 已发布, the wish is free
again); a clerk may take a wish down (已下架) with a reason.

One claimer, race-proof like project claiming (services/claims.py): the claim is the
machine's conditional ``UPDATE wish SET status = 'claimed', claimer_id = ? WHERE id = ?
AND status = 'published'`` inside a write transaction that takes the lock up front
(``BEGIN IMMEDIATE`` on SQLite, the row lock on PostgreSQL), backed by the CHECK that a
claimed wish names its claimer; a wish already taken is refused before the lock (every
loser of a storm once the winner has committed) with “该微心愿已被认领” (409).

Photos (services/photos.py) are public only once approved: the wish's own photos
(role ``request``) are approved with the wish, the fulfilment photos (role ``result``)
by a clerk afterwards. The requester's phone is never shown to the public: pages and the
API show ``display_name`` (王**), kept when the wish is written.

Admin, public pages and the API call these functions; nothing else writes a wish's
status or claimer.
"""
from peewee import fn

from models import Grid, MemberUnit, Photo, UnitStatus, Wish, WishSource, WishStatus, now
from models.fields import normalise_phone

from . import audit, notices
from . import photos as photos_module
from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict, Forbidden, ServiceError
from .stats import month_bounds
from .transitions import Machine, Transition

TEXT_MAX = 500
NAME_MAX = 30
NOTE_MAX = 1000
REASON_MAX = 500
TAKEN = "该微心愿已被认领"
TAKEN_BY_YOU = "贵单位已认领该微心愿"
NOT_YOURS = "该微心愿不是贵单位认领的，不能操作"
UNITS_ONLY = "只有成员单位账号可以认领微心愿"
SUBJECT = "Wish"          # Photo.subject of a wish's photos
REQUEST, RESULT = "request", "result"
ADMIN_PATH = "/admin/wish/details/?id={id}"

audit.ACTION_LABELS.update({
    "wish_create": "录入微心愿", "wish_approve": "审核发布微心愿", "wish_claim": "认领微心愿",
    "wish_withdraw": "撤回微心愿认领", "wish_fulfil": "微心愿圆梦", "wish_close": "下架微心愿",
    "wish_photos": "审核微心愿照片",
})


# --- what the public may see (the one visibility rule: wall, API, figures) ------------------

def public_wishes():
    """Wishes anyone may see: approved and not taken down."""
    return Wish.select().where(Wish.status.in_(WishStatus.PUBLIC))


def get_public_wish(wish_id):
    return get_or_404(Wish, wish_id, "微心愿不存在或尚未发布", query=public_wishes())


def mask_name(name):
    """王小明 → 王**, 李四 → 李*: the surname stays, the given name never shows."""
    name = (name or "").strip()
    if not name:
        return "居民"
    return name[0] + "*" * min(max(len(name) - 1, 1), 2)


def fulfilled_this_month_query(at=None):
    """COUNT of the wishes that came true this month, as a query (a scalar sub-select in the
    dashboard's figures; the home page counts the same in ``stats.alliance_figures``)."""
    start, end = month_bounds(at or now())
    return Wish.select(fn.COUNT(Wish.id)).where(Wish.status == WishStatus.FULFILLED, Wish.fulfilled_at >= start,
                                                Wish.fulfilled_at < end)


def fulfilled_this_month(at=None):
    return fulfilled_this_month_query(at).scalar() or 0


# --- the machine ------------------------------------------------------------------------

def _approve_photos(moved):
    """A clerk approving a wish approves the photos the resident sent with it."""
    photos_module.approve(SUBJECT, moved.obj.id, user=moved.user, role=REQUEST)


def _tell(moved):
    """Claimed, withdrawn, fulfilled: the clerks hear of it, and the resident (by phone,
    through the webhook channel) when a unit claims or fulfils the wish."""
    name = moved.transition.name
    if name == "close" and moved.source == WishStatus.CLAIMED:
        _tell_claimer_closed(moved)
    if name not in ("claim", "withdraw", "fulfil"):
        return
    wish = Wish.get_by_id(moved.obj.id)
    unit = MemberUnit.get_by_id(wish.claimer_id).name if wish.claimer_id else None
    short = wish.text if len(wish.text) <= 30 else wish.text[:30] + "…"
    link = ADMIN_PATH.format(id=wish.id)
    staff = notices.staff_ids()
    if name == "claim":
        notices.notify("wish_claimed", title=f"{unit}认领了微心愿", users=staff, subject=wish, link=link,
                       body=f"{unit}认领了{wish.display_name}的微心愿“{short}”。")
        notices.notify("wish_claimed", title="您的微心愿已被认领", phones=[wish.requester_phone], subject=wish,
                       body=f"您的微心愿“{short}”已由{unit}认领，对方会尽快与社区联系帮您圆梦。")
    elif name == "withdraw":
        notices.notify("wish_withdrawn", title=f"{moved.changes.get('unit_name') or '认领单位'}撤回了微心愿认领",
                       users=staff, subject=wish, link=link,
                       body=f"{wish.display_name}的微心愿“{short}”重新开放认领。")
    else:
        notices.notify("wish_fulfilled", title=f"微心愿已圆梦：{short}", users=staff, subject=wish, link=link,
                       body=f"{unit}已帮{wish.display_name}圆梦：{wish.fulfil_note or ''}（成效照片待审核公开）")
        notices.notify("wish_fulfilled", title="您的微心愿已圆梦", phones=[wish.requester_phone], subject=wish,
                       body=f"您的微心愿“{short}”已由{unit}帮您实现。")


def _tell_claimer_closed(moved):
    """A wish a unit had claimed taken down by a clerk: the unit hears why."""
    wish = Wish.get_by_id(moved.obj.id)
    short = wish.text if len(wish.text) <= 30 else wish.text[:30] + "…"
    notices.notify("wish_closed", title="您认领的微心愿已下架", users=notices.unit_user_ids(wish.claimer_id),
                   subject=wish, link=f"/wishes/{wish.id}",
                   body=f"贵单位认领的微心愿“{short}”已由社区下架。原因：{wish.close_reason or '未说明'}")


S = WishStatus
WISHES = Machine(Wish, WishStatus, [
    Transition("approve", (S.PENDING,), S.PUBLISHED, "审核发布", "records.manage", stamp="approved_at",
               audit="wish_approve", after=_approve_photos),
    Transition("claim", (S.PUBLISHED,), S.CLAIMED, "认领心愿", "wishes.claim", stamp="claimed_at",
               audit="wish_claim"),
    Transition("withdraw", (S.CLAIMED,), S.PUBLISHED, "撤回认领", "wishes.claimer", stamp="withdrawn_at",
               audit="wish_withdraw", confirm="撤回后该心愿将重新开放，其他单位可以认领。"),
    Transition("fulfil", (S.CLAIMED,), S.FULFILLED, "标记圆梦", "wishes.claimer", stamp="fulfilled_at",
               audit="wish_fulfil"),
    Transition("close", (S.PENDING, S.PUBLISHED, S.CLAIMED, S.FULFILLED), S.CLOSED, "下架", "records.manage",
               stamp="closed_at", audit="wish_close", ask="下架原因"),
], closed=(S.CLOSED,), after=_tell)


# --- writing a wish ---------------------------------------------------------------------------

def _clean(text, grid, requester_name, requester_phone):
    text = clean_text(text, "心愿内容", max_length=TEXT_MAX, field="text")
    name = clean_text(requester_name, "许愿人姓名", max_length=NAME_MAX, field="requester_name")
    try:
        phone = normalise_phone(requester_phone)
    except ValueError as exc:
        raise ServiceError(str(exc), field="requester_phone")
    grid_id = getattr(grid, "id", grid)
    grid = get_or_404(Grid, grid_id, "请选择所在网格") if grid_id not in (None, "") else None
    if grid is None:
        raise ServiceError("请选择所在网格", field="grid")
    return text, grid, name, phone


def _staff(user):
    from auth.permissions import can

    return user is not None and can(user, "records.manage")


def publish(*, text, grid, requester_name, requester_phone, photos=(), user, source=WishSource.ONLINE):
    """Put a resident's wish on the wall; returns the Wish.

    ``grid`` is a Grid or its id. ``photos`` (at most 3) are either ``services.photos.Prepared``
    images (uploads already checked and re-encoded with ``photos.prepare_all`` BEFORE this
    call) or ids of Photo rows already stored (e.g. a Need's photos): those are copied to
    the wish (the need keeps its own rows). A photo id that does not exist is refused.

    When ``user`` is staff (a clerk publishing a need as 微心愿), the wish is approved in
    the same transaction — published on the wall with its photos public; otherwise it
    waits 待审核 for a clerk. One transaction, audited; ServiceError (Chinese) on bad input,
    nothing written.
    """
    text, grid, name, phone = _clean(text, grid, requester_name, requester_phone)
    items = list(photos or ())
    if len(items) > photos_module.MAX_PHOTOS:
        raise ServiceError(f"最多 {photos_module.MAX_PHOTOS} 张照片", field="photos")
    prepared = [p for p in items if isinstance(p, photos_module.Prepared)]
    ids = [p for p in items if not isinstance(p, photos_module.Prepared)]
    copies = []
    if ids:
        copies = list(Photo.select().where(Photo.id.in_([int(getattr(i, "id", i)) for i in ids])).order_by(Photo.id))
        if len(copies) != len(ids):
            raise ServiceError("照片不存在", field="photos")
    with write_transaction():
        wish = Wish.create(text=text, grid=grid.id, requester_name=name, requester_phone=phone,
                           display_name=mask_name(name), source=source,
                           created_by=user.id if user else None)
        photos_module.store(prepared, SUBJECT, wish.id, role=REQUEST, user=user)
        for position, row in enumerate(copies, start=len(prepared)):
            Photo.create(subject=SUBJECT, subject_id=wish.id, role=REQUEST, position=position,
                         content=row.content, thumb=row.thumb, content_type=row.content_type, width=row.width,
                         height=row.height, size=row.size, digest=row.digest,
                         uploaded_by=row.uploaded_by_id, approved=False)
        audit.record("wish_create", wish, user=user,
                     changes={"source": source, "grid": grid.id, "photos": len(prepared) + len(copies)})
        if _staff(user):
            WISHES.move(wish, "approve", user=user)
    return Wish.get_by_id(wish.id)



def create_by_staff(*, text, grid, requester_name, requester_phone, files=(), user):
    """工作人员录入: a clerk types in a wish heard by phone or on a visit (published at once)."""
    prepared = photos_module.prepare_all(files)
    return publish(text=text, grid=grid, requester_name=requester_name, requester_phone=requester_phone,
                   photos=prepared, user=user, source=WishSource.STAFF)


def _get(wish_id):
    return get_or_404(Wish, wish_id, "微心愿不存在")


def approve(wish_id, *, user):
    wish = _get(wish_id)
    return WISHES.move(wish, "approve", user=user)


def close(wish_id, *, user, reason):
    """下架: a clerk takes a wish off the wall with a reason (kept, never deleted)."""
    wish = _get(wish_id)
    WISHES.check(wish, "close", user=user, guard=False)
    reason = clean_text(reason, "下架原因", max_length=REASON_MAX, field="reason")
    return WISHES.move(wish, "close", user=user, values={"close_reason": reason})


def approve_photos(wish_id, *, user):
    """A clerk makes the wish's photos public — the fulfilment photos (晒成效) and any
    the wish still holds back; returns how many."""
    from auth.permissions import can

    wish = _get(wish_id)
    if not can(user, "records.manage"):
        raise Forbidden("您没有权限审核照片")
    with write_transaction():
        count = photos_module.approve(SUBJECT, wish.id, user=user)
        if count:
            audit.record("wish_photos", wish, user=user, changes={"approved": count})
    return count


# --- the unit's side ------------------------------------------------------------------------

def _active_unit(unit):
    if unit is None:
        raise Forbidden(UNITS_ONLY)
    unit = MemberUnit.get_or_none(MemberUnit.id == getattr(unit, "id", unit))
    if unit is None:
        raise Forbidden(UNITS_ONLY)
    if unit.status != UnitStatus.ACTIVE:
        raise Forbidden(f"贵单位当前状态为“{UnitStatus.label(unit.status)}”，不能认领微心愿")
    return unit


def claim_refusal(wish, unit):
    """Why ``unit`` cannot claim ``wish`` now (a Chinese sentence), or None (the form)."""
    if unit is None:
        return UNITS_ONLY
    if wish.status in WishStatus.TAKEN:
        return TAKEN_BY_YOU if wish.claimer_id == unit.id else TAKEN
    if wish.status != WishStatus.PUBLISHED:
        return f"该微心愿当前为“{WishStatus.label(wish.status)}”，不能认领"
    if unit.status != UnitStatus.ACTIVE:
        return f"贵单位当前状态为“{UnitStatus.label(unit.status)}”，不能认领微心愿"
    return None


def claim(wish_id, unit, *, user=None):
    """``unit`` claims the wish: exactly one claimer. NotFound (not on the wall),
    Forbidden (not an active unit), Conflict “该微心愿已被认领” when another was first."""
    wish = get_public_wish(wish_id)
    unit = _active_unit(unit)
    if wish.status in WishStatus.TAKEN:
        # taken as just read: refused without the write lock (the storm's losers)
        raise Conflict(TAKEN_BY_YOU if wish.claimer_id == unit.id else TAKEN)
    try:
        return WISHES.move(wish, "claim", user=user, values={"claimer": unit.id},
                           changes={"unit_name": unit.name})
    except Conflict:
        current = Wish.get_by_id(wish.id)
        if current.status in WishStatus.TAKEN:
            raise Conflict(TAKEN_BY_YOU if current.claimer_id == unit.id else TAKEN)
        raise


def get_claimed(wish_id, unit):
    """A wish this unit claimed (or fulfilled); another unit's → 403, a missing one → 404."""
    wish = get_public_wish(wish_id)
    if unit is None or wish.claimer_id != getattr(unit, "id", unit):
        raise Forbidden(NOT_YOURS)
    return wish


def withdraw(wish_id, unit, *, user=None):
    """The claimer gives the wish back: 已发布 again, free for another unit."""
    wish = get_claimed(wish_id, unit)
    name = MemberUnit.get_by_id(wish.claimer_id).name
    return WISHES.move(wish, "withdraw", user=user, values={"claimer": None, "claimed_at": None},
                       changes={"unit_name": name})


def fulfil(wish_id, unit, *, note, photos=(), user=None):
    """The claimer reports the wish 已圆梦 with a note and 1–3 photos.

    ``photos`` are uploads (werkzeug FileStorage) or ``Prepared`` images; uploads are
    checked and re-encoded before the write transaction, so a bad file writes nothing.
    The photos wait for a clerk before the public sees them.
    """
    wish = get_claimed(wish_id, unit)
    WISHES.check(wish, "fulfil", user=user, guard=False)
    note = clean_text(note, "圆梦说明", max_length=NOTE_MAX, field="note")
    items = list(photos or ())
    if items and all(isinstance(p, photos_module.Prepared) for p in items):
        if len(items) > photos_module.MAX_PHOTOS:
            raise ServiceError(f"最多上传 {photos_module.MAX_PHOTOS} 张照片", field="photos")
        prepared = items
    else:
        prepared = photos_module.prepare_all(items)
    if not prepared:
        raise ServiceError("请上传至少 1 张圆梦照片", field="photos")
    with write_transaction():
        WISHES.move(wish, "fulfil", user=user, values={"fulfil_note": note})
        photos_module.store(prepared, SUBJECT, wish.id, role=RESULT, user=user)
    return Wish.get_by_id(wish.id)


# --- reading --------------------------------------------------------------------------------

def claimed_by(unit_id):
    """The unit's wishes (claimed and fulfilled), open ones first."""
    return Wish.select().where(Wish.claimer == unit_id, Wish.status.in_(WishStatus.TAKEN))


def claimed_open(unit_id):
    """待办: wishes the unit claimed and has not yet reported 已圆梦 (a query)."""
    return Wish.select(Wish.id).where(Wish.claimer == unit_id, Wish.status == WishStatus.CLAIMED)


def open_count(unit_id):
    return claimed_open(unit_id).count()


def public_photos(wish_ids):
    """{wish id: {"request": [Photo], "result": [Photo]}} — approved photos only (one query)."""
    out = {pk: {REQUEST: [], RESULT: []} for pk in wish_ids}
    for pk, items in photos_module.photos_of(SUBJECT, wish_ids).items():
        for photo in items:
            if photo.approved and photo.role in (REQUEST, RESULT):
                out[pk][photo.role].append(photo)
    return out



def move(wish_id, name, *, user=None, reason=None, expected=None):
    """A clerk's move from the admin's buttons (审核发布, 下架); ``expected`` is the status
    the clerk saw (someone moved it since: a conflict)."""
    from .transitions import RACE

    wish = _get(wish_id)
    if expected and expected != wish.status:
        raise Conflict(RACE.format(noun=WISHES.noun))
    if name == "close":
        return close(wish.id, user=user, reason=reason)
    transition = WISHES.check(wish, name, user=user, guard=False)
    if transition.who != "records.manage":
        raise Forbidden("该操作由认领单位在心愿墙上完成")
    return WISHES.move(wish, name, user=user)
