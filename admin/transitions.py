"""Status buttons from a state machine (services/transitions.py), for any admin view.

A view declares ``machine`` (the table) and ``move_service`` (the service function that
makes a move: ``(record_id, name, *, user, reason, expected)``). Each list row links to
``/move/<id>``, and the edit page shows the moves too; that page lists the moves
``machine.allowed`` gives the clerk now, the ones a guard holds back with the reason,
and asks for what a move needs (a reason, a confirmation) before it posts. The form
carries the status the clerk saw, so a record someone else moved meanwhile is a
conflict, never a surprise.
"""
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user

from auth.permissions import can
from services.errors import ServiceError
from services.transitions import SYSTEM


class MachineMovesMixin:
    machine = None
    move_service = None
    edit_template = "admin/machine_edit.html"

    def __init__(self, model, **kwargs):
        self.column_extra_row_actions = list(self.column_extra_row_actions or []) + [
            EndpointLinkRowAction("fa fa-random", ".move_view", title="状态变更", id_arg="record_id")]
        super().__init__(model, **kwargs)

    def moves_for(self, record):
        """(open moves, [(held-back move, why)]) for the current clerk."""
        machine, user = self.machine, current_user
        state = getattr(record, machine.field)
        open_moves = machine.allowed(record, user)
        held = [(t, machine.why_not(record, t.name, user)) for t in machine
                if t.who != SYSTEM and state in t.sources and can(user, t.who, record) and t not in open_moves]
        return open_moves, held

    def status_label(self, record):
        return self.machine.states.label(getattr(record, self.machine.field))

    def _move_next(self):
        target = request.values.get("next") or ""
        parts = urlsplit(target)
        if target and not parts.scheme and not parts.netloc and parts.path.startswith(url_for(".index_view")):
            return target
        return url_for(".index_view")

    @expose("/move/<int:record_id>", methods=("GET", "POST"))
    def move_view(self, record_id):
        record = self.get_one(record_id)
        name = request.values.get("action", "")
        context = {"machine": self.machine, "next": self._move_next(), "reason": request.form.get("reason", "")}
        if record is None:
            return self.render("admin/machine_move.html", record=None, transition=None,
                               error=f"{self.machine.noun}不存在", **context), 404
        transition = self.machine.transitions.get(name)
        error, status = None, 200
        if request.method == "POST":
            try:
                moved = type(self).move_service(record.get_id(), name, user=current_user,
                                                reason=request.form.get("reason"),
                                                expected=request.form.get("from"))
            except ServiceError as exc:
                error, status = exc.message, exc.status
                record = self.get_one(record_id) or record
            else:
                flash(f"{self.machine.noun}“{moved}”已{transition.label}，当前状态："
                      f"{self.status_label(moved)}", "success")
                return redirect(context["next"], 303)
        elif name and transition is None:
            error, status = f"不支持的{self.machine.noun}操作", 400
        if transition is not None and transition.who == SYSTEM:
            transition = None
        return self.render("admin/machine_move.html", record=record, transition=transition, error=error,
                           **context), status
