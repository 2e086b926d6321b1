"""035 — 微心愿 (issue 10): a resident's wish on the public wall, claimed by one unit.

``wish.claimer_id`` is the one claimer; the CHECK says a claimed or fulfilled wish
names it (services/wishes.py claims with a conditional UPDATE).
"""

import peewee as pw
from peewee_migrate import Migrator

CLAIMER_SET = "claimer_id IS NOT NULL OR status NOT IN ('claimed', 'fulfilled')"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Wish(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        text = pw.TextField()
        grid = pw.ForeignKeyField(column_name="grid_id", field="id", model=migrator.orm["grid"],
                                  on_delete="RESTRICT")
        requester_name = pw.CharField(max_length=30)
        requester_phone = pw.CharField(max_length=20)
        display_name = pw.CharField(max_length=30)
        source = pw.CharField(max_length=20, default="staff", index=True)
        status = pw.CharField(max_length=20, default="pending", index=True)
        claimer = pw.ForeignKeyField(column_name="claimer_id", field="id", model=migrator.orm["member_unit"],
                                     null=True, on_delete="RESTRICT")
        approved_at = pw.DateTimeField(null=True)
        claimed_at = pw.DateTimeField(null=True)
        fulfilled_at = pw.DateTimeField(null=True, index=True)
        fulfil_note = pw.TextField(null=True)
        withdrawn_at = pw.DateTimeField(null=True)
        closed_at = pw.DateTimeField(null=True)
        close_reason = pw.TextField(null=True)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["account"],
                                        null=True, on_delete="RESTRICT")

        class Meta:
            table_name = "wish"
            legacy_table_names = False
            constraints = [pw.SQL(f"CHECK ({CLAIMER_SET})")]
            indexes = ((("status", "grid", "created_at"), False),)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("wish")
