"""Check-in at an event and crediting attendance (签到与计入时长积分), in one place.

A clerk checks a person in with the code on their sign-up confirmation (scanned from
its QR code or typed) or from the event's list. Closing attendance credits each
checked-in person's hours — the event's length unless adjusted with a reason — and
the event's points to the volunteer, through ``services.points``. ``Signup.credited``
is claimed by a conditional UPDATE, so closing twice (or from two phones at once)
never credits twice.
"""
from decimal import ROUND_FLOOR, Decimal

from flask import current_app, has_app_context

from auth.permissions import can
from models import Event, MemberUnit, Signup, SignupStatus, Volunteer, now

from . import audit, notices, points, signups
from .common import get_or_404, write_transaction
from .errors import Conflict, Forbidden, NotFound, ServiceError

CODE_MAX = 20


def event_hours(event):
    """The event's length in hours (two decimals)."""
    seconds = (event.ends_at - event.starts_at).total_seconds()
    return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.01"))


def points_for(event, hours):
    """The event's points when it sets them, else hours × POINTS_PER_HOUR (whole points)."""
    if event.points:
        return int(event.points)
    rate = current_app.config.get("POINTS_PER_HOUR", 1) if has_app_context() else 1
    return int((Decimal(hours) * Decimal(str(rate))).to_integral_value(rounding=ROUND_FLOOR))


def get_event(event_id):
    return get_or_404(Event, event_id, "活动不存在")


def require_recorder(event, user):
    """谁组织谁记录: a clerk, or the unit that organises the event; ``user=None`` is
    trusted code (the command line)."""
    if user is not None and not can(user, "attendance.record", event):
        raise Forbidden("只有活动的主办单位或社区工作人员可以记录签到和时长积分")


def organised_by(unit_id):
    """The events a unit organises (its workspace lists them)."""
    return Event.select().where(Event.organiser == unit_id)


def get_organised_event(event_id, user):
    """An event the caller may record attendance for, else 404 (never another unit's)."""
    event = get_or_404(Event, event_id, "活动不存在")
    if not can(user, "attendance.record", event):
        raise NotFound("活动不存在")
    return event


def normalise_code(code):
    return "".join((code or "").split()).upper()


def check_in(event_id, *, code=None, signup_id=None, user=None):
    """Mark one sign-up of this event as checked in, recording the time."""
    event = get_event(event_id)
    require_recorder(event, user)
    if event.is_cancelled:
        raise Conflict("该活动已取消，不能签到")
    refusal = signups.checkin_refusal(event)  # the sign-up machine's guard says the same
    if refusal:
        raise Conflict(refusal)
    if signup_id is not None:
        signup = get_or_404(Signup, signup_id, "本活动没有这条报名记录",
                            query=Signup.select().where(Signup.event == event.id))
    else:
        code = normalise_code(code)
        if not code:
            raise ServiceError("请输入或扫描签到码", field="code")
        if len(code) > CODE_MAX or not code.isalnum():
            raise NotFound("签到码无效，未找到对应的报名")
        signup = Signup.get_or_none(Signup.code == code)
        if signup is None:
            raise NotFound("签到码无效，未找到对应的报名")
        if signup.event_id != event.id:
            raise Conflict(f"该签到码属于另一场活动“{signup.event.title}”，不能在本活动签到")
    _refuse_unless_registered(signup)
    try:
        with write_transaction():
            signups.mark_checked_in(signup, user=user, changes={"event": event.id})
    except Conflict:
        _refuse_unless_registered(Signup.get_by_id(signup.id))  # say why, when it is known
        raise
    return Signup.get_by_id(signup.id)


def _refuse_unless_registered(signup):
    if signup.status == SignupStatus.CHECKED_IN:
        raise Conflict(f"{signup.name} 已于 {signup.checked_in_at:%m-%d %H:%M} 签到，不能重复签到")
    if signup.status == SignupStatus.CANCELLED:
        raise Conflict(f"{signup.name} 的报名已取消，不能签到")
    if signup.status == SignupStatus.WAITLISTED:
        raise Conflict(f"{signup.name} 仍在候补名单中，尚未获得名额，不能签到")


