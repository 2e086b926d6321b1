"""The one secure base view every admin screen inherits.

Stock Flask-Admin on peewee has measured defects; each is closed here, once:
- open to everyone by default            → ``is_accessible`` asks ``auth.permissions``
- ``delete_instance(recursive=True)``    → dependents are counted and the delete refused
- no transactions, raw DB errors shown   → every write is one ``db.atomic()``; clashes
                                            become Chinese field errors
- one query per foreign key per row      → list queries join the related rows once
- exports load every row in memory and   → CSV and XLSX stream from a server-side
  write formulas verbatim                   iterator; formula cells are neutralised
- ``page=-1`` or a bad id gives a 500    → parameters are clamped and checked
- every column is a form field, so        → timestamps, service-kept counters
  ``created_at`` or a status is editable    (``Meta.read_only``) and what a state machine
                                            owns (status, stamps) leave every form here;
                                            a save writes only the fields it changed
"""
import csv
import datetime as dt
import decimal
import io
import tempfile
import uuid
from urllib.parse import quote

from flask import abort, current_app, flash, redirect, request, url_for
from flask import Response, stream_with_context
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee import filters as pw_filters
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from flask_admin.contrib.peewee.form import CustomModelConverter
from flask_admin.form import BaseForm
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from peewee import (JOIN, AutoField, BooleanField, PostgresqlDatabase, CharField, DateField, DateTimeField,
                    DecimalField,
                    DoesNotExist, FloatField, ForeignKeyField, IntegerField, IntegrityError,
                    TextField)
from wtforms import validators
from wtfpeewee.fields import ModelSelectField
from wtfpeewee.orm import FieldInfo

from auth.permissions import can
from models import db, now
from models.base import DISPLAY_ATTRS, display_field
from models.bounds import (ID_MAX, INT_MAX, INT_MIN, date_in_range, date_range_message, is_id,
                           parse_id)
from models.fields import BoundedIntegerField, PhoneField
from services import audit
from services.common import write_transaction
from services.points import format_hours
from services.errors import ServiceError
from services.transitions import MACHINES

from . import wording

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def has_display_name(model):
    return any(attr in model._meta.fields for attr in DISPLAY_ATTRS)


def search_fields_of(model):
    """Text columns a person would type to find a record (never hashes or codes)."""
    if has_display_name(model):
        return [display_field(model)]
    return [f for f in model._meta.sorted_fields
            if isinstance(f, (CharField, TextField)) and not f.choices][:1]


def read_only_fields(model):
    """Columns no admin form may write: the timestamps, counters services keep (declared
    once on the model as ``Meta.read_only``) and what a state machine owns — its status
    column and the timestamps its moves set (services/transitions.py)."""
    names = {name for name in ("created_at", "updated_at") if name in model._meta.fields}
    names.update(getattr(model._meta, "read_only", ()))
    machine = MACHINES.get(model.__name__)
    if machine is not None:
        names.add(machine.field)
        names.update(t.stamp for t in machine if t.stamp)
    return names


def record_label(record):
    """What a related record is called on screen: its name, never its id."""
    if record is None:
        return ""
    if has_display_name(type(record)):
        return str(getattr(record, display_field(type(record)).name) or "")
    return str(record)


class SafeAjaxLoader(QueryAjaxModelLoader):
    """The search-as-you-type picker: an unknown or malformed id is "nothing chosen" (the
    stock loader raises DoesNotExist → 500), and the search term is bounded."""

    def get_one(self, pk):
        pk = parse_id(pk)
        return None if pk is None else self.model.get_or_none(self.model._meta.primary_key == pk)

    def get_list(self, term, offset=0, limit=20):
        return super().get_list((term or "")[:100], min(max(int(offset or 0), 0), ID_MAX),
                                min(max(int(limit or 20), 1), 50))


def neutralise(value):
    """Make a spreadsheet cell inert: text starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class AdminForm(FlaskForm):
    """Flask-WTF CSRF (the same token the app-wide CSRFProtect checks) with
    Flask-Admin's form behaviour and WTForms' Chinese messages."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return BaseForm.Meta._translations

    def __init__(self, formdata=None, obj=None, prefix="", **kwargs):
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


