"""055 — indexes for the admin's big lists (issue 12): every sort, filter and search a
bounded list offers (admin/listing.py ``bounded``) walks one of these in the list's
order — the column, then the list's default order (if it is not the id), then the id —
so a page at a million rows reads its 20 rows and stops, on SQLite and on PostgreSQL
(where, unlike SQLite, an index on ``(column)`` does not end with the id).
The same list as the models' ``add_index`` declarations; ``index_plan()`` derives it from
the views and tests/test_admin_scale.py checks that every planned index is declared.
"""

import peewee as pw
from peewee_migrate import Migrator

INDEXES = [
    ('project', ('title', 'id')),
    ('project', ('line', 'id')),
    ('project', ('category', 'id')),
    ('project', ('deadline', 'id')),
    ('project', ('published', 'id')),
    ('project', ('status', 'id')),
    ('project', ('grid_id', 'id')),
    ('event', ('starts_at', 'id')),
    ('event', ('title', 'starts_at', 'id')),
    ('event', ('category', 'starts_at', 'id')),
    ('event', ('published', 'starts_at', 'id')),
    ('event', ('status', 'starts_at', 'id')),
    ('event', ('organiser_id', 'starts_at', 'id')),
    ('signup', ('created_at', 'id')),
    ('signup', ('name', 'created_at', 'id')),
    ('signup', ('phone', 'created_at', 'id')),
    ('signup', ('status', 'created_at', 'id')),
    ('signup', ('code', 'created_at', 'id')),
    ('signup', ('checked_in_at', 'created_at', 'id')),
    ('signup', ('event_id', 'created_at', 'id')),
    ('signup', ('volunteer_id', 'created_at', 'id')),
    ('volunteer', ('name', 'id')),
    ('volunteer', ('phone', 'id')),
    ('volunteer', ('party_member', 'id')),
    ('volunteer', ('joined_on', 'id')),
    ('volunteer', ('status', 'id')),
    ('volunteer', ('points_balance', 'id')),
    ('volunteer', ('team_id', 'id')),
    ('volunteer', ('grid_id', 'id')),
    ('points_entry', ('created_at', 'id')),
    ('points_entry', ('kind', 'id')),
    ('points_entry', ('volunteer_id', 'id')),
    ('points_entry', ('event_id', 'id')),
    ('points_entry', ('organiser_id', 'id')),
    ('notice', ('created_at', 'id')),
    ('notice', ('recipient_phone', 'created_at', 'id')),
    ('notice', ('kind', 'created_at', 'id')),
    ('notice', ('recipient_id', 'created_at', 'id')),
    ('audit_log', ('created_at', 'id')),
    ('audit_log', ('username', 'created_at', 'id')),
    ('audit_log', ('action', 'created_at', 'id')),
    ('audit_log', ('entity', 'created_at', 'id')),
    ('audit_log', ('entity_id', 'created_at', 'id')),
    ('audit_log', ('user_id', 'created_at', 'id')),
]


def _name(table, columns):
    return f"{table}_{'_'.join(columns)}"  # peewee's own naming (ModelIndex)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in INDEXES:
        cols = ", ".join(f'"{c}"' for c in columns)
        migrator.sql(f'CREATE INDEX IF NOT EXISTS "{_name(table, columns)}" ON "{table}" ({cols})')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in reversed(INDEXES):
        migrator.sql(f'DROP INDEX IF EXISTS "{_name(table, columns)}"')
