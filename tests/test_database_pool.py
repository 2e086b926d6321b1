"""The connection pool (models/database.py, app.py ``init_database``): sized by
configuration, a connection per request checked out before it and returned at
teardown, health-checked at check-out so that connections PostgreSQL has dropped (a
restart: here ``pg_terminate_backend``) never reach a request."""
import time
import uuid

import pytest
from peewee import OperationalError
from playhouse.pool import PooledSqliteDatabase

from app import create_app
from models import Role, db
from models.database import HealthCheckedPool, open_database

from . import factories
from .conftest import ON_POSTGRES
from .live import live_server, login_session


@pytest.fixture
def pooled_app(database_url, bound_database):
    """A second app on this test's database, built with the pool as production builds it."""
    made = []

    def make(**config):
        app = create_app({"TESTING": True, "SECRET_KEY": "t-" + uuid.uuid4().hex, "DATABASE_URL": database_url,
                          **config})
        made.append(app)
        return app

    yield make
    for app in made:
        database = app.extensions["database"]
        if not database.is_closed():
            database.close()
        if hasattr(database, "close_all"):
            database.close_all()
    db.initialize(bound_database)  # create_app rebound the models; give the test's database back


def test_pool_is_sized_by_configuration(pooled_app, monkeypatch):
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_POOL_STALE_TIMEOUT", "120")
    database = pooled_app().extensions["database"]
    assert isinstance(database, HealthCheckedPool if ON_POSTGRES else PooledSqliteDatabase)
    assert (database._max_connections, database._stale_timeout) == (3, 120)

    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")  # 0: a plain connection per request
    plain = pooled_app().extensions["database"]
    assert not hasattr(plain, "close_all")


