"""062 — the records' version: every table a clerk's list can show joins a second version
row, so the admin lists can be cached per account (issue 12, web/pagecache.py).

``data_version`` row 2 is bumped, in the writing transaction, by a write to ANY table but
those written as a side effect of reading or of signing in (``models.dataversion.
UNVERSIONED_TABLES``: login sessions, login attempts, rate-limit counters, the notices'
delivery queue, the version table itself). Row 1 (migrations 058 and 060) stays the
public pages' version: a clerk's note or a login does not empty the public cache.

Same mechanics as 058: a deferred constraint trigger on PostgreSQL that bumps once per
transaction at COMMIT (its own transaction-local flag), row triggers on SQLite. On
PostgreSQL it locks row 1 before bumping row 2, so every transaction takes the two rows in
the same order whichever table it wrote first (no deadlock with 058's bump of row 1).
"""

import peewee as pw
from peewee_migrate import Migrator

# every table with a model, but models.dataversion.UNVERSIONED_TABLES; frozen
TABLES = ("account", "account_activation", "api_token", "audit_log", "claim", "event", "grid", "import_job",
          "member_unit", "need", "notice", "photo", "points_entry", "progress_report", "project",
          "project_category_list", "signup", "volunteer", "volunteer_application", "volunteer_team", "wish",
          "work_order", "work_order_step")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_records_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('hsl.records_version_bumped', true) IS DISTINCT FROM '1' THEN
    PERFORM set_config('hsl.records_version_bumped', '1', true);
    -- every transaction locks the version rows in id order: row 1 (058's bump, which a write
    -- to a public table later in this transaction takes) before row 2, or two transactions
    -- writing a public and a private table in opposite orders would deadlock at COMMIT
    PERFORM 1 FROM data_version WHERE id = 1 FOR UPDATE;
    INSERT INTO data_version (id, version, changed_at) VALUES (2, 1, clock_timestamp()::text)
      ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1, changed_at = clock_timestamp()::text;
  END IF;
  RETURN NULL;
END $$
"""

SQLITE_BODY = ("INSERT OR IGNORE INTO data_version (id, version, changed_at) VALUES (2, 0, ''); "
               "UPDATE data_version SET version = version + 1, "
               "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = 2;")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql(PG_FUNCTION)
        for table in TABLES:
            migrator.sql(f'CREATE CONSTRAINT TRIGGER "records_version_{table}" AFTER INSERT OR UPDATE OR DELETE '
                         f'ON "{table}" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                         f'EXECUTE FUNCTION bump_records_version()')
    else:
        for table in TABLES:
            for op in ("INSERT", "UPDATE", "DELETE"):
                migrator.sql(f'CREATE TRIGGER "records_version_{table}_{op.lower()}" AFTER {op} ON "{table}" '
                             f'FOR EACH ROW BEGIN {SQLITE_BODY} END')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        for table in TABLES:
            migrator.sql(f'DROP TRIGGER IF EXISTS "records_version_{table}" ON "{table}"')
        migrator.sql("DROP FUNCTION IF EXISTS bump_records_version()")
    else:
        for table in TABLES:
            for op in ("insert", "update", "delete"):
                migrator.sql(f'DROP TRIGGER IF EXISTS "records_version_{table}_{op}"')
