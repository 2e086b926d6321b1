"""Signing up for events (报名): the place rule and the waiting list, in one place.

Used by the public event pages, the admin (bulk cancellation, clerk-entered sign-ups),
the API and, later, clerks' check-in.

Concurrency: every write locks the event row first (``locked_event``), so sign-ups and
cancellations for one event run one after another while other events are unaffected
on PostgreSQL:

- PostgreSQL: ``SELECT … FROM event WHERE id = … FOR UPDATE`` inside the transaction
  (``register`` takes the same row lock with the ``UPDATE … RETURNING`` that counts the
  sign-up in ``Event.signup_count``);
- SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken at
  once, so two requests can never both read "4 of 5 places taken" and both insert).

Places are counted from the sign-up rows themselves under that lock rather than kept in
a counter column, so a clerk's edit can never leave a counter out of step. The partial
unique index on (event, phone) for live sign-ups backs the duplicate rule.
"""
import contextlib
import datetime as dt
import re

from flask import current_app, has_app_context
from peewee import IntegrityError, fn

from models import Event, EventStatus, Signup, SignupStatus, Volunteer, now, statements

from . import audit
from .common import write_transaction
from .stats import on_postgres
from .errors import Conflict, NotFound, ServiceError
from .transitions import SYSTEM, Machine, Transition

NAME_MAX = 30
CODE_RE = re.compile(r"^[0-9A-F]{6,20}$")

# Statuses that hold one of the event's places.
HOLDS_PLACE = (SignupStatus.REGISTERED, SignupStatus.CHECKED_IN)

CHECKIN_OPENS_BEFORE_MINUTES = 120  # defaults of the app settings of the same names
CHECKIN_CLOSES_DAYS_AFTER = 0       # 0: until the end of the day the event ends


def _setting(name, default):
    value = current_app.config.get(name, default) if has_app_context() else default
    return default if value is None else int(value)


def checkin_window(event):
    """(opens, closes): check-in is accepted from CHECKIN_OPENS_BEFORE_MINUTES before the
    start until the end of the event's last day (+ CHECKIN_CLOSES_DAYS_AFTER days)."""
    opens = event.starts_at - dt.timedelta(minutes=_setting("CHECKIN_OPENS_BEFORE_MINUTES",
                                                            CHECKIN_OPENS_BEFORE_MINUTES))
    last_day = event.ends_at - dt.timedelta(microseconds=1)  # ends at 00:00 → the day before
    closes = dt.datetime.combine(last_day.date(), dt.time()) + dt.timedelta(
        days=1 + _setting("CHECKIN_CLOSES_DAYS_AFTER", CHECKIN_CLOSES_DAYS_AFTER))
    return opens, closes


def checkin_refusal(event, at=None):
    """Why nobody can check in at ``event`` now, or None."""
    at = at or now()
    if event.status == EventStatus.CANCELLED:
        return "该活动已取消"
    opens, closes = checkin_window(event)
    if at < opens:
        return f"签到尚未开始（{opens:%m-%d %H:%M} 起可以签到）"
    if at >= closes:
        return f"签到已截止（截至 {closes - dt.timedelta(minutes=1):%m-%d %H:%M}）"
    return None


def _checkin_guard(signup):
    return checkin_refusal(Event.get_by_id(signup.event_id))


# The sign-up state machine: every status change is a move of this table.
R, W, X = SignupStatus.REGISTERED, SignupStatus.WAITLISTED, SignupStatus.CANCELLED
SIGNUPS = Machine(Signup, SignupStatus, [
    # a resident with phone + check-in code (trusted caller, no account), or a clerk
    Transition("cancel", (R, W), X, "取消报名", "records.manage"),
    Transition("promote", (W,), R, "候补递补", SYSTEM),
    Transition("check_in", (R,), SignupStatus.CHECKED_IN, "签到", "attendance.record",
               stamp="checked_in_at", guard=_checkin_guard),
])
# (from, to) → the move's name, for callers that know the target state
SIGNUP_MOVES = {(source, t.target): t.name for t in SIGNUPS for source in t.sources}
# every move keeps the event's places taken / waiting (services/totals.py), in its transaction
SIGNUPS.add_after(lambda moved: _count_place(moved.obj.event_id, moved.source, moved.obj.status))


