"""030 — photos (stored in the database, re-encoded, approved before public) and notices
(one per recipient per happening)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Photo(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        subject = pw.CharField(max_length=30)
        subject_id = pw.IntegerField()
        role = pw.CharField(max_length=20, default="attachment")
        position = pw.IntegerField(default=0)
        content = pw.BlobField()
        thumb = pw.BlobField()
        content_type = pw.CharField(max_length=20)
        width = pw.IntegerField()
        height = pw.IntegerField()
        size = pw.IntegerField()
        digest = pw.CharField(max_length=64)
        approved = pw.BooleanField(default=False, index=True)
        approved_by = pw.ForeignKeyField(column_name="approved_by_id", field="id", model=migrator.orm["account"],
                                         null=True, on_delete="RESTRICT")
        approved_at = pw.DateTimeField(null=True)
        uploaded_by = pw.ForeignKeyField(column_name="uploaded_by_id", field="id", model=migrator.orm["account"],
                                         null=True, on_delete="RESTRICT")

        class Meta:
            table_name = "photo"
            legacy_table_names = False
            indexes = ((("subject", "subject_id", "role"), False),)

    @migrator.create_model
    class Notice(pw.Model):
        id = pw.AutoField()
        recipient = pw.ForeignKeyField(column_name="recipient_id", field="id", model=migrator.orm["account"],
                                       null=True, on_delete="RESTRICT")
        recipient_phone = pw.CharField(max_length=20, null=True, index=True)
        kind = pw.CharField(max_length=40, index=True)
        title = pw.CharField(max_length=100)
        body = pw.TextField()
        link = pw.CharField(max_length=300, null=True)
        subject = pw.CharField(max_length=30, null=True)
        subject_id = pw.IntegerField(null=True)
        created_at = pw.DateTimeField(index=True)
        read_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "notice"
            legacy_table_names = False
            indexes = ((("recipient", "read_at"), False), (("subject", "subject_id"), False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("notice")
    migrator.remove_model("photo")
