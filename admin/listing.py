"""Admin lists: related records joined once and named, search, filters, sorting, paging.

Closes, for every list: one query per foreign key per row (related rows are joined once),
raw codes and ids on screen (choices and related records are shown by their Chinese
label / name), and ``page=-1`` or a bad id giving a 500 (parameters clamped and checked).
"""
import datetime as dt
import decimal

import math
from urllib.parse import quote

from flask import current_app, flash, g, has_request_context, request, url_for
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.peewee import filters as pw_filters
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from jinja2 import pass_context
from markupsafe import Markup, escape
from peewee import (JOIN, BooleanField, CharField, DateField, DateTimeField, DecimalField,
                    FloatField, ForeignKeyField, IntegerField, TextField, fn)

from models.base import DISPLAY_ATTRS, display_field
from models.bounds import ID_MAX, INT_MAX, INT_MIN, date_in_range, date_range_message, is_id, parse_id
from models.fields import BoundedIntegerField, PhoneField
from services.points import format_hours


def has_display_name(model):
    return any(attr in model._meta.fields for attr in DISPLAY_ATTRS)


def search_fields_of(model):
    """Text columns a person would type to find a record (never hashes or codes)."""
    if has_display_name(model):
        return [display_field(model)]
    return [f for f in model._meta.sorted_fields
            if isinstance(f, (CharField, TextField)) and not f.choices][:1]


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


# From this offset on a bounded list reads a page's ids first and then its rows (see get_list).
DEEP_OFFSET = 1_000


# --- row actions -------------------------------------------------------------

# a stand-in id: digits, so routes with ``<int:…>`` in their path build with it too
ROW_ID_STAND_IN = "9073518264013579"


@pass_context
def row_actions_html(context, actions, row_id):
    """A list row's action buttons (details, edit, delete, moves …). They differ from row
    to row only by the id, so each page renders them once, with a stand-in id, and each row
    puts its own id in: three ``url_for`` calls, a delete form and its CSRF field per page
    instead of per row (≈ half a list page's rendering before). Actions that need the row
    itself are not row actions here (the work-order list's moves are rendered per row)."""
    pages = g.setdefault("_row_actions_html", {})
    key = id(actions)
    if key not in pages:
        pages[key] = "".join(str(action.render(context, ROW_ID_STAND_IN, None)) for action in actions)
    return Markup(pages[key].replace(ROW_ID_STAND_IN, quote(str(row_id), safe="")))


@pass_context
def list_cells_html(context, view, row, columns):
    """A list row's cells in one call (the stock template makes two template calls a cell:
    is it editable, what is its value; no list here edits in place)."""
    value = view.get_list_value
    return Markup("".join(f'<td class="col-{escape(c)}">{escape(value(context, row, c))}</td>' for c, _name in columns))


_STATIC_URLS = {}


def admin_static_url(endpoint, **kwargs):
    """A static file's URL (the same for every request under one script root), built once."""
    key = (request.script_root, endpoint, tuple(sorted(kwargs.items())))
    url = _STATIC_URLS.get(key)
    if url is None:
        url = _STATIC_URLS[key] = url_for(endpoint, **kwargs)
    return url


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


# Past any real list, yet page × page size stays a number both databases take as OFFSET.
LIST_PAGE_MAX = ID_MAX // 100

SMALL_RELATED = {"grid", "member_unit", "volunteer_team", "account"}

# --- big lists (issue 12): flat to a million rows -----------------------------------------

# Rows a bounded list counts exactly and pages through (config ``ADMIN_EXACT_COUNT``): page
# 500 of 20. Beyond it the count is an estimate and deeper pages are reached by a filter,
# a search or the opposite sort.
EXACT_COUNT = 10_000


