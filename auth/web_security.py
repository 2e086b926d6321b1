"""The HTTP side of security, configured from the environment in one place.

- cookies: ``SESSION_COOKIE_SECURE`` / ``REMEMBER_COOKIE_SECURE`` (default: on when
  ``PUBLIC_BASE_URL`` is https), SameSite=Lax and HttpOnly on both cookies, the remember
  cookie's lifetime (``REMEMBER_COOKIE_DAYS``) and a server-side cap on a plain login
  (``LOGIN_SESSION_HOURS``; services/sessions.py);
- the proxy: Werkzeug's ``ProxyFix`` only when ``PROXY_FIX`` says how many proxies to trust,
  so that without a proxy nobody can choose their own address with X-Forwarded-For (login
  throttling counts by address);
- hosts: ``TRUSTED_HOSTS`` (Flask refuses any other Host with a 400), ``SERVER_NAME``, and
  ``PUBLIC_BASE_URL``, from which every absolute link is built (services/links.py);
- the Content-Security-Policy of every response: scripts only from this site (plus a
  per-request nonce when a page has an inline script: Flask-Admin's modals), no inline
  event handlers, ``<style>`` elements only from this site or with the nonce. Style
  *attributes* are allowed (``style-src-attr 'unsafe-inline'``): select2 3.5, which
  Flask-Admin ships, sets them with ``attr("style", …)``; a style attribute can restyle
  one element but, unlike an injected ``<style>`` sheet, cannot select other elements to
  read attribute values out of the page.
"""
import datetime as dt
import secrets
from urllib.parse import urlsplit

from flask import g
from werkzeug.exceptions import SecurityError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")
PROXY_KEYS = ("for", "proto", "host", "port", "prefix")

CSP = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("style-src-attr", "'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self' data:"),
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'self'"),
)
NONCED = ("script-src", "style-src")


class ConfigError(ValueError):
    """A setting that cannot work; raised when the app is built, not on the first request."""


def _flag(environ, key):
    value = environ.get(key)
    if value is None:
        return None
    value = value.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{key} 应为 1 或 0（当前为 {environ[key]!r}）")


def _int(environ, key, minimum=1):
    value = environ.get(key, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < minimum:
        raise ConfigError(f"{key} 应为不小于 {minimum} 的整数（当前为 {environ[key]!r}）")
    return int(value)


def defaults():
    return {
        "SESSION_COOKIE_SECURE": None,  # None: decided by PUBLIC_BASE_URL in finish_config
        "REMEMBER_COOKIE_SECURE": None,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": dt.timedelta(days=30),
        "LOGIN_SESSION_HOURS": 12,
        "LOGIN_MAX_FAILURES_PER_IP": 20,
        "PUBLIC_BASE_URL": None,
        "PROXY_FIX": None,
        "TRUSTED_HOSTS": None,
    }


def from_environ(environ):
    """The settings the environment gives (only those it gives)."""
    out = {}
    for key in ("PUBLIC_BASE_URL", "SERVER_NAME", "PROXY_FIX"):
        if environ.get(key, "").strip():
            out[key] = environ[key].strip()
    if environ.get("TRUSTED_HOSTS", "").strip():
        out["TRUSTED_HOSTS"] = [h.strip() for h in environ["TRUSTED_HOSTS"].split(",") if h.strip()]
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        flag = _flag(environ, key)
        if flag is not None:
            out[key] = flag
    days = _int(environ, "REMEMBER_COOKIE_DAYS")
    if days:
        out["REMEMBER_COOKIE_DURATION"] = dt.timedelta(days=days)
    for key in ("LOGIN_SESSION_HOURS", "LOGIN_MAX_FAILURES", "LOGIN_MAX_FAILURES_PER_IP", "LOGIN_WINDOW_MINUTES"):
        number = _int(environ, key)
        if number:
            out[key] = number
    return out


def finish_config(config):
    """Check and complete the settings once every layer (defaults, environment, the
    caller's override) is in."""
    base = config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
                or "@" in parts.netloc:
            raise ConfigError(f"PUBLIC_BASE_URL 应形如 https://example.org 或 https://example.org/前缀（当前为 {base!r}）")
        config["PUBLIC_BASE_URL"] = base.rstrip("/")
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = bool(base) and base.startswith("https://")
    if config.get("REMEMBER_COOKIE_SECURE") is None:
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if isinstance(config.get("TRUSTED_HOSTS"), str):
        config["TRUSTED_HOSTS"] = [h.strip() for h in config["TRUSTED_HOSTS"].split(",") if h.strip()]
    config["PROXY_FIX"] = proxy_counts(config.get("PROXY_FIX"))


def proxy_counts(value):
    """``PROXY_FIX``: ``N`` trusts X-Forwarded-For and -Proto from N proxies;
    ``for=1,proto=1,host=1,port=0,prefix=0`` sets each header's count; empty or 0: off."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, dict):
        counts = dict(value)
    elif isinstance(value, int) or str(value).strip().isdigit():
        n = int(value)
        counts = {"for": n, "proto": n}
    else:
        counts = {}
        for part in str(value).split(","):
            key, _, number = part.strip().partition("=")
            if key not in PROXY_KEYS or not number.strip().isdigit():
                raise ConfigError(f"PROXY_FIX 应为整数或 for=1,proto=1,host=0 形式（当前为 {value!r}）")
            counts[key] = int(number)
    if not any(counts.values()):
        return None
    return {key: int(counts.get(key, 0)) for key in PROXY_KEYS}


def init_app(app):
    counts = app.config["PROXY_FIX"]
    if counts:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, **{f"x_{k}": v for k, v in counts.items()})
    app.register_error_handler(SecurityError, untrusted_host)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(content_security_policy)


def untrusted_host(exc):
    """A Host not in TRUSTED_HOSTS: a plain 400 (no page: building its links needs a host)."""
    return "请求的主机名不在本站允许的范围内。", 400, {"Content-Type": "text/plain; charset=utf-8"}


def csp_nonce():
    """This request's nonce (made on first use); the policy names it only when used."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(response):
    nonce = g.get("csp_nonce")
    parts = []
    for directive, sources in CSP:
        if nonce and directive in NONCED:
            sources = f"{sources} 'nonce-{nonce}'"
        parts.append(f"{directive} {sources}")
    response.headers.setdefault("Content-Security-Policy", "; ".join(parts))
    return response