# --- what a column's type carries into every form ------------------------------------------

class InDateRange:
    """A date or date-time inside the platform's supported range (models.bounds)."""

    def __call__(self, form, field):
        if field.data is not None and not date_in_range(field.data):
            raise validators.ValidationError(date_range_message())


class DecimalRange:
    """A finite number that fits the column (``max_digits`` / ``decimal_places``)."""

    def __init__(self, column):
        self.limit = decimal.Decimal(10) ** (column.max_digits - column.decimal_places)
        self.message = f"请输入绝对值小于 {self.limit} 的数字（最多 {column.decimal_places} 位小数）"

    def __call__(self, form, field):
        value = field.data
        if value is not None and (not value.is_finite() or abs(value) >= self.limit):
            raise validators.ValidationError(self.message)


def _phone_normaliser(column):
    def normalise(value):
        if value is None or isinstance(value, str) and not value.strip():
            return value
        return column.normalise(value)  # ValueError(中文) → the field's error
    return normalise


def field_rules(column):
    """(validators, filters) a model field's type brings to any form built from it:
    phones are normalised (or refused), integers and decimals fit their column, dates
    fall in the supported range."""
    rules, filters = [], []
    if isinstance(column, PhoneField):
        filters.append(_phone_normaliser(column))
    if isinstance(column, BoundedIntegerField):
        lo = INT_MIN if column.min_value is None else column.min_value
        hi = INT_MAX if column.max_value is None else column.max_value
        # the declared bounds in the message; the column's own limits still apply
        rules.append(validators.NumberRange(min=lo, max=hi, message=_range_message(
            column.min_value, column.max_value)))
    elif isinstance(column, IntegerField) and not isinstance(column, AutoField):
        rules.append(validators.NumberRange(min=INT_MIN, max=INT_MAX, message=_range_message(INT_MIN, INT_MAX)))
    elif isinstance(column, DecimalField):
        rules.append(DecimalRange(column))
    if isinstance(column, (DateField, DateTimeField)):
        rules.append(InDateRange())
    return rules, filters


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
            raise validators.ValidationError(self.gettext("Not a valid choice."))
        super().pre_validate(form)


class AllianceModelConverter(CustomModelConverter):
    def handle_foreign_key(self, model, field, **kwargs):
        if getattr(self.view, "_form_ajax_refs", {}).get(field.name):
            return super().handle_foreign_key(model, field, **kwargs)  # the SafeAjaxLoader picker
        if field.null:
            kwargs["allow_blank"] = True
        return FieldInfo(field.name, IdSelectField(model=field.rel_model, **kwargs))


class OutOfRange(ValueError):
    """A filter value that parses but lies outside what the columns hold."""


def bounded_filter(flt):
    """A list filter whose parsed value must fit the column: dates in the supported
    range, integers within INTEGER. Out of range: the filter is ignored and the notice
    says why (the stock validation would only say "invalid value")."""
    raw_clean, raw_validate = flt.clean, flt.validate

    def checked(value):
        result = raw_clean(value)
        for item in result if isinstance(result, list) else [result]:
            if isinstance(item, (dt.date, dt.datetime)) and not date_in_range(item):
                raise OutOfRange(date_range_message("筛选日期"))
            if isinstance(item, int) and not isinstance(item, bool) and not INT_MIN <= item <= INT_MAX:
                raise OutOfRange("筛选的数值超出范围")
        return result

    def validate(value):
        if raw_validate(value):
            return True
        try:
            raw_clean(value)
        except (ValueError, TypeError, OverflowError):
            return False
        return True  # it parses but is out of range: get_list skips it with the reason

    flt.clean, flt.validate = checked, validate
    return flt


# --- filters -------------------------------------------------------------------

class ChoiceEqualFilter(pw_filters.FilterEqual):
    """Equality on a choices column; only the listed codes are valid."""

    def validate(self, value):
        return value in dict(self.options)

    def operation(self):
        return lazy_gettext("equals")


class LazyOptions:
    """Filter options queried when the list page renders, not once at start-up
    (Flask-Admin caches a callable's result for the life of the process)."""

    def __init__(self, rel_model):
        self.rel_model = rel_model

    def __bool__(self):
        return True

    def __iter__(self):
        label = display_field(self.rel_model)
        query = (self.rel_model.select(self.rel_model._meta.primary_key, label)
                 .order_by(label).limit(1000).tuples())
        return iter([(str(pk), str(name)) for pk, name in query])


