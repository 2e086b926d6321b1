"""058 — the public data's version (issue 12: a page cache shared-safe across app servers).

``data_version`` holds one row. Triggers on every table the public pages read
(``models.dataversion.VERSIONED_TABLES``) bump it in the writing transaction, so every app
server sees the new version exactly when the write commits.

- SQLite: ``AFTER INSERT / UPDATE / DELETE … FOR EACH ROW`` (writes are serialised by the
  database lock anyway).
- PostgreSQL: a ``CONSTRAINT TRIGGER … DEFERRABLE INITIALLY DEFERRED``: it runs at COMMIT,
  once per transaction (a transaction-local setting remembers it ran), so the row lock on
  ``data_version`` is taken last and held only while committing — no lock-order cycle
  with the rows a transaction locks before (sign-up and claim storms), and a bulk insert
  bumps once.

The row is (re)created by the first bump after a database was emptied (``INSERT … ON
CONFLICT`` / ``INSERT OR IGNORE``); ``changed_at`` is the database clock's, part of the token,
so a recreated row never repeats an earlier token.
"""

import peewee as pw
from peewee_migrate import Migrator

# models.dataversion.VERSIONED_TABLES, frozen
TABLES = ("grid", "volunteer_team", "volunteer", "member_unit", "project", "claim",
          "event", "signup", "project_category_list")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('hsl.data_version_bumped', true) IS DISTINCT FROM '1' THEN
    PERFORM set_config('hsl.data_version_bumped', '1', true);
    INSERT INTO data_version (id, version, changed_at) VALUES (1, 1, clock_timestamp()::text)
      ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1, changed_at = clock_timestamp()::text;
  END IF;
  RETURN NULL;
END $$
"""

SQLITE_BODY = ("INSERT OR IGNORE INTO data_version (id, version, changed_at) VALUES (1, 0, ''); "
               "UPDATE data_version SET version = version + 1, "
               "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = 1;")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class DataVersion(pw.Model):
        id = pw.IntegerField(primary_key=True)
        version = pw.BigIntegerField(default=0)
        changed_at = pw.CharField(max_length=40, default="")

        class Meta:
            table_name = "data_version"
            legacy_table_names = False

    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql(PG_FUNCTION)
        for table in TABLES:
            migrator.sql(f'CREATE CONSTRAINT TRIGGER "data_version_{table}" AFTER INSERT OR UPDATE OR DELETE '
                         f'ON "{table}" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                         f'EXECUTE FUNCTION bump_data_version()')
    else:
        for table in TABLES:
            for op in ("INSERT", "UPDATE", "DELETE"):
                migrator.sql(f'CREATE TRIGGER "data_version_{table}_{op.lower()}" AFTER {op} ON "{table}" '
                             f'FOR EACH ROW BEGIN {SQLITE_BODY} END')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        for table in TABLES:
            migrator.sql(f'DROP TRIGGER IF EXISTS "data_version_{table}" ON "{table}"')
        migrator.sql("DROP FUNCTION IF EXISTS bump_data_version()")
    else:
        for table in TABLES:
            for op in ("insert", "update", "delete"):
                migrator.sql(f'DROP TRIGGER IF EXISTS "data_version_{table}_{op}"')
    migrator.remove_model("data_version")
