"""Issuing and revoking API tokens in the admin (admins only, via ApiTokenView.permission).

The plaintext is shown once, on the page that answers the creation form (never
flashed into the session cookie, never stored); only its SHA-256 digest is kept.
"""
from flask import flash, g
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user

from services import tokens

from .base import parse_ids
from services.errors import ServiceError


class ApiTokenIssueMixin:
    can_create = True
    can_edit = False
    form_columns = ("user", "name")

    def create_model(self, form):
        try:
            token, plaintext = tokens.issue_token(form.user.data, form.name.data,
                                                  by=current_user._get_current_object())
        except ServiceError as exc:
            flash(exc.message, "error")
            return False
        g.issued_token = (token, plaintext)
        return token

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        response = super().create_view()
        issued = g.pop("issued_token", None)
        if issued is None:
            return response
        token, plaintext = issued
        page = self.render("admin/api_token_issued.html", token=token, plaintext=plaintext,
                           list_url=self.get_url(".index_view"))
        return page, 201, {"Cache-Control": "no-store"}

    @action("revoke", "吊销", "确定吊销选中的令牌吗？吊销后立即失效，且不能恢复。")
    def action_revoke(self, ids):
        revoked = 0
        for pk in parse_ids(ids):
            try:
                revoked += tokens.revoke_token(pk, by=current_user._get_current_object())
            except ServiceError as exc:
                flash(exc.message, "error")
        flash(f"已吊销 {revoked} 个令牌。", "success")