def parse_ids(raw, limit=500):
    """Record ids from a bulk action or a query string (``1,2,3`` or repeated values):
    digits only, de-duplicated, at most ``limit``."""
    out = []
    for chunk in raw:
        for part in str(chunk).split(","):
            pk = parse_id(part)
            if pk is not None and pk not in out:
                out.append(pk)
    return out[:limit]


class IdEqualFilter(pw_filters.FilterEqual):
    """Equality on an id column; anything but a plain number is an invalid value."""

    def validate(self, value):
        return is_id(value)

    def clean(self, value):
        return parse_id(value)

    def operation(self):
        return lazy_gettext("equals")


class RelatedEqualFilter(IdEqualFilter):
    """Pick a related record from a drop-down (small related tables only)."""

    def __init__(self, column, name, rel_model):
        self.rel_model = rel_model
        super().__init__(column, name, options=LazyOptions(rel_model))


class RelatedLikeFilter(pw_filters.BasePeeweeFilter):
    """Text search on the related record's name (joins its alias)."""

    def apply(self, query, value):
        return query.where(self.column ** f"%{value}%")

    def validate(self, value):
        return 0 < len(value) <= 100

    def operation(self):
        return lazy_gettext("contains")


class Required:
    """A value is needed; a value that did not parse keeps its own message."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        if field.process_errors:
            raise validators.StopValidation()
        if field.data is None or isinstance(field.data, str) and not field.data.strip():
            field.errors[:] = []
            raise validators.StopValidation("此项为必填项")


class StopOnParseError:
    """After "不是有效的整数", range and length checks add nothing."""

    def __call__(self, form, field):
        if field.process_errors:
            raise validators.StopValidation()


# Past any real list, yet page × page size stays a number both databases take as OFFSET.
LIST_PAGE_MAX = ID_MAX // 100

SMALL_RELATED = {"grid", "member_unit", "volunteer_team", "account"}


# --- the base view -------------------------------------------------------------

class SecureViewMixin:
    """The one access rule of every admin screen: ``permission`` names a predicate in
    auth/permissions.py; anonymous users go to the login page, everyone else gets 403."""

    permission = "admin.access"

    def is_accessible(self):
        return can(current_user, self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def render(self, template, **kwargs):
        self._template_args.update(wording.template_args())
        return super().render(template, **kwargs)


class SecureModelView(SecureViewMixin, ModelView):
    """Declarations in subclasses; behaviour lives in the hooks below."""

    page_size = 20
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    can_view_details = True
    can_export = True
    export_types = ["csv", "xlsx"]
    form_base_class = AdminForm
    model_form_converter = AllianceModelConverter
    column_display_all_relations = False
    # columns shown as "a.b" paths follow foreign keys; filled from the model when None
    column_list = None
    column_default_sort = None
    # audit trail: which fields are never written to the log (hashes, tokens)
    audit_exclude = ()

    def __init__(self, model, **kwargs):
        kwargs.setdefault("name", model._meta.verbose_name)
        kwargs.setdefault("endpoint", model._meta.table_name)
        declared = tuple(self.form_excluded_columns or ())
        self.form_excluded_columns = declared + tuple(sorted(read_only_fields(model) - set(declared)))
        self._joins = {}
        if self.form_ajax_refs is None:
            # large related tables get a search-as-you-type picker instead of a huge <select>
            self.form_ajax_refs = {
                f.name: {"fields": search_fields_of(f.rel_model), "page_size": 20}
                for f in model._meta.sorted_fields
                if isinstance(f, ForeignKeyField) and f.rel_model._meta.table_name not in SMALL_RELATED
                and f.rel_model is not model
            }
        super().__init__(model, **kwargs)

    def _create_ajax_loader(self, name, options):
        return SafeAjaxLoader(name, getattr(self.model, name).rel_model, **options)

    # -- naming -----------------------------------------------------------------

    def _field_for_path(self, path):
        model, field = self.model, None
        for part in path.split("."):
            field = model._meta.fields.get(part)
            if field is None:
                return None
            if isinstance(field, ForeignKeyField):
                model = field.rel_model
        return field

    def get_column_name(self, field):
        if self.column_labels and field in self.column_labels:
            return self.column_labels[field]
        name = field if isinstance(field, str) else getattr(field, "name", str(field))
        model_field = self._field_for_path(name)
        if model_field is not None and model_field.verbose_name:
            return model_field.verbose_name
        return super().get_column_name(field)

    # -- list columns, joins and formatting -----------------------------------------

    def scaffold_list_columns(self):
        hidden = {"id", "password_hash", "digest", "updated_at"}
        return [f.name for f in self.model._meta.sorted_fields if f.name not in hidden
                and not isinstance(f, TextField)]

    def _alias_for(self, path):
        """A joined alias per foreign-key path (``unit``, ``claim.project``), built once."""
        if path in self._joins:
            return self._joins[path][0]
        parent_path, _, attr = path.rpartition(".")
        parent = self._alias_for(parent_path) if parent_path else self.model
        parent_model = self._field_for_path(parent_path).rel_model if parent_path else self.model
        fk = parent_model._meta.fields[attr]
        alias = fk.rel_model.alias(f"j_{path.replace('.', '_')}")
        on_field = getattr(parent, fk.name)
        self._joins[path] = (alias, parent, on_field, attr)
        return alias

    def _fk_paths(self, columns):
        paths = []
        for column in columns:
            name = column if isinstance(column, str) else None
            if not name:
                continue
            parts = name.split(".")
            model = self.model
            for i, part in enumerate(parts):
                field = model._meta.fields.get(part)
                if not isinstance(field, ForeignKeyField):
                    break
                path = ".".join(parts[: i + 1])
                if path not in paths:
                    paths.append(path)
                model = field.rel_model
        return paths

    def _join_paths(self, query, paths):
        selected = []
        for path in paths:
            alias = self._alias_for(path)
            _, parent, on_field, attr = self._joins[path]
            rel_model = alias.model
            if has_display_name(rel_model):
                selected.append(getattr(alias, rel_model._meta.primary_key.name))
                selected.append(getattr(alias, display_field(rel_model).name))
            else:  # named by its __str__: load the whole row
                selected.extend(getattr(alias, f.name) for f in rel_model._meta.sorted_fields)
            for extra in getattr(rel_model._meta, "label_joins", ()):
                selected.append(getattr(alias, extra))
            query = query.join_from(parent, alias, JOIN.LEFT_OUTER,
                                    on=(on_field == getattr(alias, rel_model._meta.primary_key.name)),
                                    attr=attr)
        return query.select_extend(*selected) if selected else query

    def get_query(self):
        return self.model.select()

    def init_search(self):
        if self.column_searchable_list is None:
            self.column_searchable_list = [
                f.name for f in self.model._meta.sorted_fields
                if isinstance(f, (CharField, TextField)) and not f.choices
                and not isinstance(f, PhoneField) and f.name not in ("password_hash", "digest")
            ][:4]
        return super().init_search()

    def search_placeholder(self):
        if not self._search_fields:
            return None
        return "搜索" + "、".join(self.get_column_name(f.name) for f in self._search_fields)

    def get_filters(self):
        if self.column_filters is None:
            self.column_filters = [
                f.name for f in self.model._meta.sorted_fields
                if f.choices or isinstance(f, (BooleanField, DateField, DateTimeField))
                or isinstance(f, ForeignKeyField) and has_display_name(f.rel_model)
            ]
        return super().get_filters()

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        field = self._field_for_path(name) if isinstance(name, str) else None
        if field is not None and field.choices and name not in (column_formatters or {}):
            value = self._path_value(model, name)
            return dict(field.choices).get(value, value or "")
        if isinstance(field, ForeignKeyField) and name not in (column_formatters or {}):
            return record_label(self._path_value(model, name))
        return super()._get_list_value(context, model, name, column_formatters, column_type_formatters)

    @staticmethod
    def _path_value(model, path):
        value = model
        for part in path.split("."):
            if value is None:
                return None
            value = getattr(value, part)
        return value

    column_type_formatters = {
        bool: lambda view, value, name=None: "是" if value else "否",
        type(None): lambda view, value, name=None: "",
        dt.datetime: lambda view, value, name=None: value.strftime("%Y-%m-%d %H:%M"),
        dt.date: lambda view, value, name=None: value.strftime("%Y-%m-%d"),
        decimal.Decimal: lambda view, value, name=None: format_hours(value),  # hours, the only decimals
    }

    # -- sorting, searching, filtering ----------------------------------------------

    def scaffold_sortable_columns(self):
        columns = {}
        for field in self.model._meta.sorted_fields:
            if isinstance(field, ForeignKeyField):
                columns[field.name] = field.name  # resolved to the joined name in get_list
            elif not isinstance(field, TextField):
                columns[field.name] = field
        return columns

    def get_sortable_columns(self):
        self._sortable_columns = self.scaffold_sortable_columns()
        for column in self.column_list or []:
            if isinstance(column, str) and "." in column and self._field_for_path(column) is not None:
                self._sortable_columns[column] = column
        return self._sortable_columns

    def scaffold_filters(self, name):
        """Filters for a column or a foreign-key path such as ``claim.project``."""
        path = name if isinstance(name, str) else name.name
        field = self._field_for_path(path)
        if field is None:
            raise ValueError(f"{type(self).__name__}: no field for filter {name!r}")
        label = self.get_column_name(path)
        parent_path = path.rpartition(".")[0]
        out = self._filters_for(field, label, path)
        for flt in out or ():
            flt.join_path = getattr(flt, "join_path", parent_path)
            bounded_filter(flt)
        return out

    def _filters_for(self, field, label, path):
        parent_path = path.rpartition(".")[0]
        # the column itself, or the same column on the joined alias of a path
        column = getattr(self._alias_for(parent_path), field.name) if parent_path else field
        if field.choices:
            return [ChoiceEqualFilter(column, label, options=field.choices),
                    pw_filters.FilterNotEqual(column, label, options=field.choices)]
        if isinstance(field, ForeignKeyField):
            rel = field.rel_model
            if not has_display_name(rel):
                raise ValueError(f"{type(self).__name__}: {rel.__name__} has no name column; "
                                 f"filter on a path through it, e.g. {path}.<foreign key>")
            name_col = getattr(self._alias_for(path), display_field(rel).name)
            out = [RelatedLikeFilter(name_col, label)]
            out[0].join_path = path
            if rel._meta.table_name in SMALL_RELATED:
                out.insert(0, RelatedEqualFilter(column, label, rel))
            return out
        for klass, converter in (
            (BooleanField, self.filter_converter.conv_bool),
            (DateTimeField, self.filter_converter.conv_datetime),
            (DateField, self.filter_converter.conv_date),
            ((IntegerField, BoundedIntegerField), self.filter_converter.conv_int),
            ((DecimalField, FloatField), self.filter_converter.conv_float),
            ((CharField, TextField, PhoneField), self.filter_converter.conv_string),
        ):
            if isinstance(field, klass):
                return converter(column, label)
        return None

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        query = self.get_query()
        joined = set()

        def join(query, paths):
            todo = [path for path in paths if path not in joined]
            joined.update(todo)
            return self._join_paths(query, todo) if todo else query

        if self._search_supported and search:
            for term in search.split()[:5]:
                clause = None
                for field in self._search_fields:
                    q = field ** f"%{term[:100]}%"
                    clause = q if clause is None else (clause | q)
                query = query.where(clause)

        for flt_idx, _name, value in filters or []:
            try:
                flt = self._filters[flt_idx]
            except (IndexError, TypeError):
                continue
            query = join(query, self._fk_paths([getattr(flt, "join_path", None)]))
            try:
                query = flt.apply(query, flt.clean(value))
            except OutOfRange as exc:
                flash(f"{exc}，该筛选条件已忽略。", "error")
            except (ValueError, TypeError):
                flash("筛选条件的值无效，已忽略。", "error")

        # counted before the display joins: only the joins a filter needs weigh on it
        count = query.order_by().count() if not self.simple_list_pager else None
        query = join(query, self._fk_paths([c for c, _ in self._list_columns]))

        order = None
        if sort_column is not None:
            order = [(sort_column, bool(sort_desc))]
        elif self.column_default_sort:
            default = self.column_default_sort
            order = [default] if isinstance(default, tuple) else [(default, False)]
        clauses = []
        for column, desc in order or [("id", True)]:
            if isinstance(column, str) and column.split(".")[0] in self.model._meta.fields:
                query = join(query, self._fk_paths([column]))
            expr = self._sort_expression(column)
            clauses.append(expr.desc() if desc else expr.asc())
        clauses.append(self.model._meta.primary_key.desc())
        query = query.order_by(*clauses)

        if page_size is None:
            page_size = self.page_size
        page = max(int(page or 0), 0)
        if page_size:
            query = query.limit(page_size).offset(page * page_size)
        if execute:
            query = list(query)
        return count, query

    def _sort_expression(self, column):
        if not isinstance(column, str):
            return column
        field = self._field_for_path(column)
        if isinstance(field, ForeignKeyField):
            alias = self._alias_for(column)
            return getattr(alias, display_field(field.rel_model).name)
        if "." in column:
            parent_path = column.rpartition(".")[0]
            alias = self._alias_for(parent_path)
            return getattr(alias, field.name)
        return getattr(self.model, column)

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), LIST_PAGE_MAX)
        if args.sort is not None and not (0 <= args.sort < len(self._list_columns)):
            args.sort = None
        if args.search:
            args.search = args.search[:200]
        return args

    def _get_column_by_idx(self, idx):
        column = super()._get_column_by_idx(idx)
        if column is not None and column[0] not in self._sortable_columns:
            return None
        return column

    def get_one(self, id):
        pk = parse_id(id)
        return None if pk is None else self.model.get_or_none(self.model._meta.primary_key == pk)

    # -- forms -----------------------------------------------------------------

    def scaffold_form(self):
        form_class = super().scaffold_form()
        for field in self.model._meta.sorted_fields:
            unbound = getattr(form_class, field.name, None)
            if unbound is None or not hasattr(unbound, "kwargs"):
                continue
            # wtf-peewee's ValueRequired wipes a parse error ("不是有效的日期时间值") and says
            # "required" instead; keep the real reason and stop at it
            chain = [Required() if type(v).__name__ == "ValueRequired" else v
                     for v in unbound.kwargs.get("validators") or []]
            gate = next((i + 1 for i, v in enumerate(chain)
                         if isinstance(v, (Required, validators.Optional))), 0)
            chain.insert(gate, StopOnParseError())
            unbound.kwargs["validators"] = chain
            rules, filters = field_rules(field)
            if rules:
                unbound.kwargs["validators"] = list(unbound.kwargs.get("validators") or []) + rules
            if filters:
                unbound.kwargs["filters"] = list(unbound.kwargs.get("filters") or []) + filters
        return form_class

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form._obj = None
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._obj = obj
        return form

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "_obj"):
            return ok
        current = getattr(form, "_obj", None)
        # unique columns: a Chinese error next to the field, not a database error
        for field in self.model._meta.sorted_fields:
            if not field.unique or field.name not in form:
                continue
            value = form[field.name].data
            if value in (None, ""):
                continue
            query = self.model.select().where(field == value)
            if current is not None:
                query = query.where(self.model._meta.primary_key != current.get_id())
            if query.exists():
                form[field.name].errors = list(form[field.name].errors) + [f"{field.verbose_name}“{value}”已存在"]
                ok = False
        # cross-field rules declared on the model (Model.clean)
        if ok:
            probe = self.model()
            if current is not None:
                probe.__data__.update(current.__data__)
            form.populate_obj(probe)
            for name, message in probe.clean().items():
                if name in form:
                    form[name].errors = list(form[name].errors) + [message]
                else:
                    flash(message, "error")
                ok = False
        return ok

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

    # -- export: streamed, bounded memory, inert cells -------------------------------------

    def get_export_name(self, export_type="csv"):
        stamp = now().strftime("%Y%m%d_%H%M%S")
        return f"{self.model._meta.table_name}_{stamp}.{export_type}"

    def _export_rows(self, columns):
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc,
                                      view_args.search, view_args.filters,
                                      execute=False, page_size=self.export_max_rows or 0)
        getters = [self._export_getter(name) for name, _ in columns]
        yield [str(label) for _, label in columns]
        for row in stream_rows(query):
            yield [_export_cell(get(row)) for get in getters]

    def _export_getter(self, name):
        """``row -> value`` for one export column, resolved once per export, not per cell."""
        formatters = {**(self.column_formatters or {}), **(self.column_formatters_export or {})}
        field = self._field_for_path(name) if isinstance(name, str) else None
        if field is None or name in formatters:
            return lambda row: self.get_export_value(row, name)
        parts = name.split(".")

        def value_of(row):
            for part in parts:
                if row is None:
                    return None
                row = getattr(row, part)
            return row

        if field.choices:
            labels = dict(field.choices)
            return lambda row: labels.get(value_of(row), value_of(row))
        if isinstance(field, ForeignKeyField):
            return lambda row: record_label(value_of(row))
        return value_of

    def get_export_value(self, model, name):
        field = self._field_for_path(name) if isinstance(name, str) else None
        if field is not None and (field.choices or isinstance(field, ForeignKeyField)):
            return self._get_list_value(None, model, name, {}, {})
        if field is None:
            return super().get_export_value(model, name)
        return self._path_value(model, name)

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        columns = self.get_export_columns()
        filename = self.get_export_name(export_type)
        title = f"{self.model._meta.verbose_name}_{now():%Y%m%d}.{export_type}"
        disposition = f"attachment; filename={filename}; filename*=UTF-8''{quote(title)}"
        if export_type == "csv":
            return Response(stream_with_context(_csv_stream(self._export_rows(columns))),
                            headers={"Content-Disposition": disposition},
                            mimetype="text/csv", content_type="text/csv; charset=utf-8")
        return Response(_xlsx_stream(self._export_rows(columns), self.model._meta.verbose_name),
                        headers={"Content-Disposition": disposition},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _export_cell(value):
    """A CSV/XLSX cell: plain text or a number, never a live formula."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, decimal.Decimal):
        return float(value)
    if value is None:
        return ""
    if not isinstance(value, (int, float, str)) or isinstance(value, Markup):
        value = str(value)
    return neutralise(value)


