"""The /api/v1 URL map: one table of operations, from which both the routes and the
OpenAPI document (api/openapi.py) are built.

List and detail operations come from every model's ``Meta.api`` declaration; the few
hand-written ones (claim writes, figures, the caller, the spec) are listed below.
"""
from dataclasses import dataclass, field

from flask import Blueprint, g, jsonify
from werkzeug.exceptions import HTTPException

from models.exposure import exposures
from services.errors import ServiceError

from . import auth, claims, orders, resources, signups, stats
from .errors import handle_http_exception, handle_service_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_error_handler(HTTPException, handle_http_exception)
bp.register_error_handler(ServiceError, handle_service_error)


@dataclass
class Operation:
    rule: str            # Flask rule under /api/v1
    method: str
    operation_id: str
    summary: str         # Chinese, shown in the docs
    view: object
    tag: str
    exposure: object = None   # for generated list/detail operations
    kind: str = None          # "list" | "detail" for generated ones
    request_body: dict = None
    body_required: bool = True
    response: object = None   # schema name or inline schema; None: the exposure's
    status: int = 200
    errors: tuple = (400,)
    secured: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def endpoint(self):
        return self.operation_id

    @property
    def path(self):
        """OpenAPI path under the server URL: <int:pk> → {id}."""
        return self.rule.replace("<int:pk>", "{id}")


def _camel(model):
    return model.__name__


def generated_operations():
    ops = []
    for e in exposures():
        secured = bool(e.permission)
        errors = (400, 401, 403) if secured else (400,)
        name = _camel(e.model)
        ops.append(Operation(
            f"/{e.path}", "GET", f"list{name}s", f"{e.name}列表", resources.list_view(e), e.name,
            exposure=e, kind="list", errors=errors, secured=secured,
            description=("只返回当前账号所属单位的记录。" if e.scope == "own" else "只返回已公开的记录。")))
        ops.append(Operation(
            f"/{e.path}/<int:pk>", "GET", f"get{name}", f"{e.name}详情", resources.detail_view(e), e.name,
            exposure=e, kind="detail", errors=(401, 403, 404) if secured else (404,), secured=secured))
    return ops


def me():
    """The caller's account and, for a session, the CSRF token writes need."""
    from flask_wtf.csrf import generate_csrf

    user = auth.caller()
    if user is None:
        return {"authenticated": False, "username": None, "role": None, "unit": None, "csrf_token": None}
    unit = user.unit
    return {
        "authenticated": True,
        "username": user.username,
        "role": user.role,
        "unit": {"id": unit.id, "name": unit.name} if unit else None,
        "csrf_token": generate_csrf() if g.get("api_auth") == "session" else None,
    }


def figures():
    return stats.alliance_figures()


def openapi_json():
    from .openapi import build_spec

    return jsonify(build_spec(OPERATIONS))


def docs():
    from .openapi import render_docs

    return render_docs(OPERATIONS)


