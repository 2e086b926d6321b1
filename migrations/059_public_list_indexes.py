"""059 — indexes for the public API lists' sorts (issue 12, the public half).

``ORDER BY created_at DESC, id DESC LIMIT 21`` on an index of ``(created_at)`` alone sorts
every row that shares a ``created_at`` (an import, a bulk load: 100k projects, 185 ms on
PostgreSQL); on ``(created_at, id)`` it is a walk of 21 entries. The calendar's and the
feeds' range scans already have ``event (published, starts_at, status)`` (migration 003);
the month grid reads (start, end) of every event overlapping the month and 92 days before
it — ``event (published, starts_at, ends_at, category)`` answers that from the index alone.
``IF NOT EXISTS`` and peewee's own names, as migration 055 (the admin lists) does.
"""

import peewee as pw
from peewee_migrate import Migrator

INDEXES = [
    ("project", ("created_at", "id")),
    ("event", ("created_at", "id")),
    ("event", ("published", "starts_at", "ends_at", "category")),
]


def _name(table, columns):
    return f"{table}_{'_'.join(columns)}"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in INDEXES:
        cols = ", ".join(f'"{c}"' for c in columns)
        migrator.sql(f'CREATE INDEX IF NOT EXISTS "{_name(table, columns)}" ON "{table}" ({cols})')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in reversed(INDEXES):
        migrator.sql(f'DROP INDEX IF EXISTS "{_name(table, columns)}"')
