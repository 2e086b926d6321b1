"""Controllers of the activity calendar, event pages, sign-ups and iCalendar feeds.

Only published events appear; everything else is a 404. Bad query parameters fall back
to a sensible default with a notice (never a 500). Sign-up rules live in
``services.signups``; these handlers only translate forms and errors.
"""
import calendar as pycalendar
import datetime as dt

from flask import Response, abort, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from models import Event, EventCategory, EventStatus, MemberUnit, Signup, SignupStatus, db, now
from services import ical, links, signups
from services.errors import ServiceError
from web.ratelimit import rate_limited

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
YEAR_MIN, YEAR_MAX = 2000, 2100
LIST_PAGE_SIZE = 20
PAGE_MAX = 10000
DAY_SHOWN = 3          # events listed in a month-grid cell before "另有 N 项"
MONTH_MAX_EVENTS = 3000
# Events are placed on every day they cover; one starting more than this many days
# before the month is not looked for (keeps the month query an index range scan).
SPAN_LOOKBACK_DAYS = 92
SESSION_SIGNUPS = "my_signups"


class SignupForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=signups.NAME_MAX, message="姓名过长")])
    phone = StringField("手机号", validators=[DataRequired("请填写手机号"), Length(max=30, message="手机号过长")])


class CancelForm(FlaskForm):
    """Used with prefix="cancel": it shares the event page with SignupForm."""

    phone = StringField("报名手机号", validators=[DataRequired("请填写报名手机号"), Length(max=30, message="手机号过长")])
    code = StringField("签到码", validators=[DataRequired("请填写签到码"), Length(max=20, message="签到码过长")])


# --- helpers -----------------------------------------------------------------------

def published_event_or_404(event_id):
    event = (Event.select(Event, MemberUnit.name.alias("organiser_name"))
             .join(MemberUnit, JOIN.LEFT_OUTER, on=(Event.organiser == MemberUnit.id))
             .where(Event.id == event_id, Event.published == True)  # noqa: E712
             .objects().first())
    if event is None:
        abort(404)
    return event


def _int_arg(name):
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(name)


def _category_arg(notices):
    category = request.args.get("category") or None
    if category and category not in EventCategory.codes():
        notices.append("未知的活动类别，已显示全部类别。")
        return None
    return category


def _month_arg(today, notices):
    try:
        year, month = _int_arg("year"), _int_arg("month")
    except ValueError:
        notices.append("年份或月份无效，已显示本月。")
        return today.year, today.month
    year = year or today.year
    month = month or today.month
    if not (YEAR_MIN <= year <= YEAR_MAX and 1 <= month <= 12):
        notices.append("年份或月份超出范围，已显示本月。")
        return today.year, today.month
    return year, month


def _page_arg(notices):
    try:
        page = _int_arg("page") or 1
    except ValueError:
        notices.append("页码无效，已显示第 1 页。")
        return 1
    if page < 1 or page > PAGE_MAX:
        notices.append("页码超出范围，已显示第 1 页。")
        return 1
    return page


def _day_arg(notices):
    value = request.args.get("day")
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        notices.append("日期无效，已显示近期活动。")
        return None
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        notices.append("日期超出范围，已显示近期活动。")
        return None
    return day


def _listing_query(category):
    query = (Event.select(Event.id, Event.title, Event.category, Event.starts_at, Event.ends_at,
                          Event.location, Event.status)
             .where(Event.published == True))  # noqa: E712
    if category:
        query = query.where(Event.category == category)
    return query


def _shift_month(year, month, delta):
    index = year * 12 + (month - 1) + delta
    y, m = divmod(index, 12)
    return (y, m + 1) if YEAR_MIN <= y <= YEAR_MAX else None