def test_a_request_checks_a_connection_out_and_returns_it(pooled_app):
    app = pooled_app(DATABASE_POOL_SIZE=2)
    database = app.extensions["database"]
    client = app.test_client()
    for path in ("/", "/calendar", "/api/v1/events", "/healthz", "/"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
        assert database.is_closed() and not database._in_use, path  # back in the pool
    assert len(database._connections) == 1  # one connection served them all


def test_a_failed_request_returns_its_connection_rolled_back(pooled_app):
    app = pooled_app(DATABASE_POOL_SIZE=2)
    database = app.extensions["database"]

    @app.route("/_test/fail-in-transaction")
    def fail_in_transaction():
        db.begin()
        factories.make_unit(name="不应写入的单位")
        raise RuntimeError("boom")

    response = app.test_client().get("/_test/fail-in-transaction")
    assert response.status_code == 500 and "系统出现异常" in response.get_data(as_text=True)
    assert database.is_closed() and not database._in_use
    database.connect()
    try:
        assert not database.in_transaction()
        assert database.execute_sql("SELECT COUNT(*) FROM member_unit WHERE name = '不应写入的单位'").fetchone()[0] == 0
    finally:
        database.close()


def _server_backends(database, name_filter="current_database()"):
    """PIDs of the PostgreSQL server processes serving this database (not our own)."""
    return {pid for (pid,) in database.execute_sql(
        f"SELECT pid FROM pg_stat_activity WHERE datname = {name_filter} AND pid <> pg_backend_pid()")}


@pytest.mark.server
@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's server connections")
def test_gunicorn_workers_reuse_pooled_connections_and_survive_a_restart(app, database_url):
    import requests

    factories.make_event(title="连接池测试活动")
    database = db.obj
    with live_server(database_url, workers=2, extra_env={"DATABASE_POOL_SIZE": "4"}) as base:
        def hit(times=20):
            statuses = {requests.get(base + path, timeout=10).status_code
                        for path in ("/calendar", "/api/v1/events", "/") for _ in range(times)}
            assert statuses == {200}, statuses

        hit()
        first = _server_backends(database)
        assert 1 <= len(first) <= 2  # one pooled connection per sync worker, not one per request
        hit()
        # the same connections, reused (a worker that served no request of the first round
        # opens its one connection now: still at most one per worker)
        second = _server_backends(database)
        assert first <= second and len(second) <= 2

        # what a PostgreSQL restart does to every connection: terminated under the pool
        database.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        hit()  # no 500: the dead connections are discarded at check-out, new ones made
        after = _server_backends(database)
        assert after and not after & second


def _terminate(database, pid):
    """End one server process and wait until it is gone (pg_terminate_backend only signals)."""
    database.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
    for _ in range(100):
        if not database.execute_sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's server connections")
def test_a_connection_dying_after_check_out_is_replaced_before_its_first_statement(app, database_url):
    pool = open_database(database_url, pool_size=2)
    try:
        pool.connect()
        first = pool.connection().get_backend_pid()  # (a client-side call: no statement runs)
        _terminate(db.obj, first)
        assert pool.execute_sql("SELECT pg_backend_pid()").fetchone()[0] != first  # replaced, answered
        pool.close()

        pool.connect()
        second = pool.connection().get_backend_pid()
        _terminate(db.obj, second)
        with pool.atomic():  # a transaction's BEGIN is a first statement too
            pid = pool.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
            pool.execute_sql("INSERT INTO grid (number, name, unit_leaders, households, created_at, updated_at) "
                             "VALUES (901, '换连接后写入的网格', 0, 0, now(), now())")
        assert pid != second  # the transaction ran, and committed, on the replacement
        assert db.obj.execute_sql("SELECT COUNT(*) FROM grid WHERE number = 901").fetchone()[0] == 1
        pool.close()

        pool.connect()
        _terminate(db.obj, pid)
        pool.close()
        pool.connect()  # this time the check-out check finds it dead and discards it
        assert pool.execute_sql("SELECT pg_backend_pid()").fetchone()[0] != pid

        # once a statement has run, a broken connection is an error: nothing is re-sent
        pid = pool.connection().get_backend_pid()
        _terminate(db.obj, pid)
        with pytest.raises(OperationalError):
            pool.execute_sql("SELECT 1")
    finally:
        if not pool.is_closed():
            pool.close()
        pool.close_all()


@pytest.mark.server
@pytest.mark.skipif(not ON_POSTGRES, reason="the server-side cursor of PostgreSQL exports")
def test_streamed_export_returns_a_clean_connection_to_the_pool(app, database_url):
    clerk = factories.make_user(role=Role.CLERK)
    for i in range(30):
        factories.make_unit(name=f"导出单位{i:02d}")
    database = db.obj
    with live_server(database_url, workers=1, extra_env={"DATABASE_POOL_SIZE": "2"}) as base:
        session = login_session(base, clerk.username, factories.PASSWORD)
        for _ in range(3):
            response = session.get(base + "/admin/member_unit/export/csv/", timeout=30, stream=True)
            body = b"".join(response.iter_content(4096)).decode("utf-8-sig")
            assert response.status_code == 200 and body.count("导出单位") == 30
        assert session.get(base + "/admin/member_unit/", timeout=10).status_code == 200
        states = [state for (state,) in database.execute_sql(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        assert states and set(states) == {"idle"}  # returned, not "idle in transaction"
        assert len(_server_backends(database)) <= 2


def test_open_database_pools_only_when_asked(tmp_path):
    assert not hasattr(open_database(f"sqlite:///{tmp_path / 'a.db'}"), "close_all")
    assert isinstance(open_database(f"sqlite:///{tmp_path / 'b.db'}", pool_size=2), PooledSqliteDatabase)
    assert isinstance(open_database("postgresql://postgres@127.0.0.1:5432/x", pool_size=2), HealthCheckedPool)
    assert not hasattr(open_database("sqlite:///:memory:", pool_size=2), "close_all")  # one per connection


# --- a transaction's BEGIN travels with its first statement (models/database.py HeldBegin) ---

class _Sent:
    """The queries the driver sends on the bound PostgreSQL connection, in order."""

    def __init__(self):
        import psycopg2.extensions

        sent = self.queries = []

        class Cursor(psycopg2.extensions.cursor):
            def execute(self, query, params=None):
                sent.append(query if isinstance(query, str) else query.decode())
                return super().execute(query, params)

        self.connection = db.obj.unstarted_connection()
        self.before, self.connection.cursor_factory = self.connection.cursor_factory, Cursor

    def close(self):
        self.connection.cursor_factory = self.before


@pytest.fixture
def sent(bound_database):
    if not ON_POSTGRES:
        pytest.skip("PostgreSQL's round trips")
    db.connect(reuse_if_open=True)
    watcher = _Sent()
    yield watcher.queries
    watcher.close()


def _units(name):
    from models import MemberUnit as Unit

    return Unit.select().where(Unit.name == name).count()


def test_a_transaction_begins_with_its_first_statement(sent):
    with db.atomic():
        factories.make_unit(name="开头同行单位")
        factories.make_unit(name="开头同行单位二")
    assert [q.split(" ", 2)[:2] for q in sent] == [["BEGIN;", "INSERT"], ["INSERT", "INTO"], ["COMMIT"]]
    assert _units("开头同行单位") == 1

    sent.clear()
    with db.atomic():  # ran nothing: nothing to begin or commit
        pass
    assert sent == []


def test_a_held_begin_is_sent_before_the_driver_is_used_directly(sent):
    from models import MemberUnit as Unit

    unit = factories.make_unit(name="直接游标单位", intro="原简介")
    sent.clear()
    with db.atomic() as transaction:
        cursor = db.cursor()  # an import's bulk insert takes the cursor itself
        cursor.execute("UPDATE member_unit SET intro = '改过' WHERE id = %s", (unit.id,))
        transaction.rollback()
    assert sent[0] == "BEGIN" and sent[-1] == "ROLLBACK"
    assert Unit.get_by_id(unit.id).intro == "原简介"  # it ran inside the transaction: rolled back


def test_a_failing_first_statement_leaves_the_connection_usable(sent):
    with pytest.raises(Exception):
        with db.atomic():
            db.execute_sql("SELECT 1 / 0")
    with db.atomic():  # a savepoint inside: the inner failure rolls back only itself
        factories.make_unit(name="外层单位")
        with pytest.raises(Exception):
            with db.atomic():
                db.execute_sql("SELECT 1 / 0")
    assert _units("外层单位") == 1
    assert any(q.startswith("BEGIN; SELECT 1 / 0") for q in sent)
    assert sent.count("ROLLBACK") == 1


# --- SQLite: writers queue for the write lock (models/database.py WriterQueue) ---------------------

def test_sqlite_writers_queue_for_the_write_lock_instead_of_polling(database_url, bound_database):
    """A second writer waits on the queue while the first holds the write lock and gets in
    when it commits, even with SQLite's own busy wait off: without the queue it would fail
    at once ("database is locked")."""
    if ON_POSTGRES:
        pytest.skip("SQLite's write lock")
    import threading

    first, second = open_database(database_url), open_database(database_url)
    first.connect()
    outcome = []

    def write_second():  # a connection of its own thread, SQLite's busy wait off
        second.connect()
        second.execute_sql("PRAGMA busy_timeout = 0")
        try:
            with second.atomic(lock_type="IMMEDIATE"):
                second.execute_sql("UPDATE member_unit SET intro = '第二个' WHERE name = '排队单位'")
            outcome.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcome.append(repr(exc))
        finally:
            second.close()

    factories.make_unit(name="排队单位")
    bound_database.close()
    try:
        with first.atomic(lock_type="IMMEDIATE"):
            first.execute_sql("UPDATE member_unit SET intro = '第一个' WHERE name = '排队单位'")
            waiting = threading.Thread(target=write_second)
            waiting.start()
            waiting.join(0.3)
            assert waiting.is_alive() and outcome == []  # queued, not refused
        waiting.join(10)
        assert outcome == ["ok"]
        assert first.execute_sql("SELECT intro FROM member_unit WHERE name = '排队单位'").fetchone() == ("第二个",)
    finally:
        first.close()


def test_a_forked_process_queues_on_a_descriptor_of_its_own(database_url, bound_database):
    """gunicorn forks its workers: an flock belongs to the open file, so a worker that used
    a descriptor opened before the fork would share it with every other worker, and all of
    them would pass the queue at once. After a fork the queue opens its own."""
    if ON_POSTGRES:
        pytest.skip("SQLite's write lock")
    import fcntl
    import os

    bound_database.close()
    database = open_database(database_url)
    with database.atomic(lock_type="IMMEDIATE"):  # the queue's descriptor opened before the fork
        database.execute_sql("UPDATE member_unit SET intro = intro WHERE id = 0")
    database.close()
    parent = database._queue_fd().fd
    fcntl.flock(parent, fcntl.LOCK_EX)  # as a writer in this process would hold it
    try:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit status
            code = 3
            try:
                own = database._queue_fd().fd
                fcntl.flock(own, fcntl.LOCK_EX | fcntl.LOCK_NB)
                code = 1  # got in while the parent holds the queue: the descriptor was shared
            except BlockingIOError:
                code = 0 if own != parent else 2
            finally:
                os._exit(code)
        _pid, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        fcntl.flock(parent, fcntl.LOCK_UN)
