"""020 — 项目分类 as a list clerks extend, instead of free text on each project.

``project.category`` keeps the category's name (lists, filters and the API read it as
before); the names come from ``project_category``. Every distinct value projects hold
today becomes a category (table ``project_category_list``), dated by its first project; when all its projects share one
联治 line, the category belongs to that line.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ProjectCategory(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        name = pw.CharField(max_length=50, unique=True)
        line = pw.CharField(index=True, max_length=20, null=True)
        sort_order = pw.IntegerField(default=0)
        active = pw.BooleanField(default=True)
        note = pw.TextField(null=True)

        class Meta:
            table_name = "project_category_list"  # project.category's index is "project_category"
            legacy_table_names = False  # index names from the table, as the models name them

    migrator.sql(
        'INSERT INTO "project_category_list" ("created_at", "updated_at", "name", "line", "sort_order", "active") '
        'SELECT MIN("created_at"), MIN("created_at"), "category", '
        'CASE WHEN COUNT(DISTINCT "line") = 1 THEN MIN("line") END, 0, TRUE '
        'FROM "project" WHERE "category" IS NOT NULL AND "category" <> \'\' GROUP BY "category"')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("project_category_list")
