"""The admin lists' per-account cache (web/pagecache.admin_cached) and the records' version
it is keyed by (models/dataversion.py, migration 062): a write anywhere shows on the next
request — also when another app server made it —, a hit costs the one statement the
session check makes anyway, nothing of one account or session reaches another, and a
session ended or an account deactivated is refused before any cached page is looked at."""
import re

import pytest

from models import ALL_MODELS, LoginSession, Notice, Project, Role, db
from models.dataversion import UNVERSIONED_TABLES, records_version
from services import sessions
from services.stats import on_postgres
from tests.live import csrf_token, live_server, login_session

from . import factories as f
from .conftest import ON_POSTGRES
from .querycount import count_queries

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:300])
    return response


def login(client, user):
    assert client.post("/login", data={"username": user.username, "password": f.PASSWORD}).status_code == 302


# --- the version ---------------------------------------------------------------------------

def test_every_table_but_the_unversioned_carries_the_records_trigger(app):
    tables = {m._meta.table_name for m in ALL_MODELS} - set(UNVERSIONED_TABLES)
    if on_postgres():
        found = {t for (t,) in db.execute_sql(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'records_version_%%'").fetchall()}
    else:
        found = {t for (t,) in db.execute_sql(
            "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'records_version_%'").fetchall()}
    assert found == tables


def test_a_write_anywhere_bumps_the_records_version_and_a_sign_in_touch_does_not(app):
    clerk = f.make_user(role=Role.CLERK)
    first = records_version()
    assert first is not None
    Notice.create(recipient=clerk.id, kind="claim_confirmed", title="通知", body="内容")  # not a public table
    second = records_version()
    assert second != first
    with db.atomic():
        project = f.make_project()
        Project.update(title="改名").where(Project.id == project.id).execute()
    third = records_version()
    assert third != second
    with app.test_request_context():
        sessions.start(clerk)  # a login session, a last-seen stamp: no bump
    LoginSession.update(last_seen_at=LoginSession.created_at).execute()
    assert records_version() == third


# --- hits and invalidation ---------------------------------------------------------------------

def test_a_hit_is_the_session_check_alone_and_a_write_shows_at_once(app, client):
    project = f.make_project(title="旧的项目名")
    login(client, f.make_user(role=Role.CLERK))
    get(client, "/admin/project/")
    with count_queries() as statements:
        html = get(client, "/admin/project/").get_data(as_text=True)
    assert "旧的项目名" in html
    assert len(statements) == 1 and "login_session" in statements[0] and "data_version" in statements[0]
    app.config["ADMIN_PAGE_CACHE_BYTES"] = 0
    with count_queries() as cold:
        get(client, "/admin/project/")
    assert len(cold) > 3  # rendered: the rows, the count, the badges
    app.config["ADMIN_PAGE_CACHE_BYTES"] = 1 << 20
    Project.update(title="新的项目名").where(Project.id == project.id).execute()
    html = get(client, "/admin/project/").get_data(as_text=True)
    assert "新的项目名" in html and "旧的项目名" not in html


def test_the_bell_on_a_cached_list_follows_a_new_notice(app, client):
    clerk = f.make_user(role=Role.CLERK)
    login(client, clerk)
    bell = re.compile(r'data-testid="admin-bell">通知(?: <span class="badge badge-light">(\d+)</span>)?</a>')
    assert bell.search(get(client, "/admin/project/").get_data(as_text=True)).group(1) is None
    assert bell.search(get(client, "/admin/project/").get_data(as_text=True)).group(1) is None  # a hit
    Notice.create(recipient=clerk.id, kind="claim_confirmed", title="一条新通知", body="内容")
    assert bell.search(get(client, "/admin/project/").get_data(as_text=True)).group(1) == "1"


def test_a_write_through_another_app_server_shows_here(client, database_url):
    clerk = f.make_user(role=Role.CLERK)
    unit_user = f.make_user(role=Role.UNIT)
    project = f.make_project(title="跨服务器项目", slots=2)
    login(client, clerk)
    assert unit_user.unit.name not in get(client, "/admin/claim/").get_data(as_text=True)
    get(client, "/admin/claim/")  # cached
    with live_server(database_url, workers=1) as base:
        there = login_session(base, unit_user.username, f.PASSWORD)
        token = csrf_token(there.get(f"{base}/projects/{project.id}", timeout=60).text)
        response = there.post(f"{base}/projects/{project.id}/claim", data={"plan": "另一台服务器上认领",
                              "csrf_token": token}, allow_redirects=False, timeout=60)
        assert response.status_code == 303, response.text[:300]
    html = get(client, "/admin/claim/").get_data(as_text=True)
    assert "跨服务器项目" in html and unit_user.unit.name in html


# --- per account, per session ------------------------------------------------------------------

def test_accounts_never_see_each_others_pages(app):
    alice = f.make_user(role=Role.CLERK, display_name="文员甲")
    bob = f.make_user(role=Role.ADMIN, display_name="管理员乙")
    a, b = app.test_client(), app.test_client()
    login(a, alice)
    login(b, bob)
    for _ in range(2):
        page_a = get(a, "/admin/project/").get_data(as_text=True)
        page_b = get(b, "/admin/project/").get_data(as_text=True)
        assert "文员甲" in page_a and "管理员乙" not in page_a
        assert "管理员乙" in page_b and "文员甲" not in page_b
    # a unit account and a visitor never reach the clerks' cached list
    unit = app.test_client()
    login(unit, f.make_user(role=Role.UNIT))
    get(unit, "/admin/project/", 403)
    anonymous = app.test_client().get("/admin/project/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_ended_session_or_a_deactivated_account_is_refused_before_the_cache(app, client):
    clerk = f.make_user(role=Role.CLERK)
    login(client, clerk)
    get(client, "/admin/project/")
    get(client, "/admin/project/")
    # the account's other sessions ended from elsewhere (a password reset): no write to a
    # versioned table, yet the cached page is not served
    LoginSession.update(ended_at=LoginSession.created_at).where(LoginSession.user == clerk.id).execute()
    response = client.get("/admin/project/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, clerk)
    get(client, "/admin/project/")
    from models import User

    User.update(active=False).where(User.id == clerk.id).execute()
    response = client.get("/admin/project/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_each_session_gets_its_own_csrf_token_from_a_cached_list(csrf_app):
    clerk = f.make_user(role=Role.CLERK)
    first, second = csrf_app.test_client(), csrf_app.test_client()
    for client in (first, second):
        token = CSRF.search(get(client, "/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"username": clerk.username, "password": f.PASSWORD,
                                           "csrf_token": token}).status_code == 302
    tokens = [CSRF.findall(get(c, "/admin/project/").get_data(as_text=True)) for c in (first, second, first)]
    assert all(tokens) and all(len(set(t)) == 1 for t in tokens)
    assert tokens[1][0] != tokens[0][0]  # the second session's own token, not the cached one
    # the token refilled into the cached page is valid for its session: logging out with it works
    response = second.post("/logout", data={"csrf_token": tokens[1][0]})
    assert response.status_code in (302, 303)
    get(second, "/admin/project/", 302)


def test_a_flash_message_is_shown_once_and_never_cached(app, client):
    login(client, f.make_user(role=Role.CLERK))
    get(client, "/admin/project/")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "保存成功的提示")]
    assert "保存成功的提示" in get(client, "/admin/project/").get_data(as_text=True)
    assert "保存成功的提示" not in get(client, "/admin/project/").get_data(as_text=True)


def test_lists_of_unversioned_tables_are_never_cached(app, client):
    admin = f.make_user(role=Role.ADMIN)
    login(client, admin)
    get(client, "/admin/login_session/")
    get(client, "/admin/login_session/")
    with count_queries() as statements:
        get(client, "/admin/login_session/")
    assert len(statements) > 1
    other = app.test_client()
    login(other, admin)  # a new session row (an unversioned write) shows at once
    html = get(client, "/admin/login_session/").get_data(as_text=True)
    assert html.count("/admin/login_session/details/") >= 2 or html.count("<tr") >= 3


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's row locks (SQLite serialises writers)")
def test_two_transactions_writing_a_private_and_a_public_table_in_opposite_orders_never_deadlock(app):
    """Migration 062 locks the version rows in id order. The triggers fire at once here
    (SET CONSTRAINTS ALL IMMEDIATE) to make the interleaving certain: A writes a notice (row 2's
    bump), B writes a project (row 1's, then row 2's), A writes a project (row 1's)."""
    import threading

    from models.database import open_database

    clerk = f.make_user(role=Role.CLERK)
    project, other = f.make_project(), f.make_project()  # two rows: no lock on a project is shared
    db.close()
    url = app.config["DATABASE_URL"]
    a, b = open_database(url), open_database(url)
    errors, b_started, b_done = [], threading.Event(), threading.Event()

    def run_b():
        try:
            with b.connection_context(), b.atomic():
                b.execute_sql("SET CONSTRAINTS ALL IMMEDIATE")
                b_started.set()
                b.execute_sql('UPDATE "project" SET "title" = %s WHERE "id" = %s', ("乙改的", project.id))
        except Exception as exc:  # noqa: BLE001 - the test reports whatever B met
            errors.append(repr(exc))
        finally:
            b_started.set()
            b_done.set()

    try:
        with a.connection_context(), a.atomic():
            a.execute_sql("SET CONSTRAINTS ALL IMMEDIATE")
            a.execute_sql('INSERT INTO "notice" ("recipient_id", "kind", "title", "body", "created_at") '
                          "VALUES (%s, 'claim_confirmed', '通知', '内容', now())", (clerk.id,))
            thread = threading.Thread(target=run_b)
            thread.start()
            b_started.wait(10)
            assert not b_done.wait(0.5)  # B waits for A's lock on the version rows
            a.execute_sql('UPDATE "project" SET "title" = %s WHERE "id" = %s', ("甲改的", other.id))
        thread.join(30)
    finally:
        a.close()
        b.close()
    assert errors == [] and b_done.is_set()
    db.connect(reuse_if_open=True)
    assert (Project.get_by_id(project.id).title, Project.get_by_id(other.id).title) == ("乙改的", "甲改的")
