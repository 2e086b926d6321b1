"""The audit log: every write through the admin and the services leaves a row."""
import datetime as dt
import decimal
import json

from flask import has_request_context, request
from flask_login import current_user

from models import AuditLog


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime, decimal.Decimal)):
        return str(value)
    return value


def record(action, obj=None, *, entity=None, entity_id=None, changes=None, user=None):
    """Write one audit row in the caller's transaction."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user._get_current_object()
    if obj is not None:
        entity = entity or type(obj).__name__
        entity_id = entity_id if entity_id is not None else obj.get_id()
    if isinstance(changes, dict):
        # default=str: nested values too, e.g. [old, new] pairs of datetimes from the admin
        changes = json.dumps({k: _plain(v) for k, v in changes.items()}, ensure_ascii=False, default=str)
    return AuditLog.create(
        user=user.id if user else None,
        username=user.username if user else None,
        action=action,
        entity=entity,
        entity_id=str(entity_id) if entity_id is not None else None,
        changes=changes,
        ip=request.remote_addr if has_request_context() else None,
    )


def diff(obj, before):
    """Field → [old, new] for what changed since ``before`` (a dict of field values)."""
    out = {}
    for name, old in before.items():
        new = getattr(obj, name + "_id", None) if name in obj._meta.fields and obj._meta.fields[name].__class__.__name__ == "ForeignKeyField" else getattr(obj, name, None)
        if _plain(old) != _plain(new):
            out[name] = [_plain(old), _plain(new)]
    return out


# --- reading the log: Chinese labels, one place ---------------------------------------------

# How the log names an action (list, details history, export); one not listed shows its code.
ACTION_LABELS = {
    "create": "新建", "update": "修改", "delete": "删除",
    "import": "导入表格", "import_create": "导入新建", "import_update": "导入修改", "bulk_update": "批量修改",
    "cancel": "取消", "claim": "认领", "confirmed": "确认认领", "rejected": "驳回认领", "withdrawn": "撤回认领",
    "confirm": "确认认领", "reject": "驳回认领", "withdraw": "撤回认领", "withdraw_confirmed": "撤回已确认的认领",
    "acknowledge": "知悉撤回", "pending": "恢复待审核", "progress": "汇报进展",
    "publish": "发布并开放认领", "start": "开始实施", "reopen": "重新开放认领", "complete": "标记完成",
    "to_draft": "退回草稿", "close": "关闭项目", "fill": "名额已满", "unfill": "名额空出", "reinstate": "恢复活动",
    "signup": "报名", "promote": "候补递补", "check_in": "签到", "close_attendance": "结束考勤",
    "earned": "服务获得积分", "exchanged": "积分兑换", "expired": "积分过期", "corrected": "积分更正",
    "honour": "补录荣誉时长",
    "dispatch": "派单", "resolve": "办结", "rate": "评价", "redo": "二次办理", "revoke": "撤销",
    "login": "登录", "logout": "退出登录", "password": "修改密码", "role": "修改角色",
    "activate": "启用账号", "deactivate": "停用账号", "end_sessions": "结束登录会话",
    "unlock_login": "解除登录锁定", "issue_token": "签发 API 令牌", "revoke_token": "吊销 API 令牌",
    "seed_demo": "写入演示数据",
}

# keys of ``changes`` that are not fields of the entity
EXTRA_LABELS = {
    "promoted": "候补递补", "credited": "计入时长人数", "without_volunteer": "未关联志愿者人数",
    "entity": "导入对象", "filename": "文件名", "created": "新增", "updated": "修改", "unchanged": "未变",
    "prefix": "令牌前缀",
}
# work orders: a resident's own rating / 二次办理 (services.workorders.rate, redo)
EXTRA_LABELS.update({"by_resident": "居民本人操作", "reason": "说明"})


def action_label(action):
    return ACTION_LABELS.get(action, action or "")


def entity_models():
    from models import ALL_MODELS

    return {m.__name__: m for m in ALL_MODELS}


def entity_label(entity):
    model = entity_models().get(entity)
    if model is not None:
        return model._meta.verbose_name
    return {"Demo": "演示数据"}.get(entity, entity or "")


def entity_choices():
    """(entity, 中文名) for every entity the log may name, for its filter."""
    return [(name, model._meta.verbose_name) for name, model in entity_models().items()] + [("Demo", "演示数据")]


def _loads(changes):
    if not changes:
        return {}
    try:
        value = json.loads(changes)
    except ValueError:
        return {"": changes}
    return value if isinstance(value, dict) else {"": value}


def _value_text(field, value, names):
    from peewee import BooleanField, ForeignKeyField

    if value is None or value == "":
        return "（空）"
    if isinstance(field, ForeignKeyField):
        key = (field.rel_model, str(value))
        return names.get(key, f"#{value}") if str(value).isdigit() else str(value)
    if field is not None and field.choices:
        return dict(field.choices).get(value, str(value))
    if isinstance(field, BooleanField) or isinstance(value, bool):
        return "是" if value in (True, 1, "1", "true", "True") else "否"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if len(text) >= 19 and text[4] == "-" and text[10] == " " and text[13] == ":":
        text = text[:19] if text[17:19] != "00" else text[:16]  # a timestamp, to the minute
    return text


def describe(entries):
    """{entry id: [(字段, 原值, 新值)]} for audit rows: Chinese field names, choice labels, 是/否,
    related records by name (looked up in one query per related table)."""
    from peewee import ForeignKeyField

    models = entity_models()
    parsed = {e.id: (models.get(e.entity), _loads(e.changes)) for e in entries}
    wanted = {}
    for model, changes in parsed.values():
        if model is None:
            continue
        for name, value in changes.items():
            field = model._meta.fields.get(name)
            if isinstance(field, ForeignKeyField):
                pair = value if isinstance(value, list) and len(value) == 2 else [value]
                for v in pair:
                    if v is not None and str(v).isdigit():
                        wanted.setdefault(field.rel_model, set()).add(int(v))
    names = names_of(wanted)
    out = {}
    for entry_id, (model, changes) in parsed.items():
        rows = []
        for name, value in changes.items():
            field = model._meta.fields.get(name) if model is not None else None
            label = (field.verbose_name if field is not None else EXTRA_LABELS.get(name, name)) or name
            if isinstance(value, list) and len(value) == 2:
                rows.append((label, _value_text(field, value[0], names), _value_text(field, value[1], names)))
            else:
                rows.append((label, None, _value_text(field, value, names)))
        out[entry_id] = rows
    return out


def names_of(wanted):
    """{(model, "id"): name} for {model: ids} — one UNION query for all the models, so a page
    of log rows costs the same number of statements whatever mix of records it names."""
    import functools
    import operator

    from peewee import Cast, Value

    from models.base import DISPLAY_ATTRS, display_field

    models = [m for m in wanted if wanted[m] and any(a in m._meta.fields for a in DISPLAY_ATTRS)]
    if not models:
        return {}
    parts = []
    for index, model in enumerate(models):
        pk = model._meta.primary_key
        parts.append(model.select(Value(index).alias("kind"), pk.alias("pk"),
                                  Cast(display_field(model), "text" if _on_postgres() else "TEXT").alias("label"))
                     .where(pk.in_(sorted(wanted[model]))))
    query = functools.reduce(operator.add, parts)
    return {(models[int(kind)], str(pk)): str(label) for kind, pk, label in query.tuples()}


def _on_postgres():
    from .stats import on_postgres

    return on_postgres()


def history(record, limit=200):
    """The audit rows about one record, newest first."""
    from models import AuditLog

    return list(AuditLog.select()
                .where(AuditLog.entity == type(record).__name__, AuditLog.entity_id == str(record.get_id()))
                .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit))
