"""Work orders dispatched to the caller (a partner unit, or a volunteer): list, read,
签收 (accept), report the result, hand back — through services.workorders, the same
functions as the pages of /my. Another unit's order is a 404, never a hint that it exists.

And the caller's notices: list (newest first, ``unread=true`` for the bell), mark one or
all read — through services.notices.
"""
from flask import request

from models import OrderCategory, OrderStatus, WorkOrder, now
from services import links, notices, workorders

from . import auth
from .claims import json_body
from .errors import fail
from .openapi import COMPONENTS
from .resources import ID_MAX, OFFSET

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100
PAGE_MAX = 100000


def _time(value):
    return value.replace(microsecond=0).isoformat() + OFFSET if value else None


def _nullable(schema):
    return dict(schema, nullable=True)


TIME = {"type": "string", "format": "date-time"}
ORDER_SCHEMA = {
    "type": "object", "description": "派给当前账号（本单位或本人）的工单", "additionalProperties": False,
    "required": ["id", "number", "category", "category_label", "description", "requester_name", "requester_phone",
                 "grid", "status", "status_label", "due_at", "overdue", "dispatched_at", "taken_at", "resolved_at",
                 "result", "moves"],
    "properties": {
        "id": {"type": "integer", "description": "工单编号（内部）"},
        "number": {"type": "string", "description": "工单号"},
        "category": {"type": "string", "enum": OrderCategory.codes(), "description": "诉求类别"},
        "category_label": {"type": "string", "description": "诉求类别（中文）"},
        "description": {"type": "string", "description": "诉求内容"},
        "requester_name": {"type": "string", "description": "诉求人"},
        "requester_phone": {"type": "string", "nullable": True,
                            "description": "诉求人电话（工单在本单位办理期间可见，便于联系）"},
        "grid": {"type": "object", "nullable": True, "additionalProperties": False, "required": ["id", "name"],
                 "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}, "description": "所在网格"},
        "status": {"type": "string", "enum": OrderStatus.codes(),
                   "description": "状态：" + "；".join(f"{c}={label}" for c, label in OrderStatus.choices)},
        "status_label": {"type": "string", "description": "状态（中文）"},
        "due_at": _nullable(dict(TIME, description="办理时限")),
        "overdue": {"type": "boolean", "description": "是否已超过办理时限且未办结"},
        "dispatched_at": _nullable(dict(TIME, description="派单时间")),
        "taken_at": _nullable(dict(TIME, description="签收时间")),
        "resolved_at": _nullable(dict(TIME, description="办结时间")),
        "result": {"type": "string", "nullable": True, "description": "办理结果"},
        "moves": {"type": "array", "items": {"type": "string", "enum": list(workorders.ASSIGNEE_MOVES)},
                  "description": "当前账号现在可以进行的操作：accept=签收办理；report=上报办理结果；hand_back=退回工单"},
    },
}
NOTICE_SCHEMA = {
    "type": "object", "description": "通知", "additionalProperties": False,
    "required": ["id", "kind", "title", "body", "link", "created_at", "read_at"],
    "properties": {
        "id": {"type": "integer", "description": "通知编号"},
        "kind": {"type": "string", "description": "类型（如 claim_rejected、order_dispatched、points_credited）"},
        "title": {"type": "string", "description": "标题"},
        "body": {"type": "string", "description": "内容"},
        "link": {"type": "string", "nullable": True, "description": "相关页面的完整地址"},
        "created_at": dict(TIME, description="时间"),
        "read_at": _nullable(dict(TIME, description="已读时间；未读为 null")),
    },
}


def page_of(schema_name, title):
    return {
        "type": "object", "description": f"{title}（分页）", "additionalProperties": False,
        "required": ["items", "total", "page", "per_page", "next", "prev"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name}"}},
            "total": {"type": "integer", "minimum": 0, "description": "总数"},
            "page": {"type": "integer", "minimum": 1, "description": "当前页码"},
            "per_page": {"type": "integer", "minimum": 1, "description": "每页条数"},
            "next": {"type": "string", "nullable": True, "description": "下一页的完整地址"},
            "prev": {"type": "string", "nullable": True, "description": "上一页的完整地址"},
        },
    }


COMPONENTS.update(Order=ORDER_SCHEMA, Notice=NOTICE_SCHEMA)

RESULT_BODY = {
    "type": "object", "required": ["result"],
    "properties": {"result": {"type": "string", "minLength": 1, "maxLength": workorders.RESULT_MAX,
                              "description": "办理结果（照片请在网页“我的工作台”上传）"}},
}
HAND_BACK_BODY = {
    "type": "object", "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": workorders.REASON_MAX,
                              "description": "退回原因"}},
}
READ_ALL_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["marked"],
                   "properties": {"marked": {"type": "integer", "minimum": 0, "description": "本次标为已读的条数"}}}