@contextlib.contextmanager
def locked_event(event_id):
    """One transaction holding the event's lock; yields the Event (or None if absent).

    Nested inside a caller's transaction the caller's lock mode applies (SQLite cannot
    upgrade a running transaction); the services here are always called at top level.
    """
    with write_transaction():
        query = Event.select().where(Event.id == event_id)
        if on_postgres():
            query = query.for_update()
        yield query.get_or_none()


def mask_phone(phone):
    """138****1234: what a page may show of a phone number."""
    phone = str(phone or "")
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)


def clean_phone(phone):
    """The stored form of a sign-up phone (see ``models.fields.MobileField``), or
    ``ValueError`` with the Chinese message."""
    return Signup.phone.normalise(phone)


def place_counts(event_ids):
    """{event_id: {"taken": n, "waiting": m}} in one query: the events' running totals
    (``Event.taken_count`` / ``waiting_count``), whatever the number of sign-ups."""
    out = {eid: {"taken": 0, "waiting": 0} for eid in event_ids}
    if not event_ids:
        return out
    rows = (Event.select(Event.id, Event.taken_count, Event.waiting_count)
            .where(Event.id.in_(list(event_ids))).tuples())
    for event_id, taken, waiting in rows:
        out[event_id] = {"taken": taken, "waiting": waiting}
    return out


def _place_total(status):
    """The event's running total a sign-up in ``status`` counts in (None: neither)."""
    if status in HOLDS_PLACE:
        return Event.taken_count
    if status == SignupStatus.WAITLISTED:
        return Event.waiting_count
    return None


def _count_place(event_id, leaving=None, entering=None):
    """Move the event's place totals for a sign-up leaving one status and entering another."""
    before, after = _place_total(leaving), _place_total(entering)
    if before is after:
        return
    values = {}
    if before is not None:
        values[before] = before - 1
    if after is not None:
        values[after] = after + 1
    Event.update(values).where(Event.id == event_id).execute()


def _count_entering(event_id, status):
    """``_count_place`` for a new sign-up, under the event's lock: its text made once."""
    total = _place_total(status)
    query = Event.update({total: total + 1}).where(Event.id == event_id)
    statements.execute(f"signup_count_{total.name}", query, [1, event_id])


def places_left(event, taken):
    """None when the event has no limit (capacity 0)."""
    if not event.capacity:
        return None
    return max(event.capacity - taken, 0)


def closed_reason(event, at=None):
    """Why nobody can sign up for ``event`` now, or None when sign-up is open."""
    at = at or now()
    if event.status == EventStatus.CANCELLED:
        return "该活动已取消，不能报名。"
    if event.ends_at <= at:
        return "该活动已结束，不能报名。"
    if event.starts_at <= at:
        return "该活动已开始，报名已截止。"
    return None


def _taken(event_id):
    return Signup.select().where(Signup.event == event_id, Signup.status.in_(HOLDS_PLACE)).count()


