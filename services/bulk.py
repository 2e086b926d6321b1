"""Changing many records at once (批量修改): one transaction, an audit row per record.

Two kinds of change:
- ``set_field``: a plain field (grid, team, published, a status that is no state machine);
  the value is checked like a form would (an existing related record, a listed choice);
- ``apply_each``: a service call per record (a claim confirmed, a sign-up cancelled, a work
  order dispatched), so every rule of that service holds; the calls share one transaction
  and the first refusal undoes them all.
"""
from peewee import BooleanField, ForeignKeyField

from . import audit
from models.bounds import parse_id

from .common import write_transaction
from .errors import ServiceError

MAX_RECORDS = 500


def _ids(ids):
    out = sorted({pk for pk in (parse_id(i) for i in ids) if pk is not None})
    if not out:
        raise ServiceError("没有选择任何记录")
    if len(out) > MAX_RECORDS:
        raise ServiceError(f"一次最多修改 {MAX_RECORDS} 条记录")
    return out


def clean_value(model, name, raw):
    """The value ``raw`` (from a form) means for field ``name``; ServiceError if it is none."""
    field = model._meta.fields.get(name)
    if field is None:
        raise ServiceError("不能批量修改这一项")
    text = "" if raw is None else str(raw).strip()
    if isinstance(field, ForeignKeyField):
        if text in ("", "__None"):
            if not field.null:
                raise ServiceError(f"请选择{field.verbose_name}")
            return None
        pk = parse_id(text)
        rel = field.rel_model
        if pk is None or not rel.select().where(rel._meta.primary_key == pk).exists():
            raise ServiceError(f"所选{field.verbose_name}不存在")
        return pk
    if isinstance(field, BooleanField):
        if text not in ("1", "0"):
            raise ServiceError(f"请选择{field.verbose_name}：是或否")
        return text == "1"
    if field.choices:
        if text not in dict(field.choices):
            raise ServiceError(f"请从列表中选择{field.verbose_name}")
        return text
    raise ServiceError("不能批量修改这一项")


def preview_field(model, ids, name, value):
    """(records that would change, records already holding ``value``)."""
    rows = list(model.select().where(model._meta.primary_key.in_(_ids(ids))))
    changing = [r for r in rows if r.__data__.get(name) != value]
    return changing, [r for r in rows if r not in changing]


def set_field(model, ids, name, value, *, user):
    """Set ``name`` to ``value`` on every listed record that differs; returns how many changed."""
    field = model._meta.fields[name]
    changed = 0
    with write_transaction():
        for record in model.select().where(model._meta.primary_key.in_(_ids(ids))):
            old = record.__data__.get(name)
            if old == value:
                continue
            setattr(record, name, value)
            only = [field] + [model._meta.fields[n] for n in ("updated_at", "sequence") if n in model._meta.fields]
            record.save(only=only)
            audit.record("bulk_update", record, changes={name: [old, value]}, user=user)
            changed += 1
    return changed


def apply_each(ids, call, *, label):
    """``call(id)`` for every id in one transaction; a refusal undoes them all and says which."""
    ids = _ids(ids)
    with write_transaction():
        for record_id in ids:
            try:
                call(record_id)
            except ServiceError as exc:
                raise ServiceError(f"{label} #{record_id} 未能完成：{exc.message}。所选记录均未修改。", exc.status)
    return len(ids)
