"""Form fields that help clerks: dates typed as they read, pickers that rank, lists not free text.

- Dates and times. Flask-Admin's date widgets hand the field to bootstrap-daterangepicker
  1.3 (``data-role="datetimepicker"``), which on every *keyup* parses the partial text with
  moment's forgiving parser (``moment("2", "YYYY-MM-DD HH:mm:ss")`` is the year 2) and writes
  the result back into the box while the clerk is typing; the caret then sits after the
  rewritten text, so typing ``2026-12-01 09:00`` leaves ``0002-01-01 00:00:00026-12-01 09:00``.
  Here the box is plain text that accepts what people type (``services/dates.py``), and
  ``static/js/admin-forms.js`` adds a button opening the browser's own date-time picker (in
  the browser's language) that fills the box in the same format.
- Related records with a ``Meta.picker`` declaration (member units): active ones first, the
  rest labelled (暂停, 已退出); hidden ones (已退出) are marked for the script to hide until
  the clerk ticks "显示已退出单位". The query still accepts them, so an existing link stays.
- A ``VocabularyField`` (项目分类) is a drop-down of the list clerks keep, not free text.
"""
from flask_admin.contrib.peewee.form import CustomModelConverter
from flask_admin.form.widgets import Select2Widget
from peewee import Case, DateField, DateTimeField
from wtforms import fields, widgets
from wtforms.fields.choices import SelectFieldBase
from wtforms.validators import ValidationError
from wtfpeewee.fields import ModelSelectField
from wtfpeewee.orm import FieldInfo

from models.bounds import parse_id
from models.fields import VocabularyField
from services.dates import format_datetime, parse_date, parse_datetime


