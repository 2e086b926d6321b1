"""003 — indexes for the public site's figures, calendar and feeds.

- ``event (published, starts_at, status)``: the calendar month and list views and the
  iCalendar window filter on published + a starts_at range; the home page counts
  upcoming scheduled events from this index alone (covering), whatever the table size.
- ``project (published, status)``: the home page's open / claimed / done counts are
  index-only.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql('CREATE INDEX IF NOT EXISTS "event_published_starts_at_status" '
                 'ON "event" ("published", "starts_at", "status")')
    migrator.sql('CREATE INDEX IF NOT EXISTS "project_published_status" ON "project" ("published", "status")')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql('DROP INDEX IF EXISTS "project_published_status"')
    migrator.sql('DROP INDEX IF EXISTS "event_published_starts_at_status"')