def _moment(value):
    """A datetime from the database driver as is: PostgreSQL's are datetimes, SQLite's text."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _month_grid(year, month, category, today):
    """Weeks of day cells (Monday first); each day lists the first DAY_SHOWN events covering
    it and counts the rest.

    Two queries: every event overlapping the month as bare (id, start, end) rows read
    straight from the driver (a busy month holds hundreds; peewee's per-value conversion
    was half the page's time), then the details of only the events shown (≤ 3 a day)."""
    first = dt.datetime(year, month, 1)
    nxt = _shift_month(year, month, 1)
    end = dt.datetime(*nxt, 1) if nxt else dt.datetime(year + 1, 1, 1)
    spans = (Event.select(Event.id, Event.starts_at, Event.ends_at)
             .where(Event.published == True, Event.starts_at < end,  # noqa: E712
                    Event.starts_at >= first - dt.timedelta(days=SPAN_LOOKBACK_DAYS), Event.ends_at > first)
             .order_by(Event.starts_at, Event.id).limit(MONTH_MAX_EVENTS))
    if category:
        spans = spans.where(Event.category == category)
    by_day = {}
    last_day = (end - dt.timedelta(days=1)).date()
    for event_id, starts_at, ends_at in db.execute_sql(*spans.sql()).fetchall():
        starts_at, ends_at = _moment(starts_at), _moment(ends_at)
        day = max(starts_at.date(), first.date())
        stop = min((ends_at - dt.timedelta(microseconds=1)).date(), last_day)  # ends at 00:00 → previous day
        while day <= stop:
            by_day.setdefault(day, []).append(event_id)
            day += dt.timedelta(days=1)
    shown_ids = {i for ids in by_day.values() for i in ids[:DAY_SHOWN]}
    shown = {}
    if shown_ids:
        shown = {e.id: e for e in _listing_query(None).where(Event.id.in_(sorted(shown_ids))).namedtuples()}
    more_base = url_for("public.calendar", view="list", category=category, day="0000-00-00")
    weeks = []
    for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        cells = []
        for day in week:
            ids = by_day.get(day, []) if day.month == month else []
            cells.append({
                "date": day, "in_month": day.month == month, "today": day == today,
                "weekday": WEEKDAYS[day.weekday()], "events": [shown[i] for i in ids[:DAY_SHOWN] if i in shown],
                "more": max(len(ids) - DAY_SHOWN, 0), "count": len(ids),
                "more_url": more_base.replace("0000-00-00", day.isoformat()) if len(ids) > DAY_SHOWN else None,
            })
        weeks.append(cells)
    return weeks


def _remember_signup(signup_id):
    mine = [i for i in session.get(SESSION_SIGNUPS, []) if i != signup_id][-9:]
    session[SESSION_SIGNUPS] = mine + [signup_id]


def _event_context(event):
    counts = signups.place_counts([event.id])[event.id]
    return {
        "event": event,
        "taken": counts["taken"],
        "waiting": counts["waiting"],
        "left": signups.places_left(event, counts["taken"]),
        "closed_reason": signups.closed_reason(event),
        "category_label": EventCategory.label(event.category),
    }


def _prefilled_signup_form():
    """A volunteer signed in signs up with their name and mobile filled in."""
    from flask_login import current_user

    from auth.permissions import can

    if can(current_user, "volunteer.self"):
        volunteer = current_user.volunteer
        return SignupForm(formdata=None, data={"name": volunteer.name, "phone": volunteer.phone})
    return SignupForm(formdata=None)


def _render_event(event, signup_form=None, cancel_form=None, status=200, error=None):
    context = _event_context(event)
    return render_template(
        "public/events/detail.html", signup_form=signup_form or _prefilled_signup_form(),
        cancel_form=cancel_form or CancelForm(formdata=None, prefix="cancel"), error=error,
        **context), status


def _ics_response(body, filename, etag=None):
    response = Response(body, content_type=ical.CONTENT_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "public, max-age=300"
    if etag:
        response.set_etag(etag)
        response.make_conditional(request)
    return response


# --- calendar ----------------------------------------------------------------------

def calendar():
    """The activity calendar: month grid (default) or list (upcoming / past / one day)."""
    notices = []
    today = now().date()
    view = request.args.get("view", "month")
    if view not in ("month", "list"):
        notices.append("未知的显示方式，已显示月历。")
        view = "month"
    category = _category_arg(notices)
    context = {"view": view, "category": category, "categories": EventCategory.choices,
               "notices": notices, "today": today, "EventStatus": EventStatus,
               "category_label": EventCategory.label, "subscribe": subscribe_urls()}
    if view == "month":
        year, month = _month_arg(today, notices)
        context.update(year=year, month=month, weeks=_month_grid(year, month, category, today),
                       event_href=url_for("public.event_detail", event_id=0)[:-1],
                       prev=_shift_month(year, month, -1), next=_shift_month(year, month, 1),
                       weekdays=WEEKDAYS)
        return render_template("public/events/calendar.html", **context)

    at = now()
    day = _day_arg(notices)
    when = request.args.get("when", "upcoming")
    if when not in ("upcoming", "past"):
        notices.append("未知的时间范围，已显示近期活动。")
        when = "upcoming"
    page = _page_arg(notices)
    query = _listing_query(category)
    if day is not None:
        start = dt.datetime.combine(day, dt.time())
        query = query.where(Event.starts_at < start + dt.timedelta(days=1),
                            Event.starts_at >= start - dt.timedelta(days=SPAN_LOOKBACK_DAYS),
                            Event.ends_at > start).order_by(Event.starts_at, Event.id)
    elif when == "upcoming":
        query = query.where(Event.starts_at >= at - dt.timedelta(days=SPAN_LOOKBACK_DAYS),
                            Event.ends_at > at).order_by(Event.starts_at, Event.id)
    else:
        query = query.where(Event.starts_at < at, Event.ends_at <= at).order_by(
            Event.starts_at.desc(), Event.id.desc())
    rows = list(query.limit(LIST_PAGE_SIZE + 1).offset((page - 1) * LIST_PAGE_SIZE))
    context.update(events=rows[:LIST_PAGE_SIZE], has_next=len(rows) > LIST_PAGE_SIZE, page=page,
                   when=when, day=day)
    return render_template("public/events/list.html", **context)


# --- event page and sign-up ----------------------------------------------------------

def event_detail(event_id):
    return _render_event(published_event_or_404(event_id))


@rate_limited("signup")
def event_signup(event_id):
    # The event is read only to show the page again: a sign-up that goes through needs
    # nothing but ``register``, which finds the event (or refuses: 404) under its lock.
    form = SignupForm()
    if not form.validate_on_submit():
        return _render_event(published_event_or_404(event_id), signup_form=form, status=400,
                             error="请检查报名信息。")
    try:
        signup = signups.register(event_id, form.name.data, form.phone.data)
    except ServiceError as exc:
        if exc.field in ("name", "phone"):
            form[exc.field].errors = list(form[exc.field].errors) + [exc.message]
        return _render_event(published_event_or_404(event_id), signup_form=form,
                             status=exc.status, error=exc.message)
    _remember_signup(signup.id)
    return redirect(url_for("public.signup_done", event_id=event_id, signup_id=signup.id), code=303)


def signup_done(event_id, signup_id):
    """The confirmation with the check-in code, for the browser that signed up."""
    if signup_id not in session.get(SESSION_SIGNUPS, []):
        abort(404)
    signup = Signup.get_or_none(Signup.id == signup_id, Signup.event == event_id)
    if signup is None:
        abort(404)
    event = published_event_or_404(event_id)
    return render_template("public/events/signup_done.html", event=event, signup=signup,
                           phone=signups.mask_phone(signup.phone),
                           position=signups.waiting_position(signup), SignupStatus=SignupStatus)


@rate_limited("lookup")
def signup_cancel(event_id):
    event = published_event_or_404(event_id)
    form = CancelForm(prefix="cancel")
    if not form.validate_on_submit():
        return _render_event(event, cancel_form=form, status=400, error="请填写报名手机号和签到码。")
    try:
        cancelled, _promoted = signups.cancel_own(event.id, form.phone.data, form.code.data)
    except ServiceError as exc:
        return _render_event(event, cancel_form=form, status=exc.status, error=exc.message)
    return render_template("public/events/cancelled.html", event=event, signup=cancelled,
                           phone=signups.mask_phone(cancelled.phone))


# --- iCalendar ---------------------------------------------------------------------

def calendar_ics():
    body, etag = ical.feed()
    return _ics_response(body, "calendar.ics", etag)


def category_ics(category):
    if category not in EventCategory.codes():
        abort(404)
    body, etag = ical.feed(category)
    return _ics_response(body, f"{category}.ics", etag)


def event_ics(event_id):
    event = published_event_or_404(event_id)
    return _ics_response(ical.event_calendar(event), f"event-{event.id}.ics")


def subscribe_urls():
    """webcal:// links for phone calendars (whole calendar and per category)."""
    whole = links.webcal_url("public.calendar_ics")
    per_category = [(code, label, links.webcal_url("public.category_ics", category=code))
                    for code, label in EventCategory.choices]
    return whole, per_category

