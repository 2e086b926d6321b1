"""Admin writes: each one transaction with its audit row; nothing deleted silently
(dependents are counted and the delete refused); database clashes become Chinese messages."""
from flask import current_app, flash
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext
from peewee import DoesNotExist, IntegrityError

from models import db
from services import audit
from services.common import write_transaction
from services.errors import ServiceError

from .listing import parse_ids


class WritesMixin:
    """Create, update, delete and service writes of ``SecureModelView``."""

    # -- writes: one transaction, audited, nothing deleted silently ---------------------

    def _snapshot(self, model):
        return {f.name: model.__data__.get(f.name) for f in model._meta.sorted_fields
                if f.name not in self.audit_exclude}

    def after_save_in_transaction(self, form, model, is_created):
        """Writes that must commit or roll back with the save (a service's consequences:
        a project following its slots, waiting people filling places a raise freed)."""

    def create_model(self, form):
        try:
            with write_transaction():
                model = self.model()
                form.populate_obj(model)
                self._on_model_change(form, model, True)
                model.save(force_insert=True)
                self.after_save_in_transaction(form, model, True)
                audit.record("create", model, changes=self._snapshot(model))
        except IntegrityError as exc:
            self._integrity_message(exc)
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form, model):
        before = self._snapshot(model)
        try:
            with write_transaction():
                form.populate_obj(model)
                self._on_model_change(form, model, False)
                # only what the form (or a hook) set: a column it does not hold — a status
                # a service moved meanwhile — is never written back from a stale read
                changed = list(model.dirty_fields)
                if "updated_at" in model._meta.fields:
                    changed.append(model._meta.fields["updated_at"])
                model.save(only=changed)
                self.after_save_in_transaction(form, model, False)
                self.record_update(model, _changes(before, self._snapshot(model)))
        except IntegrityError as exc:
            self._integrity_message(exc)
            return False
        self.after_model_change(form, model, False)
        return True

    def record_update(self, model, changes):
        """The audit row of an edit, inside its transaction; a view may say more."""
        audit.record("update", model, changes=changes)

    def _integrity_message(self, exc):
        text = str(exc).lower()
        if "unique" in text or "duplicate" in text:
            flash("保存失败：与已有记录重复（唯一性冲突），请修改后重试。", "error")
        elif "foreign" in text:
            flash("保存失败：关联的记录不存在或仍被引用。", "error")
        else:
            flash("保存失败：数据不符合约束条件，请检查后重试。", "error")
        current_app.logger.info("integrity error in admin: %s", exc)

    def dependents(self, model):
        """(label, count) for every record that still points at ``model``."""
        out = []
        for fk in self.model._meta.backrefs:
            count = fk.model.select().where(fk == model.get_id()).count()
            if count:
                out.append((fk.model._meta.verbose_name, count))
        return out

    def delete_refusal(self, model):
        deps = self.dependents(model)
        if not deps:
            return None
        names = "、".join(f"{count} 条{label}" for label, count in deps)
        return f"无法删除“{model}”：仍有 {names} 关联它。请先处理这些记录，或将其状态改为停用/退出。"

    def delete_model(self, model):
        refusal = self.delete_refusal(model)
        if refusal:
            flash(refusal, "error")
            return False
        try:
            with db.atomic():
                self.on_model_delete(model)
                snapshot = self._snapshot(model)
                model.delete_instance(recursive=False)
                audit.record("delete", model, changes=snapshot)
        except IntegrityError as exc:
            self._integrity_message(exc)
            return False
        except Exception as exc:  # e.g. AppendOnlyError
            if exc.__class__.__name__ == "AppendOnlyError":
                flash(str(exc), "error")
                return False
            raise
        self.after_model_delete(model)
        return True

    @action("delete", lazy_gettext("Delete"), lazy_gettext("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        pks = parse_ids(ids, limit=10000)
        rows = list(self.model.select().where(self.model._meta.primary_key.in_(pks)))
        refusals = [r for r in (self.delete_refusal(m) for m in rows) if r]
        if refusals:
            flash("未删除任何记录。" + refusals[0] + (f"（另有 {len(refusals) - 1} 条记录同样无法删除）" if len(refusals) > 1 else ""), "error")
            return
        try:
            with db.atomic():
                for m in rows:
                    snapshot = self._snapshot(m)
                    m.delete_instance(recursive=False)
                    audit.record("delete", m, changes=snapshot)
        except IntegrityError as exc:
            self._integrity_message(exc)
            return
        flash(f"已删除 {len(rows)} 条记录。", "success")

    def write_via(self, write, failure=""):
        """Run a service write (``write()``); a refusal becomes a flashed Chinese message
        and None, so a view whose rules live in services/ stays a declaration."""
        try:
            return write()
        except ServiceError as exc:
            flash(f"{failure}{exc.message}", "error")
            return None

    def handle_view_exception(self, exc):
        if isinstance(exc, ServiceError):
            flash(exc.message, "error")
            return True
        if isinstance(exc, (ValueError, DoesNotExist)):
            current_app.logger.info("admin input refused: %r", exc)
            flash("操作失败：提交的数据无效或记录不存在，请检查后重试。", "error")
            return True
        return False


def _changes(before, after):
    return {k: [before.get(k), v] for k, v in after.items()
            if audit._plain(before.get(k)) != audit._plain(v)}
