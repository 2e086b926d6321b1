"""The generated Chinese admin at /admin, one secure view per entity."""
from pathlib import Path

import flask_admin
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from auth.web_security import csp_nonce

from models.sheets import check_sheets

from . import dashboard
from .base import SecureViewMixin
from .checkin import CheckinView, PointsBankView
from .loops import AccountsIssueView, MyNoticesView, unread_for_admin
from .imports import widen_upload_limit
from .listing import admin_static_url, list_cells_html, row_actions_html
from .views import REGISTRY

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


class SecureIndexView(SecureViewMixin, AdminIndexView):
    """The admin home (the dashboard); the same access rule as every admin screen."""

    @expose("/")
    def index(self):
        return self.render("admin/dashboard.html", overview=dashboard.overview())


def init_app(app):
    admin = Admin(
        app,
        name="红石榴联盟 · 管理后台",
        index_view=SecureIndexView(name="首页", url="/admin"),
        theme=Bootstrap4Theme(base_template="admin/alliance_base.html", swatch="default", fluid=True),
        translations_path=str(TRANSLATIONS),
        csp_nonce_generator=csp_nonce,
    )
    stock_templates(app, admin.theme.folder)
    check_sheets()  # a bad Meta.sheet fails here, not on a clerk's export
    for model, view_class, category in REGISTRY:
        admin.add_view(view_class(model, category=category))
    # the import upload's size limit must apply before the CSRF check reads the form
    app.before_request_funcs.setdefault(None, []).insert(0, widen_upload_limit)
    admin.add_view(CheckinView(name="活动签到", endpoint="checkin", url="checkin", category="活动"))
    admin.add_view(PointsBankView(name="积分银行", endpoint="points_bank", url="points-bank", category="志愿服务"))
    admin.add_view(AccountsIssueView(name="账号开通", endpoint="accounts_issue", url="accounts-issue", category="系统"))
    admin.add_view(MyNoticesView(name="我的通知", endpoint="my_notices", url="my-notices", category="通知"))
    app.jinja_env.globals["admin_unread_notices"] = unread_for_admin
    app.jinja_env.globals["row_actions_html"] = row_actions_html
    app.jinja_env.globals["list_cells_html"] = list_cells_html
    app.jinja_env.globals["admin_static_url"] = admin_static_url
    # 群众点单: the 待受理 queue, the needs list, grid posters, the dashboard panel (admin/needs.py)
    from . import needs as needs_admin
    needs_admin.init_app(admin, app)
    app.extensions["alliance_admin"] = admin
    return admin


def stock_templates(app, folder):
    """Flask-Admin's own templates, also reachable as ``flask_admin_stock/…``: our override
    of a macro file (templates/admin/…) replaces only the macros it must and imports the
    rest from the original."""
    stock = Path(flask_admin.__file__).resolve().parent / "templates" / folder
    app.jinja_loader = ChoiceLoader([app.jinja_loader,
                                     PrefixLoader({"flask_admin_stock": FileSystemLoader(str(stock))})])
