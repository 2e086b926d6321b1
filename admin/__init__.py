"""The generated Chinese admin at /admin, one secure view per entity."""
from pathlib import Path

from flask import abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from auth.permissions import can

from . import wording
from .views import REGISTRY

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


class SecureIndexView(AdminIndexView):
    """The admin home; the same access rule as every model view."""

    def is_accessible(self):
        return can(current_user, "admin.access")

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def render(self, template, **kwargs):
        self._template_args.update(wording.template_args())
        return super().render(template, **kwargs)

    @expose("/")
    def index(self):
        from .dashboard import overview

        return self.render("admin/dashboard.html", overview=overview())


def init_app(app):
    admin = Admin(
        app,
        name="红石榴联盟 · 管理后台",
        index_view=SecureIndexView(name="首页", url="/admin"),
        theme=Bootstrap4Theme(base_template="admin/alliance_base.html", swatch="default", fluid=True),
        translations_path=str(TRANSLATIONS),
    )
    for model, view_class, category in REGISTRY:
        admin.add_view(view_class(model, category=category))
    from .checkin import CheckinView, PointsBankView

    admin.add_view(CheckinView(name="活动签到", endpoint="checkin", url="checkin", category="活动"))
    admin.add_view(PointsBankView(name="积分银行", endpoint="points_bank", url="points-bank", category="志愿服务"))
    app.extensions["alliance_admin"] = admin
    return admin
