"""060 — the residents' tables join the public data's version (migration 058's triggers).

The home page shows this month's needs, the residents' satisfaction (work-order steps) and
the wishes fulfilled, and ``/wishes`` and the API read wishes: a write to ``need``, ``wish``
``work_order_step`` or ``photo`` (a clerk approving a wish's photos) now bumps ``data_version`` in its own transaction like the other
public tables, so a cached page never outlives the write.
"""

import peewee as pw
from peewee_migrate import Migrator

TABLES = ("need", "wish", "work_order_step", "photo")

SQLITE_BODY = ("INSERT OR IGNORE INTO data_version (id, version, changed_at) VALUES (1, 0, ''); "
               "UPDATE data_version SET version = version + 1, "
               "changed_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = 1;")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        for table in TABLES:  # bump_data_version() comes from migration 058
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
    else:
        for table in TABLES:
            for op in ("insert", "update", "delete"):
                migrator.sql(f'DROP TRIGGER IF EXISTS "data_version_{table}_{op}"')
