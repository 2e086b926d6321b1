"""004 — an index for the API's "closing soon" sort of projects.

Every field the API lets a client sort or range-filter on is indexed, so a list page
walks an index instead of sorting the whole table (see api/resources.py).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index("project", "deadline")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("project", "deadline")