def _int_arg(name, low, high, default):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(high)) or not low <= int(raw) <= high:
        fail(400, f"参数 {name} 必须是 {low} 到 {high} 之间的整数")
    return int(raw)


def _known_args(allowed):
    for name in request.args:
        if name not in allowed:
            fail(400, f"不支持的查询参数“{name[:50]}”，可用的参数：{'、'.join(allowed)}")


def _paged(query, serialize):
    page = _int_arg("page", 1, PAGE_MAX, 1)
    per_page = _int_arg("per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT)
    total = query.count()
    rows = list(query.limit(per_page + 1).offset((page - 1) * per_page))
    has_next = len(rows) > per_page

    def link(to_page):
        args = request.args.to_dict()
        args.update(page=to_page, per_page=per_page)
        return links.external_url(request.endpoint, **args)

    return {"items": [serialize(row) for row in rows[:per_page]], "total": total, "page": page,
            "per_page": per_page, "next": link(page + 1) if has_next else None,
            "prev": link(page - 1) if page > 1 else None}


def _order(order, user):
    at = now()
    holding = order.status in workorders.WITH_ASSIGNEE
    return {
        "id": order.id, "number": order.number, "category": order.category,
        "category_label": OrderCategory.label(order.category), "description": order.description,
        "requester_name": order.requester_name, "requester_phone": order.requester_phone if holding else None,
        "grid": {"id": order.grid.id, "name": order.grid.name} if order.grid_id else None,
        "status": order.status, "status_label": OrderStatus.label(order.status),
        "due_at": _time(order.due_at), "overdue": bool(holding and order.due_at and order.due_at < at),
        "dispatched_at": _time(order.dispatched_at), "taken_at": _time(order.taken_at),
        "resolved_at": _time(order.resolved_at), "result": order.result,
        "moves": [t.name for t in workorders.ORDERS.allowed(order, user) if t.name in workorders.ASSIGNEE_MOVES],
    }


def _notice(notice):
    link = notice.link
    if link and link.startswith("/"):
        link = links.base_url() + link
    return {"id": notice.id, "kind": notice.kind, "title": notice.title, "body": notice.body, "link": link,
            "created_at": _time(notice.created_at), "read_at": _time(notice.read_at)}


def _pk(pk, message):
    if not 0 < pk <= ID_MAX:
        fail(404, message)
    return pk


def _writer(permission):
    user = auth.require(permission)
    auth.check_write(user)
    return user


# --- orders -------------------------------------------------------------------------------------

def list_orders():
    """?status=current (default: dispatched or in hand) | all (everything ever assigned)."""
    user = auth.require("orders.own")
    _known_args(("status", "page", "per_page"))
    which = request.args.get("status", "current")
    if which not in ("current", "all"):
        fail(400, "参数 status 只能是 current（待办）或 all（全部）")
    query = workorders.assigned_to(user) if which == "current" else workorders.handled_by(user)
    query = query.order_by(WorkOrder.updated_at.desc(), WorkOrder.id.desc())
    return _paged(query, lambda order: _order(order, user))


def get_order(pk):
    user = auth.require("orders.own")
    return _order(workorders.get_assigned(_pk(pk, workorders.NOT_FOUND), user), user)


def accept_order(pk):
    user = _writer("orders.own")
    return _order(workorders.accept(_pk(pk, workorders.NOT_FOUND), user=user), user)


def report_order(pk):
    user = _writer("orders.own")
    _pk(pk, workorders.NOT_FOUND)
    body = json_body(RESULT_BODY)
    return _order(workorders.report_result(pk, user=user, result=body["result"]), user)


def hand_back_order(pk):
    user = _writer("orders.own")
    _pk(pk, workorders.NOT_FOUND)
    body = json_body(HAND_BACK_BODY)
    return _order(workorders.hand_back(pk, user=user, reason=body["reason"]), user)


# --- notices ------------------------------------------------------------------------------------

def list_notices():
    """?unread=true: only the unread ones (the bell)."""
    user = auth.require("notices.own")
    _known_args(("unread", "page", "per_page"))
    unread = request.args.get("unread", "false")
    if unread not in ("true", "false", "1", "0"):
        fail(400, "参数 unread 必须是 true 或 false")
    return _paged(notices.of_user(user, unread_only=unread in ("true", "1")), _notice)


def read_notice(pk):
    user = _writer("notices.own")
    return _notice(notices.mark_read(_pk(pk, "通知不存在"), user))


def read_all_notices():
    user = _writer("notices.own")
    return {"marked": notices.mark_all_read(user)}

