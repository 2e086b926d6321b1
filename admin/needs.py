"""群众点单 in the admin: the 待受理 queue (accept → a work order, publish as 微心愿, merge
into an existing order, refuse with a reason), the list of every need, each grid's QR
poster, and the needs figures and charts on the dashboard.

Every decision posts (with CSRF) to ``/admin/need/handle/<id>``, which calls
``services.needs.handle`` — the needs machine ``NEEDS`` — and nothing else; the work order
it makes moves only through ``services.workorders``.
"""
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user
from peewee import JOIN

from models import Grid, Need, NeedKind, NeedSource, NeedStatus, OrderCategory, now
from models.bounds import parse_id
from models.needs import grouped
from services import needs
from services.errors import ServiceError

from .base import SecureModelView

QUEUE_SIZE = 50


class NeedView(SecureModelView):
    """Needs come from residents (the form, the poster, the API) and change only through the
    needs machine: no create, edit or delete here."""

    can_create = False
    can_edit = False
    can_delete = False
    list_template = "admin/needs/list.html"
    column_list = ("code", "kind", "status", "name", "grid", "source", "submitted_at", "accept_due_at",
                   "handled_at", "work_order", "merged_into")
    column_searchable_list = ("code", "name", "text")
    column_filters = ("status", "kind", "grid", "source", "submitted_at", "handled_at")
    column_default_sort = ("submitted_at", True)
    column_formatters = {"code": lambda v, c, m, n: grouped(m.code)}

    def detail_actions(self, record):
        if record.status == NeedStatus.PENDING:
            return [("处理点单", url_for(".queue", need=record.id))]
        return []

    # --- the 待受理 queue ------------------------------------------------------------------

    def _queue_context(self, error=None, focus=None):
        query = Need.select().where(Need.status == NeedStatus.PENDING)
        kind = request.args.get("kind")
        if kind in NeedKind.codes():
            query = query.where(Need.kind == kind)
        grid = parse_id(request.args.get("grid"))
        if grid:
            query = query.where(Need.grid == grid)
        if focus:
            query = query.where(Need.id == focus)
        total = query.count()
        rows = list(query.select_extend(Grid).join(Grid, JOIN.LEFT_OUTER, on=(Need.grid == Grid.id))
                    .order_by(Need.submitted_at, Need.id).limit(QUEUE_SIZE))
        photo_map = needs.photos_of_needs([n.id for n in rows])
        return {"needs": rows, "total": total, "error": error, "kind": kind if kind in NeedKind.codes() else "",
                "grid": grid, "grids": list(Grid.select(Grid.id, Grid.name).order_by(Grid.number).tuples()),
                "NeedKind": NeedKind, "NeedSource": NeedSource, "categories": OrderCategory.choices,
                "kind_category": KIND_CATEGORY, "at": now(), "grouped": grouped, "photos": photo_map,
                "moves": needs.MOVES}

    @expose("/queue/")
    def queue(self):
        focus = parse_id(request.args.get("need"))
        return self.render("admin/needs/queue.html", **self._queue_context(focus=focus))

    @expose("/handle/<int:need_id>", methods=("POST",))
    def handle(self, need_id):
        action = request.form.get("action", "")
        try:
            need = needs.handle(need_id, action, user=current_user._get_current_object(),
                                category=request.form.get("category"), order=request.form.get("order"),
                                reason=request.form.get("reason"), grid=request.form.get("grid"))
        except ServiceError as exc:
            return self.render("admin/needs/queue.html", **self._queue_context(
                error=exc.message, focus=parse_id(need_id))), exc.status
        label = needs.MOVES[action].label
        extra = f"，工单 {need.work_order.number}" if need.work_order_id else ""
        flash(f"{need}已{label}{extra}。", "success")
        return redirect(url_for(".queue"), 303)

    # --- 双码入户: every grid's poster -------------------------------------------------------

    @expose("/posters/")
    def posters(self):
        grids = list(Grid.select().order_by(Grid.number))
        return self.render("admin/needs/posters.html", grids=grids)


# the category a clerk most likely picks for each kind (the select starts there)
KIND_CATEGORY = {NeedKind.HELP: OrderCategory.ELDERLY, NeedKind.APPEAL: OrderCategory.PROPERTY,
                 NeedKind.WISH: OrderCategory.OTHER, NeedKind.SUGGESTION: OrderCategory.POLICY}


class GridPosterMixin:
    """A 点单海报 link on each row of the grid list (the poster is public: it holds no secret)."""

    def __init__(self, model, **kwargs):
        self.column_extra_row_actions = list(self.column_extra_row_actions or []) + [
            EndpointLinkRowAction("fa fa-qrcode", "public.grid_poster", title="点单海报（打印）", id_arg="grid_id")]
        super().__init__(model, **kwargs)


def dashboard_needs():
    """The dashboard's needs panel: this month's figures and the year's charts."""
    at = now()
    return {"month": needs.month_figures(at), "charts": needs.per_month(at.year), "pending": needs.pending_count(),
            "year": at.year}


def init_app(admin, app):
    admin.add_view(NeedView(Need, category="工单", name="群众点单"))
    app.jinja_env.globals["needs_dashboard"] = dashboard_needs