def validate_hours(event, hours, reason):
    """Hours for one person: the event's length unless adjusted, with a reason when adjusted."""
    length = event_hours(event)
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise ServiceError("时长调整说明不能超过 200 字", field="reason")
    if hours is None or not str(hours).strip():
        if reason:  # an adjustment was meant: never credit the default in its place
            raise ServiceError("填写了调整原因，请同时填写实际时长（或清空原因按活动时长计入）", field="hours")
        return length, None
    hours = points.parse_hours(hours, label="服务时长", allow_zero=True)
    if hours > length and not reason:
        raise ServiceError(f"时长 {hours} 小时超过活动时长 {length} 小时，必须填写原因", field="reason")
    if hours != length and not reason:
        raise ServiceError(f"时长与活动时长 {length} 小时不同，请填写调整原因", field="reason")
    if hours > 24 * ((event.ends_at.date() - event.starts_at.date()).days + 1):
        raise ServiceError("服务时长超出活动日期范围，请核实", field="hours")
    return hours, reason or None


def close_attendance(event_id, *, adjustments=None, user=None):
    """Credit hours and points to everyone checked in and not yet credited.

    ``adjustments`` maps a signup id to ``(hours, reason)``. Every adjustment is checked
    before anything is written. Returns a summary dict.
    """
    event = get_event(event_id)
    require_recorder(event, user)
    if event.is_cancelled:
        raise Conflict("该活动已取消，不能计入时长积分")
    if event.starts_at > now():
        raise Conflict("活动尚未开始，不能结束考勤")
    pending = list(Signup.select().where(Signup.event == event.id, Signup.status == SignupStatus.CHECKED_IN,
                                         Signup.credited == False).order_by(Signup.checked_in_at, Signup.id))  # noqa: E712
    adjustments = adjustments or {}
    known = {s.id for s in pending}
    for signup_id in adjustments:
        if signup_id not in known:
            raise ServiceError("只能调整本活动已签到且尚未计入的人员时长")
    plan = []
    for signup in pending:
        try:
            hours, reason = validate_hours(event, *adjustments.get(signup.id, (None, None)))
        except ServiceError as exc:
            exc.field = f"{exc.field or 'hours'}_{signup.id}"  # the form field of this person
            raise
        plan.append((signup, hours, reason))
    credited = no_volunteer = 0
    with write_transaction():
        for signup, hours, reason in plan:
            volunteer_id = signup.volunteer_id or Volunteer.select(Volunteer.id).where(
                Volunteer.phone == signup.phone).scalar()
            claimed = (Signup.update(credited=True, hours=hours, hours_note=reason, volunteer=volunteer_id,
                                     updated_at=now())
                       .where(Signup.id == signup.id, Signup.credited == False).execute())  # noqa: E712
            if not claimed:
                continue
            credited += 1
            if volunteer_id is None:
                no_volunteer += 1
                continue
            description = f"参加活动“{event.title}”（{event.starts_at:%Y-%m-%d}）"
            if reason:
                description = f"{description}，时长调整：{reason}"[:200]
            earned = points_for(event, hours)
            points.earn(volunteer_id, earned, hours, description=description,
                        event=event.id, signup=signup.id, organiser=event.organiser_id, user=user)
            _tell_credited(event, signup, volunteer_id, hours, earned)
        audit.record("close_attendance", event, user=user,
                     changes={"credited": credited, "without_volunteer": no_volunteer})
    return {"credited": credited, "without_volunteer": no_volunteer, "already": 0 if pending else 1}


def _tell_credited(event, signup, volunteer_id, hours, earned):
    """The volunteer hears that hours and points were credited (their account, else phone)."""
    users = notices.volunteer_user_ids(volunteer_id)
    recorder = MemberUnit.get_by_id(event.organiser_id).name if event.organiser_id else "社区"
    notices.notify("points_credited", title=f"服务时长和积分已计入：{event.title}"[:100], subject=signup,
                   users=users, phones=[] if users else [signup.phone], link="/me",
                   body=f"{signup.name}，您参加“{event.title}”（{event.starts_at:%Y-%m-%d}）的志愿服务已记录："
                        f"时长 {points.format_hours(hours)} 小时，积分 {earned} 分。记录单位：{recorder}。")


def roster(event_id):
    """The event's sign-ups for the check-in screen, live ones first."""
    event = get_event(event_id)
    order = {SignupStatus.REGISTERED: 0, SignupStatus.CHECKED_IN: 1, SignupStatus.WAITLISTED: 2,
             SignupStatus.CANCELLED: 3}
    signups = sorted(Signup.select().where(Signup.event == event.id), key=lambda s: (order.get(s.status, 9), s.name, s.id))
    counts = {}
    for s in signups:
        counts[s.status] = counts.get(s.status, 0) + 1
    return event, signups, counts
