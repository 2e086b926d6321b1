"""Fixtures: a fresh, migrated database per test on SQLite (default) or PostgreSQL
(``TEST_DATABASE_URL=postgresql://…``), the app, its client and CLI runner, and
helpers to log in as each role."""
import os
import shutil
import uuid
from pathlib import Path

import pytest

from app import create_app
from models import ALL_MODELS, accounts, db
from models.database import apply_migrations, open_database

from . import factories

# Hashing at production cost (scrypt) takes ~0.3 s a login; the suite needs many.
accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgres")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _pg_admin_connection():
    params = PG_URL.split("://", 1)[1]
    database = open_database(PG_URL)
    return database, params


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """A database with every migration applied, made once per session.

    SQLite: a file copied for each test. PostgreSQL: a new database for the session,
    truncated between tests.
    """
    if ON_POSTGRES:
        admin_db = open_database(PG_URL)
        admin_db.connect()
        name = f"alliance_test_{uuid.uuid4().hex[:10]}"
        admin_db.execute_sql(f'CREATE DATABASE "{name}"')
        admin_db.close()
        base, _, _ = PG_URL.rpartition("/")
        url = f"{base}/{name}"
        database = open_database(url)
        db.initialize(database)
        database.connect()
        apply_migrations(database)
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
        tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        database.close()
        return template
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def database_url(migrated_template, tmp_path):
    return _fresh_database_url(migrated_template, tmp_path)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "WTF_CSRF_ENABLED": False,
    })
    app.instance_path = str(tmp_path / "instance")
    database = db.obj
    database.connect(reuse_if_open=True)
    yield app
    if not database.is_closed():
        database.close()


@pytest.fixture
def csrf_app(database_url, tmp_path):
    """The app with CSRF protection on, as in production."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t-" + uuid.uuid4().hex})
    db.obj.connect(reuse_if_open=True)
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


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


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if ON_POSTGRES else 'SQLite (file per test)'}"
