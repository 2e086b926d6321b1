"""Events and sign-ups in the admin: counts, the per-event sign-up list, and status
changes only through ``services.signups``.

A sign-up's status is never a form field: a clerk-entered sign-up goes through
``register`` (places, then 候补), cancellations go through the "取消报名" bulk action
(which promotes the first waiting person), check-in through the 签到 screens. Sign-ups
are never deleted (deleting a registered one would free a place without promotion).
"""
from urllib.parse import quote

from flask import Response, abort, current_app, flash, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from models import Signup, SignupStatus, now
from services import events, signups
from services.errors import ServiceError

from .base import AdminForm, IdEqualFilter, parse_ids
from .transitions import MachineMovesMixin

MAX_BATCH = 500


class EventIdFilter(IdEqualFilter):
    """Sign-ups of one event, by its id (the link from the events list)."""


def event_filter():
    return EventIdFilter(Signup.event, "活动编号")


def signups_url(event_id, status=None):
    """The admin sign-up list filtered to one event (and optionally one status)."""
    admin = current_app.extensions["alliance_admin"]
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == "signup")
    args = {}
    for index, flt in enumerate(view._filters or []):
        if isinstance(flt, EventIdFilter):
            args[f"flt0_{view.get_filter_arg(index, flt)}"] = event_id
    return url_for("signup.index_view", **args)


class SignupPersonForm(AdminForm):
    """What the edit form may change: the person's name and phone, nothing else."""

    name = StringField("姓名", validators=[DataRequired("此项为必填项"), Length(max=signups.NAME_MAX)])
    phone = StringField("手机号", validators=[DataRequired("此项为必填项"), Length(max=30)])


def _format_counts(view, context, model, name):
    counts = getattr(model, "_signup_counts", None) or signups.place_counts([model.id])[model.id]
    limit = f"/{model.capacity}" if model.capacity else ""
    text = f"已报名 {counts['taken']}{limit} · 候补 {counts['waiting']}"
    return Markup('<a href="{}">{}</a>').format(signups_url(model.id), text)


class EventSignupsMixin(MachineMovesMixin):
    """Events list: a 报名 column (已报名/名额 · 候补) linking to the event's sign-ups,
    counted for the whole page in one query; raising the capacity promotes waiting people
    in the save's transaction. 取消活动 / 恢复活动 are the event machine's buttons
    (services/events.py): cancelling cancels the live sign-ups with it."""

    machine = events.EVENTS
    move_service = events.move

    column_labels = {"signup_counts": "报名情况"}
    column_export_exclude_list = ("signup_counts",)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None, **kwargs):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size, **kwargs)
        if execute:
            counts = signups.place_counts([row.id for row in rows])
            for row in rows:
                row._signup_counts = counts[row.id]
        return count, rows

    column_formatters = {"signup_counts": _format_counts}
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-print", ".roster_pdf_view", title="签到表（PDF）",
                                                      id_arg="event_id")]

    @expose("/roster/<int:event_id>.pdf")
    def roster_pdf_view(self, event_id):
        """签到表: the event's roster on A4 (services/roster_pdf.py)."""
        from services.roster_pdf import roster_pdf  # on use, not at start-up: ReportLab is worker memory

        event = self.get_one(event_id)
        if event is None:
            abort(404)
        pdf = roster_pdf(event, community=current_app.config["COMMUNITY_NAME"], printed_at=now())
        title = quote(f"签到表-{event.title}.pdf")
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f"inline; filename=roster_{event.id}.pdf; filename*=UTF-8''{title}",
            "Cache-Control": "no-store"})

    def detail_actions(self, record):
        return super().detail_actions(record) + [
            ("签到表（PDF）", url_for(".roster_pdf_view", event_id=record.id)),
            ("报名名单", signups_url(record.id)),
        ]

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if not is_created:  # what people signed up were told, before the save changes it
            form._before = {name: getattr(type(model).get_by_id(model.id), name) for name in events.ANNOUNCED}

    def after_save_in_transaction(self, form, model, is_created):
        super().after_save_in_transaction(form, model, is_created)
        if not is_created:
            form._promoted = signups.fill_free_places(model.id, user=current_user)
            events.announce_change(model, getattr(form, "_before", {}))

    def after_model_change(self, form, model, is_created):
        super().after_model_change(form, model, is_created)
        promoted = getattr(form, "_promoted", None)
        if promoted:
            flash(f"名额增加，已从候补名单递补 {len(promoted)} 人："
                  + "、".join(s.name for s in promoted[:10]), "success")


class SignupRulesMixin:
    can_delete = False
    form_columns = ("event", "name", "phone")  # the create form; edit uses SignupPersonForm

    def get_edit_form(self):
        return SignupPersonForm

    def create_model(self, form):
        event = form.event.data
        signup = self.write_via(lambda: signups.register(
            event.id if event else None, form.name.data, form.phone.data, user=current_user, staff=True),
            "报名未创建：")
        if signup is None:
            return False
        if signup.status == SignupStatus.WAITLISTED:
            flash("名额已满，已登记为候补。", "warning")
        self.after_model_change(form, signup, True)
        return signup

    def update_model(self, form, model):
        return self.write_via(lambda: signups.update_person(
            model.id, form.name.data, form.phone.data, user=current_user)) is not None

    @action("cancel_signups", "取消报名", "确定取消所选报名吗？每空出一个名额，候补名单中最早的一位将自动递补。")
    def action_cancel(self, ids):
        pks = parse_ids(ids, MAX_BATCH)
        done, promoted, failures = 0, [], []
        for pk in pks:
            try:
                _, moved_up = signups.cancel(pk, user=current_user)
            except ServiceError as exc:
                failures.append((pk, exc.message))
                continue
            done += 1
            if moved_up is not None:
                promoted.append(moved_up.name)
        if done:
            message = f"已取消 {done} 条报名。"
            if promoted:
                message += f"候补递补 {len(promoted)} 人：" + "、".join(promoted[:10])
            flash(message, "success")
        for pk, message in failures[:5]:
            flash(f"报名 #{pk} 未取消：{message}", "error")
        if not done and not failures:
            flash("没有选择任何报名。", "error")
