"""Partner units' writes: claim, withdraw, report progress — through services.claims,
the same functions the public pages call (the slot rule lives there, once)."""
from flask import request

from models import Claim, ProgressReport
from models.exposure import exposure_of, shape_of
from services import claims

from . import auth
from .errors import fail
from .resources import ID_MAX, clean_text, fetch, serialize

CLAIMS = exposure_of(Claim)
REPORTS = shape_of(ProgressReport)

CLAIM_BODY = {
    "type": "object",
    "required": ["project_id", "plan"],
    "properties": {
        "project_id": {"type": "integer", "minimum": 1, "maximum": ID_MAX, "description": "要认领的治理项目编号"},
        "plan": {"type": "string", "minLength": 1, "maxLength": claims.PLAN_MAX, "description": "认领说明（打算如何实施）"},
    },
}
WITHDRAW_BODY = {
    "type": "object",
    "required": [],
    "properties": {
        "reason": {"type": "string", "maxLength": claims.NOTE_MAX,
                   "description": "撤回原因（撤回已确认的认领时必填；待审核的认领可省略）"},
    },
}
PROGRESS_BODY = {
    "type": "object",
    "required": ["text", "percent"],
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 5000, "description": "进展内容"},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100, "description": "完成进度(%)"},
    },
}


def json_body(schema):
    """The request's JSON object with the schema's required keys of the right JSON type.

    Only shape is checked here; what the values mean (blank plan, slots, states) is
    for the service to judge.
    """
    if not request.is_json:
        fail(400, "请求体必须是 JSON，并设置 Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "请求体必须是 JSON 对象")
    for name, prop in schema["properties"].items():
        label = prop["description"]
        if name not in body or body[name] is None:
            if name in schema["required"]:
                fail(400, f"缺少字段 {name}（{label}）")
            continue
        value = body[name]
        if prop["type"] == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                fail(400, f"字段 {name}（{label}）必须是整数")
            if not prop["minimum"] <= value <= prop["maximum"]:
                fail(400, f"字段 {name}（{label}）必须在 {prop['minimum']} 到 {prop['maximum']} 之间")
        elif prop["type"] == "string":
            if not isinstance(value, str):
                fail(400, f"字段 {name}（{label}）必须是字符串")
            clean_text(value, f"字段 {name}（{label}）")
    return body


def _writer():
    user = auth.require("claims.own")
    auth.check_write(user)
    return user


def create_claim():
    user = _writer()
    body = json_body(CLAIM_BODY)
    claim = claims.claim_project(body["project_id"], user.unit, body["plan"], user=user)
    return serialize(CLAIMS, fetch(CLAIMS, claim.id, user)), 201


def withdraw_claim(pk):
    """A pending claim: no body needed. A confirmed one: ``{"reason": "…"}`` (400 without)."""
    user = _writer()
    if not 0 < pk <= ID_MAX:
        fail(404, "认领记录不存在")
    body = json_body(WITHDRAW_BODY) if request.get_data(cache=True) else {}
    claim = claims.withdraw_claim(pk, user.unit, user=user, reason=body.get("reason"))
    return serialize(CLAIMS, fetch(CLAIMS, claim.id, user))


def report_progress(pk):
    user = _writer()
    if not 0 < pk <= ID_MAX:
        fail(404, "认领记录不存在")
    body = json_body(PROGRESS_BODY)
    report = claims.report_progress(pk, user.unit, body["text"], body["percent"], user=user)
    row = ProgressReport.select(*REPORTS.fields).where(ProgressReport.id == report.id).get()
    return serialize(REPORTS, row), 201
