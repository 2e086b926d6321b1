"""Work-order screens: the overdue filter, quick views and one-click moves from the list.

Every move posts (with CSRF) to ``/admin/work_order/move/<id>``, which calls
``services.workorders.move`` — the one transitions table — and nothing else.
"""
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.peewee import filters as pw_filters
from flask_login import current_user
from markupsafe import Markup

from models import MemberUnit, OrderStatus, Rating, Volunteer
from services import workorders
from services.dates import format_datetime
from services.errors import ServiceError


class OverdueFilter(pw_filters.BasePeeweeFilter):
    """超期未办结: past the due time and still open."""

    def apply(self, query, value):
        return query.where(workorders.overdue_clause())

    def validate(self, value):
        return value == "1"

    def operation(self):
        return lazy_gettext("equals")


class WorkOrderMovesMixin:
    def create_model(self, form):
        """接单 through the service, like every other way an order comes in."""
        grid = form.grid.data
        order = self.write_via(lambda: workorders.create_order(
            user=current_user, channel=form.channel.data, requester_name=form.requester_name.data,
            requester_phone=form.requester_phone.data, category=form.category.data,
            description=form.description.data, grid=grid.id if grid else None,
            due_at=form.due_at.data), "工单未创建：")
        if order is None:
            return False
        self.after_model_change(form, order, True)
        return order

    def _filter_url(self, column_name, value):
        for index, flt in enumerate(self._filters or []):
            column = getattr(flt, "column", None)
            if getattr(column, "name", None) == column_name and flt.__class__.__name__ in ("ChoiceEqualFilter", "OverdueFilter", "RelatedEqualFilter"):
                return url_for(f"{self.endpoint}.index_view", **{f"flt0_{self.get_filter_arg(index, flt)}": value})
        return None

    def quick_views(self):
        """Tabs over the list: by state, and overdue."""
        tabs = [("全部", url_for(f"{self.endpoint}.index_view"))]
        for code, label in OrderStatus.choices:
            tabs.append((label, self._filter_url("status", code)))
        tabs.append(("超期未办结", self._filter_url("due_at", "1")))
        return [(label, href) for label, href in tabs if href]

    def detail_panels(self, record):
        """The details page (admin/details.py): the timeline of every step, round by round,
        first (二次办理 keeps the first round's result and rating)."""
        timeline = Markup(render_template("admin/workorder_timeline.html", rounds=workorders.rounds(record),
                                          format_datetime=format_datetime))
        return [("办理过程", timeline)] + list(super().detail_panels(record))

    def moves_for(self, order):
        return workorders.allowed_actions(order, current_user)

    def move_labels(self):
        return {name: m.label for name, m in workorders.MOVES.items()}

    def _safe_next(self):
        target = request.form.get("next") or request.args.get("next") or ""
        parts = urlsplit(target)
        if target and not parts.scheme and not parts.netloc and parts.path.startswith(url_for(f"{self.endpoint}.index_view")):
            return target
        return url_for(f"{self.endpoint}.index_view")

    @expose("/move/<int:order_id>", methods=["GET", "POST"])
    def move_view(self, order_id):
        action = request.values.get("action", "")
        order = self.get_one(order_id)
        if order is None:
            return self.render("admin/workorder_move.html", order=None, action=action,
                               error="工单不存在", **self._move_context()), 404
        if request.method == "GET":
            return self.render("admin/workorder_move.html", order=order, action=action, error=None,
                               next=self._safe_next(), **self._move_context())
        f = request.form
        try:
            moved = workorders.move(order.id, action, user=current_user, unit=f.get("unit"),
                                    volunteer=f.get("volunteer"), worker=f.get("worker"),
                                    result=f.get("result"), rating=f.get("rating"), note=f.get("note"),
                                    reason=f.get("reason"))
        except ServiceError as exc:
            return self.render("admin/workorder_move.html", order=order, action=action, error=exc.message,
                               next=self._safe_next(), **self._move_context()), exc.status
        flash(f"工单 {moved.number} 已{workorders.MOVES[action].label}，当前状态：{OrderStatus.label(moved.status)}", "success")
        return redirect(self._safe_next())

    def _move_context(self):
        return {"moves": workorders.MOVES, "OrderStatus": OrderStatus, "Rating": Rating,
                "units": MemberUnit.select(MemberUnit.id, MemberUnit.name).order_by(MemberUnit.name),
                "volunteers": Volunteer.select(Volunteer.id, Volunteer.name).order_by(Volunteer.name).limit(500)}
