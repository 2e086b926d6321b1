"""The OpenAPI 3.0 document, built from the operation table and the models' declarations.

Field types come from the peewee field classes, descriptions from ``verbose_name``,
enums (with their Chinese labels) from ``choices``; nothing here names an entity.
"""
from flask import current_app, render_template
from peewee import (AutoField, BooleanField, CharField, DateField, DateTimeField, DecimalField,
                    FloatField, ForeignKeyField, IntegerField, TextField)

from models.base import display_field
from models.exposure import shape_of

from .errors import TITLES
from .resources import ID_MAX, PAGE_MAX, PER_PAGE_DEFAULT, PER_PAGE_MAX

OPENAPI_VERSION = "3.0.3"
# shapes of hand-written operations, registered by their modules (api/orders.py: Order, Notice)
COMPONENTS = {}


def _enum_description(field):
    return "；".join(f"{code}={label}" for code, label in field.choices)


def field_schema(field, *, for_query=False):
    """The JSON schema of one peewee field's value."""
    if isinstance(field, ForeignKeyField):
        if for_query:
            return {"type": "integer", "minimum": 1, "maximum": ID_MAX,
                    "description": f"{field.verbose_name}编号"}
        rel = field.rel_model
        label = display_field(rel)
        props = {"id": {"type": "integer", "description": f"{rel._meta.verbose_name}编号"}}
        if label.name != "id":
            props[label.name] = dict(field_schema(label), nullable=True)
        schema = {"type": "object", "description": field.verbose_name, "properties": props,
                  "required": list(props), "additionalProperties": False}
    elif isinstance(field, (AutoField, IntegerField)):
        schema = {"type": "integer"}
        if for_query:
            schema.update(minimum=1, maximum=ID_MAX)
        for bound, key in (("min_value", "minimum"), ("max_value", "maximum")):
            if getattr(field, bound, None) is not None:
                schema[key] = getattr(field, bound)
    elif isinstance(field, (DecimalField, FloatField)):
        schema = {"type": "number"}
    elif isinstance(field, BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, DateTimeField):
        schema = {"type": "string", "format": "date" if for_query else "date-time"}
    elif isinstance(field, DateField):
        schema = {"type": "string", "format": "date"}
    elif isinstance(field, (CharField, TextField)):
        schema = {"type": "string"}
        if getattr(field, "max_length", None):
            schema["maxLength"] = field.max_length
    else:  # pragma: no cover - a new field class must be mapped here
        raise TypeError(f"no JSON schema for {field!r}")
    schema.setdefault("description", field.verbose_name or field.name)
    if field.choices:
        schema["enum"] = [code for code, _ in field.choices]
        schema["description"] = f"{field.verbose_name}：{_enum_description(field)}"
        schema["x-enum-labels"] = dict(field.choices)
    if field.null and not for_query:
        schema["nullable"] = True
        if "enum" in schema:
            schema["enum"] = schema["enum"] + [None]
    return schema


def entity_schema(exposure):
    props = {}
    for field in exposure.fields:
        props[field.name] = field_schema(field)
        if field.choices:
            props[field.name + "_label"] = {"type": "string", "nullable": bool(field.null),
                                            "description": f"{field.verbose_name}（中文名称）"}
    for name, (json_type, label) in exposure.computed.items():
        props[name] = {"type": json_type, "description": label}
    return {"type": "object", "title": exposure.name, "description": exposure.name,
            "properties": props, "required": list(props), "additionalProperties": False}


def page_schema(name, title):
    return {
        "type": "object", "description": f"{title}列表（分页）", "additionalProperties": False,
        "required": ["items", "total", "page", "per_page", "next", "prev"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
            "total": {"type": "integer", "minimum": 0, "description": "符合条件的记录总数"},
            "page": {"type": "integer", "minimum": 1, "description": "当前页码（从 1 开始）"},
            "per_page": {"type": "integer", "minimum": 1, "description": "每页条数"},
            "next": {"type": "string", "nullable": True, "description": "下一页的完整地址；没有下一页时为 null"},
            "prev": {"type": "string", "nullable": True, "description": "上一页的完整地址；第一页时为 null"},
        },
    }


ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message"], "additionalProperties": False,
        "properties": {
            "code": {"type": "integer", "description": "HTTP 状态码"},
            "message": {"type": "string", "description": "中文错误说明"},
        }}},
}

ME_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["authenticated", "username", "role", "unit", "csrf_token"],
    "properties": {
        "authenticated": {"type": "boolean", "description": "是否已认证"},
        "username": {"type": "string", "nullable": True, "description": "用户名"},
        "role": {"type": "string", "nullable": True, "description": "角色：admin=管理员；clerk=工作人员；unit=成员单位；volunteer=志愿者"},
        "unit": {"type": "object", "nullable": True, "description": "所属成员单位", "additionalProperties": False,
                 "required": ["id", "name"],
                 "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "csrf_token": {"type": "string", "nullable": True, "description": "使用登录会话调用写接口时放入 X-CSRFToken 头"},
    },
}


