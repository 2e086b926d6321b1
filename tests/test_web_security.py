"""Cookie flags, proxy trust, trusted hosts and the Content-Security-Policy, as configured
from the environment (auth/web_security.py)."""
import re
import uuid
from pathlib import Path

import pytest

from app import create_app
from auth import web_security
from models import LoginAttempt, Role, db

from . import factories as f
from .adminkit import populate

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ATTR_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)([^>]*)>", re.I)


def app_with(database_url, monkeypatch, env=None, **config):
    """An app built the way gunicorn builds it: settings from the environment."""
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    built = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": uuid.uuid4().hex,
                        "WTF_CSRF_ENABLED": False, **config})
    db.obj.connect(reuse_if_open=True)
    return built


def set_cookies(response):
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


# --- cookies ------------------------------------------------------------------------------

def test_cookies_are_secure_httponly_and_samesite_behind_https(database_url, monkeypatch):
    secure = app_with(database_url, monkeypatch, env={"PUBLIC_BASE_URL": "https://hongpu.example.org/"})
    assert secure.config["PUBLIC_BASE_URL"] == "https://hongpu.example.org"
    clerk = f.make_user(role=Role.CLERK)
    response = secure.test_client().post("/login", data={
        "username": clerk.username, "password": f.PASSWORD, "remember": "y"})
    assert response.status_code == 302
    cookies = set_cookies(response)
    for name in ("session", "remember_token"):
        flags = cookies[name]
        assert "; Secure" in flags and "; HttpOnly" in flags and "SameSite=Lax" in flags, flags


def test_plain_http_setups_keep_cookies_usable_and_the_environment_decides(database_url, monkeypatch):
    plain = app_with(database_url, monkeypatch)
    assert plain.config["SESSION_COOKIE_SECURE"] is False and plain.config["REMEMBER_COOKIE_SECURE"] is False
    clerk = f.make_user(role=Role.CLERK)
    response = plain.test_client().post("/login", data={
        "username": clerk.username, "password": f.PASSWORD, "remember": "y"})
    remember = set_cookies(response)["remember_token"]
    assert "Secure" not in remember and "HttpOnly" in remember and "SameSite=Lax" in remember

    forced = app_with(database_url, monkeypatch, env={
        "SESSION_COOKIE_SECURE": "1", "REMEMBER_COOKIE_SECURE": "0", "REMEMBER_COOKIE_DAYS": "7",
        "LOGIN_SESSION_HOURS": "8"})
    assert forced.config["SESSION_COOKIE_SECURE"] is True and forced.config["REMEMBER_COOKIE_SECURE"] is False
    assert forced.config["REMEMBER_COOKIE_DURATION"].days == 7 and forced.config["LOGIN_SESSION_HOURS"] == 8


@pytest.mark.parametrize("env, message", [
    ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE 应为 1 或 0"),
    ({"PUBLIC_BASE_URL": "hongpu.example.org"}, "PUBLIC_BASE_URL 应形如"),
    ({"PUBLIC_BASE_URL": "https://hongpu.example.org/?a=1"}, "PUBLIC_BASE_URL 应形如"),
    ({"PROXY_FIX": "all"}, "PROXY_FIX 应为整数"),
    ({"REMEMBER_COOKIE_DAYS": "-3"}, "REMEMBER_COOKIE_DAYS 应为不小于 1 的整数"),
])
def test_a_setting_that_cannot_work_stops_the_start(database_url, monkeypatch, env, message):
    with pytest.raises(web_security.ConfigError, match=message):
        app_with(database_url, monkeypatch, env=env)


# --- proxy ----------------------------------------------------------------------------------

