"""The partner unit's workspace ``/my`` and the volunteer's page ``/me``: one page each
with what needs the account now, built from a list of sections.

A section is a declaration (``Section``): its title, a template fragment, the context it
needs and, optionally, how many things in it wait for the account (summed into the
nav's 待办 N). Features add theirs with ``register_section`` — the unit's claimed 微心愿,
for one, joins ``/my`` that way. Which sections an account sees is decided by each
section's permission (auth/permissions.py).

Also here: the unit's events (roster, check-in, 结束考勤 — the same services as the
admin's, so hours carry the unit as recorder) and its profile.
"""
import datetime as dt
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import Callable, Optional

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import SQL, Select, fn
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional as OptionalValue

from auth.permissions import can
from models import (Claim, ClaimStatus, Event, EventStatus, MemberUnit, OrderCategory, OrderStatus, Project,
                    Signup, SignupStatus, WorkOrder, db, now, statements)
from services import attendance, notices, units, workorders
from services import signups as signup_service
from services.errors import ServiceError

from .access import unit_workspace
from .projects import Pager, PostForm, _parse_page, fail


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    template: str
    context: Callable
    # the things in it that wait for the account at an instant, as a query — todo(account,
    # at), reading only the account's id, unit_id, volunteer_id and role (its rows are counted,
    # with the other sections' and the unread notices, in the nav's one statement: ``nav_counts``)
    todo: Optional[Callable] = None
    permission: str = "workspace.unit"
    order: int = 50


SECTIONS = {}


def register_section(section):
    """Add a section to /my or /me (by its permission); a later one with the same key replaces it."""
    SECTIONS[section.key] = section
    return section


def sections_for(user):
    return [s for s in sorted(SECTIONS.values(), key=lambda s: (s.order, s.key)) if can(user, s.permission)]


def _rows_counted(query):
    # which rows, not their columns (a DISTINCT's columns decide its rows); peewee keeps
    # .distinct() as _distinct == () (DISTINCT ON (…) when not empty), .distinct(True) in
    # _simple_distinct: only a query with neither may count SELECT 1 rows
    if query._distinct is None and not query._simple_distinct:
        query = query.select(SQL("1"))
    return Select([query.alias("waiting")], [fn.COUNT(SQL("*"))])


def nav_counts(user=None):
    """(待办 N, unread notices) for the nav: what waits for this account across its sections
    and its unread notices, in one statement, once per request."""
    user = user or current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return 0, 0
    if "nav_counts" not in g:
        keys = tuple(s.key for s in sections_for(user) if s.todo)
        slots = {"user": user.id, "unit": user.unit_id, "volunteer": user.volunteer_id, "at": now()}
        row = statements.execute_shaped("nav_counts", partial(_nav_query, user.role, keys), slots,
                                        shape=(user.role, keys)).fetchone()
        g.nav_counts = (sum(row[:-1]), row[-1])
    return g.nav_counts


def _nav_query(role, keys, user, unit, volunteer, at):
    """The nav's one statement, built from the account's ids and the instant only (so
    ``statements.shaped`` learns its text once per role and set of sections)."""
    account = SimpleNamespace(id=user, unit_id=unit, volunteer_id=volunteer, role=role, is_authenticated=True)
    columns = [_rows_counted(SECTIONS[key].todo(account, at)).alias(f"todo{i}") for i, key in enumerate(keys)]
    columns.append(_rows_counted(notices.unread(account)).alias("unread"))
    return Select(columns=columns)


def todo_count(user=None):
    """待办 N on the nav."""
    return nav_counts(user)[0]


# --- the unit's sections ---------------------------------------------------------------------

def _orders_context(user):
    waiting = list(workorders.assigned_to(user).order_by(WorkOrder.due_at.asc(nulls="LAST"), WorkOrder.id))
    recent = list(workorders.handled_by(user).where(WorkOrder.status.not_in(workorders.WITH_ASSIGNEE))
                  .order_by(WorkOrder.updated_at.desc()).limit(5))
    return {"orders": waiting, "recent": recent, "at": now()}


