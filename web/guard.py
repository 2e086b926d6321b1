"""The input guard: what no legitimate client sends is turned away at the door.

One request hook, before anything reads the request (CSRF, the rate limiter, the
views, the database), refuses with a Chinese 400 — the API's JSON error shape under
``/api/``, the error page elsewhere — any request carrying, in its path, query string
(names and values), form fields (names and values), JSON strings at any depth or header
values:

- a NUL character (``%00``): PostgreSQL cannot store or even compare it (every text
  search, filter and form gave a 500 there);
- bytes that are not UTF-8 (``%FF``), in the path, the query string or a form body —
  Werkzeug would otherwise keep them percent-encoded and let them through as text;
- a lone surrogate (a JSON ``"\\ud800"``), which no database driver can encode.

Two more pieces close the rest of that class where it starts:

- ``<int:…>`` in every URL rule is ``IdConverter``: at most ``models.bounds.ID_MAX``, so
  ``/events/99999999999999999999`` is a 404 instead of an overflow in the query;
- redirects cannot put a line break into the ``Location`` header (a return address such
  as Flask-Admin's ``url=`` or the login's ``next`` holding ``%0D%0A``): control
  characters are percent-encoded instead of crashing the response.
"""
import re

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from models.bounds import ID_DIGITS, ID_MAX

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ESCAPED_HIGH = re.compile(rb"(?:%[89a-fA-F][0-9a-fA-F])+")


class IdConverter(IntegerConverter):
    """``<int:…>`` bounded to what a record id can be (1 … ID_MAX by default); longer
    digit strings do not even match, so a 5000-digit path never reaches ``int()``."""

    regex = rf"\d{{1,{ID_DIGITS}}}"

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min=min, max=ID_MAX if max is None else max, signed=signed)


def refuse(message):
    exc = BadRequest()
    exc.chinese = message
    raise exc


def _label(name):
    """A parameter's name as it may be shown back (no control characters, short)."""
    shown = CONTROL.sub("", str(name))[:40]
    return shown.encode("utf-8", "replace").decode("utf-8") if shown else "（无名）"


def _check_text(value, where):
    if "\x00" in value:
        refuse(f"{where}中含有非法字符（空字符 \\0），请删除后重试。")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        refuse(f"{where}中含有非法字符（无法识别的字符），请检查后重试。")


def _check_utf8(raw, where):
    """``raw``: percent-encoded bytes (a query string, a form body). A UTF-8 sequence
    never contains an ASCII byte, so each run of escaped bytes ≥ 0x80 must decode on
    its own; raw bytes must decode as they are. (Regex and ``bytes.fromhex``: a 2 MB
    body costs milliseconds, where ``unquote_to_bytes`` would cost a second.)"""
    try:
        raw.decode("utf-8")
        for run in ESCAPED_HIGH.findall(raw):
            bytes.fromhex(run.replace(b"%", b"").decode("ascii")).decode("utf-8")
    except UnicodeDecodeError:
        refuse(f"{where}不是有效的 UTF-8 编码，请检查后重试。")


def _check_pairs(pairs, kind):
    for name, value in pairs:
        _check_text(name, f"{kind}名称")
        if isinstance(value, str):
            _check_text(value, f"{kind}“{_label(name)}”")


def _check_json(value, path="JSON"):
    if isinstance(value, str):
        _check_text(value, f"{path}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, f"{path} 的字段名")
            _check_json(item, f"{path} 字段“{_label(key)}”")
    elif isinstance(value, list):
        for item in value:
            _check_json(item, path)


def check_request():
    """The before-request hook (registered first)."""
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "upload_limit", None)
    if limit:  # a photo form (services.photos.accepts_uploads): its larger body limit, before parsing
        request.max_content_length = limit
    raw_path = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    try:
        raw_path.decode("utf-8")
    except UnicodeDecodeError:
        refuse("网址不是有效的 UTF-8 编码。")
    _check_text(request.path, "网址")
    _check_utf8(request.query_string, "查询参数")
    _check_pairs(request.args.items(multi=True), "查询参数")
    for name, value in request.headers.items():
        if "\x00" in value:
            refuse(f"请求头 {_label(name)} 中含有非法字符（空字符 \\0）。")
    mimetype = request.mimetype
    if mimetype == FORM_TYPES[0]:
        # the body is kept: form parsing reads it from the cache afterwards
        _check_utf8(request.get_data(cache=True), "提交的表单")
    if mimetype in FORM_TYPES:
        _check_pairs(request.form.items(multi=True), "表单字段")
        for name, upload in request.files.items(multi=True):
            _check_text(name, "表单字段名称")
            _check_text(upload.filename or "", "上传文件名")
    elif request.is_json:
        body = request.get_json(silent=True)
        if body is not None:
            _check_json(body)


def safe_location(location):
    """A redirect target with control characters percent-encoded: no header injection,
    no 500 for a ``url=`` or ``next=`` holding a line break."""
    return CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", location) if isinstance(location, str) else location


def init_app(app):
    """Before any rule is added: the bounded converter; first of the request hooks."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)
    plain_redirect = app.redirect

    def redirect(location, code=302):
        return plain_redirect(safe_location(location), code)

    app.redirect = redirect
