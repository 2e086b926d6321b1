"""The audit log (操作日志) in Chinese: who, when, what, which record (a link), which fields
from → to; filterable by who, entity, action and date; readable by clerks and admins,
changed by no one (the view has no create/edit/delete, the model refuses updates)."""
from markupsafe import Markup, escape

from services import audit

from .details import record_url
from .listing import ChoiceEqualFilter, record_label


def _changes_html(rows):
    if not rows:
        return ""
    parts = []
    for label, old, new in rows:
        if old is None:
            parts.append(Markup("{}：{}").format(label, new))
        else:
            parts.append(Markup("{}：{} → {}").format(label, old, new))
    return Markup("；").join(parts)


class AuditLogMixin:
    permission = "audit.read"
    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("created_at", "username", "action", "entity", "entity_id", "changes", "ip")
    column_searchable_list = ("username", "changes")
    column_default_sort = ("created_at", True)

    @staticmethod
    def audit_filters(model):
        return ("user",
                ChoiceEqualFilter(model.entity, "对象类型", options=audit.entity_choices()),
                ChoiceEqualFilter(model.action, "操作", options=list(audit.ACTION_LABELS.items())),
                "created_at")

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True):
            self._described = audit.describe(rows)
            self._labels = self._record_labels(rows)
        return count, rows

    def _record_labels(self, rows):
        """{(entity, id): name} for the page's rows, one query per entity."""
        models = audit.entity_models()
        wanted = {}
        for row in rows:
            if row.entity in models and str(row.entity_id or "").isdigit():
                wanted.setdefault(models[row.entity], set()).add(int(row.entity_id))
        return {(model.__name__, pk): name for (model, pk), name in audit.names_of(wanted).items()}

    def _format_action(view, context, model, name):
        return audit.action_label(model.action)

    def _format_entity(view, context, model, name):
        return audit.entity_label(model.entity)

    def _format_record(view, context, model, name):
        if not model.entity_id:
            return ""
        label = getattr(view, "_labels", {}).get((model.entity, str(model.entity_id)))
        text = f"{label}（#{model.entity_id}）" if label else f"#{model.entity_id}"
        target = audit.entity_models().get(model.entity)
        url = record_url(target, model.entity_id) if target is not None and label else None
        return Markup('<a href="{}">{}</a>').format(url, text) if url else escape(text)

    def _format_changes(view, context, model, name):
        rows = getattr(view, "_described", {}).get(model.id)
        if rows is None:
            rows = audit.describe([model]).get(model.id, [])
        return _changes_html(rows)

    column_formatters = {"action": _format_action, "entity": _format_entity, "entity_id": _format_record,
                         "changes": _format_changes}
    column_formatters_export = {
        "action": lambda v, c, m, n: audit.action_label(m.action),
        "entity": lambda v, c, m, n: audit.entity_label(m.entity),
        "changes": lambda v, c, m, n: "；".join(
            f"{label}：{old} → {new}" if old is not None else f"{label}：{new}"
            for label, old, new in v._export_described.get(m.id, [])),
    }

    def prepare_export_rows(self, rows):
        self._export_described = audit.describe(rows)  # one name query per 500 exported rows

    def get_export_columns(self):
        return [(name, self.get_column_name(name)) for name in self.column_list]

    def detail_rows(self, record):
        rows = [(label, html) for label, html in super().detail_rows(record)
                if label not in ("操作", "对象类型", "变更内容", "对象编号")]
        described = audit.describe([record]).get(record.id, [])
        target = audit.entity_models().get(record.entity)
        label = None
        if target is not None and str(record.entity_id or "").isdigit():
            found = target.get_or_none(target._meta.primary_key == int(record.entity_id))
            label = record_label(found) if found else None
        url = record_url(target, record.entity_id) if target is not None and label else None
        shown = f"{label}（#{record.entity_id}）" if label else f"#{record.entity_id or ''}"
        return rows + [
            ("操作", escape(audit.action_label(record.action))),
            ("对象类型", escape(audit.entity_label(record.entity))),
            ("对象编号", Markup('<a href="{}">{}</a>').format(url, shown) if url else escape(shown)),
            ("变更内容", _changes_html(described) or Markup('<span class="text-muted">—</span>')),
        ]

    def history_entries(self, record):
        return []

    def related_lists(self, record):
        return []
