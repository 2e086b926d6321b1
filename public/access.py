"""Who may open a page of the logged-in public site: one decorator over auth/permissions.

Anonymous visitors go to the login page (back here afterwards); a logged-in account
without the permission gets a Chinese 403. Records are then loaded through services that
404 anything not the caller's own (another unit's order never reveals it exists).
"""
import functools

from flask import flash, redirect, url_for
from flask_login import current_user

from auth.permissions import can

from .projects import _back_path, fail


def requires(permission, message, login_hint="请先登录。"):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                flash(login_hint, "warning")
                return redirect(url_for("auth.login", next=_back_path()))
            if not can(current_user, permission):
                fail(403, message)
            return view(*args, **kwargs)
        return wrapped
    return decorate


unit_workspace = requires("workspace.unit", "“我的工作台”仅供成员单位账号使用。", "请先以成员单位账号登录。")
volunteer_only = requires("volunteer.self", "该页面仅供志愿者账号使用。", "请先以志愿者账号登录。")
assignee_only = requires("orders.own", "该页面仅供成员单位和志愿者账号使用。")
any_account = requires("notices.own", "请先登录。")