class PickerInput(widgets.TextInput):
    """A text box typed into freely; ``data-picker`` asks the script for a picker button."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def __call__(self, field, **kwargs):
        kwargs.setdefault("data-picker", self.kind)
        kwargs.setdefault("placeholder", "2026-12-01 09:00" if self.kind == "datetime" else "2026-12-01")
        kwargs.setdefault("autocomplete", "off")
        return super().__call__(field, **kwargs)


class TypedDateTimeField(fields.DateTimeField):
    widget = PickerInput("datetime")

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("format", None)
        super().__init__(label, validators, format="%Y-%m-%d %H:%M", **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return format_datetime(self.data) if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        if not text:
            self.data = None
            return
        self.data = parse_datetime(text)
        if self.data is None:
            raise ValueError("请输入有效的日期时间，如 2026-12-01 09:00")


class TypedDateField(fields.DateField):
    widget = PickerInput("date")

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("format", None)
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        if not text:
            self.data = None
            return
        self.data = parse_date(text)
        if self.data is None:
            raise ValueError("请输入有效的日期，如 2026-12-01")


class IdSelectField(ModelSelectField):
    """The drop-down of a related record: a submitted value that cannot be an id
    (``abc``, 30 digits) is "not a valid choice" — the stock field put it into the
    query (a 500 on PostgreSQL, an overflow on SQLite)."""

    def get_model(self, pk):
        pk = parse_id(pk)
        return None if pk is None else super().get_model(pk)

    def pre_validate(self, form):
        # a filter (NULL handling) may have put the raw text back into ``data``
        data = self.data
        if data is not None and not isinstance(data, self.model) and parse_id(data) is None:
            raise ValidationError(self.gettext("Not a valid choice."))
        super().pre_validate(form)


class RankedSelectField(IdSelectField):
    """Related records in the order their ``Meta.picker`` gives, labelled by rank."""

    widget = Select2Widget()

    def __init__(self, label=None, validators=None, model=None, **kwargs):
        picker = model._meta.picker
        self.picker = picker
        rank_field = getattr(model, picker["field"])
        order = Case(rank_field, [(code, i) for i, code in enumerate(picker["order"])], len(picker["order"]))
        from models.base import display_field

        name = display_field(model)
        labels = dict(rank_field.choices or ())
        self._labels = {code: labels.get(code, code) for code in picker["order"][1:]}
        super().__init__(label, validators, model=model, get_label=lambda o: self._label(o, name), **kwargs)
        self.query = model.select().order_by(order, name)

    def _label(self, record, name):
        status = getattr(record, self.picker["field"])
        suffix = f"（{self._labels[status]}）" if status in self._labels else ""
        return f"{getattr(record, name.name)}{suffix}"

    def iter_choices(self):
        hidden = set(self.picker.get("hidden", ()))
        if self.allow_blank:
            yield ("__None", self.blank_text, self.data is None, {})
        for obj in self.query.clone():
            attrs = {"data-hidden": "1"} if getattr(obj, self.picker["field"]) in hidden and obj != self.data else {}
            yield (obj._pk, self.get_label(obj), obj == self.data, attrs)

    def __call__(self, **kwargs):
        kwargs.setdefault("data-ranked-picker", self.picker.get("reveal", "显示全部"))
        return super().__call__(**kwargs)


class VocabularySelectField(SelectFieldBase):
    """One of the active names of a vocabulary (plus the record's current one, kept even
    when it was since switched off)."""

    widget = Select2Widget()

    def __init__(self, label=None, validators=None, vocabulary=None, **kwargs):
        kwargs.pop("choices", None)
        super().__init__(label, validators, **kwargs)
        self.vocabulary = vocabulary

    def _names(self):
        model = self.vocabulary
        names = [n for (n,) in model.select(model.name).where(model.active == True)  # noqa: E712
                 .order_by(model.sort_order, model.name).tuples()]
        return names

    def iter_choices(self):
        names = self._names()
        yield ("", "请选择", not self.data, {})
        current = self.object_data
        if current and current not in names:
            yield (current, f"{current}（已停用）", self.data == current, {})
        for name in names:
            yield (name, name, self.data == name, {})

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = valuelist[0].strip() or None

    def process_data(self, value):
        self.data = value

    def _value(self):
        return self.data or ""

    def pre_validate(self, form):
        if not self.data:
            return
        if self.data != self.object_data and self.data not in self._names():
            raise ValidationError(f"请从{self.vocabulary._meta.verbose_name}列表中选择（可在“{self.vocabulary._meta.verbose_name}”中添加）")


class AllianceModelConverter(CustomModelConverter):
    def handle_foreign_key(self, model, field, **kwargs):
        if getattr(self.view, "_form_ajax_refs", {}).get(field.name):
            return super().handle_foreign_key(model, field, **kwargs)  # the SafeAjaxLoader picker
        if field.null:
            kwargs["allow_blank"] = True
        return FieldInfo(field.name, IdSelectField(model=field.rel_model, **kwargs))


class AdminModelConverter(AllianceModelConverter):
    """The peewee form converter of every admin form, with the fields above."""

    def __init__(self, view, additional=None):
        super().__init__(view, additional)
        self.converters[DateTimeField] = self.handle_datetime
        self.converters[DateField] = self.handle_date
        self.converters[VocabularyField] = self.handle_vocabulary

    def handle_datetime(self, model, field, **kwargs):
        return field.name, TypedDateTimeField(**kwargs)

    def handle_date(self, model, field, **kwargs):
        return field.name, TypedDateField(**kwargs)

    def handle_vocabulary(self, model, field, **kwargs):
        return field.name, VocabularySelectField(vocabulary=field.vocabulary_model(), **kwargs)

    def handle_foreign_key(self, model, field, **kwargs):
        picker = getattr(field.rel_model._meta, "picker", None)
        if picker and field.name not in getattr(self.view, "_form_ajax_refs", {}):
            if field.null:
                kwargs["allow_blank"] = True
            return field.name, RankedSelectField(model=field.rel_model, **kwargs)
        return super().handle_foreign_key(model, field, **kwargs)
