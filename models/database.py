"""Opening the database named by a URL and applying the migrations in ``migrations/``.

SQLite runs in WAL mode with foreign keys on; PostgreSQL when the URL says so.
"""
import logging
from pathlib import Path

from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -16000,
}


def open_database(url):
    """A peewee database for ``sqlite:///path`` or ``postgresql://…`` (not yet connected)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("sqlite:"):
        path = parse(url)["database"]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    if url.startswith("postgresql:"):
        params = parse(url)
        name = params.pop("database")
        return PostgresqlDatabase(name, **params)
    raise ValueError(f"不支持的数据库地址：{url}")


def _router(database):
    from peewee_migrate import Router

    logger = logging.getLogger("peewee_migrate")
    logger.setLevel(logging.WARNING)
    return Router(database, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"], logger=logger)


def pending_migrations(database):
    """Names of the migrations not yet applied."""
    return list(_router(database).diff)


def apply_migrations(database):
    """Apply what is pending; returns the names applied (empty when up to date)."""
    router = _router(database)
    todo = list(router.diff)
    if todo:
        router.run()
    return todo
