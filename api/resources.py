"""Generic list and detail endpoints, driven by each model's ``Meta.api`` declaration.

One query per page (the related names are LEFT JOINed once) plus one COUNT over the
base table only; only the declared public columns are ever selected, so a phone
number or a hash cannot leak into a response by accident.

The page fetches one row more than it shows, so ``next`` is always exact. On big
tables the COUNT costs far more than the page, so public totals are kept per app for
``API_COUNT_CACHE_SECONDS`` (default 10; 0 turns it off): ``total`` may lag a write by
that long, the items and links never do. A unit's own rows are always counted afresh.
"""
import datetime as dt
import decimal
import threading
import time
from collections import OrderedDict

from flask import current_app, request
from peewee import (JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField,
                    IntegerField, TextField, fn)

from models.base import display_field
from models.bounds import ID_MAX, date_in_range, date_range_message, parse_id
from services import links

from . import auth
from .errors import fail

PAGE_PARAMS = ("sort", "page", "per_page")
PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100
PAGE_MAX = 100000
OFFSET = "+08:00"  # every stored datetime is naive Asia/Shanghai wall time


# --- values in and out ---------------------------------------------------------

def clean_text(value, label, max_length=None):
    """Reject what a database would choke on (NUL, lone surrogates) with a 400."""
    if "\x00" in value:
        fail(400, f"{label}包含非法字符")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        fail(400, f"{label}包含无法识别的字符")
    if max_length and len(value) > max_length:
        fail(400, f"{label}不能超过 {max_length} 个字符")
    return value


def dump_value(field, value):
    if value is None:
        return None
    if isinstance(field, DateTimeField):
        return value.replace(microsecond=0).isoformat() + OFFSET
    if isinstance(field, DateField):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def serialize(exposure, obj):
    out = {}
    for field in exposure.fields:
        if isinstance(field, ForeignKeyField):
            rel_id = obj.__data__.get(field.name)
            if rel_id is None:
                out[field.name] = None
                continue
            rel = obj.__rel__.get(field.name)
            label = display_field(field.rel_model)
            ref = {"id": rel_id}
            if label.name != "id":
                ref[label.name] = dump_value(label, getattr(rel, label.name, None)) if rel else None
            out[field.name] = ref
            continue
        value = obj.__data__.get(field.name)
        out[field.name] = dump_value(field, value)
        if field.choices:
            out[field.name + "_label"] = dict(field.choices).get(value, value) if value is not None else None
    for name in exposure.computed:
        out[name] = getattr(obj, name)
    return out


# --- queries ---------------------------------------------------------------------

def visible_conditions(exposure, user=None):
    model = exposure.model
    conditions = []
    for name, value in exposure.visible.items():
        field = model._meta.fields[name]
        conditions.append(field.in_(list(value)) if isinstance(value, (tuple, list)) else field == value)
    if exposure.scope == "own":
        unit_id = getattr(user, "unit_id", None)
        conditions.append(model._meta.fields[exposure.owner] == unit_id)
    return conditions


def select_public(exposure):
    """The public columns, with each foreign key's display column joined in."""
    model = exposure.model
    query = model.select(*exposure.fields)
    for fk in exposure.foreign_keys:
        rel = fk.rel_model
        alias = rel.alias(f"rel_{fk.name}")
        pk = getattr(alias, rel._meta.primary_key.name)
        label = display_field(rel)
        columns = [pk] + ([getattr(alias, label.name)] if label.name != pk.name else [])
        query = (query.join_from(model, alias, JOIN.LEFT_OUTER, on=(fk == pk), attr=fk.name)
                 .select_extend(*columns))
    return query


def fetch(exposure, pk, user=None):
    """One visible record by id, or a 404."""
    if not 0 < pk <= ID_MAX:
        fail(404, f"{exposure.name}不存在")
    model = exposure.model
    conditions = visible_conditions(exposure, user) + [model._meta.primary_key == pk]
    obj = select_public(exposure).where(*conditions).first()
    if obj is None:
        fail(404, f"{exposure.name}不存在或尚未公开")
    return obj


