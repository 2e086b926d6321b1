"""050 — running totals beside the points balance, so the dashboard and the home page
read figures whose cost does not grow with the ledger or the sign-ups (issue 12).

- ``volunteer.hours_total``: the sum of the hours of the volunteer's service entries
  (earned, honour, corrected), ``volunteer.entry_count``: the number of entries. Both
  move in the same UPDATE as ``points_balance`` (services/points.py ``_post``).
- ``event.signup_count``: the sign-ups ever made for the event, moved in the sign-up's
  transaction (services/signups.py ``register``).

Back-filled here from the ledger and the sign-ups (one correlated sub-select per row,
each an index scan on ``points_entry (volunteer_id)`` / ``signup (event_id)``);
``flask verify-balances`` checks them against the ledger at any time.
"""

import peewee as pw
from peewee_migrate import Migrator

# services.stats.HOUR_KINDS, frozen
HOUR_KINDS = "('earned', 'honour', 'corrected')"

# (table, column, SQLite type, PostgreSQL type): NOT NULL DEFAULT 0, added in place.
# (``migrator.add_fields`` adds a NOT NULL column as nullable, fills it, then sets NOT
# NULL, which SQLite does by rebuilding the table: with rows in ``points_entry`` or
# ``signup`` pointing at it, dropping the old ``volunteer`` / ``event`` table fails the
# foreign keys. ``ADD COLUMN … NOT NULL DEFAULT 0`` needs no rebuild on either database.)
COLUMNS = [
    ("volunteer", "hours_total", "DECIMAL(10, 2)", "NUMERIC(10, 2)"),
    ("volunteer", "entry_count", "INTEGER", "INTEGER"),
    ("event", "signup_count", "INTEGER", "INTEGER"),
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    sqlite = isinstance(database, pw.SqliteDatabase)
    for table, column, sqlite_type, postgres_type in COLUMNS:
        migrator.sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" '
                     f'{sqlite_type if sqlite else postgres_type} NOT NULL DEFAULT 0')
    migrator.sql(
        'UPDATE "volunteer" SET '
        '"hours_total" = COALESCE((SELECT SUM(e."hours") FROM "points_entry" AS e '
        f'WHERE e."volunteer_id" = "volunteer"."id" AND e."kind" IN {HOUR_KINDS}), 0), '
        '"entry_count" = (SELECT COUNT(*) FROM "points_entry" AS e WHERE e."volunteer_id" = "volunteer"."id")')
    migrator.sql(
        'UPDATE "event" SET "signup_count" = '
        '(SELECT COUNT(*) FROM "signup" AS s WHERE s."event_id" = "event"."id")')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, column, _, _ in reversed(COLUMNS):
        migrator.sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