def _orders_todo(user, at):
    return workorders.assigned_to(user)


def _claims_context(user):
    counts = dict(Claim.select(Claim.status, fn.COUNT(Claim.id)).where(Claim.unit == user.unit_id)
                  .group_by(Claim.status).tuples())
    latest = list(Claim.select(Claim, Project).join(Project).where(Claim.unit == user.unit_id)
                  .order_by(Claim.updated_at.desc(), Claim.id.desc()).limit(5))
    return {"counts": counts, "claims": latest}


def _events_query(user):
    return attendance.organised_by(user.unit_id)


def _to_close(user, at=None):
    """The unit's started events (by ``at``, else now) with check-ins not yet credited."""
    return (Signup.select(Signup.event).distinct().join(Event)
            .where(Event.organiser == user.unit_id, Event.starts_at <= (at or now()), Event.status == EventStatus.SCHEDULED,
                   Signup.status == SignupStatus.CHECKED_IN, Signup.credited == False))  # noqa: E712


def _events_context(user):
    at = now()
    upcoming = list(_events_query(user).where(Event.ends_at > at - dt.timedelta(days=1))
                    .order_by(Event.starts_at).limit(6))
    closing = {e for (e,) in _to_close(user).tuples()}
    pending = list(Event.select().where(Event.id.in_(list(closing))).order_by(Event.starts_at)) if closing else []
    counts = signup_service.place_counts([e.id for e in upcoming + pending])
    return {"events": upcoming, "to_close": pending, "counts": counts, "at": at}


def _events_todo(user, at):
    return _to_close(user, at)


def _profile_context(user):
    return {"unit": user.unit}  # read with the session (services/sessions.py)


register_section(Section("orders", "派给本单位的工单", "public/workspace/_orders.html", _orders_context,
                         todo=_orders_todo, order=10))
register_section(Section("claims", "认领与进展", "public/workspace/_claims.html", _claims_context, order=20))
register_section(Section("events", "本单位主办的活动", "public/workspace/_events.html", _events_context,
                         todo=_events_todo, order=30))
register_section(Section("profile", "单位资料", "public/workspace/_profile.html", _profile_context, order=90))
# (the unit's claimed 微心愿 join here as one more register_section, order 25)


def _render_sections(template, **extra):
    user = current_user._get_current_object()
    blocks = [(s, s.context(user)) for s in sections_for(user)]
    return render_template(template, blocks=blocks, OrderStatus=OrderStatus, OrderCategory=OrderCategory,
                           ClaimStatus=ClaimStatus, EventStatus=EventStatus, SignupStatus=SignupStatus,
                           post_form=PostForm(), **extra)


@unit_workspace
def my():
    """/my: everything that needs the unit now."""
    if current_user.unit_id is None:
        fail(403, "该账号尚未关联成员单位，请联系社区工作人员。")
    return _render_sections("public/workspace/my.html", unit=current_user.unit)


# --- the unit's events: roster, check-in, closing attendance ---------------------------------------

def _organised_or_404(event_id):
    try:
        return attendance.get_organised_event(event_id, current_user)
    except ServiceError as exc:
        fail(404, exc.message)


@unit_workspace
def my_events():
    page, problem = _parse_page(request.args.get("page"))
    query = _events_query(current_user)
    pager = Pager(page, query.count())
    events = list(query.order_by(Event.starts_at.desc(), Event.id.desc()).limit(pager.per_page).offset(pager.offset))
    return render_template("public/workspace/events.html", events=events, pager=pager, error=problem,
                           counts=signup_service.place_counts([e.id for e in events]), at=now())