def _validate_person(name, phone):
    name = " ".join(str(name or "").split())
    if not name:
        raise ServiceError("请填写姓名", field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(f"姓名不能超过 {NAME_MAX} 个字", field="name")
    if not str(phone or "").strip():
        raise ServiceError("请填写手机号", field="phone")
    try:
        phone = clean_phone(phone)
    except ValueError as exc:
        raise ServiceError(str(exc), field="phone")
    return name, phone


def register(event_id, name, phone, *, user=None, staff=False):
    """Sign ``name``/``phone`` up: 已报名 while places are left, otherwise 候补.

    ``staff`` (a clerk in the admin) may also enter sign-ups for unpublished events.
    Returns the new Signup.
    """
    name, phone = _validate_person(name, phone)
    try:
        with write_transaction():
            event = _lock_event_counting_signup(event_id, phone)
            if event is None or not (event.published or staff):
                raise NotFound("活动不存在或尚未发布")
            reason = closed_reason(event)
            if reason:
                raise Conflict(reason)
            left = places_left(event, event.taken_count)
            status = SignupStatus.REGISTERED if left is None or left > 0 else SignupStatus.WAITLISTED
            # a live sign-up of this phone for this event is refused by the partial unique
            # index (signup_event_id_phone), whether it came before or at the same instant
            signup = Signup.create(event=event.id, name=name, phone=phone, status=status,
                                   volunteer=event.volunteer_id)
            _count_entering(event.id, status)
            audit.record("signup", signup, changes={"event": event.id, "status": status,
                                                    "phone": mask_phone(phone)}, user=user)
    except IntegrityError:
        existing = (Signup.select(Signup.status)
                    .where(Signup.event == event_id, Signup.phone == phone, Signup.status.in_(SignupStatus.LIVE))
                    .scalar())
        if existing is None:  # a code collision, or the other sign-up was cancelled meanwhile
            raise Conflict("该手机号已报名本活动，请勿重复报名。", field="phone")
        raise Conflict(f"该手机号已报名本活动（{SignupStatus.label(existing)}），请勿重复报名。"
                       "如需查看签到码，请联系活动组织方。", field="phone")
    return signup


def _lock_event_counting_signup(event_id, phone):
    """The event (the columns the rules read), locked for this transaction, with its
    ``signup_count`` already moved by one (services/totals.py): one ``UPDATE …
    RETURNING`` takes the row lock ``locked_event`` takes, and counts the sign-up. A
    refused sign-up rolls back, and its count with it. None when there is no such event.

    Its ``taken_count`` is the places taken as of the lock: every sign-up, and every move of
    one, moves it under this same lock (``verify-balances`` checks it against the rows). Its
    ``volunteer_id``: the volunteer with this phone (None: none) — the lock does not guard
    it, but reading it in the same statement saves a round trip."""
    volunteer = Volunteer.select(Volunteer.id).where(Volunteer.phone == phone).limit(1)
    query = (Event.update(signup_count=Event.signup_count + 1)
             .where(Event.id == event_id)
             .returning(Event.id, Event.published, Event.status, Event.starts_at, Event.ends_at, Event.capacity,
                        Event.taken_count, volunteer.alias("volunteer_id"))
             .objects(Event))
    # under the lock every sign-up queues behind: its text is generated once (models/statements.py)
    rows = list(statements.rows("signup_lock_event", query, [1, event_id, phone, 1]))
    return rows[0] if rows else None


def _move(signup, to_status, *, user=None, changes=None, system=False):
    """Move ``signup`` to ``to_status`` through the table (caller holds the event lock)."""
    name = SIGNUP_MOVES.get((signup.status, to_status))
    if name is None:
        raise Conflict(f"报名当前为“{SignupStatus.label(signup.status)}”，不能改为“{SignupStatus.label(to_status)}”")
    return SIGNUPS.move(signup, name, user=user, system=system, changes=changes)


def mark_checked_in(signup, *, user=None, changes=None):
    """已报名 → 已签到, for services.attendance (inside its transaction)."""
    return _move(signup, SignupStatus.CHECKED_IN, user=user, changes=changes)


def _promote_one(event, user=None):
    """Move the earliest 候补 to 已报名 if a place is free; returns it or None."""
    left = places_left(event, _taken(event.id))
    if left is not None and left <= 0:
        return None
    first = (Signup.select().where(Signup.event == event.id, Signup.status == SignupStatus.WAITLISTED)
             .order_by(Signup.created_at, Signup.id).first())
    if first is None:
        return None
    promoted = _move(first, SignupStatus.REGISTERED, user=user, system=True, changes={"promoted": True})
    _tell_promoted(event, promoted)
    return promoted


def _tell_promoted(event, signup):
    """候补递补: the person moved up hears of it (their account, else their phone)."""
    from . import notices

    users, phones = notices.people_by_phone([signup.phone])
    notices.notify("signup_promoted", title=f"候补成功：{event.title}"[:100], users=users, phones=phones,
                   subject=signup, link=f"/events/{event.id}",
                   body=f"{signup.name}，您报名的“{event.title}”（{event.starts_at:%m月%d日 %H:%M}，{event.location}）"
                        f"已由候补转为正式报名，签到码 {signup.code}，请准时参加。")


def cancel(signup_id, *, user=None):
    """Cancel a live sign-up; a freed place goes to exactly one waiting person.

    Returns (cancelled Signup, promoted Signup or None).
    """
    signup = Signup.get_or_none(Signup.id == signup_id)
    if signup is None:
        raise NotFound("报名记录不存在")
    with locked_event(signup.event_id) as event:
        signup = Signup.get_by_id(signup.id)  # re-read under the lock
        held_place = signup.status in HOLDS_PLACE
        _move(signup, SignupStatus.CANCELLED, user=user)
        promoted = _promote_one(event, user) if held_place else None
    return signup, promoted


def fill_free_places(event_id, *, user=None):
    """After a clerk raised the capacity: promote waiting people, first come first
    served, into the places now free. Returns the promoted sign-ups."""
    promoted = []
    with locked_event(event_id) as event:
        if event is None or event.status == EventStatus.CANCELLED:
            return promoted
        while True:
            signup = _promote_one(event, user)
            if signup is None:
                break
            promoted.append(signup)
    return promoted


def update_person(signup_id, name, phone, *, user=None):
    """A clerk corrects a sign-up's name or phone (never its status or event)."""
    name, phone = _validate_person(name, phone)
    signup = Signup.get_or_none(Signup.id == signup_id)
    if signup is None:
        raise NotFound("报名记录不存在")
    try:
        with locked_event(signup.event_id):
            signup = Signup.get_by_id(signup.id)
            if phone != signup.phone and signup.status in SignupStatus.LIVE and Signup.select().where(
                    Signup.event == signup.event_id, Signup.phone == phone, Signup.id != signup.id,
                    Signup.status.in_(SignupStatus.LIVE)).exists():
                raise Conflict("该手机号在本活动已有有效报名", field="phone")
            volunteer = Volunteer.get_or_none(Volunteer.phone == phone)
            changes = {}
            if name != signup.name:
                changes["name"] = [signup.name, name]
            if phone != signup.phone:
                changes["phone"] = [mask_phone(signup.phone), mask_phone(phone)]
            Signup.update(name=name, phone=phone, volunteer=volunteer.id if volunteer else None,
                          updated_at=now()).where(Signup.id == signup.id).execute()
            audit.record("update", signup, changes=changes, user=user)
    except IntegrityError:
        raise Conflict("该手机号在本活动已有有效报名", field="phone")
    return Signup.get_by_id(signup.id)


def find_own_signup(event_id, phone, code):
    """The live sign-up matching phone and check-in code, or 404 (no hint which was wrong)."""
    code = str(code or "").strip().upper()
    if not str(phone or "").strip() or not code:
        raise ServiceError("请填写报名时的手机号和签到码")
    try:
        phone = clean_phone(phone)
    except ValueError:
        phone = None
    if phone is None or not CODE_RE.match(code):
        raise NotFound("未找到对应的报名记录，请核对手机号和签到码")
    signup = Signup.get_or_none(Signup.event == event_id, Signup.phone == phone, Signup.code == code,
                                Signup.status.in_((SignupStatus.REGISTERED, SignupStatus.WAITLISTED)))
    if signup is None:
        raise NotFound("未找到可取消的报名记录，请核对手机号和签到码")
    return signup


def cancel_own(event_id, phone, code):
    """A resident cancels with phone + check-in code."""
    signup = find_own_signup(event_id, phone, code)
    return cancel(signup.id)


def waiting_position(signup):
    """1-based place in the waiting list, or None when not waiting."""
    if signup.status != SignupStatus.WAITLISTED:
        return None
    ahead = Signup.select().where(
        Signup.event == signup.event_id, Signup.status == SignupStatus.WAITLISTED,
        (Signup.created_at < signup.created_at)
        | ((Signup.created_at == signup.created_at) & (Signup.id < signup.id))).count()
    return ahead + 1
