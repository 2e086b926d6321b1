"""群众点单 through the API (the WeChat mini-program): submit a need — the same checks,
photo handling and rate limits as the form (per address and per phone, shared with it) —
and read its progress with the tracking code and the last four digits of the phone
(the lookup limit, as on /track; a wrong pair is a plain 404).
"""
import base64
import binascii
import io

from flask import request

from models import NeedKind, NeedSource, NeedStatus, OrderStatus
from models.needs import grouped
from services import links, needs, photos
from services.errors import ServiceError
from web.ratelimit import rate_limited

from .errors import fail
from .resources import ID_MAX, OFFSET

TAG = "群众点单"
MAX_PHOTO_CHARS = (photos.MAX_BYTES * 4) // 3 + 8  # base64 of MAX_BYTES, padding
BODY_LIMIT = photos.MAX_PHOTOS * MAX_PHOTO_CHARS + 512 * 1024

NEED_BODY = {
    "type": "object",
    "required": ["kind", "text", "name", "phone", "consent"],
    "properties": {
        "kind": {"type": "string", "enum": NeedKind.codes(),
                 "description": "类型：" + "；".join(f"{c}={label}" for c, label in NeedKind.choices)},
        "text": {"type": "string", "minLength": needs.TEXT_MIN, "maxLength": needs.TEXT_MAX, "description": "需求内容"},
        "name": {"type": "string", "minLength": 1, "maxLength": needs.NAME_MAX, "description": "姓名"},
        "phone": {"type": "string", "minLength": 1, "maxLength": 30,
                  "description": "手机号（中国大陆 11 位；可带 +86 或 0086，可用空格或短横线分隔）"},
        "grid": {"type": "integer", "minimum": 1, "maximum": ID_MAX, "nullable": True,
                 "description": "所在网格编号（选填）"},
        "consent": {"type": "boolean", "description": "同意社区工作人员通过手机号联系（必须为 true）"},
        "photos": {"type": "array", "maxItems": photos.MAX_PHOTOS,
                   "items": {"type": "string", "maxLength": MAX_PHOTO_CHARS},
                   "description": f"照片（选填，最多 {photos.MAX_PHOTOS} 张）：JPEG/PNG/WebP 文件的 Base64 编码，"
                                  f"每张不超过 {photos.MAX_BYTES // (1024 * 1024)} MB；照片经工作人员审核后才会公开"},
    },
}

