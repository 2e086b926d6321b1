"""Every record readable: the details page shows every field a clerk keeps, in Chinese, with
related records as links, the records that point at it, and its history from the audit log.

Stock Flask-Admin shows the list's columns only (long texts dropped), ``True`` for booleans
and codes for choices; here each field is rendered by its type (``field_html``).
"""
import datetime as dt
import decimal

from flask import current_app, request, url_for
from markupsafe import Markup, escape
from peewee import BooleanField, ForeignKeyField, TextField

from services import audit
from services.dates import format_datetime

from .listing import record_label

# never on a details page: ids and secrets
SECRET_FIELDS = ("id", "password_hash", "digest", "data")


def admin_view_for(model):
    """The admin view that lists ``model`` (its endpoint is the table name), or None."""
    admin = current_app.extensions.get("alliance_admin")
    if admin is None:
        return None
    return next((v for v in admin._views if getattr(v, "model", None) is model
                 and getattr(v, "endpoint", None) == model._meta.table_name), None)


def record_url(model, pk):
    """The details page of a record, when the current user may open it."""
    view = admin_view_for(model)
    if view is None or pk is None or not view.is_accessible() or not view.can_view_details:
        return None
    return url_for(f"{view.endpoint}.details_view", id=pk)


def field_text(record, field):
    """A field's value as plain text (choices as labels, 是/否, related records by name)."""
    if isinstance(field, ForeignKeyField):
        if record.__data__.get(field.name) is None:
            return ""
        return record_label(getattr(record, field.name))
    value = getattr(record, field.name)
    if value is None:
        return ""
    if field.choices:
        return dict(field.choices).get(value, str(value))
    if isinstance(field, BooleanField):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def field_html(record, field):
    """A field's value for the page: escaped, line breaks kept, related records linked."""
    text = field_text(record, field)
    if text == "":
        return Markup('<span class="text-muted">—</span>')
    if isinstance(field, ForeignKeyField):
        url = record_url(field.rel_model, record.__data__.get(field.name))
        return Markup('<a href="{}">{}</a>').format(url, text) if url else escape(text)
    if isinstance(field, TextField):
        return Markup('<div class="record-text">{}</div>').format(text)
    return escape(text)


class DetailsMixin:
    """The details page of ``SecureModelView``: fields, related records, history."""

    details_template = "admin/record_details.html"

    def details_fields(self):
        return [f for f in self.model._meta.sorted_fields if f.name not in SECRET_FIELDS]

    def detail_rows(self, record):
        """(中文名, html) for every field of the record."""
        return [(f.verbose_name or f.name, field_html(record, f)) for f in self.details_fields()]

    def detail_panels(self, record):
        """Extra panels (title, html) under the fields; views add theirs (e.g. a timeline)."""
        return []

    def detail_actions(self, record):
        """Extra links (label, url) in the details page's tab bar."""
        return []

    def related_lists(self, record):
        """(label, count, url) for the records that point at this one (one query per kind)."""
        out = []
        for fk in self.model._meta.backrefs:
            view = admin_view_for(fk.model)
            count = fk.model.select().where(fk == record.get_id()).count()
            if not count:
                continue
            label = f"{fk.model._meta.verbose_name}（{fk.verbose_name}）"
            url = None
            if view is not None and view.is_accessible():
                url = url_for(f"{view.endpoint}.index_view", of=f"{fk.name}.{record.get_id()}")
            out.append((label, count, url))
        return out

    def history_entries(self, record):
        """(entry, [(字段, 原值, 新值)]) for the record's audit rows, newest first."""
        entries = audit.history(record)
        described = audit.describe(entries)
        return [(e, described.get(e.id, [])) for e in entries]

    def action_label(self, action):
        return audit.action_label(action)

    def record_title(self, record):
        return f"{self.model._meta.verbose_name}：{record_label(record)}"

    def details_return_url(self):
        return request.args.get("url") or url_for(f"{self.endpoint}.index_view")
