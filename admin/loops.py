"""Admin screens of the loops: the staff's own notices (我的通知), the outbox with its
重新投递, volunteer registrations to review, opening accounts with activation links (units
without accounts in one action, a volunteer, a whole team) and 党员接单 on work orders.

Every rule is in a service (notices, delivery, registrations, activation, workorders);
these views translate forms, flashes and files.
"""
from urllib.parse import quote

from flask import Response, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup

from models import DeliveryStatus, User, Volunteer, now
from models.bounds import parse_id
from services import activation, delivery, notices, photos, registrations, workorders
from services.errors import ServiceError

from .base import SecureViewMixin, parse_ids
from .transitions import MachineMovesMixin


def xlsx_response(rows, name):
    """The activation links as a download (never cached: they are live credentials)."""
    body = activation.sheet(rows)
    filename = quote(f"{name}_{now():%Y%m%d%H%M}.xlsx")
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=accounts.xlsx; filename*=UTF-8''{filename}",
                             "Cache-Control": "no-store"})


# --- the staff's own notices ----------------------------------------------------------------

class MyNoticesView(SecureViewMixin, BaseView):
    """我的通知: the same notices as the public /notices, in the admin."""

    PAGE = 30

    @expose("/")
    def index(self):
        user = current_user._get_current_object()
        unread_only = request.args.get("unread") == "1"
        page = parse_id(request.args.get("page")) or 1
        query = notices.of_user(user, unread_only=unread_only)
        total = query.count()
        rows = list(query.limit(self.PAGE).offset((min(page, 100000) - 1) * self.PAGE))
        return self.render("admin/my_notices.html", notices=rows, total=total, page=page, per_page=self.PAGE,
                           unread_only=unread_only, unread=notices.unread_count(user))

    @expose("/<int:notice_id>/open", methods=("POST",))
    def open(self, notice_id):
        from auth.views import safe_next

        try:
            notice = notices.mark_read(notice_id, current_user._get_current_object())
        except ServiceError as exc:
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        return redirect(safe_next(notice.link) or url_for(".index"))

    @expose("/read-all", methods=("POST",))
    def read_all(self):
        count = notices.mark_all_read(current_user._get_current_object())
        flash(f"已将 {count} 条通知标为已读。" if count else "没有未读通知。", "success")
        return redirect(url_for(".index"))


# --- notices and the outbox -----------------------------------------------------------------

class NoticeAdminMixin:
    """Every notice written (who was told what, when, whether they read it)."""

    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("created_at", "recipient", "recipient_phone", "kind", "title", "read_at")
    column_searchable_list = ("title", "body", "recipient_phone")
    column_filters = ("kind", "recipient", "created_at", "read_at")
    column_default_sort = ("created_at", True)


def _status_label(view, context, model, name):
    return DeliveryStatus.label(model.status)


def _channel_label(view, context, model, name):
    return delivery.channel_label(model.channel)


class NoticeDeliveryAdminMixin:
    """通知投递 (the outbox): each notice's sending per channel; 发送失败 ones can be sent again."""

    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("created_at", "notice", "channel", "address", "status", "attempts", "response_code",
                   "next_attempt_at", "sent_at", "last_error")
    column_filters = ("status", "channel", "created_at", "sent_at")
    column_searchable_list = ("address",)
    column_default_sort = ("created_at", True)
    column_formatters = {"status": _status_label, "channel": _channel_label}

    @action("requeue", "重新投递", "确定将选中的发送失败记录重新投递吗？")
    def action_requeue(self, ids):
        count = delivery.requeue(parse_ids(ids), user=current_user._get_current_object())
        if count:
            flash(f"已将 {count} 条投递重新排队，投递进程会尽快发送。", "success")
        else:
            flash("所选记录中没有“发送失败”的投递。", "error")


# --- volunteer registrations -----------------------------------------------------------------

class VolunteerApplicationAdminMixin(MachineMovesMixin):
    """志愿者注册申请: 通过 opens the account, 不通过 needs a reason (services/registrations.py)."""

    machine = registrations.APPLICATIONS
    move_service = registrations.move
    permission = "accounts.issue"
    can_create = False
    can_delete = False
    column_list = ("created_at", "name", "phone", "grid", "team", "party_member", "skills", "status",
                   "reviewed_by", "reviewed_at", "reason")
    column_filters = ("status", "grid", "team", "party_member", "created_at")
    column_searchable_list = ("name", "phone", "skills")
    column_default_sort = ("created_at", True)
    form_columns = ("name", "grid", "team", "party_member", "skills")
    column_details_exclude_list = ("password_hash",)
    column_export_exclude_list = ("password_hash",)
    audit_exclude = ("password_hash",)


# --- opening accounts ----------------------------------------------------------------------------

