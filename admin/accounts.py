"""Accounts in the admin (admins only): what an account edit means, the login sessions an
admin can end, and the login failures with the locks they cause, which an admin can clear.

The rules live in services/accounts.py, services/sessions.py and services/lockout.py.
"""
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user

from models import Role
from services import accounts, audit, lockout, sessions
from services.common import write_transaction

from .base import parse_ids


class AccountRulesMixin:
    """A new password or a deactivation ends the account's sessions; the audit log names a
    password change, a role change and a (de)activation in words, never the hash. An admin
    cannot deactivate or demote the account they are using."""

    def validate_form(self, form):
        ok = super().validate_form(form)
        current = getattr(form, "_obj", None)
        if ok and current is not None and current.id == current_user.id:
            if "active" in form and not form.active.data:
                form.active.errors = list(form.active.errors) + ["不能停用当前登录的账号"]
                ok = False
            if "role" in form and form.role.data != Role.ADMIN:
                form.role.errors = list(form.role.errors) + ["不能取消当前登录账号的管理员角色"]
                ok = False
        return ok

    def record_update(self, model, changes):
        keep = current_user.session_token if model.id == current_user.id else None
        accounts.account_edited(model, changes, password_changed=getattr(model, "_password_changed", False),
                                keep_token=keep)


class LoginSessionAdminMixin:
    """登录会话: who is logged in where; an admin can end any of them."""

    permission = "accounts.manage"
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("user", "created_at", "last_seen_at", "ip", "user_agent", "remember", "expires_at",
                   "ended_at", "end_reason")
    column_filters = ("user", "end_reason", "remember", "created_at", "ended_at")
    column_searchable_list = ("ip", "user_agent")
    column_default_sort = ("created_at", True)

    @action("end", "结束会话", "确定结束选中的登录会话吗？对方需要重新登录。")
    def action_end(self, ids):
        pks = parse_ids(ids)
        with write_transaction():
            ended = sessions.end_by_ids(pks)
            audit.record("end_sessions", entity="LoginSession", entity_id=",".join(map(str, pks[:20])),
                         changes=f"结束 {ended} 个登录会话")
        flash(f"已结束 {ended} 个登录会话。", "success")


class LoginAttemptAdminMixin:
    """登录失败记录: every failure, with the locks they cause now on top; 解除锁定 clears a
    locked address (for one username or all of them) without deleting the record."""

    permission = "accounts.manage"
    can_create = False
    can_edit = False
    can_delete = False
    list_template = "admin/login_attempt_list.html"
    column_list = ("created_at", "username", "ip", "cleared_at")
    column_filters = ("username", "ip", "created_at", "cleared_at")
    column_searchable_list = ("username", "ip")
    column_default_sort = ("created_at", True)

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["locks"] = lockout.overview()
        return super().render(template, **kwargs)

    @expose("/unlock/", methods=("POST",))
    def unlock_view(self):
        ip = (request.form.get("ip") or "").strip()
        username = (request.form.get("username") or "").strip() or None
        if not ip or len(ip) > 64 or username and len(username) > 50:
            flash("请选择要解除锁定的地址。", "error")
        else:
            cleared = lockout.unlock(ip=ip, username=username, by=current_user._get_current_object())
            who = f"{username} @ {ip}" if username else f"地址 {ip}"
            flash(f"已解除 {who} 的登录锁定（{cleared} 条失败记录）。", "success")
        return redirect(url_for(".index_view"))