def stream_rows(query, batch=1000):
    """The query's model rows, never all in memory at once.

    SQLite's cursor is lazy already. psycopg2's ordinary cursor copies the whole result
    into the client, so on PostgreSQL a named (server-side) cursor fetches ``batch`` rows at
    a time. peewee runs psycopg2 in autocommit, where a named cursor must be WITH HOLD (the
    server keeps the result; the app holds one batch).
    """
    database = db.obj
    if not isinstance(database, PostgresqlDatabase):
        yield from query.iterator()
        return
    from playhouse.postgres_ext import FetchManyCursor

    sql, params = query.sql()
    cursor = database.connection().cursor(name=f"export_{uuid.uuid4().hex}", withhold=True)
    try:
        cursor.execute(sql, params)
        yield from query._get_cursor_wrapper(FetchManyCursor(cursor, batch)).iterator()
    finally:
        cursor.close()


def _changes(before, after):
    return {k: [before.get(k), v] for k, v in after.items()
            if audit._plain(before.get(k)) != audit._plain(v)}


def _range_message(lo, hi):
    if lo is None and hi is None:
        return _range_message(INT_MIN, INT_MAX)
    if lo is not None and hi is not None:
        return f"请输入 {lo} 到 {hi} 之间的整数"
    if lo is not None:
        return f"请输入不小于 {lo} 的整数"
    return f"请输入不大于 {hi} 的整数"


def _csv_stream(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # BOM so that Excel opens the Chinese text as UTF-8
    for i, row in enumerate(rows):
        writer.writerow(row)
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_stream(rows, sheet_name):
    """XlsxWriter in constant-memory mode into a temp file, then streamed out in chunks."""
    import xlsxwriter

    tmp = tempfile.TemporaryFile()
    workbook = xlsxwriter.Workbook(tmp, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet(str(sheet_name)[:31])
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    workbook.close()
    tmp.seek(0)

    def chunks():
        try:
            while True:
                data = tmp.read(64 * 1024)
                if not data:
                    break
                yield data
        finally:
            tmp.close()

    return chunks()
