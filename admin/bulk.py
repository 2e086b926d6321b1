"""Bulk edit on lists (批量修改): pick rows, pick what to set, see how many rows change, confirm.

A view declares what may be changed in bulk::

    bulk_fields = ("grid", "team", "published", "status")   # plain fields (services.bulk.set_field)
    bulk_moves = {"revoke": BulkMove("撤销", call, allowed, params=(Param("reason", "撤销原因"),))}

A move calls a service per record (``call(record_id, user, params)``) so the service's rules
hold; ``allowed(record)`` says which selected rows the move applies to, for the count on the
confirmation page. A view with a state machine (``machine`` and ``move_service``, see
admin/transitions.py) gets every move a clerk may make as a bulk move as well, through the
same service and the transition primitive. Everything runs in one transaction
(``services.bulk``), audited.
"""
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from peewee import BooleanField, ForeignKeyField

from services import bulk
from services.errors import ServiceError
from services.transitions import SYSTEM

from .listing import parse_ids, record_label

PREVIEW_ROWS = 50


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str = "text"  # text | unit
    required: bool = True


@dataclass(frozen=True)
class BulkMove:
    label: str
    call: object  # (record_id, user, params) -> None
    allowed: object = None  # record -> bool
    params: tuple = ()


class BulkEditMixin:
    bulk_fields = ()
    bulk_moves = {}

    def all_bulk_moves(self):
        """The declared moves, then the state machine's (those a clerk makes by hand)."""
        moves = dict(self.bulk_moves)
        machine = getattr(self, "machine", None)
        service = getattr(type(self), "move_service", None)
        if machine is None or service is None:
            return moves
        for t in machine:
            if t.who == SYSTEM or t.name in moves:
                continue
            moves[t.name] = BulkMove(
                t.label,
                lambda pk, user, p, name=t.name: service(pk, name, user=user, reason=p.get("reason")),
                allowed=lambda record, t=t: t in machine.allowed(record, current_user),
                params=(Param("reason", t.ask),) if t.ask else ())
        return moves

    def has_bulk_edit(self):
        return self.can_edit and bool(self.bulk_fields or self.all_bulk_moves())

    def is_action_allowed(self, name):
        if name == "bulk_edit" and not self.has_bulk_edit():
            return False
        return super().is_action_allowed(name)

    @action("bulk_edit", "批量修改…")
    def action_bulk_edit(self, ids):
        ids = parse_ids(ids, bulk.MAX_RECORDS)
        return redirect(url_for(".bulk_view", ids=",".join(map(str, ids)), next=self._bulk_next()))

    def _bulk_next(self):
        target = request.values.get("next") or request.values.get("url") or request.referrer or ""
        parts = urlsplit(target)
        home = url_for(".index_view")
        if parts.path.startswith(home) and (not parts.netloc or parts.netloc == request.host):
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return home

    # -- what may be set ---------------------------------------------------------------

    def bulk_options(self):
        """[(key, label, control)] for the form: fields first, then moves."""
        out = []
        for name in self.bulk_fields:
            field = self.model._meta.fields[name]
            out.append((f"field:{name}", field.verbose_name, self._field_control(field)))
        for code, move in self.all_bulk_moves().items():
            out.append((f"move:{code}", move.label, {"params": [self._param_control(p) for p in move.params]}))
        return out

    def _field_control(self, field):
        if isinstance(field, ForeignKeyField):
            rel = field.rel_model
            from models.base import display_field

            query = rel.select().order_by(display_field(rel)).limit(2000)
            picker = getattr(rel._meta, "picker", None)
            options = []
            for record in query:
                label = record_label(record)
                if picker and getattr(record, picker["field"]) != picker["order"][0]:
                    status = dict(getattr(rel, picker["field"]).choices).get(getattr(record, picker["field"]))
                    label = f"{label}（{status}）"
                options.append((str(record.get_id()), label))
            if field.null:
                options.insert(0, ("__None", f"（清空{field.verbose_name}）"))
            return {"options": options}
        if isinstance(field, BooleanField):
            return {"options": [("1", "是"), ("0", "否")]}
        return {"options": [(code, label) for code, label in field.choices]}

    def _param_control(self, param):
        control = {"name": param.name, "label": param.label, "kind": param.kind}
        if param.kind == "unit":
            from models import MemberUnit, UnitStatus

            control["options"] = [(str(u.id), u.name) for u in MemberUnit.select(MemberUnit.id, MemberUnit.name)
                                  .where(MemberUnit.status == UnitStatus.ACTIVE).order_by(MemberUnit.name)]
        return control

    def _value_text(self, name, value):
        field = self.model._meta.fields[name]
        if value is None:
            return "（空）"
        if isinstance(field, ForeignKeyField):
            rel = field.rel_model
            return record_label(rel.get_or_none(rel._meta.primary_key == value))
        if isinstance(field, BooleanField):
            return "是" if value else "否"
        return dict(field.choices or ()).get(value, str(value))

    # -- the page ----------------------------------------------------------------------

    @expose("/bulk/", methods=("GET", "POST"))
    def bulk_view(self):
        if not self.has_bulk_edit():
            abort(404)
        ids = parse_ids(request.values.getlist("ids"), bulk.MAX_RECORDS)
        records = list(self.model.select().where(self.model._meta.primary_key.in_(ids))) if ids else []
        if not records:
            flash("请先在列表中勾选要修改的记录。", "error")
            return redirect(self._bulk_next())
        ids = [r.get_id() for r in records]
        context = dict(ids=",".join(map(str, ids)), count=len(records), next=self._bulk_next(),
                       options=self.bulk_options(), chosen=request.form.get("what", ""), step="choose",
                       values=request.form)
        if request.method == "GET":
            return self.render("admin/bulk_edit.html", **context)
        what = request.form.get("what", "")
        kind, _, name = what.partition(":")
        try:
            if kind == "field" and name in self.bulk_fields:
                return self._bulk_field(name, ids, context)
            if kind == "move" and name in self.all_bulk_moves():
                return self._bulk_move(name, ids, records, context)
            raise ServiceError("请选择要修改的内容")
        except ServiceError as exc:
            flash(exc.message, "error")
            return self.render("admin/bulk_edit.html", **context), exc.status

    def _bulk_field(self, name, ids, context):
        field = self.model._meta.fields[name]
        value = bulk.clean_value(self.model, name, request.form.get(f"value:{name}"))
        if request.form.get("step") == "confirm":
            changed = bulk.set_field(self.model, ids, name, value, user=current_user)
            flash(f"已将 {changed} 条{self.model._meta.verbose_name}的“{field.verbose_name}”改为“{self._value_text(name, value)}”。",
                  "success")
            return redirect(context["next"], 303)
        changing, same = bulk.preview_field(self.model, ids, name, value)
        rows = [(record_label(r), self._value_text(name, r.__data__.get(name))) for r in changing[:PREVIEW_ROWS]]
        return self.render("admin/bulk_edit.html", **{
            **context, "step": "confirm", "what_label": field.verbose_name, "new_text": self._value_text(name, value),
            "changing": len(changing), "unchanged": len(same), "rows": rows,
            "hidden": {"what": f"field:{name}", f"value:{name}": request.form.get(f"value:{name}", "")}})

    def _bulk_move(self, code, ids, records, context):
        move = self.all_bulk_moves()[code]
        params = {p.name: (request.form.get(f"param:{code}:{p.name}") or "").strip() for p in move.params}
        for p in move.params:
            if p.required and not params[p.name]:
                raise ServiceError(f"请填写{p.label}")
        allowed = [r for r in records if move.allowed is None or move.allowed(r)]
        if request.form.get("step") == "confirm":
            if not allowed:
                raise ServiceError(f"所选记录都不能{move.label}。")
            done = bulk.apply_each([r.get_id() for r in allowed],
                                   lambda pk: move.call(pk, current_user._get_current_object(), params),
                                   label=self.model._meta.verbose_name)
            flash(f"已{move.label} {done} 条{self.model._meta.verbose_name}。", "success")
            return redirect(context["next"], 303)
        rows = [(record_label(r), "") for r in allowed[:PREVIEW_ROWS]]
        hidden = {"what": f"move:{code}"}
        hidden.update({f"param:{code}:{k}": v for k, v in params.items()})
        return self.render("admin/bulk_edit.html", **{
            **context, "step": "confirm", "what_label": move.label, "new_text": "",
            "changing": len(allowed), "unchanged": len(records) - len(allowed), "rows": rows, "hidden": hidden,
            "params_text": [(p.label, self._param_text(p, params[p.name])) for p in move.params if params[p.name]]})

    def _param_text(self, param, value):
        if param.kind == "unit" and value.isdigit():
            from models import MemberUnit

            unit = MemberUnit.get_or_none(MemberUnit.id == int(value))
            return unit.name if unit else value
        return value
