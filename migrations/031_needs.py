"""031 — 群众点单: residents' needs with their tracking code (models/needs.py)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Need(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        code = pw.CharField(max_length=8, unique=True)
        kind = pw.CharField(max_length=20, index=True)
        text = pw.TextField()
        name = pw.CharField(max_length=30)
        mobile = pw.CharField(max_length=20)
        grid = pw.ForeignKeyField(column_name="grid_id", field="id", model=migrator.orm["grid"], null=True,
                                  on_delete="RESTRICT")
        consent = pw.BooleanField(default=False)
        source = pw.CharField(max_length=20, default="web")
        status = pw.CharField(max_length=20, default="pending", index=True)
        submitted_at = pw.DateTimeField(index=True)
        accept_due_at = pw.DateTimeField()
        handled_at = pw.DateTimeField(null=True)
        handled_by = pw.ForeignKeyField(column_name="handled_by_id", field="id", model=migrator.orm["account"],
                                        null=True, on_delete="RESTRICT")
        refuse_reason = pw.TextField(null=True)
        work_order = pw.ForeignKeyField(column_name="work_order_id", field="id", model=migrator.orm["work_order"],
                                        null=True, unique=True, on_delete="RESTRICT")
        merged_into = pw.ForeignKeyField(column_name="merged_into_id", field="id",
                                         model=migrator.orm["work_order"], null=True, on_delete="RESTRICT")
        wish_id = pw.IntegerField(null=True, index=True)

        class Meta:
            table_name = "need"
            legacy_table_names = False


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("need")