class AccountsIssueView(SecureViewMixin, BaseView):
    """账号开通: accounts with one-time activation links for member units without one (all
    at once), for one volunteer or a whole team; the links come as an XLSX."""

    permission = "accounts.issue"

    @expose("/")
    def index(self):
        overview = activation.accounts_overview()
        q = (request.args.get("q") or "").strip()[:30]
        found = []
        if q:
            has_account = User.select(User.volunteer).where(User.volunteer.is_null(False))
            found = list(Volunteer.select().where((Volunteer.name.contains(q) | Volunteer.phone.contains(q)),
                                                  Volunteer.id.not_in(has_account)).order_by(Volunteer.name)
                         .limit(20))
        return self.render("admin/accounts_issue.html", overview=overview, q=q, found=found,
                           days=activation._days())

    def _refuse(self, exc):
        flash(exc.message, "error")
        return redirect(url_for(".index"))

    @expose("/units", methods=("POST",))
    def units(self):
        rows = activation.open_unit_accounts(actor=current_user._get_current_object())
        if not rows:
            flash("所有在册成员单位都已有账号。", "info")
            return redirect(url_for(".index"))
        return xlsx_response(rows, f"成员单位账号开通_{len(rows)}家")

    @expose("/team", methods=("POST",))
    def team(self):
        try:
            team, rows = activation.open_team_accounts(request.form.get("team"),
                                                       actor=current_user._get_current_object())
        except ServiceError as exc:
            return self._refuse(exc)
        if not rows:
            flash(f"{team.name} 的在队志愿者都已有账号。", "info")
            return redirect(url_for(".index"))
        return xlsx_response(rows, f"{team.name}_账号开通_{len(rows)}人")

    @expose("/volunteer", methods=("POST",))
    def volunteer(self):
        try:
            row = activation.open_volunteer_account(request.form.get("volunteer"),
                                                    actor=current_user._get_current_object())
        except ServiceError as exc:
            return self._refuse(exc)
        return xlsx_response([row], f"{row['name']}_账号开通")


class AccountActivationAdminMixin:
    """激活链接: when links were made, by whom, until when, whether used (never the token)."""

    permission = "accounts.manage"
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("created_at", "user", "created_by", "expires_at", "used_at", "revoked_at")
    column_filters = ("user", "created_at", "used_at", "expires_at")
    column_default_sort = ("created_at", True)
    column_details_exclude_list = ("digest",)
    column_export_exclude_list = ("digest",)


class UserActivationMixin:
    """账号: a new activation link for unit and volunteer accounts (lost or expired)."""

    @action("activation_links", "生成激活链接", "为选中的成员单位/志愿者账号生成新的激活链接（旧链接作废）并下载？")
    def action_activation_links(self, ids):
        rows, failures = [], []
        for pk in parse_ids(ids):
            try:
                rows.append(activation.reissue(pk, actor=current_user._get_current_object()))
            except ServiceError as exc:
                failures.append(exc.message)
        for message in failures[:5]:
            flash(message, "error")
        if rows:
            return xlsx_response(rows, f"激活链接_{len(rows)}个")
        return None


# --- work orders: 党员接单, result photos ----------------------------------------------------------

def _result_photos(order):
    shots = photos.photos_of("WorkOrder", [order.id], role="result")[order.id]
    return Markup('<div class="result-photos">{}</div>').format(Markup("").join(
        Markup('<a href="{}"><img src="{}" alt="办理结果照片" class="result-thumb"></a>').format(
            photos.photo_url(p), photos.photo_url(p, thumb=True)) for p in shots)) if shots else None


class WorkOrderVolunteersMixin:
    """开放党员接单 / 取消开放 on the selected accepted orders."""

    def detail_panels(self, record):
        """The details page (admin/details.py): the result's photos under the fields."""
        panels = list(super().detail_panels(record))
        shots = _result_photos(record)
        if shots:
            panels.append(("办理结果照片", shots))
        return panels

    def _open(self, ids, opened):
        done, failures = workorders.set_open_to_volunteers(parse_ids(ids), opened,
                                                           user=current_user._get_current_object())
        if done:
            flash(f"已{'开放' if opened else '取消开放'} {len(done)} 件工单的党员接单。", "success")
        for _pk, message in failures[:5]:
            flash(message, "error")

    @action("open_to_volunteers", "开放党员接单", "确定将选中的待派单工单开放给志愿者接单吗？")
    def action_open(self, ids):
        self._open(ids, True)

    @action("close_to_volunteers", "取消党员接单", "确定取消选中工单的党员接单吗？")
    def action_close(self, ids):
        self._open(ids, False)


def unread_for_admin():
    """The admin navbar bell."""
    return notices.unread_count(current_user)

