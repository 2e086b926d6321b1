"""The audit log: every write through the admin and the services leaves a row."""
import datetime as dt
import decimal
import json

from flask import has_request_context, request
from flask_login import current_user

from models import AuditLog


# How the admin's 操作日志 names an action; an action not listed shows its code.
ACTION_LABELS = {
    "create": "新建", "update": "修改", "delete": "删除",
    "login": "登录", "logout": "退出登录", "password": "修改密码", "role": "修改角色",
    "activate": "启用账号", "deactivate": "停用账号", "end_sessions": "结束登录会话",
    "unlock_login": "解除登录锁定", "issue_token": "签发 API 令牌", "revoke_token": "吊销 API 令牌",
}


def action_label(code):
    return ACTION_LABELS.get(code, code or "")


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
