"""051 — the rate-limit counters skip PostgreSQL's write-ahead log.

Every limited request writes its counters (web/ratelimit.py: one upsert per limit
window, four for a sign-up), each committed on its own; on a logged table each such
commit waits for the WAL to reach the disk. The counters are soft state — a crash that
empties them only restarts the windows — so the table is UNLOGGED: its commits need no
flush, and a 64-person sign-up storm no longer queues 256 of them behind the disk.
(SQLite has no such distinction; nothing to do there.)
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql('ALTER TABLE "rate_limit" SET UNLOGGED')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql('ALTER TABLE "rate_limit" SET LOGGED')
