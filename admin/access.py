"""Who may open an admin screen: the one access rule every admin view inherits."""
from flask import abort, redirect, request, url_for
from flask_login import current_user

from auth.permissions import can

from . import wording


class SecureViewMixin:
    """The one access rule of every admin screen: ``permission`` names a predicate in
    auth/permissions.py; anonymous users go to the login page, everyone else gets 403."""

    permission = "admin.access"

    def is_accessible(self):
        # the user itself, not the proxy: the menu asks every view once a page
        return can(current_user._get_current_object(), self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def render(self, template, **kwargs):
        self._template_args.update(wording.template_args())
        return super().render(template, **kwargs)
