"""021 — spreadsheet imports: the uploaded file and its check, in the database.

The preview and the confirmation of one import may be answered by different app servers,
so the file lives in ``import_job.data``, not on one server's disk or in its memory.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ImportJob(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        entity = pw.CharField(index=True, max_length=50)
        filename = pw.CharField(max_length=200)
        size = pw.IntegerField(default=0)
        digest = pw.CharField(max_length=64)
        data = pw.BlobField()
        status = pw.CharField(default='uploaded', index=True, max_length=20)
        total_rows = pw.IntegerField(default=0)
        processed_rows = pw.IntegerField(default=0)
        created_count = pw.IntegerField(default=0)
        updated_count = pw.IntegerField(default=0)
        unchanged_count = pw.IntegerField(default=0)
        problem_count = pw.IntegerField(default=0)
        report = pw.TextField(null=True)
        message = pw.TextField(null=True)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['account'],
                                        on_delete='RESTRICT')
        applied_by = pw.ForeignKeyField(column_name='applied_by_id', field='id', model=migrator.orm['account'],
                                        null=True, on_delete='RESTRICT')
        applied_at = pw.DateTimeField(null=True)
        heartbeat_at = pw.DateTimeField(null=True)
        attempt = pw.IntegerField(default=0)

        class Meta:
            table_name = "import_job"
            legacy_table_names = False  # index names from the table, as the models name them


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("import_job")
