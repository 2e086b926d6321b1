"""002 — the points bank's cached balance and the goods/service given on an exchange.

``volunteer.points_balance`` is a cache of the ledger sum kept by ``services.points``
in the same transaction as each entry; its CHECK (>= 0) makes an overdraft impossible
even when two clerks exchange for one volunteer at the same instant. The ledger stays
the source of truth.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "volunteer",
        points_balance=pw.IntegerField(default=0, constraints=[pw.Check("points_balance >= 0")]),
    )
    migrator.add_fields(
        "points_entry",
        item=pw.CharField(max_length=100, null=True),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("points_entry", "item")
    migrator.remove_fields("volunteer", "points_balance")
