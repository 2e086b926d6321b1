"""Fixtures: a fresh, migrated database per test on SQLite (default) or PostgreSQL
(``TEST_DATABASE_URL=postgresql://…``), the app, its client and CLI runner, and
helpers to log in as each role."""
import contextlib
import os
import shutil
import uuid
from pathlib import Path

import pytest

from app import create_app
from models import ALL_MODELS, accounts, clock as app_clock, db
from models.base import parse_instant
from models.database import apply_migrations, open_database

from . import factories

# Hashing at production cost (scrypt) takes ~0.3 s a login; the suite needs many.
accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"

# The instant every test runs at (naive Asia/Shanghai wall time). A Wednesday in the middle
# of a month by default; CI runs the date-sensitive tests again with TEST_CLOCK set to the
# last day of a month, New Year's Eve at 23:30, 29 February, the first of a month and a
# Sunday (``make test-dates``).
PINNED_AT = parse_instant(os.environ.get("TEST_CLOCK") or "2026-06-10T10:00:00")
app_clock.pin(PINNED_AT)  # already while tests are collected (parametrize values)

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgres")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


PG_RESET_SQL = None  # built once per session by ``migrated_template``


def _pg_reset_sql(database):
    """Empty every table and restart every sequence, in one round trip (~20 ms).

    Measured here: ``TRUNCATE … RESTART IDENTITY CASCADE`` of the schema takes 160 ms
    (it creates new files for every table); plain DELETEs of a test's few rows take
    well under 5 ms. Foreign-key triggers are off while emptying (replication role), so
    the order of the tables does not matter and new tables need no listing here. Unlike
    wrapping each test in a transaction that is rolled back, the code under test commits
    for real, exactly as in production (savepoints, query counts, other connections)."""
    tables = [name for (name,) in database.execute_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename <> 'migratehistory'").fetchall()]
    sequences = [name for (name,) in database.execute_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
        "AND sequencename NOT LIKE 'migratehistory%%'").fetchall()]
    statements = ["SET session_replication_role = replica"]
    statements += [f'DELETE FROM "{table}"' for table in tables]
    statements.append("SET session_replication_role = DEFAULT")
    if sequences:
        statements.append("SELECT " + ", ".join(f"setval('\"{seq}\"', 1, false)" for seq in sequences))
    return ";\n".join(statements)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A database with every migration applied, made once per session.

    SQLite: a file copied for each test. PostgreSQL: a new database for the session,
    emptied before each test.
    """
    global PG_RESET_SQL
    if ON_POSTGRES:
        admin_db = open_database(PG_URL)
        admin_db.connect()
        name = f"alliance_test_{uuid.uuid4().hex[:10]}"
        admin_db.execute_sql(f'CREATE DATABASE "{name}"')
        # a throw-away database: commits need not wait for the disk (every test commits a lot)
        admin_db.execute_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        admin_db.close()
        base, _, _ = PG_URL.rpartition("/")
        url = f"{base}/{name}"
        database = open_database(url)
        db.initialize(database)
        database.connect()
        apply_migrations(database)
        PG_RESET_SQL = _pg_reset_sql(database)
        database.close()
        yield url
        admin_db.connect()
        admin_db.execute_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,))
        admin_db.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin_db.close()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = open_database(f"sqlite:///{path}")
        db.initialize(database)
        database.connect()
        apply_migrations(database)
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        yield path


def _fresh_database_url(template, tmp_path):
    if ON_POSTGRES:
        database = open_database(template)
        database.connect()
        database.execute_sql(PG_RESET_SQL)
        database.close()
        return template
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def database_url(migrated_template, tmp_path):
    return _fresh_database_url(migrated_template, tmp_path)


@pytest.fixture
def bound_database(database_url):
    """This test's database, bound to the models (the apps are built once per session)."""
    database = open_database(database_url)
    db.initialize(database)
    yield database
    if not db.is_closed():
        db.close()


def _build_app(**config):
    return create_app({"TESTING": True, "SECRET_KEY": "test-" + uuid.uuid4().hex,
                       # any URL: each test binds its own database (``bound_database``)
                       "DATABASE_URL": "sqlite:///:memory:", **config})


@pytest.fixture(scope="session")
def _session_app():
    return _build_app(WTF_CSRF_ENABLED=False)


@pytest.fixture(scope="session")
def _session_csrf_app():
    return _build_app()


@contextlib.contextmanager
def _rebound(app, database, database_url, tmp_path):
    """The session's app on this test's database, with its config and caches as new."""
    config = dict(app.config)
    extensions = set(app.extensions)
    instance_path = app.instance_path
    app.config["DATABASE_URL"] = database_url
    app.extensions["database"] = database
    app.instance_path = str(tmp_path / "instance")
    database.connect(reuse_if_open=True)
    try:
        yield app
    finally:
        app.config.clear()
        app.config.update(config)
        for key in set(app.extensions) - extensions:  # per-app caches filled by this test
            del app.extensions[key]
        app.instance_path = instance_path


@pytest.fixture
def app(_session_app, bound_database, database_url, tmp_path):
    with _rebound(_session_app, bound_database, database_url, tmp_path) as app:
        yield app


@pytest.fixture
def csrf_app(_session_csrf_app, bound_database, database_url, tmp_path):
    """The app with CSRF protection on, as in production."""
    with _rebound(_session_csrf_app, bound_database, database_url, tmp_path) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def clock():
    """The app's clock, stopped at ``PINNED_AT`` for every test; ``clock.advance(delta)``
    moves it on. Live servers the test starts tick from the same instant."""
    app_clock.pin(PINNED_AT)
    yield app_clock
    app_clock.reset()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, username, password=factories.PASSWORD):
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/logout")

    def as_role(self, role, **kwargs):
        user = factories.make_user(role=role, **kwargs)
        response = self.login(user.username)
        assert response.status_code == 302, response.data.decode()[:500]
        return user


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Modules whose subject is dates and times (calendars, feeds, deadlines, windows, months,
# statements, overdue orders, demo data around "today"): ``make test-dates`` runs them
# again at each of the pinned instants in the Makefile's TEST_DATES.
DATE_SENSITIVE_MODULES = {
    "test_api", "test_api_script", "test_attendance", "test_claims", "test_cli", "test_dashboard",
    "test_ical", "test_points", "test_public_events", "test_public_projects", "test_signups",
    "test_workorders",
    # the loops: overdue orders, activation links that expire, back-off, events around now
    "test_notices", "test_accounts_loops", "test_unit_workspace", "test_delivery", "test_api_loops",
}
# 群众点单: one working day to accept, this month's figures
DATE_SENSITIVE_MODULES |= {"test_needs", "test_needs_api"}
DATE_SENSITIVE_MODULES.add("test_wishes")  # 微心愿: this month's fulfilled wishes, demo dates


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in DATE_SENSITIVE_MODULES:
            item.add_marker(pytest.mark.dates)


def pytest_report_header(config):
    return [f"database: {'PostgreSQL ' + PG_URL if ON_POSTGRES else 'SQLite (file per test)'}",
            f"clock pinned at {PINNED_AT:%Y-%m-%d %H:%M} Asia/Shanghai ({PINNED_AT:%A})"]