class Estimate(int):
    """A list's row count beyond the exact limit. As a number it is the rows paging can
    reach (the pager stops there); shown, it is the estimate: "约 1,000,000 条"."""

    estimated = True

    def __new__(cls, reachable, shown=None):
        self = super().__new__(cls, reachable)
        self.shown = shown
        return self

    def __str__(self):
        if self.shown is None:
            return f"{int(self):,} 条以上"
        return f"约 {self.shown:,} 条"

    __html__ = __str__


def leading_index_fields(model):
    """Names of the model's columns that lead an index (their own, a unique one, a foreign
    key's or a declared composite), i.e. the columns an ORDER BY or an equality or range
    condition can walk in index order."""
    names = {model._meta.primary_key.name}
    for field in model._meta.sorted_fields:
        if field.index or field.unique or isinstance(field, ForeignKeyField) and field.index is not False:
            names.add(field.name)
    for index in model._meta.indexes:
        fields = getattr(index, "_expressions", None) or (index[0] if isinstance(index, tuple) else ())
        first = fields[0] if fields else None
        if isinstance(first, str):
            names.add(first)
        elif getattr(first, "model", None) is model:
            names.add(first.name)
    return names


# filters a bounded list keeps: equality and ranges (what an index answers in order);
# never "not equal", "contains", "empty" or "not between" (a walk of the whole table)
BOUNDED_FILTERS = ("Equal", "Greater", "Smaller", "Between")
RANGE_FILTERS = ("Greater", "Smaller", "Between")


def _bounded_filter_kind(flt):
    """"Equal", "Greater", "Smaller" or "Between" for a filter an index answers, else None,
    from the nearest class in its ancestry that names an operation (``EventIdFilter`` is an
    ``IdEqualFilter``)."""
    for cls in type(flt).__mro__:
        name = cls.__name__
        if "Not" in name or "Like" in name or "Empty" in name or "InList" in name:
            return None
        for kind in BOUNDED_FILTERS:
            if kind in name:
                return kind
    return None


def _order_name(column):
    return column if isinstance(column, str) else getattr(column, "name", None)


def prefix_clause(field, term):
    """``field`` starts with ``term`` as an index range (byte order: SQLite's BINARY and
    PostgreSQL's C collation), never a LIKE that reads every row."""
    return (field >= term) & (field < term + "\U0010ffff")