def _list_parameters(exposure):
    params = []
    for flt in exposure.filters.values():
        schema = field_schema(flt.field, for_query=True)
        label = flt.field.verbose_name
        if flt.op == ">=":
            schema["description"] = f"{label}不早于该日期（含）" if isinstance(flt.field, (DateField, DateTimeField)) \
                else f"{label}不小于该值"
        elif flt.op == "<=":
            schema["description"] = f"{label}不晚于该日期（含当天）" if isinstance(flt.field, (DateField, DateTimeField)) \
                else f"{label}不大于该值"
        params.append({"name": flt.param, "in": "query", "required": False,
                       "description": schema["description"], "schema": schema})
    sorts = list(exposure.sorts) + [f"-{s}" for s in exposure.sorts]
    params += [
        {"name": "sort", "in": "query", "required": False,
         "description": f"排序字段，前加 - 表示倒序；默认 {exposure.default_sort}",
         "schema": {"type": "string", "enum": sorts}},
        {"name": "page", "in": "query", "required": False, "description": "页码，从 1 开始",
         "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": 1}},
        {"name": "per_page", "in": "query", "required": False, "description": f"每页条数，最多 {PER_PAGE_MAX}",
         "schema": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX, "default": PER_PAGE_DEFAULT}},
    ]
    return params


ID_PARAMETER = {"name": "id", "in": "path", "required": True, "description": "记录编号",
                "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def build_spec(operations):
    schemas = {"Error": ERROR_SCHEMA, "Me": ME_SCHEMA, **COMPONENTS}
    paths = {}
    for op in operations:
        e = op.exposure
        if e is not None:
            name = e.model.__name__
            schemas[name] = entity_schema(e)
            if op.kind == "list":
                schemas[f"{name}Page"] = page_schema(name, e.name)
                response_schema = _ref(f"{name}Page")
            else:
                response_schema = _ref(name)
        elif isinstance(op.response, str):
            response_schema = _ref(op.response)
        else:
            response_schema = op.response
        operation = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": {str(op.status): {
                "description": "成功",
                "content": {"application/json": {"schema": response_schema}}}},
        }
        if op.description:
            operation["description"] = op.description
        parameters = []
        if "{id}" in op.path:
            parameters.append(ID_PARAMETER)
        if op.kind == "list":
            parameters += _list_parameters(e)
        parameters += op.extra.get("parameters", [])  # a hand-written operation's own (api/needs.py)
        if parameters:
            operation["parameters"] = parameters
        if op.request_body:
            operation["requestBody"] = {"required": op.body_required, "content": {"application/json": {
                "schema": dict(op.request_body, additionalProperties=False)}}}
        if op.secured:
            operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
        for status in op.errors:
            operation["responses"][str(status)] = {
                "description": TITLES[status], "content": {"application/json": {"schema": _ref("Error")}}}
        paths.setdefault(op.extra.get("path", op.path), {})[op.method.lower()] = operation
    # shapes referenced by hand-written operations
    from models import Claim, ProgressReport
    for model in (Claim, ProgressReport):
        schemas.setdefault(model.__name__, entity_schema(shape_of(model)))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"{current_app.config['SITE_NAME']} 开放接口",
            "version": "1.0.0",
            "description": (
                "红石榴基层治理联盟的公开数据（活动、治理项目、成员单位、志愿服务队、网格、联盟数据概览）"
                "与成员单位的项目认领接口，派给成员单位或志愿者的工单（签收、上报结果、退回）和当前账号的通知。所有失败都返回 {\"error\": {\"code\", \"message\"}}，message 为中文。"
                "列表支持筛选、排序（sort，前加 - 倒序）与分页（page、per_page，响应含 total 与 next）；"
                "未知的筛选或排序字段返回 400 并指出是哪一个。"
                "认领接口使用管理员签发的 API 令牌（Authorization: Bearer <令牌>），"
                "或登录会话加 X-CSRFToken 头。"),
        },
        "servers": [{"url": "/api/v1"}],
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in operations)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "管理员在后台“API 令牌”中签发的令牌（只显示一次）"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "网站登录会话；写操作需同时提供 X-CSRFToken 头"},
            },
        },
    }


def render_docs(operations):
    """A readable Chinese page rendered from the same document (no script, no CDN)."""
    spec = build_spec(operations)
    return render_template("api/docs.html", spec=spec, schemas=spec["components"]["schemas"])
