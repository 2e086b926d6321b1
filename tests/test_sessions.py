"""Sessions that end on the server, equal-time logins, a lock-out nobody can aim at a real
account, and an audit log that names password and role changes.

Everything goes through the login form and the admin, as a person would; a "stolen" cookie
is replayed from a second client that holds nothing else.
"""
import datetime as dt
import hashlib
import re

import pytest

from models import AuditLog, LoginAttempt, LoginSession, Role, SessionEnd, User, db
from services import accounts

from . import factories as f
from .adminkit import csrf_token, field_errors, flashes
from .conftest import ON_POSTGRES

NEW_PASSWORD = "brand-new-pass-7"
ATTACKER, OFFICE = "203.0.113.9", "198.51.100.20"


def login(client, username, password=f.PASSWORD, remember=False, ip=None):
    data = {"username": username, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip} if ip else {})


def logged_in_client(app, user, remember=False):
    client = app.test_client()
    response = login(client, user.username, remember=remember)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def cookies_of(client):
    """The cookies a thief would copy: {name: value}."""
    return {name: client.get_cookie(name).value for name in ("session", "remember_token")
            if client.get_cookie(name) is not None}


def replay(app, cookies):
    """A fresh browser holding only ``cookies``."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def can_open_admin(client):
    return client.get("/admin/").status_code == 200


def audit_rows(user, action):
    return list(AuditLog.select().where(AuditLog.entity == "User", AuditLog.entity_id == str(user.id),
                                        AuditLog.action == action).order_by(AuditLog.id))


def admin_edit_user(client, user, **changes):
    data = {"username": user.username, "display_name": user.display_name or "", "role": user.role,
            "unit": user.unit_id or "__None", "active": "y" if user.active else "", "password": ""}
    data.update(changes)
    data = {k: v for k, v in data.items() if v not in (None, False)}
    if not data.get("active"):
        data.pop("active", None)
    return client.post(f"/admin/account/edit/?id={user.id}", data=data)


# --- logging out ------------------------------------------------------------------------

def test_the_cookies_carry_a_session_token_not_the_account_id(app):
    clerk = f.make_user(role=Role.CLERK)
    client = logged_in_client(app, clerk, remember=True)
    with client.session_transaction() as session:
        token = session["_user_id"]
    assert token != str(clerk.id) and len(token) >= 40
    row = LoginSession.get(LoginSession.user == clerk.id)
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()  # only the digest is stored
    assert row.remember and row.ended_at is None and row.ip == "127.0.0.1"
    assert token not in client.get_cookie("remember_token").value.split("|")[1]  # value|HMAC


def test_logout_ends_the_session_and_the_remember_cookie_on_the_server(app):
    clerk = f.make_user(role=Role.CLERK)
    client = logged_in_client(app, clerk, remember=True)
    stolen = cookies_of(client)
    assert set(stolen) == {"session", "remember_token"}
    assert can_open_admin(replay(app, stolen))
    assert can_open_admin(replay(app, {"remember_token": stolen["remember_token"]}))

    assert replay(app, stolen).get("/api/v1/me").get_json()["authenticated"] is True
    assert client.post("/logout").status_code == 302
    assert not can_open_admin(client)
    for copy in (stolen, {"session": stolen["session"]}, {"remember_token": stolen["remember_token"]}):
        thief = replay(app, copy)
        assert thief.get("/admin/").status_code == 302, copy.keys()
        assert thief.get("/admin/grid/").headers["Location"].startswith("/login")
        assert thief.get("/api/v1/me").get_json()["authenticated"] is False  # the API's session login too
    row = LoginSession.get(LoginSession.user == clerk.id)
    assert row.ended_at is not None and row.end_reason == SessionEnd.LOGOUT
    assert [r.changes for r in audit_rows(clerk, "logout")] == [None]


def test_logging_out_on_one_device_keeps_the_others(app):
    clerk = f.make_user(role=Role.CLERK)
    phone, desktop = logged_in_client(app, clerk), logged_in_client(app, clerk, remember=True)
    phone.post("/logout")
    assert not can_open_admin(phone) and can_open_admin(desktop)


def test_sessions_expire_on_the_server(app, clock):
    unit_user = f.make_user(role=Role.UNIT)
    plain, remembered = logged_in_client(app, unit_user), logged_in_client(app, unit_user, remember=True)
    stolen = cookies_of(remembered)
    hours = app.config["LOGIN_SESSION_HOURS"]
    clock.advance(dt.timedelta(hours=hours) - dt.timedelta(minutes=1))
    assert plain.get("/my/claims").status_code == 200
    clock.advance(dt.timedelta(minutes=2))
    response = plain.get("/my/claims")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert remembered.get("/my/claims").status_code == 200
    # the remember cookie ends on the server with its lifetime, whatever the browser keeps
    clock.advance(app.config["REMEMBER_COOKIE_DURATION"])
    assert remembered.get("/my/claims").status_code == 302
    assert replay(app, {"remember_token": stolen["remember_token"]}).get("/my/claims").status_code == 302


def test_a_plain_login_lasts_hours_and_remember_me_days(app):
    clerk = f.make_user(role=Role.CLERK)
    logged_in_client(app, clerk)
    logged_in_client(app, clerk, remember=True)
    plain, remembered = LoginSession.select().where(LoginSession.user == clerk.id).order_by(LoginSession.id)
    assert (plain.expires_at - plain.created_at).total_seconds() == app.config["LOGIN_SESSION_HOURS"] * 3600
    assert remembered.expires_at - remembered.created_at == app.config["REMEMBER_COOKIE_DURATION"]
    assert app.config["REMEMBER_COOKIE_DURATION"].days == 30


# --- the CSRF token at login ----------------------------------------------------------------

def test_login_renews_the_csrf_token(csrf_app):
    clerk = f.make_user(role=Role.CLERK)
    client = csrf_app.test_client()
    before = csrf_token(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as session:
        raw_before = session["csrf_token"]
    response = client.post("/login", data={"username": clerk.username, "password": f.PASSWORD,
                                           "csrf_token": before})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "csrf_token" not in session  # the anonymous token is gone
    after = csrf_token(client.get("/admin/").get_data(as_text=True))
    with client.session_transaction() as session:
        assert session["csrf_token"] != raw_before
    # a token planted before the login (e.g. by someone who set the victim's cookie) is refused
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert can_open_admin(client)
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302
    assert not can_open_admin(client)


def test_a_visitors_remembered_sign_ups_survive_the_login(app):
    clerk = f.make_user(role=Role.CLERK)
    client = app.test_client()
    with client.session_transaction() as session:
        session["my_signups"] = [7]
    login(client, clerk.username)
    with client.session_transaction() as session:
        assert session["my_signups"] == [7]
    client.post("/logout")
    with client.session_transaction() as session:
        assert "my_signups" not in session  # a shared computer keeps nothing of the last person


# --- password changes, resets and deactivation end every session ------------------------------

def test_an_admin_password_reset_ends_every_session_of_that_account_only(app, client, auth):
    admin = auth.as_role(Role.ADMIN)
    unit_user = f.make_user(role=Role.UNIT, display_name="联络员")
    other = f.make_user(role=Role.UNIT)
    phone, remembered = logged_in_client(app, unit_user), logged_in_client(app, unit_user, remember=True)
    stolen = cookies_of(remembered)
    bystander = logged_in_client(app, other)

    response = admin_edit_user(client, unit_user, password=NEW_PASSWORD)
    assert response.status_code == 302, field_errors(response.get_data(as_text=True))
    for browser in (phone, remembered, replay(app, stolen), replay(app, {"remember_token": stolen["remember_token"]})):
        assert browser.get("/my/claims").status_code == 302
    assert bystander.get("/my/claims").status_code == 200
    assert client.get("/admin/").status_code == 200  # the admin who did it stays in

    assert LoginSession.select().where(LoginSession.user == unit_user.id,
                                       LoginSession.end_reason == SessionEnd.PASSWORD).count() == 2
    assert [r.changes for r in audit_rows(unit_user, "password")] == ["修改密码（结束 2 个登录会话）"]
    assert audit_rows(unit_user, "password")[0].username == admin.username
    assert audit_rows(unit_user, "update") == []  # nothing else changed
    assert not any(User.get_by_id(unit_user.id).password_hash in (r.changes or "")
                   for r in AuditLog.select())
    assert login(app.test_client(), unit_user.username).status_code == 401
    assert login(app.test_client(), unit_user.username, NEW_PASSWORD).status_code == 302


def test_an_admin_editing_their_own_password_stays_logged_in(app, client, auth):
    admin = auth.as_role(Role.ADMIN)
    elsewhere = logged_in_client(app, admin)
    response = admin_edit_user(client, admin, password=NEW_PASSWORD)
    assert response.status_code == 302
    assert can_open_admin(client) and not can_open_admin(elsewhere)


def test_a_role_change_is_named_and_applies_at_once(app, client, auth):
    auth.as_role(Role.ADMIN)
    unit_user = f.make_user(role=Role.UNIT, display_name="联络员")
    theirs = logged_in_client(app, unit_user)
    assert theirs.get("/admin/").status_code == 403

    response = admin_edit_user(client, unit_user, role=Role.CLERK, unit="__None", display_name="社区工作人员")
    assert response.status_code == 302, field_errors(response.get_data(as_text=True))
    assert [r.changes for r in audit_rows(unit_user, "role")] == ["修改角色: 成员单位 → 工作人员"]
    update = audit_rows(unit_user, "update")
    assert len(update) == 1 and "社区工作人员" in update[0].changes and "role" not in update[0].changes
    assert audit_rows(unit_user, "password") == []
    assert theirs.get("/admin/").status_code == 200  # the same session, the new role

    listing = client.get("/admin/audit_log/").get_data(as_text=True)
    assert "修改角色" in listing and "修改角色: 成员单位 → 工作人员" in listing


def test_deactivation_ends_every_session_for_good(app, client, auth):
    auth.as_role(Role.ADMIN)
    clerk = f.make_user(role=Role.CLERK)
    theirs = logged_in_client(app, clerk, remember=True)
    stolen = cookies_of(theirs)

    assert admin_edit_user(client, clerk, active=False).status_code == 302
    assert not can_open_admin(theirs)
    assert [r.changes for r in audit_rows(clerk, "deactivate")] == ["停用账号（结束 1 个登录会话）"]
    refused = login(app.test_client(), clerk.username)  # told why, not 用户名或密码错误
    assert refused.status_code == 403 and "该账号已停用" in refused.get_data(as_text=True)

    clerk = User.get_by_id(clerk.id)
    assert admin_edit_user(client, clerk, active="y").status_code == 302
    assert [r.changes for r in audit_rows(clerk, "activate")] == ["启用账号"]
    # switched back on, the account needs a new login: the old cookies stay dead
    assert not can_open_admin(replay(app, stolen))
    assert not can_open_admin(replay(app, {"remember_token": stolen["remember_token"]}))
    assert login(app.test_client(), clerk.username).status_code == 302


def test_an_admin_cannot_lock_themselves_out(client, auth):
    admin = auth.as_role(Role.ADMIN)
    response = admin_edit_user(client, admin, active=False)
    assert response.status_code == 200
    assert "不能停用当前登录的账号" in field_errors(response.get_data(as_text=True))["active"]
    response = admin_edit_user(client, admin, role=Role.CLERK)
    assert "不能取消当前登录账号的管理员角色" in field_errors(response.get_data(as_text=True))["role"]
    admin = User.get_by_id(admin.id)
    assert admin.active and admin.role == Role.ADMIN and can_open_admin(client)


def test_the_command_line_reset_ends_every_session(app, runner):
    clerk = f.make_user(role=Role.CLERK)
    theirs = logged_in_client(app, clerk, remember=True)
    result = runner.invoke(args=["set-password", clerk.username, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert f"已重置 {clerk.username} 的密码，结束 1 个登录会话。" in result.output
    assert not can_open_admin(theirs)
    assert [r.changes for r in audit_rows(clerk, "password")] == ["重置密码（命令行）（结束 1 个登录会话）"]
    assert User.get_by_id(clerk.id).check_password(NEW_PASSWORD)

    short = runner.invoke(args=["set-password", clerk.username, "--password", "short"])
    assert short.exit_code != 0 and "密码至少 8 位" in short.output
    unknown = runner.invoke(args=["set-password", "nobody-here", "--password", NEW_PASSWORD])
    assert unknown.exit_code != 0 and "找不到账号：nobody-here" in unknown.output
    prompted = runner.invoke(args=["set-password", clerk.username], input="typed-pass-99\ntyped-pass-99\n")
    assert prompted.exit_code == 0 and "typed-pass-99" not in prompted.output
    assert User.get_by_id(clerk.id).check_password("typed-pass-99")


def test_changing_ones_own_password_ends_the_other_sessions(app):
    unit_user = f.make_user(role=Role.UNIT)
    here, there = logged_in_client(app, unit_user), logged_in_client(app, unit_user, remember=True)
    page = here.get("/account/password")
    assert page.status_code == 200 and "修改密码" in page.get_data(as_text=True)

    cases = [
        ({"current": "wrong-password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "当前密码不正确"),
        ({"current": f.PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "两次输入的新密码不一致"),
        ({"current": f.PASSWORD, "new": "short", "confirm": "short"}, "密码长度需为 8 到 200 位"),
        ({"current": f.PASSWORD, "new": f.PASSWORD, "confirm": f.PASSWORD}, "新密码不能与当前密码相同"),
    ]
    for data, message in cases:
        response = here.post("/account/password", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True), message
    assert User.get_by_id(unit_user.id).check_password(f.PASSWORD)
    assert there.get("/my/claims").status_code == 200

    response = here.post("/account/password", data={"current": f.PASSWORD, "new": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert "密码已修改。其他 1 处登录已退出。" in response.get_data(as_text=True)
    assert here.get("/my/claims").status_code == 200
    assert there.get("/my/claims").status_code == 302
    assert [r.changes for r in audit_rows(unit_user, "password")] == ["修改密码（本人，结束其他 1 个登录会话）"]


def test_anonymous_visitors_cannot_reach_the_password_page(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.post("/account/password", data={"current": "x"}).status_code == 302


# --- logins take the same work whether the account exists or not -------------------------------

def test_every_login_checks_exactly_one_hash_of_the_same_cost(client, monkeypatch):
    """The work of a login is its password hash; count the hash computations (never wall time)."""
    import hashlib as hashlib_module

    calls = []
    real = hashlib_module.pbkdf2_hmac

    def counting(name, password, salt, iterations, *args, **kwargs):
        calls.append((name, iterations))
        return real(name, password, salt, iterations, *args, **kwargs)

    clerk = f.make_user(role=Role.CLERK)
    retired = f.make_user(role=Role.CLERK, active=False)
    monkeypatch.setattr(hashlib_module, "pbkdf2_hmac", counting)
    attempts = {
        "unknown username": ("no-such-person", f.PASSWORD, 401),
        "wrong password": (clerk.username, "wrong-password", 401),
        "deactivated account, right password": (retired.username, f.PASSWORD, 403),
        "right password": (clerk.username, f.PASSWORD, 302),
    }
    work = {}
    for label, (username, password, status) in attempts.items():
        calls.clear()
        response = login(client, username, password, ip=f"192.0.2.{len(work) + 1}")
        assert response.status_code == status, label
        work[label] = list(calls)
        if status == 302:
            client.post("/logout")
    assert all(len(w) == 1 for w in work.values()), work
    assert len(set(map(tuple, work.values()))) == 1, work  # same method, same iterations
    assert "该账号已停用" in login(client, retired.username).get_data(as_text=True)
    # a wrong password reveals nothing about the account
    assert "用户名或密码错误" in login(client, retired.username, "wrong-password").get_data(as_text=True)


# --- lock-out -----------------------------------------------------------------------------

def test_failing_for_the_admin_locks_only_the_failing_address(app, clock):
    admin = f.make_user(role=Role.ADMIN)
    attacker = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(attacker, admin.username, "guess-guess", ip=ATTACKER).status_code == 401
    refused = login(attacker, admin.username, ip=ATTACKER)  # even the right password
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_data(as_text=True)
    assert not can_open_admin(attacker)

    office = app.test_client()
    assert login(office, admin.username, ip=OFFICE).status_code == 302
    assert can_open_admin(office)
    # the attacker may still try other accounts until the address as a whole is spent
    assert login(attacker, "someone-else", "guess", ip=ATTACKER).status_code == 401
    # and the lock lifts by itself when the window has passed
    clock.advance(dt.timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"], seconds=1))
    assert login(attacker, admin.username, ip=ATTACKER).status_code == 302


def test_an_address_failing_across_many_usernames_is_stopped(app):
    clerk = f.make_user(role=Role.CLERK)
    sprayer = app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES_PER_IP"]):
        login(sprayer, f"user{i}", "Password1", ip=ATTACKER)
    refused = login(sprayer, clerk.username, ip=ATTACKER)
    assert refused.status_code == 429 and "此网络地址登录失败次数过多" in refused.get_data(as_text=True)
    assert login(app.test_client(), clerk.username, ip=OFFICE).status_code == 302


def test_a_correct_password_clears_that_addresss_failures(app):
    clerk = f.make_user(role=Role.CLERK)
    client = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        login(client, clerk.username, "typo-typo", ip=OFFICE)
    assert login(client, clerk.username, ip=OFFICE).status_code == 302
    client.post("/logout")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert login(client, clerk.username, "typo-typo", ip=OFFICE).status_code == 401
    assert login(client, clerk.username, ip=OFFICE).status_code == 302
    rows = list(LoginAttempt.select().where(LoginAttempt.username == clerk.username))
    assert len(rows) == 2 * (app.config["LOGIN_MAX_FAILURES"] - 1)  # kept, marked cleared
    assert all(r.cleared_at is not None for r in rows)


def test_the_admin_sees_the_locks_and_clears_them(app, client, auth):
    clerk = f.make_user(role=Role.CLERK)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(app.test_client(), clerk.username, "guess-guess", ip=ATTACKER)
    for i in range(app.config["LOGIN_MAX_FAILURES_PER_IP"]):
        login(app.test_client(), f"spray{i}", "guess", ip=OFFICE)

    admin = auth.as_role(Role.ADMIN)
    page = client.get("/admin/login_attempt/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    pairs = html.split('id="locked-pairs"')[1].split("</table>")[0]
    assert clerk.username in pairs and ATTACKER in pairs
    assert OFFICE in html.split('id="locked-ips"')[1].split("</table>")[0]
    assert "被尝试的用户名" in html and "解除锁定" in html

    response = client.post("/admin/login_attempt/unlock/", data={"ip": ATTACKER, "username": clerk.username})
    assert response.status_code == 302
    assert f"已解除 {clerk.username} @ {ATTACKER} 的登录锁定（5 条失败记录）。" in flashes(
        client.get(response.headers["Location"]).get_data(as_text=True))
    assert login(app.test_client(), clerk.username, ip=ATTACKER).status_code == 302
    client.post("/admin/login_attempt/unlock/", data={"ip": OFFICE})
    assert login(app.test_client(), clerk.username, ip=OFFICE).status_code == 302
    assert "目前没有被锁定的账号或地址" in client.get("/admin/login_attempt/").get_data(as_text=True)

    unlocks = list(AuditLog.select().where(AuditLog.action == "unlock_login").order_by(AuditLog.id))
    assert [u.changes for u in unlocks] == [f"解除登录锁定：{clerk.username} @ {ATTACKER}（5 条失败记录）",
                                            f"解除登录锁定：地址 {OFFICE}（20 条失败记录）"]
    assert {u.username for u in unlocks} == {admin.username}
    assert LoginAttempt.select().count() == 25  # nothing deleted

    bad = client.post("/admin/login_attempt/unlock/", data={"ip": ""}, follow_redirects=True)
    assert "请选择要解除锁定的地址" in bad.get_data(as_text=True)


@pytest.mark.parametrize("url, method", [
    ("/admin/login_attempt/", "get"), ("/admin/login_attempt/unlock/", "post"),
    ("/admin/login_session/", "get"), ("/admin/login_session/action/", "post"),
])
def test_clerks_and_units_cannot_see_or_clear_locks_or_sessions(client, auth, url, method):
    f.make_login_attempt(username="admin", ip=ATTACKER)
    for role in (Role.CLERK, Role.UNIT):
        auth.as_role(role)
        response = getattr(client, method)(url, data={"ip": ATTACKER, "action": "end", "rowid": "1"})
        assert response.status_code == 403, (role, url)
        auth.logout()
    assert LoginAttempt.get().cleared_at is None


def test_an_admin_ends_someone_elses_session(app, client, auth):
    auth.as_role(Role.ADMIN)
    clerk = f.make_user(role=Role.CLERK)
    theirs = logged_in_client(app, clerk)
    row = LoginSession.get(LoginSession.user == clerk.id)
    listing = client.get("/admin/login_session/").get_data(as_text=True)
    assert clerk.username in listing and "结束会话" in listing and row.digest not in listing
    response = client.post("/admin/login_session/action/", data={"action": "end", "rowid": str(row.id)})
    assert response.status_code == 302
    assert not can_open_admin(theirs) and can_open_admin(client)
    assert LoginSession.get_by_id(row.id).end_reason == SessionEnd.ADMIN
    assert AuditLog.get(AuditLog.action == "end_sessions").changes == "结束 1 个登录会话"
    details = client.get(f"/admin/login_session/details/?id={row.id}").get_data(as_text=True)
    assert row.digest not in details


def test_accounts_service_refuses_what_the_forms_refuse(app):
    clerk = f.make_user(role=Role.CLERK)
    with pytest.raises(accounts.AccountError, match="密码至少 8 位"):
        accounts.reset_password(clerk, "short")
    with pytest.raises(accounts.AccountError, match="密码不超过 200 位"):
        accounts.reset_password(clerk, "x" * 201)
    assert User.get_by_id(clerk.id).check_password(f.PASSWORD)
    assert not db.in_transaction()


def test_old_cookies_from_before_the_upgrade_open_nothing(app):
    """A cookie from the previous release carried the bare account id."""
    clerk = f.make_user(role=Role.CLERK)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(clerk.id)
        session["_fresh"] = True
    assert not can_open_admin(client)
    assert re.match(r"^/login", client.get("/admin/grid/").headers["Location"])


def test_an_unlocked_address_may_use_api_tokens_again(app, client, auth):
    from api.auth import TOKEN_FAILURE_MARK

    for _ in range(app.config.get("API_AUTH_MAX_FAILURES", 20)):
        f.make_login_attempt(username=TOKEN_FAILURE_MARK, ip=OFFICE)
    caller = app.test_client()
    bad = {"Authorization": "Bearer hsl_not-a-real-token"}
    assert caller.get("/api/v1/me", headers=bad, environ_base={"REMOTE_ADDR": OFFICE}).status_code == 429
    auth.as_role(Role.ADMIN)
    client.post("/admin/login_attempt/unlock/", data={"ip": OFFICE})
    assert caller.get("/api/v1/me", headers=bad, environ_base={"REMOTE_ADDR": OFFICE}).status_code == 401


def test_the_session_statement_reads_the_unit_and_its_text_is_made_once(app, client):
    """A unit account's page reads the session, the account and its unit in one statement
    (its text generated once, models/statements.py); a statement edited into another
    shape is refused at its first use, never run with misplaced parameters."""
    from models import statements

    from .querycount import count_queries

    user = f.make_user(role=Role.UNIT, unit=f.make_unit(name="一号单位"))
    assert login(client, user.username).status_code == 302
    assert client.get("/my").status_code == 200
    with count_queries() as executed:
        assert "一号单位" in client.get("/my").get_data(as_text=True)
    assert [sql for sql in executed if '"member_unit"' in sql] == [executed[0]]
    assert '"login_session"' in executed[0]
    query = User.select(User.id).where(User.username == "x").limit(1)
    with pytest.raises(RuntimeError):
        statements.sql_once("test_misplaced", query, [1, "x"])
    assert statements.sql_once("test_placed", query, ["x", 1])


def test_a_statement_shaped_by_a_few_values_is_learnt_once_and_filled_in(app):
    """models/statements.shaped: ids and an instant (also one shifted by a fixed time) are
    found among the parameters and filled in on later calls; a parameter that follows the
    values any other way leaves the shape unlearnt, and every call is still right."""
    import datetime as dt

    from models import statements

    at = dt.datetime(2026, 11, 30, 23, 30)

    def build(user, at):
        return User.select(User.id).where(User.id == user, User.created_at > at - dt.timedelta(days=1),
                                          User.username != "x")

    first = statements.shaped("test_shaped", build, {"user": 7, "at": at})
    assert first == statements._generate(build(7, at))
    later = dt.datetime(2027, 1, 1, 8, 0)
    assert statements.shaped("test_shaped", build, {"user": 12, "at": later}) == statements._generate(build(12, later))
    assert statements._shapes[("test_shaped", type(db.obj), (), (False, False))] != statements._UNSAFE

    def doubled(user):
        return User.select(User.id).where(User.id == user * 2)

    assert statements.shaped("test_doubled", doubled, {"user": 3})[1] == [6]
    assert statements._shapes[("test_doubled", type(db.obj), (), (False,))] == statements._UNSAFE
    assert statements.shaped("test_doubled", doubled, {"user": 5})[1] == [10]


def test_a_one_row_insert_keeps_its_text_and_writes_what_peewee_would(app):
    """statements.OnceInsert: a create's text is kept per model and set of columns (after
    the first row's parameters matched peewee's); a later row with other values writes them
    (a foreign key given as a model, a None, a default); a row holding an SQL expression is
    generated by peewee as before."""
    from peewee import fn

    from models import AuditLog, statements

    user = f.make_user(role=Role.CLERK, username="once-insert")
    first = AuditLog.create(user=user, username="a", action="t1", entity="E", entity_id="1", changes="x")
    columns = {"user", "username", "action", "entity", "entity_id", "changes", "created_at"}
    key = next(k for k in statements._inserts if k[0] is AuditLog and {c.name for c in k[1]} == columns)
    assert statements._inserts[key]
    second = AuditLog.create(user=None, username="b", action="t2", entity="F", entity_id=None, changes=None)
    third = AuditLog.create(user=user, username=fn.LOWER("C"), action="t3", entity="G", entity_id="3", changes="z")
    rows = {r.id: r for r in AuditLog.select().where(AuditLog.id.in_([first.id, second.id, third.id]))}
    assert (rows[first.id].user_id, rows[first.id].action, rows[first.id].changes) == (user.id, "t1", "x")
    assert (rows[second.id].user_id, rows[second.id].entity_id, rows[second.id].changes) == (None, None, None)
    assert rows[second.id].created_at is not None and rows[second.id].action == "t2"
    assert (rows[third.id].username, rows[third.id].user_id) == ("c", user.id)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's prepared statements")
def test_postgresql_prepares_a_fixed_statement_once_per_connection(app):
    """models/statements.execute: PREPARE on a connection's first use (not counted as a
    statement), EXECUTE afterwards; the prepared statement outlives a rolled-back
    transaction, and its rows are the query's own."""
    from models import db, statements

    from .querycount import count_queries

    user = f.make_user(role=Role.CLERK, username="prepared-x")
    query = User.select(User.id, User.username).where(User.username == "prepared-x").limit(1)
    with count_queries() as executed:
        first = list(statements.rows("test_prepared", query, ["prepared-x", 1]))
        again = list(statements.rows("test_prepared", query, ["prepared-x", 1]))
    assert [(u.id, u.username) for u in first + again] == [(user.id, "prepared-x")] * 2
    assert len(executed) == 2 and all('"account"' in sql for sql in executed)
    prepared = dict(db.execute_sql("SELECT name, statement FROM pg_prepared_statements").fetchall())
    assert '"account"' in prepared["hsl_test_prepared"]
    nobody = User.select(User.id, User.username).where(User.username == "nobody").limit(1)
    with db.atomic() as transaction:
        assert list(statements.rows("test_prepared_rb", nobody, ["nobody", 1])) == []
        transaction.rollback()
    assert [u.id for u in statements.rows("test_prepared_rb", query, ["prepared-x", 1])] == [user.id]
