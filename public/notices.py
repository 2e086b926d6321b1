"""The caller's notices: the list ``/notices`` (newest first, unread marked), opening one
(marks it read, then follows its link on this site), marking one or all read. Staff see
the same list in the admin (我的通知); the API serves it too (api/notices.py)."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from auth.views import safe_next
from services import notices
from services.errors import ServiceError

from .access import any_account
from .projects import Pager, PostForm, _parse_page, fail


def _user():
    return current_user._get_current_object()


@any_account
def notice_list():
    page, problem = _parse_page(request.args.get("page"))
    unread_only = request.args.get("unread") == "1"
    query = notices.of_user(_user(), unread_only=unread_only)
    pager = Pager(page, query.count())
    rows = list(query.limit(pager.per_page).offset(pager.offset))
    return render_template("public/notices/list.html", notices=rows, pager=pager, error=problem,
                           unread_only=unread_only, unread=notices.unread_count(_user()), post_form=PostForm())


@any_account
def open_notice(notice_id):
    """Mark read, then go where the notice points (a path on this site only)."""
    if not PostForm().validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    try:
        notice = notices.mark_read(notice_id, _user())
    except ServiceError as exc:
        fail(exc.status, exc.message)
    target = safe_next(notice.link) if notice.link else None
    return redirect(target or url_for("public.notice_list"), 303)


@any_account
def read_notice(notice_id):
    if not PostForm().validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    try:
        notices.mark_read(notice_id, _user())
    except ServiceError as exc:
        fail(exc.status, exc.message)
    return redirect(safe_next(request.form.get("next")) or url_for("public.notice_list"), 303)


@any_account
def read_all_notices():
    if not PostForm().validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    count = notices.mark_all_read(_user())
    flash(f"已将 {count} 条通知标为已读。" if count else "没有未读通知。", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("public.notice_list"), 303)
