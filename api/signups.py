"""Residents sign up for a published event through the API (the WeChat mini-program):
the same service as the event page (places, waiting list, one live sign-up per phone)
and the same rate limits (per address and per phone, shared with the page)."""
from models import SignupStatus
from services import signups
from web.ratelimit import rate_limited

from .claims import json_body

SIGNUP_BODY = {
    "type": "object",
    "required": ["name", "phone"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": signups.NAME_MAX, "description": "姓名"},
        "phone": {"type": "string", "minLength": 1, "maxLength": 30,
                  "description": "手机号（11 位；可带 +86 或 0086，可用空格或短横线分隔）"},
    },
}

SIGNUP_SCHEMA = {
    "type": "object", "description": "报名结果", "additionalProperties": False,
    "required": ["id", "event_id", "name", "phone", "status", "status_label", "code", "waiting_position"],
    "properties": {
        "id": {"type": "integer", "description": "报名编号"},
        "event_id": {"type": "integer", "description": "活动编号"},
        "name": {"type": "string", "description": "姓名"},
        "phone": {"type": "string", "description": "手机号（部分隐藏，如 139****9999）"},
        "status": {"type": "string", "enum": SignupStatus.codes(),
                   "description": "状态：" + "；".join(f"{c}={label}" for c, label in SignupStatus.choices)},
        "status_label": {"type": "string", "description": "状态（中文）"},
        "code": {"type": "string", "description": "签到码：活动现场签到、凭手机号取消报名时使用"},
        "waiting_position": {"type": "integer", "nullable": True, "description": "候补时排第几位，否则为 null"},
    },
}


@rate_limited("signup")
def create_signup(pk):
    body = json_body(SIGNUP_BODY)
    signup = signups.register(pk, body["name"], body["phone"])
    return {
        "id": signup.id,
        "event_id": signup.event_id,
        "name": signup.name,
        "phone": signups.mask_phone(signup.phone),
        "status": signup.status,
        "status_label": SignupStatus.label(signup.status),
        "code": signup.code,
        "waiting_position": signups.waiting_position(signup),
    }, 201
