"""The spreadsheet of an entity, declared once on the model: the columns an export carries,
the import template lists and an import reads, in one order, under the fields' Chinese names.

A model that clerks bring in from Excel declares ``Meta.sheet``::

    class Meta:
        sheet = dict(
            key=("phone",),                                   # natural key: rows match records by it
            columns=("name", "phone", "team", "grid", ...),   # what an import may write, in order
            readonly=("points_balance",),                     # exported, shown in the template, never imported
        )

Fields the declaration does not name are exported read-only after these (so a field added
later is never left out of an export); a status a state machine owns belongs in ``readonly``.
Every other model gets a derived sheet (every field but ids and secrets, for exports only).
The creation and update times close every sheet, read-only. Related records are given by
their name (``display_field``), choices by their Chinese label, booleans as 是/否.

The admin's export (``admin/export.py``), the import template and the import
(``services/imports.py``) all read ``sheet_of(model)``; a declaration naming a field the
model lacks is a ``DeclarationError`` at start-up (``check_sheets``).
"""
import datetime as dt
import functools
from dataclasses import dataclass

from peewee import (BlobField, BooleanField, DateField, DateTimeField, DecimalField, FloatField,
                    ForeignKeyField, IntegerField, TextField)

from .base import display_field
from .exposure import DeclarationError
from .fields import BoundedIntegerField, PhoneField, VocabularyField

# never in a spreadsheet: ids, secrets, stored files, internal counters
HIDDEN = ("id", "password_hash", "digest", "data", "sequence", "report", "attempt", "heartbeat_at")
TIMESTAMPS = ("created_at", "updated_at")
# how long an imported text may be when its column sets no limit
TEXT_MAX = 5000


@dataclass(frozen=True)
class Column:
    field: object  # a peewee Field
    readonly: bool = False
    key: bool = False

    @property
    def name(self):
        return self.field.name

    @property
    def header(self):
        return self.field.verbose_name or self.field.name

    @property
    def kind(self):
        f = self.field
        if isinstance(f, ForeignKeyField):
            return "relation"
        if f.choices:
            return "choice"
        if isinstance(f, VocabularyField):
            return "vocabulary"
        if isinstance(f, BooleanField):
            return "bool"
        if isinstance(f, DateTimeField):
            return "datetime"
        if isinstance(f, DateField):
            return "date"
        if isinstance(f, (IntegerField, BoundedIntegerField)):
            return "integer"
        if isinstance(f, (DecimalField, FloatField)):
            return "decimal"
        if isinstance(f, PhoneField):
            return "phone"
        return "text"

    @property
    def required(self):
        """A value is needed on every row (no null, no default)."""
        f = self.field
        return not self.readonly and not f.null and f.default is None

    @property
    def default(self):
        default = self.field.default
        return default() if callable(default) else default

    @property
    def max_length(self):
        if isinstance(self.field, TextField):
            return TEXT_MAX
        return getattr(self.field, "max_length", None)

    @property
    def choices(self):
        return list(self.field.choices or ())

    @property
    def related(self):
        return self.field.rel_model if isinstance(self.field, ForeignKeyField) else None

    def describe(self):
        """What the template's 填写说明 sheet says of this column."""
        if self.readonly:
            return "只读：导出时提供，导入时忽略"
        kind = self.kind
        if kind == "relation":
            rel = self.related
            text = f"填写{rel._meta.verbose_name}的名称（{display_field(rel).verbose_name}），须已在系统中"
        else:
            text = {
                "choice": "从可选值中选择一项",
                "vocabulary": "从可选值中选择一项（工作人员可在系统中增加分类）",
                "bool": "填写“是”或“否”",
                "datetime": "日期时间，如 2026-12-01 09:00",
                "date": "日期，如 2026-12-01",
                "integer": "整数",
                "decimal": "数字",
                "phone": "11 位手机号，或座机“区号-号码”",
                "text": "文字",
            }[kind]
        if self.max_length and kind in ("text", "phone"):
            text += f"，最多 {self.max_length} 个字"
        lo, hi = getattr(self.field, "min_value", None), getattr(self.field, "max_value", None)
        if lo is not None or hi is not None:
            text += "，" + ("≥ %s" % lo if hi is None else f"{lo if lo is not None else ''} 到 {hi}")
        return text

    def blank_means(self):
        if self.readonly:
            return ""
        if self.key:
            return "必填（用于匹配已有记录）"
        if self.required:
            return "必填"
        if self.field.null:
            return "可留空"
        default = self.default
        if isinstance(default, bool):
            default = "是" if default else "否"
        elif self.choices:
            default = dict(self.choices).get(default, default)
        return f"留空即默认值“{default}”"


@dataclass(frozen=True)
class Sheet:
    model: type
    columns: tuple  # every column, in export order
    key: tuple = ()  # names of the natural-key columns (empty: export only)

    @property
    def importable(self):
        return bool(self.key)

    @property
    def writable(self):
        return [c for c in self.columns if not c.readonly]

    @property
    def headers(self):
        return [c.header for c in self.columns]

    def column(self, name):
        return next(c for c in self.columns if c.name == name)

    @property
    def key_label(self):
        return "+".join(self.column(n).header for n in self.key)


def normalise_header(text):
    """How a header cell is compared: trimmed, full-width brackets and a required mark ignored."""
    text = str(text or "").strip().replace("（", "(").replace("）", ")").replace(" ", "").replace("\u3000", "")
    return text.rstrip("*＊")


@functools.cache
def sheet_of(model):
    """The checked sheet of ``model`` (declared or derived)."""
    meta = model._meta
    spec = getattr(meta, "sheet", None) or {}

    def field(name):
        if name not in meta.fields:
            raise DeclarationError(f"{model.__name__}.Meta.sheet names unknown field {name!r}")
        return meta.fields[name]

    if spec:
        names = list(spec["columns"])
        readonly = list(spec.get("readonly", ()))
        key = tuple(spec["key"])
        for name in key:
            if name not in names:
                raise DeclarationError(f"{model.__name__}.Meta.sheet: key {name!r} is not an import column")
    else:
        names, readonly, key = [f.name for f in meta.sorted_fields
                                if f.name not in HIDDEN + TIMESTAMPS and not isinstance(f, BlobField)], [], ()
    if spec:  # every other field a clerk keeps is exported too, read-only (a field added later included)
        mentioned = set(names) | set(readonly)
        readonly += [f.name for f in meta.sorted_fields if f.name not in mentioned
                     and f.name not in HIDDEN + TIMESTAMPS and not isinstance(f, BlobField)]
    readonly += [n for n in TIMESTAMPS if n in meta.fields and n not in readonly and n not in names]
    columns = []
    for name in names + readonly:
        f = field(name)
        if isinstance(f, ForeignKeyField) and key and name not in readonly \
                and display_field(f.rel_model) is f.rel_model._meta.primary_key:
            raise DeclarationError(f"{model.__name__}.Meta.sheet: {name!r} points at a model without a name")
        columns.append(Column(f, readonly=name in readonly or (not key), key=name in key))
    headers = [normalise_header(c.header) for c in columns]
    if len(set(headers)) != len(headers):
        raise DeclarationError(f"{model.__name__}: two sheet columns share a Chinese name")
    return Sheet(model=model, columns=tuple(columns), key=key)


def check_sheets(models=None):
    """Build every sheet once at start-up so a bad declaration fails early."""
    if models is None:
        from . import ALL_MODELS as models
    return [sheet_of(m) for m in models]


def plain_value(value):
    """A field value as a spreadsheet shows it (dates unchanged; used to compare)."""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0)
    return value