class ListingMixin:
    """Lists, filters, sorting and record look-up of ``SecureModelView``."""

    # A table that grows to millions of rows (the ledger, sign-ups, the audit log): its list
    # offers only the sorts, filters and searches an index answers, counts exactly up to
    # ``ADMIN_EXACT_COUNT`` rows and estimates beyond (issue 12; tests/test_admin_scale.py).
    bounded = False

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
        found = super().init_search()
        if self.bounded:
            indexed = leading_index_fields(self.model)
            self._search_fields = [f for f in self._search_fields if f.name in indexed]
            found = bool(self._search_fields)
        return found

    def search_placeholder(self):
        if not self._search_fields:
            return None
        return ("搜索" + "、".join(self.get_column_name(f.name) for f in self._search_fields)
                + ("（开头匹配）" if self.bounded else ""))

    def get_filters(self):
        if self.column_filters is None:
            self.column_filters = [
                f.name for f in self.model._meta.sorted_fields
                if f.choices or isinstance(f, (BooleanField, DateField, DateTimeField))
                or isinstance(f, ForeignKeyField) and has_display_name(f.rel_model)
            ]
        collection = super().get_filters()
        if self.bounded and collection:
            indexed = leading_index_fields(self.model)
            kept, seen = [], set()
            for flt in collection:
                kind = _bounded_filter_kind(flt)
                column = getattr(flt, "column", None)
                if kind and getattr(column, "model", None) is self.model and column.name in indexed \
                        and (column.name, kind) not in seen:  # a declared filter first, then the derived
                    seen.add((column.name, kind))
                    kept.append(flt)
            collection = kept
        return collection

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
        if self.bounded:  # own indexed columns only: a related name or an unindexed one sorts the table
            indexed = leading_index_fields(self.model)
            listed = {c if isinstance(c, str) else c.name for c in self.column_list or ()}
            self._sortable_columns = {
                name: column for name, column in self._sortable_columns.items()
                if name in indexed and name in listed and not isinstance(self.model._meta.fields.get(name), ForeignKeyField)}
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
            if self.bounded and not parent_path and rel._meta.table_name not in SMALL_RELATED:
                return [IdEqualFilter(column, f"{label}编号")]  # its index, not a LIKE on every name
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

    def related_scope(self):
        """``?of=team.3``: the list narrowed to the records pointing at one record (the links
        under a details page); (field, id) or None."""
        if not has_request_context():
            return None
        name, _, pk = request.args.get("of", "").partition(".")
        field = self.model._meta.fields.get(name)
        if not isinstance(field, ForeignKeyField) or not pk.isdigit() or len(pk) > 9:
            return None
        return field, int(pk)

    def related_scope_label(self):
        scope = self.related_scope()
        if scope is None:
            return None
        field, pk = scope
        target = field.rel_model.get_or_none(field.rel_model._meta.primary_key == pk)
        return f"{field.verbose_name}：{record_label(target) if target else '#%d' % pk}"

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None,
                 join_paths=()):
        query = self.get_query()
        joined = set()
        scope = self.related_scope()
        if scope is not None:
            query = query.where(scope[0] == scope[1])

        def join(query, paths):
            todo = [path for path in paths if path not in joined]
            joined.update(todo)
            return self._join_paths(query, todo) if todo else query

        narrowed = scope is not None
        if self._search_supported and search:
            for term in search.split()[:5]:
                clause = None
                for field in self._search_fields:
                    q = prefix_clause(field, term[:100]) if self.bounded else field ** f"%{term[:100]}%"
                    clause = q if clause is None else (clause | q)
                query = query.where(clause)
                narrowed = True

        ranged = None  # a bounded list filtered by a range walks that column's index
        for flt_idx, _name, value in filters or []:
            try:
                flt = self._filters[flt_idx]
            except (IndexError, TypeError):
                continue
            query = join(query, self._fk_paths([getattr(flt, "join_path", None)]))
            try:
                query = flt.apply(query, flt.clean(value))
                narrowed = True
                if self.bounded and _bounded_filter_kind(flt) in RANGE_FILTERS:
                    ranged = ranged or flt.column
            except OutOfRange as exc:
                flash(f"{exc}，该筛选条件已忽略。", "error")
            except (ValueError, TypeError):
                flash("筛选条件的值无效，已忽略。", "error")

        # counted before the display joins: only the joins a filter needs weigh on it
        if self.simple_list_pager or not execute:
            count = None
        elif self.bounded:
            count = self._bounded_count(query, narrowed)
        else:
            count = query.order_by().count()
        filtered = query  # without the display joins: a deep page's ids come from it
        query = join(query, self._fk_paths([c for c, _ in self._list_columns] + list(join_paths)))

        order = None
        if sort_column is not None:
            order = [(sort_column, bool(sort_desc))]
        elif ranged is not None:
            default = self.column_default_sort
            order = [(ranged, default[1] if isinstance(default, tuple) else True)]
        elif self.column_default_sort:
            default = self.column_default_sort
            order = [default] if isinstance(default, tuple) else [(default, False)]
        clauses = []
        order = order or [("id", True)]
        if self.bounded:  # then the default order and the id, all one way: one index (column, default, id)
            default = self.default_sort_name()
            if default and _order_name(order[0][0]) != default:
                order.append((default, order[0][1]))
        for column, desc in order:
            if isinstance(column, str) and column.split(".")[0] in self.model._meta.fields:
                query = join(query, self._fk_paths([column]))
            expr = self._sort_expression(column)
            clauses.append(expr.desc() if desc else expr.asc())
        pk = self.model._meta.primary_key
        # ties in the sort's own direction, so that one index (column, id) gives the whole order
        clauses.append(pk.desc() if not self.bounded or order[-1][1] else pk.asc())
        query = query.order_by(*clauses)

        if page_size is None:
            page_size = self.page_size
        page = max(int(page or 0), 0)
        if page_size and count is not None and execute:
            # a page past the end (a stale link, a hand-typed number): the last page, said so
            last = max(math.ceil(int(count) / page_size) - 1, 0)
            if page > last:
                if isinstance(count, Estimate):
                    flash(f"列表只能翻到第 {last + 1} 页（前 {int(count):,} 条）；更早的记录请用筛选、搜索或反向排序查看。",
                          "info")
                else:
                    flash(f"列表共 {last + 1} 页（{int(count):,} 条），没有第 {page + 1} 页；已显示第 {last + 1} 页。",
                          "info")
                page = last
                g.list_page = page  # the pager shows the page that was shown (render below)
        if page_size:
            offset = page * page_size
            if self.bounded and offset >= DEEP_OFFSET:
                # a late row lookup: the offset walks the index for ids alone (no row, no
                # joined name is read for the rows it skips), then the page's rows are read
                ids = filtered.select(pk).order_by(*clauses).limit(page_size).offset(offset)
                query = query.where(pk.in_(ids)).limit(page_size)
            else:
                query = query.limit(page_size).offset(offset)
        if execute:
            query = list(query)
        return count, query

    def render(self, template, **kwargs):
        if "page" in kwargs and g.get("list_page") is not None and template == self.list_template:
            kwargs["page"] = g.list_page
        return super().render(template, **kwargs)

    def default_sort_name(self):
        """The default sort's column name, None for the id."""
        default = self.column_default_sort
        column = default[0] if isinstance(default, tuple) else default
        name = _order_name(column) if column is not None else None
        return None if name in (None, self.model._meta.primary_key.name) else name

    def index_plan(self):
        """The indexes a bounded list's offered sorts, filters and searches walk:
        ``(column, default sort column, id)`` (or ``(column, id)``), one per column."""
        pk, default = self.model._meta.primary_key.name, self.default_sort_name()
        columns = [name for name in self._sortable_columns]
        columns += [flt.column.name for flt in self._filters or ()]
        columns += [f.name for f in self._search_fields or ()]
        plan = [(default, pk)] if default else []
        for name in columns:
            name = self.model._meta.fields[name].column_name if name in self.model._meta.fields else name
            if name in (pk, default):
                continue
            entry = (name, default, pk) if default else (name, pk)
            if entry not in plan:
                plan.append(entry)
        return plan

    def _bounded_count(self, query, narrowed):
        """Exact up to ``ADMIN_EXACT_COUNT`` rows (a COUNT over a LIMITed walk of the same
        index the page uses), else an ``Estimate``: the table's size when nothing narrows
        the list (PostgreSQL's statistics, else the id span), or just "more than"."""
        cap = current_app.config.get("ADMIN_EXACT_COUNT", EXACT_COUNT) if has_request_context() else EXACT_COUNT
        pk = self.model._meta.primary_key
        found = query.order_by().select(pk).limit(cap + 1).count()
        if found <= cap:
            return found
        return Estimate(cap, None if narrowed else max(self._table_estimate(), cap + 1))

    def _table_estimate(self):
        from services.stats import on_postgres

        table, pk = self.model._meta.table_name, self.model._meta.primary_key
        if on_postgres():
            rows = self.model._meta.database.execute_sql(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", (f'"{table}"',)).fetchone()
            if rows and rows[0] and rows[0] > 0:
                return int(rows[0])
        # two statements, each one index seek (MIN and MAX in one SELECT make SQLite read every row)
        low, high = self.model.select(fn.MIN(pk)).scalar(), self.model.select(fn.MAX(pk)).scalar()
        return (high - low + 1) if high is not None else 0

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
