"""Clerk screens for service records: check-in at an event, the points bank, statements
and team figures. Mobile-first; every rule lives in ``services.attendance`` and
``services.points`` and these views only translate forms and errors."""
import datetime as dt

from urllib.parse import quote

from flask import Response, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from peewee import JOIN

from models import EntryKind, Event, EventStatus, PointsEntry, SignupStatus, Volunteer, VolunteerTeam, now
from models.bounds import date_in_range, date_range_message, parse_id
from services import attendance, points
from services import signups as signups_service
from services.errors import ServiceError

from .base import SecureViewMixin


class RecordsView(SecureViewMixin, BaseView):
    """Clerk screens: the admin's access rule, for record keepers."""

    permission = "records.manage"

    def refuse(self, exc, template, **context):
        """Re-render the form with the Chinese message and the error's 4xx status."""
        return self.render(template, error=exc.message, **context), exc.status


def _parse_date(value, label):
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{label}格式应为 年-月-日，例如 2025-01-31")
    if not date_in_range(day):
        raise ServiceError(date_range_message(label))
    return day


class CheckinView(RecordsView):
    """活动签到: pick an event, then scan or type codes, or tap names on the list."""

    @expose("/")
    def index(self):
        q = (request.args.get("q") or "").strip()[:50]
        today = now().replace(hour=0, minute=0, second=0)
        query = Event.select().where(Event.status == EventStatus.SCHEDULED)
        if q:
            query = query.where(Event.title.contains(q))
        else:
            query = query.where(Event.starts_at >= today - dt.timedelta(days=7),
                                Event.starts_at < today + dt.timedelta(days=8))
        events = list(query.order_by(Event.starts_at).limit(50))
        return self.render("admin/checkin_index.html", events=events, q=q, today=today.date())

    def _event_page(self, event_id, **extra):
        event, signups, counts = attendance.roster(event_id)
        uncredited = [s for s in signups if s.status == SignupStatus.CHECKED_IN and not s.credited]
        opens, closes = signups_service.checkin_window(event)
        return self.render("admin/checkin_event.html", event=event, signups=signups, counts=counts,
                           uncredited=uncredited, length=attendance.event_hours(event),
                           code=extra.pop("code", request.args.get("code", "")), SignupStatus=SignupStatus,
                           started=event.starts_at <= now(), window=(opens, closes - dt.timedelta(minutes=1)),
                           typed=extra.pop("typed", {}), error_field=extra.pop("error_field", None), **extra)

    @expose("/event/<int:event_id>")
    def event(self, event_id):
        try:
            return self._event_page(event_id)
        except ServiceError as exc:
            return self.render("admin/checkin_index.html", events=[], q="", today=now().date(),
                               error=exc.message), exc.status

    @expose("/event/<int:event_id>/checkin", methods=["POST"])
    def checkin(self, event_id):
        code = request.form.get("code", "")
        signup_id = request.form.get("signup_id") or None
        try:
            signup = attendance.check_in(event_id, code=None if signup_id else code, signup_id=signup_id,
                                         user=current_user)
        except ServiceError as exc:
            try:
                return self._event_page(event_id, error=exc.message, code=code), exc.status
            except ServiceError as exc2:
                return self.render("admin/checkin_index.html", events=[], q="", today=now().date(),
                                   error=exc2.message), exc2.status
        flash(f"{signup.name} 签到成功（{signup.checked_in_at:%H:%M}）", "success")
        return redirect(url_for(".event", event_id=event_id))

    @expose("/event/<int:event_id>/close", methods=["POST"])
    def close(self, event_id):
        adjustments = {}
        for key, value in request.form.items():
            if key.startswith("hours_") and key[6:].isdigit():
                sid = int(key[6:])
                reason = request.form.get(f"reason_{sid}", "")
                if (value or "").strip() or reason.strip():
                    adjustments[sid] = (value, reason)
        try:
            summary = attendance.close_attendance(event_id, adjustments=adjustments, user=current_user)
        except ServiceError as exc:
            # the form comes back as typed: nothing the clerk entered is lost or replaced
            # by the default (the error names the field it is about)
            try:
                return self._event_page(event_id, error=exc.message, typed=request.form,
                                        error_field=exc.field), exc.status
            except ServiceError as exc2:
                return self.render("admin/checkin_index.html", events=[], q="", today=now().date(),
                                   error=exc2.message), exc2.status
        if summary["credited"]:
            extra = f"，其中 {summary['without_volunteer']} 人不是登记志愿者，只记录时长" if summary["without_volunteer"] else ""
            flash(f"考勤已结束：为 {summary['credited']} 人计入时长和积分{extra}", "success")
        else:
            flash("没有需要计入的签到记录（已计入的不会重复计入）", "info")
        return redirect(url_for(".event", event_id=event_id))