CLAIM_TAG = "认领"
ORDER_TAG = "工单"
NOTICE_TAG = "通知"
OPERATIONS = generated_operations() + [
    Operation("/claims", "POST", "createClaim", "认领治理项目", claims.create_claim, CLAIM_TAG,
              request_body=claims.CLAIM_BODY, response="Claim", status=201,
              errors=(400, 401, 403, 404, 409, 413, 429), secured=True,
              description="占用一个认领名额；名额已满时返回 409（名额已满）。规则与公开网页完全相同。"),
    Operation("/claims/<int:pk>/withdraw", "POST", "withdrawClaim", "撤回认领", claims.withdraw_claim, CLAIM_TAG,
              request_body=claims.WITHDRAW_BODY, body_required=False, response="Claim",
              errors=(400, 401, 403, 404, 409, 413, 429), secured=True,
              description="撤回本单位的认领并释放名额。待审核的认领可直接撤回（请求体可省略）；"
                          "已确认的认领必须在请求体中填写撤回原因 reason，撤回后工作人员会收到提醒。"),
    Operation("/claims/<int:pk>/progress", "POST", "reportProgress", "汇报项目进展", claims.report_progress,
              CLAIM_TAG, request_body=claims.PROGRESS_BODY, response="ProgressReport", status=201,
              errors=(400, 401, 403, 404, 409, 413, 429), secured=True,
              description="只有已确认的认领可以汇报进展。"),
    Operation("/events/<int:pk>/signups", "POST", "createSignup", "报名活动", signups.create_signup, "活动",
              request_body=signups.SIGNUP_BODY, response=signups.SIGNUP_SCHEMA, status=201,
              errors=(400, 404, 409, 413, 429),
              description="无需登录。名额已满时进入候补（status=waitlisted）；同一手机号在同一活动只能有一条有效报名（409）。"
                          "同一网络、同一手机号的报名频率受限，超过时返回 429 并带 Retry-After。"),
    Operation("/orders", "GET", "listOrders", "派给我的工单", orders.list_orders, ORDER_TAG,
              response=orders.page_of("Order", "工单"), errors=(400, 401, 403, 429), secured=True,
              description="成员单位账号：派给本单位的工单；志愿者账号：派给本人或本人接下的工单。"
                          "status=current（默认）只列待办（已派单、办理中），status=all 列出全部。"),
    Operation("/orders/<int:pk>", "GET", "getOrder", "工单详情", orders.get_order, ORDER_TAG,
              response="Order", errors=(401, 403, 404, 429), secured=True,
              description="只能查看派给本单位（或本人）的工单；其他工单一律 404。"),
    Operation("/orders/<int:pk>/accept", "POST", "acceptOrder", "签收工单", orders.accept_order, ORDER_TAG,
              response="Order", errors=(400, 401, 403, 404, 409, 429), secured=True,
              description="已派单 → 办理中。"),
    Operation("/orders/<int:pk>/result", "POST", "reportOrderResult", "上报办理结果", orders.report_order,
              ORDER_TAG, request_body=orders.RESULT_BODY, response="Order",
              errors=(400, 401, 403, 404, 409, 413, 429), secured=True,
              description="已派单或办理中 → 已办结，社区工作人员和诉求人会收到通知。"),
    Operation("/orders/<int:pk>/hand-back", "POST", "handBackOrder", "退回工单", orders.hand_back_order,
              ORDER_TAG, request_body=orders.HAND_BACK_BODY, response="Order",
              errors=(400, 401, 403, 404, 409, 413, 429), secured=True,
              description="退回社区重新派单，必须填写原因；退回后本单位不再看到办理按钮。"),
    Operation("/notices", "GET", "listNotices", "我的通知", orders.list_notices, NOTICE_TAG,
              response=orders.page_of("Notice", "通知"), errors=(400, 401, 403, 429), secured=True,
              description="当前账号的通知，最新的在前；unread=true 只列未读。"),
    Operation("/notices/<int:pk>/read", "POST", "readNotice", "标为已读", orders.read_notice, NOTICE_TAG,
              response="Notice", body_required=False, errors=(400, 401, 403, 404, 429), secured=True),
    Operation("/notices/read-all", "POST", "readAllNotices", "全部标为已读", orders.read_all_notices, NOTICE_TAG,
              response=orders.READ_ALL_SCHEMA, body_required=False, errors=(400, 401, 403, 429), secured=True),
    Operation("/stats", "GET", "getStats", "联盟数据概览", figures, "联盟",
              response=stats.STATS_SCHEMA, errors=()),
    Operation("/me", "GET", "getMe", "当前调用者", me, "账号", response="Me", errors=(401, 429),
              description="未认证时 authenticated 为 false；使用登录会话时返回写接口所需的 CSRF 令牌。"),
    Operation("/openapi.json", "GET", "getOpenApi", "OpenAPI 文档", openapi_json, "文档",
              response={"type": "object", "description": "本文档（OpenAPI 3.0）"}, errors=()),
]

for _op in OPERATIONS:
    bp.add_url_rule(_op.rule, _op.endpoint, _op.view, methods=[_op.method])
bp.add_url_rule("/docs", "docs", docs)

# --- 群众点单: submit a need, read its progress with code + phone tail (api/needs.py)
from . import needs as needs_api  # noqa: E402

for _op in needs_api.operations(Operation):
    OPERATIONS.append(_op)
    bp.add_url_rule(_op.rule, _op.endpoint, _op.view, methods=[_op.method])