TIME = {"type": "string", "format": "date-time"}
SUBMITTED_SCHEMA = {
    "type": "object", "description": "已提交的点单", "additionalProperties": False,
    "required": ["code", "code_display", "kind", "status", "status_label", "submitted_at", "track_url"],
    "properties": {
        "code": {"type": "string", "description": "查询码（8 位，不含易混淆字符）"},
        "code_display": {"type": "string", "description": "分组显示的查询码，如 7KQ4 M9XZ"},
        "kind": {"type": "string", "enum": NeedKind.codes(), "description": "类型"},
        "status": {"type": "string", "enum": NeedStatus.codes(), "description": "状态"},
        "status_label": {"type": "string", "description": "状态（中文）"},
        "submitted_at": dict(TIME, description="提交时间"),
        "track_url": {"type": "string", "description": "进度页的完整地址（还需输入手机号后四位）"},
    },
}
STEP_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["at", "title", "text", "round", "photos"],
    "properties": {
        "at": dict(TIME, nullable=True, description="时间"),
        "title": {"type": "string", "description": "步骤（中文，如 已提交、已受理、已派单、已办结、已评价）"},
        "text": {"type": "string", "description": "说明"},
        "round": {"type": "integer", "description": "办理轮次（二次办理为 2）"},
        "photos": {"type": "array", "items": {"type": "string"}, "description": "已审核公开的照片地址"},
    },
}
TRACK_SCHEMA = {
    "type": "object", "description": "点单进度", "additionalProperties": False,
    "required": ["code", "code_display", "kind", "kind_label", "text", "grid", "status", "status_label",
                 "submitted_at", "order", "steps", "can_rate"],
    "properties": {
        "code": {"type": "string", "description": "查询码"},
        "code_display": {"type": "string", "description": "分组显示的查询码"},
        "kind": {"type": "string", "enum": NeedKind.codes(), "description": "类型"},
        "kind_label": {"type": "string", "description": "类型（中文）"},
        "text": {"type": "string", "description": "需求内容"},
        "grid": {"type": "object", "nullable": True, "additionalProperties": False, "required": ["id", "name"],
                 "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}, "description": "所在网格"},
        "status": {"type": "string", "enum": NeedStatus.codes(),
                   "description": "状态：" + "；".join(f"{c}={label}" for c, label in NeedStatus.choices)},
        "status_label": {"type": "string", "description": "状态（中文）"},
        "submitted_at": dict(TIME, description="提交时间"),
        "order": {"type": "object", "nullable": True, "additionalProperties": False,
                  "required": ["number", "status", "status_label"], "description": "对应的工单（受理或合并后）",
                  "properties": {"number": {"type": "string"},
                                 "status": {"type": "string", "enum": OrderStatus.codes()},
                                 "status_label": {"type": "string"}}},
        "steps": {"type": "array", "items": STEP_SCHEMA, "description": "办理进度，按时间先后"},
        "can_rate": {"type": "boolean", "description": "工单已办结、等待居民评价（在进度页评价）"},
    },
}
TRACK_PARAMETERS = [
    {"name": "code", "in": "path", "required": True, "description": "查询码（8 位，可含空格，不区分大小写）",
     "schema": {"type": "string", "maxLength": 20}},
    {"name": "phone_tail", "in": "query", "required": True, "description": "提交时所填手机号的后四位",
     "schema": {"type": "string", "pattern": "^[0-9]{4}$"}},
]


def _time(value):
    return value.replace(microsecond=0).isoformat() + OFFSET if value else None


def _body():
    """The JSON object, each field of the right JSON type (what values mean is the service's)."""
    if not request.is_json:
        fail(400, "请求体必须是 JSON，并设置 Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        fail(400, "请求体必须是 JSON 对象")
    for name, prop in NEED_BODY["properties"].items():
        value = body.get(name)
        label = prop["description"].split("（")[0].split("：")[0]
        if value is None:
            if name in NEED_BODY["required"]:
                fail(400, f"缺少字段 {name}（{label}）")
            continue
        kind = prop["type"]
        if kind == "string" and not isinstance(value, str):
            fail(400, f"字段 {name}（{label}）必须是字符串")
        if kind == "boolean" and not isinstance(value, bool):
            fail(400, f"字段 {name}（{label}）必须是 true 或 false")
        if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= ID_MAX):
            fail(400, f"字段 {name}（{label}）必须是 1 到 {ID_MAX} 之间的整数")
        if kind == "array" and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            fail(400, f"字段 {name}（{label}）必须是 Base64 字符串的数组")
    return body


def _decode_photos(items):
    """Base64 strings → ``Prepared`` photos (checked, re-encoded), all or none."""
    items = list(items or [])
    if len(items) > photos.MAX_PHOTOS:
        raise ServiceError(f"最多上传 {photos.MAX_PHOTOS} 张照片", field="photos")
    out = []
    for index, text in enumerate(items, 1):
        label = f"第 {index} 张照片" if len(items) > 1 else "照片"
        if len(text) > MAX_PHOTO_CHARS:
            raise ServiceError(f"{label}：不能超过 {photos.MAX_BYTES // (1024 * 1024)} MB", field="photos")
        try:
            data = base64.b64decode(text.split(",", 1)[-1] if text.startswith("data:") else text, validate=True)
        except (binascii.Error, ValueError):
            raise ServiceError(f"{label}：不是有效的 Base64 编码", field="photos")
        try:
            out.append(photos.prepare(io.BytesIO(data)))
        except ServiceError as exc:
            raise ServiceError(f"{label}：{exc.message}", field="photos")
    return out


@rate_limited("need")
def create_need():
    body = _body()
    prepared = _decode_photos(body.get("photos"))  # before any write
    need = needs.submit(kind=body["kind"], text=body["text"], name=body["name"], mobile=body["phone"],
                        grid=body.get("grid"), consent=body.get("consent") is True,
                        source=NeedSource.MINIPROGRAM, photos=prepared)
    return {
        "code": need.code, "code_display": grouped(need.code), "kind": need.kind, "status": need.status,
        "status_label": NeedStatus.label(need.status), "submitted_at": _time(need.submitted_at),
        "track_url": links.external_url("public.track_need", code=need.code),
    }, 201


photos.accepts_uploads(create_need, limit=BODY_LIMIT)


@rate_limited("lookup")
def track_need(code):
    need = needs.find_for_resident(code, request.args.get("phone_tail"))
    if need is None:
        fail(404, "查询码或手机号后四位不正确")
    order = need.order
    return {
        "code": need.code, "code_display": grouped(need.code), "kind": need.kind,
        "kind_label": NeedKind.label(need.kind), "text": need.text,
        "grid": {"id": need.grid.id, "name": need.grid.name} if need.grid_id else None,
        "status": need.status, "status_label": NeedStatus.label(need.status),
        "submitted_at": _time(need.submitted_at),
        "order": {"number": order.number, "status": order.status, "status_label": OrderStatus.label(order.status)}
        if order is not None else None,
        "steps": [{"at": _time(s["at"]), "title": s["title"], "text": s["text"] or "", "round": s["round"] or 1,
                   "photos": [links.external_url("public.photo", photo_id=p.id) for p in s["photos"]]}
                  for s in needs.timeline(need)],
        "can_rate": needs.can_rate(need),
    }


def operations(Operation):
    """The two operations, for api/blueprint.py's table (routes and the OpenAPI document)."""
    return [
        Operation("/needs", "POST", "createNeed", "提交群众点单", create_need, TAG, request_body=NEED_BODY,
                  response=SUBMITTED_SCHEMA, status=201, errors=(400, 404, 413, 429),
                  description="无需登录。校验、照片处理与网页表单完全相同；同一网络、同一手机号的提交频率受限，"
                              "超过时返回 429 并带 Retry-After。返回的查询码加手机号后四位可查询进度。"),
        Operation("/needs/<code>", "GET", "trackNeed", "查询点单进度", track_need, TAG, response=TRACK_SCHEMA,
                  errors=(400, 404, 429), extra={"path": "/needs/{code}", "parameters": TRACK_PARAMETERS},
                  description="凭查询码和手机号后四位查询；任一不正确都返回 404（不提示是哪一个），"
                              "查询频率受限（429）。"),
    ]