class CountCache:
    """Public list totals per filter set, for a few seconds, bounded in size."""

    def __init__(self, size=512):
        self.size = size
        self.entries = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, compute, ttl):
        stamp = time.monotonic()
        with self.lock:
            hit = self.entries.get(key)
            if hit and hit[0] > stamp:
                return hit[1]
        value = compute()
        with self.lock:
            self.entries[key] = (stamp + ttl, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


def cached_count(key, compute):
    """Keyed by the public data's version too (models/dataversion.py): a write anywhere
    shows in the next total, on every app server; unchanged data reuses it for the TTL."""
    from models.dataversion import current_version

    ttl = current_app.config.get("API_COUNT_CACHE_SECONDS", 10)
    if not ttl:
        return compute()
    version = current_version()
    if version is None:
        return compute()
    cache = current_app.extensions.setdefault("api_count_cache", CountCache())
    return cache.get((key, version), compute, ttl)


# --- query-string parsing -----------------------------------------------------------

def _choices_text(field):
    return "、".join(f"{code}（{label}）" for code, label in field.choices)


def parse_filter(flt, raw):
    field, param = flt.field, flt.param
    label = f"参数 {param}"
    if field.choices:
        if raw not in dict(field.choices):
            fail(400, f"{label}的取值“{raw[:50]}”无效，可选：{_choices_text(field)}")
        return raw
    if isinstance(field, (ForeignKeyField, IntegerField)):
        value = parse_id(raw)
        if value is None:
            fail(400, f"{label}必须是 1 到 {ID_MAX} 之间的整数")
        return value
    if isinstance(field, BooleanField):
        if raw.lower() not in ("true", "false", "1", "0"):
            fail(400, f"{label}必须是 true 或 false")
        return raw.lower() in ("true", "1")
    if isinstance(field, (DateField, DateTimeField)):
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            fail(400, f"{label}必须是日期，格式 YYYY-MM-DD")
        if len(raw) != 10:
            fail(400, f"{label}必须是日期，格式 YYYY-MM-DD")
        if not date_in_range(day):
            fail(400, date_range_message(label))
        return day
    if isinstance(field, (CharField, TextField)):
        return clean_text(raw, label, getattr(field, "max_length", None))
    fail(400, f"{label}无效")


def apply_filter(flt, value):
    field, op = flt.field, flt.op
    if isinstance(field, DateTimeField) and isinstance(value, dt.date):
        if op == ">=":
            return field >= dt.datetime.combine(value, dt.time())
        if op == "<=":  # the whole day is included (dates end at DATE_MAX, so the next day exists)
            return field < dt.datetime.combine(value + dt.timedelta(days=1), dt.time())
    if op == ">=":
        return field >= value
    if op == "<=":
        return field <= value
    return field == value


def parse_int(name, low, high, default):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(high)) or not low <= int(raw) <= high:
        fail(400, f"参数 {name} 必须是 {low} 到 {high} 之间的整数")
    return int(raw)


def parse_sort(exposure):
    raw = request.args.get("sort", exposure.default_sort)
    name = raw[1:] if raw.startswith("-") else raw
    if name not in exposure.sorts:
        allowed = "、".join(exposure.sorts)
        fail(400, f"不支持按“{clean_text(name[:50], '排序字段')}”排序，可用的排序字段：{allowed}（前加 - 表示倒序）")
    field = exposure.model._meta.fields[name]
    desc = raw.startswith("-")
    if field.null:  # the same place for NULLs on both databases (costs a sort)
        order = [field.desc(nulls="LAST") if desc else field.asc(nulls="LAST")]
    else:  # plain order: walks the index on SQLite and PostgreSQL alike
        order = [field.desc() if desc else field.asc()]
    pk = exposure.model._meta.primary_key
    if field is not pk:
        order.append(pk.desc() if desc else pk.asc())
    return order


def list_page(exposure, user=None):
    """Filters, sort and page from the query string; unknown names are a 400 naming them."""
    known = set(exposure.filters) | set(PAGE_PARAMS)
    unknown = [name for name in request.args if name not in known]
    if unknown:
        allowed = "、".join(list(exposure.filters) + list(PAGE_PARAMS))
        name = clean_text(unknown[0][:50], "参数名")
        fail(400, f"不支持的查询参数“{name}”，{exposure.name}列表可用的参数：{allowed}")
    conditions = visible_conditions(exposure, user)
    for param, flt in exposure.filters.items():
        raw = request.args.get(param)
        if raw is None or raw == "":
            continue
        condition = apply_filter(flt, parse_filter(flt, raw))
        if condition is not None:
            conditions.append(condition)
    order = parse_sort(exposure)
    page = parse_int("page", 1, PAGE_MAX, 1)
    per_page = parse_int("per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT)

    model = exposure.model
    query = select_public(exposure)
    if conditions:
        query = query.where(*conditions)
    rows = list(query.order_by(*order).limit(per_page + 1).offset((page - 1) * per_page))
    has_next = len(rows) > per_page and page < PAGE_MAX
    rows = rows[:per_page]

    def count():
        counting = model.select(fn.COUNT(model._meta.primary_key))
        return (counting.where(*conditions) if conditions else counting).scalar()

    if exposure.scope == "own":
        total = count()
    else:
        filters = tuple(sorted((k, v) for k, v in request.args.items() if k in exposure.filters))
        total = cached_count((exposure.path, filters), count)
    if has_next and total < page * per_page + 1:
        total = page * per_page + 1  # a stale total never contradicts the rows just read

    def link(to_page):
        args = request.args.to_dict()
        args.update(page=to_page, per_page=per_page)
        return links.external_url(request.endpoint, **args)

    return {
        "items": [serialize(exposure, row) for row in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "next": link(page + 1) if has_next else None,
        "prev": link(page - 1) if page > 1 else None,
    }


# --- the generated views ----------------------------------------------------------------

def list_view(exposure):
    def view():
        user = auth.require(exposure.permission) if exposure.permission else None
        return list_page(exposure, user)
    return view


def detail_view(exposure):
    def view(pk):
        user = auth.require(exposure.permission) if exposure.permission else None
        return serialize(exposure, fetch(exposure, pk, user))
    return view
