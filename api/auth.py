"""Who is calling the API: a bearer token, or the logged-in session (with CSRF on writes).

- ``Authorization: Bearer hsl_…``: looked up by digest (services.tokens). A wrong or
  revoked token is a 401, never a silent fall-back to the session; repeated failures
  from one address are a 429 (counted in the LoginAttempt table, shared by workers).
- the session cookie: unsafe methods must carry ``X-CSRFToken`` (Flask-WTF's token).
- writes are capped per account per minute (counted from the audit log they leave).
"""
import datetime as dt

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from auth.permissions import can
from models import AuditLog, LoginAttempt, now
from services import tokens

from .errors import fail

TOKEN_FAILURE_MARK = "[api-token]"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _ip():
    return (request.remote_addr or "?")[:64]


def _token_failures_exceeded():
    cfg = current_app.config
    since = now() - dt.timedelta(minutes=cfg.get("API_AUTH_WINDOW_MINUTES", 15))
    failures = (LoginAttempt.select()
                .where(LoginAttempt.username == TOKEN_FAILURE_MARK, LoginAttempt.ip == _ip(),
                       LoginAttempt.created_at >= since, LoginAttempt.cleared_at.is_null())
                .count())
    return failures >= cfg.get("API_AUTH_MAX_FAILURES", 20)


def _bearer():
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        fail(401, "Authorization 头格式应为：Bearer <令牌>", {"WWW-Authenticate": "Bearer"})
    return value.strip()


def caller():
    """The authenticated account of this request, or None (cached on ``g``)."""
    if "api_caller" in g:
        return g.api_caller
    plaintext = _bearer()
    if plaintext is not None:
        if _token_failures_exceeded():
            fail(429, "令牌认证失败次数过多，请稍后再试", {"Retry-After": "60"})
        user = tokens.authenticate(plaintext)
        if user is None:
            LoginAttempt.create(username=TOKEN_FAILURE_MARK, ip=_ip())
            fail(401, "API 令牌无效或已被吊销", {"WWW-Authenticate": "Bearer"})
        g.api_auth = "token"
    elif current_user.is_authenticated:
        user = current_user._get_current_object()
        g.api_auth = "session"
    else:
        user = None
        g.api_auth = None
    g.api_caller = user
    return user


def require(permission):
    """The caller, who must be authenticated and hold ``permission``."""
    user = caller()
    if user is None:
        fail(401, "请先登录，或在 Authorization 头中提供 API 令牌", {"WWW-Authenticate": "Bearer"})
    if not can(user, permission):
        fail(403, "当前账号没有执行此操作的权限")
    return user


def check_write(user):
    """CSRF for session writes, and the per-account write cap (429)."""
    if request.method not in SAFE_METHODS and g.get("api_auth") == "session" \
            and current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
        except ValidationError:
            fail(400, "缺少或无效的 CSRF 令牌：使用登录会话调用写接口时，请在 X-CSRFToken 头中提供令牌")
    limit = current_app.config.get("API_WRITES_PER_MINUTE", 60)
    if limit:
        since = now() - dt.timedelta(minutes=1)
        recent = AuditLog.select().where(AuditLog.user == user.id, AuditLog.created_at >= since).count()
        if recent >= limit:
            fail(429, f"写操作过于频繁（每分钟最多 {limit} 次），请稍后再试", {"Retry-After": "60"})
