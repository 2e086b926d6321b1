"""The schema the migrations build is the schema the models declare, on both databases."""
import re
import shutil
from pathlib import Path

import pytest

import models.database
from models import ALL_MODELS, db
from models.database import open_database

from .conftest import ON_POSTGRES
from .scratchdb import scratch_database

HISTORY_TABLES = {"migratehistory"}


def _norm(sql):
    """Quotes, case of keywords and whitespace don't make two definitions differ."""
    sql = re.sub(r'["`]', "", sql or "")
    sql = re.sub(r"\s+", " ", sql).strip().lower()
    sql = re.sub(r"\(\s+", "(", sql)
    return re.sub(r"\s+\)", ")", sql)


# --- introspection --------------------------------------------------------------------

def _describe_sqlite(database):
    out = {}
    for table in sorted(set(database.get_tables()) - HISTORY_TABLES):
        columns = {c.name: (c.data_type.upper(), c.null) for c in database.get_columns(table)}
        indexes = {}
        for index in database.get_indexes(table):
            where = (index.sql or "").lower().partition(" where ")[2]
            indexes[index.name] = (tuple(index.columns), index.unique, _norm(where))
        fks = {(row[3], row[2], row[4], row[6].upper())
               for row in database.execute_sql(f'PRAGMA foreign_key_list("{table}")')}
        create_sql = database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
        out[table] = {"columns": columns, "indexes": indexes, "foreign_keys": fks,
                      "checks": sorted(_sqlite_checks(create_sql))}
    return out


def _sqlite_checks(create_sql):
    """The CHECK (...) expressions of a CREATE TABLE statement, balanced parentheses."""
    checks, text = [], create_sql
    for match in re.finditer(r"\bCHECK\s*\(", text, re.I):
        depth, i = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        checks.append(_norm(text[match.end():i - 1]))
    return checks


def _describe_postgres(database):
    out = {}
    for table in sorted(set(database.get_tables()) - HISTORY_TABLES):
        columns = {}
        for name, data_type, length, nullable in database.execute_sql(
                "SELECT column_name, data_type, character_maximum_length, is_nullable "
                "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s", (table,)):
            columns[name] = (f"{data_type}({length})" if length else data_type, nullable == "YES")
        indexes = {}
        for name, definition in database.execute_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s", (table,)):
            head, _, where = definition.partition(" WHERE ")
            cols = re.search(r"\((.*)\)\s*$", head).group(1)
            indexes[name] = (tuple(_norm(c) for c in cols.split(",")), " UNIQUE " in head, _norm(where))
        constraints = database.execute_sql(
            "SELECT contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s AND contype IN ('f', 'c')", (table,)).fetchall()
        out[table] = {
            "columns": columns,
            "indexes": indexes,
            "foreign_keys": sorted(_norm(d) for kind, d in constraints if kind == "f"),
            "checks": sorted(_norm(d) for kind, d in constraints if kind == "c"),
        }
    return out


def describe(database):
    return _describe_postgres(database) if ON_POSTGRES else _describe_sqlite(database)


# --- the two databases -------------------------------------------------------------------

@pytest.fixture
def declared_database(tmp_path):
    """A database made by ``create_tables(ALL_MODELS)`` alone (no migrations)."""
    with scratch_database(tmp_path, "declared") as database:
        database.create_tables(ALL_MODELS)
        yield database


@pytest.fixture
def migrated_database(migrated_template, tmp_path):
    if ON_POSTGRES:
        database = open_database(migrated_template)
    else:
        target = tmp_path / "migrated.db"
        shutil.copyfile(migrated_template, target)
        database = open_database(f"sqlite:///{target}")
    database.connect()
    yield database
    database.close()


def test_migrations_build_the_schema_the_models_declare(migrated_database, declared_database):
    migrated, declared = describe(migrated_database), describe(declared_database)
    assert sorted(migrated) == sorted(declared), "tables differ"
    assert {m._meta.table_name for m in ALL_MODELS} == set(declared)
    for table in declared:
        for aspect in ("columns", "indexes", "foreign_keys", "checks"):
            assert migrated[table][aspect] == declared[table][aspect], (table, aspect)


def test_the_schema_has_its_partial_indexes_and_checks(declared_database):
    """The comparison above would pass on two equally wrong schemas; pin the subtle parts."""
    schema = describe(declared_database)
    partial = {table: [name for name, (_, unique, where) in schema[table]["indexes"].items() if where]
               for table in ("claim", "signup")}
    assert partial["claim"] and partial["signup"], partial
    for table, needle in (("project", "live_claims <= slots"), ("event", "ends_at > starts_at"),
                          ("project", "progress >= 0"), ("event", "capacity >= 0")):
        assert any(needle in check for check in schema[table]["checks"]), (table, needle, schema[table]["checks"])
    assert any("restrict" in str(fk).lower() for fk in schema["claim"]["foreign_keys"])
    assert any("set null" in str(fk).lower() for fk in schema["audit_log"]["foreign_keys"])


def test_migration_status_exits_non_zero_while_a_migration_is_pending(runner, tmp_path, monkeypatch):
    result = runner.invoke(args=["migration-status"])
    assert result.exit_code == 0, result.output
    assert "没有待执行的迁移" in result.output

    pending_dir = tmp_path / "migrations"
    shutil.copytree(models.database.MIGRATIONS_DIR, pending_dir,
                    ignore=shutil.ignore_patterns("__pycache__"))
    last = max(int(p.name[:3]) for p in Path(pending_dir).glob("[0-9][0-9][0-9]_*.py"))
    (pending_dir / f"{last + 1:03d}_pending.py").write_text(
        "def migrate(migrator, database, *, fake=False):\n    pass\n\n\n"
        "def rollback(migrator, database, *, fake=False):\n    pass\n", encoding="utf-8")
    monkeypatch.setattr(models.database, "MIGRATIONS_DIR", pending_dir)
    result = runner.invoke(args=["migration-status"])
    assert result.exit_code == 1, result.output
    assert f"{last + 1:03d}_pending" in result.output
