"""The API's one error shape: ``{"error": {"code": <HTTP status>, "message": "中文说明"}}``."""
from flask import jsonify
from werkzeug.exceptions import HTTPException, default_exceptions

TITLES = {
    400: "请求有误", 401: "需要身份认证", 403: "没有权限", 404: "资源不存在",
    405: "不支持的请求方式", 409: "操作冲突", 413: "提交内容过大", 415: "请求体格式不受支持",
    429: "请求过于频繁，请稍后再试", 500: "服务器内部错误",
}


def fail(status, message, headers=None):
    """Stop the request with ``status`` and a Chinese message."""
    exc = default_exceptions[status]()
    exc.chinese = message
    exc.extra_headers = headers or {}
    raise exc


def error_response(status, message=None, headers=None):
    body = {"error": {"code": status, "message": message or TITLES.get(status, "请求失败")}}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_http_exception(exc: HTTPException):
    if exc.code and exc.code < 400:
        return exc
    headers = dict(getattr(exc, "extra_headers", None) or {})
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(exc.code or 500, getattr(exc, "chinese", None), headers)


def handle_service_error(exc):
    return error_response(exc.status, exc.message)
