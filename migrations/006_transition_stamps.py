"""006 — the columns the state machines stamp (services/transitions.py).

- ``project``: when it was opened for claiming, started, completed or closed, and why it
  was closed — status now moves only through the project machine, never a form.
- ``claim``: when and why a unit withdrew, and the 撤回待知悉 flag: a confirmed claim
  withdrawn by its unit waits for a clerk to take note (who and when).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "project",
        opened_at=pw.DateTimeField(null=True),
        started_at=pw.DateTimeField(null=True),
        completed_at=pw.DateTimeField(null=True),
        closed_at=pw.DateTimeField(null=True),
        close_reason=pw.TextField(null=True),
    )
    migrator.add_fields(
        "claim",
        withdrawn_at=pw.DateTimeField(null=True),
        withdraw_reason=pw.TextField(null=True),
        needs_ack=pw.BooleanField(default=False),
        acknowledged_at=pw.DateTimeField(null=True),
        acknowledged_by=pw.ForeignKeyField(column_name="acknowledged_by_id", field="id",
                                           model=migrator.orm["account"], null=True,
                                           on_delete="RESTRICT"),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("claim", "withdrawn_at", "withdraw_reason", "needs_ack", "acknowledged_at",
                           "acknowledged_by")
    migrator.remove_fields("project", "opened_at", "started_at", "completed_at", "closed_at", "close_reason")
