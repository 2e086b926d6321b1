"""A volunteer's own page ``/me``: hours and points with the ledger, the 志愿服务记录证明
PDF, sign-ups, and 党员接单. Only the caller's own Volunteer is ever read here."""
import datetime as dt
from decimal import Decimal
from urllib.parse import quote

from flask import Response, current_app, render_template, request
from flask_login import current_user
from peewee import JOIN, fn

from models import EntryKind, Event, MemberUnit, PointsEntry, Signup, SignupStatus, Volunteer, WorkOrder, now
from models.bounds import date_in_range, date_range_message
from services import points, workorders
from services.errors import ServiceError

from .access import volunteer_only
from .projects import Pager, _parse_page, fail
from .workspace import Section, _render_sections, register_section


def _volunteer(user=None):
    user = user or current_user
    return Volunteer.get_by_id(user.volunteer_id)


def _hours(volunteer_id):
    total = (PointsEntry.select(fn.SUM(PointsEntry.hours))
             .where(PointsEntry.volunteer == volunteer_id, PointsEntry.kind.in_(points.SERVICE_KINDS)).scalar())
    return Decimal(total or 0)


def _ledger(volunteer_id):
    return (PointsEntry.select(PointsEntry, Event, MemberUnit)
            .join(Event, JOIN.LEFT_OUTER, on=(PointsEntry.event == Event.id))
            .switch(PointsEntry).join(MemberUnit, JOIN.LEFT_OUTER, on=(PointsEntry.organiser == MemberUnit.id))
            .where(PointsEntry.volunteer == volunteer_id)
            .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()))


def _signups(volunteer):
    return (Signup.select(Signup, Event).join(Event)
            .where((Signup.volunteer == volunteer.id) | (Signup.phone == volunteer.phone)))


def _points_context(user):
    volunteer = _volunteer(user)
    return {"volunteer": volunteer, "hours": _hours(volunteer.id), "entries": list(_ledger(volunteer.id).limit(10)),
            "EntryKind": EntryKind}


def _orders_context(user):
    return {"mine": list(workorders.assigned_to(user).order_by(WorkOrder.id)),
            "open_count": workorders.open_for_volunteers().count()}


def _orders_todo(user, at):
    return workorders.assigned_to(user)


def _signups_context(user):
    volunteer = _volunteer(user)
    at = now()
    query = _signups(volunteer)
    upcoming = list(query.where(Event.ends_at > at, Signup.status != SignupStatus.CANCELLED)
                    .order_by(Event.starts_at).limit(10))
    past = list(_signups(volunteer).where((Event.ends_at <= at) | (Signup.status == SignupStatus.CANCELLED))
                .order_by(Event.starts_at.desc()).limit(10))
    return {"upcoming": upcoming, "past": past, "SignupStatus": SignupStatus}


register_section(Section("me_points", "服务时长与积分", "public/me/_points.html", _points_context,
                         permission="volunteer.self", order=10))
register_section(Section("me_orders", "党员接单", "public/me/_orders.html", _orders_context, todo=_orders_todo,
                         permission="volunteer.self", order=20))
register_section(Section("me_signups", "我的报名", "public/me/_signups.html", _signups_context,
                         permission="volunteer.self", order=30))


@volunteer_only
def me():
    return _render_sections("public/me/home.html", volunteer=_volunteer())


@volunteer_only
def me_ledger():
    volunteer = _volunteer()
    page, problem = _parse_page(request.args.get("page"))
    query = _ledger(volunteer.id)
    pager = Pager(page, PointsEntry.select().where(PointsEntry.volunteer == volunteer.id).count())
    entries = list(query.limit(pager.per_page).offset(pager.offset))
    return render_template("public/me/ledger.html", volunteer=volunteer, entries=entries, pager=pager,
                           error=problem, hours=_hours(volunteer.id), EntryKind=EntryKind)


def _date(name, label):
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        fail(400, f"{label}格式应为 年-月-日，例如 2025-01-31")
    if not date_in_range(day):
        fail(400, date_range_message(label))
    return day


@volunteer_only
def me_statement():
    """志愿服务记录证明 (PDF) of the caller's own record, for a period or since joining."""
    from services.statement_pdf import statement_pdf  # on use, not at start-up: ReportLab is worker memory

    volunteer = _volunteer()
    start, end = _date("start", "开始日期"), _date("end", "结束日期")
    try:
        data = points.statement(volunteer.id, start, end)
    except ServiceError as exc:
        fail(exc.status, exc.message)
    community = current_app.config.get("COMMUNITY_NAME", "")
    title = quote(f"志愿服务记录证明_{volunteer.name}.pdf")
    return Response(statement_pdf(data, community=community, printed_at=now()), mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=statement.pdf; filename*=UTF-8''{title}",
                             "Cache-Control": "private, no-store"})