def _render_roster(event, *, error=None, status=200, code="", typed=None, error_field=None):
    event, roster, counts = attendance.roster(event.id)
    uncredited = [s for s in roster if s.status == SignupStatus.CHECKED_IN and not s.credited]
    opens, closes = signup_service.checkin_window(event)
    return render_template(
        "public/workspace/event.html", event=event, roster=roster, counts=counts, uncredited=uncredited,
        length=attendance.event_hours(event), refusal=signup_service.checkin_refusal(event), error=error,
        code=code, typed=typed or {}, error_field=error_field, started=event.starts_at <= now(),
        window=(opens, closes - dt.timedelta(minutes=1)), SignupStatus=SignupStatus, post_form=PostForm(),
        mask=signup_service.mask_phone), status


@unit_workspace
def my_event(event_id):
    return _render_roster(_organised_or_404(event_id))


@unit_workspace
def my_event_checkin(event_id):
    event = _organised_or_404(event_id)
    form = PostForm()
    if not form.validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    code = request.form.get("code", "")
    signup_id = request.form.get("signup_id") or None
    try:
        signup = attendance.check_in(event.id, code=None if signup_id else code, signup_id=signup_id,
                                     user=current_user._get_current_object())
    except ServiceError as exc:
        return _render_roster(event, error=exc.message, status=exc.status, code=code[:20])
    flash(f"{signup.name} 签到成功（{signup.checked_in_at:%H:%M}）", "success")
    return redirect(url_for("public.my_event", event_id=event.id), 303)


@unit_workspace
def my_event_close(event_id):
    event = _organised_or_404(event_id)
    form = PostForm()
    if not form.validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    adjustments = {}
    for key, value in request.form.items():
        if key.startswith("hours_") and key[6:].isdigit() and len(key) < 20:
            sid = int(key[6:])
            reason = request.form.get(f"reason_{sid}", "")
            if (value or "").strip() or reason.strip():
                adjustments[sid] = (value, reason)
    try:
        summary = attendance.close_attendance(event.id, adjustments=adjustments,
                                              user=current_user._get_current_object())
    except ServiceError as exc:
        return _render_roster(event, error=exc.message, status=exc.status, typed=request.form,
                              error_field=exc.field)
    if summary["credited"]:
        extra = f"，其中 {summary['without_volunteer']} 人不是登记志愿者，只记录时长" if summary["without_volunteer"] else ""
        flash(f"考勤已结束：为 {summary['credited']} 人计入时长和积分{extra}", "success")
    else:
        flash("没有需要计入的签到记录（已计入的不会重复计入）", "info")
    return redirect(url_for("public.my_event", event_id=event.id), 303)


# --- the unit's profile ----------------------------------------------------------------------------

class ProfileForm(FlaskForm):
    contact = StringField("联系人", validators=[OptionalValue(), Length(max=30, message="联系人不能超过 30 字")])
    phone = StringField("联系电话", validators=[OptionalValue(), Length(max=30, message="联系电话过长")],
                        description="手机号或座机（区号-号码）。")
    address = StringField("地址", validators=[OptionalValue(), Length(max=200, message="地址不能超过 200 字")])
    intro = TextAreaField("单位简介", validators=[OptionalValue(), Length(max=units.INTRO_MAX,
                                                                    message=f"简介不能超过 {units.INTRO_MAX} 字")])


@unit_workspace
def my_profile():
    unit = MemberUnit.get_by_id(current_user.unit_id)
    form = ProfileForm(obj=unit) if request.method == "GET" else ProfileForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                _, changes = units.update_profile(unit.id, user=current_user._get_current_object(),
                                                  contact=form.contact.data, phone=form.phone.data,
                                                  address=form.address.data, intro=form.intro.data)
            except ServiceError as exc:
                target = form[exc.field] if exc.field in form else form.intro
                target.errors = list(target.errors) + [exc.message]
                status = exc.status
            else:
                flash("单位资料已保存。" if changes else "资料没有变化。", "success")
                return redirect(url_for("public.my"), 303)
        else:
            status = 400
    return render_template("public/workspace/profile.html", form=form, unit=unit), status
