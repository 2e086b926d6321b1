"""061 — each event's places taken and people waiting as running totals, so the events list,
the event page and the sign-up rules' display read two columns instead of counting the
event's sign-ups (issue 12: a million sign-ups on a hundred events made every events page
count thousands of rows for each of its 20 events).

- ``event.taken_count``: sign-ups holding a place (已报名, 已签到),
- ``event.waiting_count``: sign-ups on the waiting list (候补),

moved in the sign-up's transaction: by ``services.signups.register`` and by an after-hook
of the sign-up state machine (cancel, promote; check-in keeps the place). Back-filled here
from the sign-ups; ``flask verify-balances`` checks them (services/totals.py).
"""

import peewee as pw
from peewee_migrate import Migrator

# services.signups.HOLDS_PLACE and SignupStatus.WAITLISTED, frozen
COLUMNS = [
    ("taken_count", "('registered', 'checked_in')"),
    ("waiting_count", "('waitlisted')"),
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    # ADD COLUMN … NOT NULL DEFAULT 0 in place (no table rebuild: see 050)
    for column, _ in COLUMNS:
        migrator.sql(f'ALTER TABLE "event" ADD COLUMN "{column}" INTEGER NOT NULL DEFAULT 0')
    migrator.sql('UPDATE "event" SET ' + ", ".join(
        f'"{column}" = (SELECT COUNT(*) FROM "signup" AS s WHERE s."event_id" = "event"."id" '
        f'AND s."status" IN {statuses})' for column, statuses in COLUMNS))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for column, _ in reversed(COLUMNS):
        migrator.sql(f'ALTER TABLE "event" DROP COLUMN "{column}"')