def _failed_login_from(app, forwarded):
    app.test_client().post("/login", data={"username": "someone", "password": "wrong-password"},
                           headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"},
                           environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return LoginAttempt.select().order_by(LoginAttempt.id.desc()).get().ip


def test_forwarded_headers_count_only_behind_a_configured_proxy(database_url, monkeypatch):
    direct = app_with(database_url, monkeypatch)
    assert direct.config["PROXY_FIX"] is None
    # without a proxy, a client cannot pick the address its failures are counted under
    assert _failed_login_from(direct, "203.0.113.50") == "10.0.0.2"

    proxied = app_with(database_url, monkeypatch, env={"PROXY_FIX": "1"})
    assert proxied.config["PROXY_FIX"] == {"for": 1, "proto": 1, "host": 0, "port": 0, "prefix": 0}
    assert _failed_login_from(proxied, "203.0.113.50") == "203.0.113.50"
    # one trusted hop: an address the client put in front of the proxy's is not believed
    assert _failed_login_from(proxied, "6.6.6.6, 203.0.113.51") == "203.0.113.51"
    f.make_event(), f.make_event()
    body = proxied.test_client().get("/api/v1/events?per_page=1", headers={"X-Forwarded-Proto": "https"}).get_json()
    assert body["next"].startswith("https://localhost/api/v1/events?")
    body = direct.test_client().get("/api/v1/events?per_page=1", headers={"X-Forwarded-Proto": "https"}).get_json()
    assert body["next"].startswith("http://localhost/api/v1/events?")

    detailed = app_with(database_url, monkeypatch, env={"PROXY_FIX": "for=2,proto=1,host=1"})
    assert detailed.config["PROXY_FIX"] == {"for": 2, "proto": 1, "host": 1, "port": 0, "prefix": 0}


# --- hosts ----------------------------------------------------------------------------------

def test_trusted_hosts_refuse_any_other_host(database_url, monkeypatch):
    guarded = app_with(database_url, monkeypatch, env={"TRUSTED_HOSTS": "hongpu.example.org, .hongpu.example.org"})
    assert guarded.config["TRUSTED_HOSTS"] == ["hongpu.example.org", ".hongpu.example.org"]
    client = guarded.test_client()
    assert client.get("/calendar", headers={"Host": "hongpu.example.org"}).status_code == 200
    assert client.get("/calendar", headers={"Host": "www.hongpu.example.org"}).status_code == 200
    for path in ("/calendar", "/calendar.ics", "/login", "/api/v1/events", "/admin/"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400, path
        assert "主机名不在本站允许的范围内" in response.get_data(as_text=True)
    assert client.post("/login", data={"username": "x", "password": "y"},
                       headers={"Host": "evil.example"}).status_code == 400
    assert LoginAttempt.select().count() == 0


def test_server_name_comes_from_the_environment(database_url, monkeypatch):
    named = app_with(database_url, monkeypatch, env={"SERVER_NAME": "hongpu.example.org"})
    assert named.config["SERVER_NAME"] == "hongpu.example.org"


# --- the Content-Security-Policy ----------------------------------------------------------------

def _policy(response):
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_every_page_forbids_inline_script(client, auth):
    event = f.make_event()
    project = f.make_project()
    pages = ["/", "/calendar", f"/events/{event.id}", "/projects", f"/projects/{project.id}", "/login",
             "/api/v1/docs", "/api/v1/events", "/nope"]
    for path in pages:
        policy = _policy(client.get(path))
        assert policy["script-src"] == "'self'", path  # no nonce: these pages have no inline script
        assert "unsafe-inline" not in policy["style-src"] and policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'self'" and policy["base-uri"] == "'self'"


def test_admin_pages_carry_a_fresh_nonce_that_flask_admin_uses(client, auth):
    auth.as_role(Role.CLERK)
    first, second = client.get("/admin/grid/"), client.get("/admin/grid/")
    nonces = []
    for response in (first, second):
        policy = _policy(response)
        match = re.fullmatch(r"'self' 'nonce-([\w-]+)'", policy["script-src"])
        assert match, policy["script-src"]
        nonces.append(match.group(1))
        html = response.get_data(as_text=True)
        assert f'nonce="{match.group(1)}"' in html  # Flask-Admin's <script> tags carry it
        assert "'unsafe-inline'" not in policy["script-src"]
    assert nonces[0] != nonces[1]


def _rendered_admin_pages(client, auth):
    records = populate(copies=1)
    auth.as_role(Role.ADMIN)
    pages = ["/admin/", "/admin/checkin/", "/admin/points-bank/", "/admin/points-bank/teams",
             f"/admin/checkin/event/{records['event'][0].id}",
             f"/admin/points-bank/volunteer/{records['volunteer'][0].id}",
             f"/admin/points-bank/volunteer/{records['volunteer'][0].id}/statement",
             "/admin/claim/review/", "/admin/login_attempt/"]
    for table, rows in records.items():
        pages += [f"/admin/{table}/", f"/admin/{table}/new/", f"/admin/{table}/edit/?id={rows[0].id}",
                  f"/admin/{table}/details/?id={rows[0].id}"]
    for path in pages:
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            yield path, response.get_data(as_text=True)


def test_no_rendered_admin_page_has_an_inline_handler_or_unnonced_script(client, auth):
    seen = 0
    for path, html in _rendered_admin_pages(client, auth):
        seen += 1
        assert not ATTR_HANDLER.search(html), (path, ATTR_HANDLER.search(html).group(0))
        for attrs in INLINE_SCRIPT.findall(html):
            assert 'type="application/json"' in attrs or "nonce=" in attrs, (path, attrs)
        assert "<style" not in html, path
    assert seen > 40


def test_our_templates_have_no_inline_script_or_handlers():
    for path in TEMPLATES.rglob("*.html"):
        text = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.S)
        assert not ATTR_HANDLER.search(text), path
        assert "javascript:" not in text, path
        assert "<style" not in text, path
        for attrs in INLINE_SCRIPT.findall(text):
            assert 'type="application/json"' in attrs, (path, attrs)


def test_the_site_has_an_icon_where_browsers_ask_for_it(client):
    """Browsers fetch /favicon.ico on every site; a 404 there is a console error on every page."""
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert b"<svg" in response.get_data() and "max-age=86400" in response.headers["Cache-Control"]
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