class PointsBankView(RecordsView):
    """积分银行: balances, exchanges, honour hours, corrections, statements, team figures."""

    @expose("/")
    def index(self):
        q = (request.args.get("q") or "").strip()[:50]
        query = Volunteer.select(Volunteer, VolunteerTeam).join(VolunteerTeam, join_type=JOIN.LEFT_OUTER,
                                                                  on=(Volunteer.team == VolunteerTeam.id))
        if q:
            query = query.where(Volunteer.name.contains(q) | Volunteer.phone.contains(q))
        volunteers = list(query.order_by(Volunteer.points_balance.desc(), Volunteer.id).limit(50))
        return self.render("admin/points_index.html", volunteers=volunteers, q=q)

    def _volunteer_page(self, volunteer_id, **extra):
        volunteer = points.get_volunteer(volunteer_id)
        entries = list(PointsEntry.select().where(PointsEntry.volunteer == volunteer.id)
                       .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(100))
        return self.render("admin/points_volunteer.html", volunteer=volunteer, entries=entries,
                           ledger_balance=points.balance(volunteer.id), EntryKind=EntryKind,
                           form=request.form if request.method == "POST" else {}, **extra)

    @expose("/volunteer/<int:volunteer_id>")
    def volunteer(self, volunteer_id):
        try:
            return self._volunteer_page(volunteer_id)
        except ServiceError as exc:
            return self.render("admin/points_index.html", volunteers=[], q="", error=exc.message), exc.status

    def _write(self, volunteer_id, do, done):
        try:
            do()
        except ServiceError as exc:
            try:
                return self._volunteer_page(volunteer_id, error=exc.message), exc.status
            except ServiceError as exc2:
                return self.render("admin/points_index.html", volunteers=[], q="", error=exc2.message), exc2.status
        flash(done, "success")
        return redirect(url_for(".volunteer", volunteer_id=volunteer_id))

    @expose("/volunteer/<int:volunteer_id>/exchange", methods=["POST"])
    def exchange(self, volunteer_id):
        f = request.form
        return self._write(volunteer_id, lambda: points.exchange(
            volunteer_id, f.get("points"), f.get("item"), note=f.get("note"), user=current_user),
            "兑换成功，已扣减积分")

    @expose("/volunteer/<int:volunteer_id>/honour", methods=["POST"])
    def honour(self, volunteer_id):
        f = request.form
        return self._write(volunteer_id, lambda: points.add_honour_hours(
            volunteer_id, f.get("hours"), f.get("description"), note=f.get("note"), user=current_user),
            "已补录荣誉时长（不计积分）")

    @expose("/volunteer/<int:volunteer_id>/correct", methods=["POST"])
    def correct(self, volunteer_id):
        f = request.form

        def do():
            entry_id = parse_id(f.get("entry"))
            entry = PointsEntry.get_or_none(PointsEntry.id == entry_id) if entry_id else None
            if entry is None or entry.volunteer_id != volunteer_id:
                raise ServiceError("请选择该志愿者的一条流水进行更正")
            points.correct(entry.id, points=f.get("points"), hours=f.get("hours"), reason=f.get("reason"),
                           user=current_user)
        return self._write(volunteer_id, do, "已新增更正记录")

    def _statement(self, volunteer_id, render):
        """The statement for the period in the query string, rendered by ``render``."""
        community = current_app.config.get("COMMUNITY_NAME", "")
        try:
            start = _parse_date(request.args.get("start"), "开始日期")
            end = _parse_date(request.args.get("end"), "结束日期")
            data = points.statement(volunteer_id, start, end)
        except ServiceError as exc:
            return self.render("admin/statement.html", error=exc.message, data=None,
                               community=community), exc.status
        return render(data, community)

    @expose("/volunteer/<int:volunteer_id>/statement")
    def statement(self, volunteer_id):
        return self._statement(volunteer_id, lambda data, community: self.render(
            "admin/statement.html", data=data, error=None, EntryKind=EntryKind, community=community,
            site=current_app.config.get("SITE_NAME", ""), printed_at=now()))

    @expose("/volunteer/<int:volunteer_id>/statement.pdf")
    def statement_pdf(self, volunteer_id):
        def pdf(data, community):
            from services.statement_pdf import statement_pdf  # on use, not at start-up: ReportLab is worker memory

            title = quote(f"志愿服务记录证明_{data['volunteer'].name}.pdf")
            return Response(statement_pdf(data, community=community, printed_at=now()),
                            mimetype="application/pdf", headers={"Content-Disposition":
                            f"inline; filename=statement_{volunteer_id}.pdf; filename*=UTF-8''{title}"})
        return self._statement(volunteer_id, pdf)

    @expose("/teams")
    def teams(self):
        try:
            year = int(request.args.get("year") or now().year)
        except ValueError:
            year = now().year
        year = min(max(year, 2000), 2100)
        return self.render("admin/points_teams.html", summary=points.team_summary(year))
