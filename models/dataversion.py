"""The public data's version: one row, bumped by the database in the same transaction as
every write to what the public pages show (migration 058's triggers), read once per
cacheable request (web/pagecache.py).

Because the row lives in the database, every app server on it — any number of workers
on any number of machines sharing one PostgreSQL — sees a write the moment it commits,
and never earlier: a page rendered from data older than the version it is filed under
cannot happen (the version and the data commit together).
"""
from peewee import BigIntegerField, CharField, IntegerField

from .base import BaseModel, db

# Tables whose rows appear on a public page, feed or API list (directly, or in a figure):
# a write to any of them bumps the version (migrations 058 and 060 install the triggers).
VERSIONED_TABLES = ("grid", "volunteer_team", "volunteer", "member_unit", "project", "claim",
                    "event", "signup", "project_category_list", "need", "wish", "work_order_step",
                    "photo")


class DataVersion(BaseModel):
    id = IntegerField(primary_key=True, verbose_name="编号")
    version = BigIntegerField(default=0, verbose_name="数据版本")
    changed_at = CharField(max_length=40, default="", verbose_name="最后变更（数据库时钟）")

    class Meta:
        verbose_name = "公开数据版本"
        table_name = "data_version"


def current_version():
    """A short token that changes with every committed write to a versioned table; None
    when nothing was ever written (a fresh or emptied database): then nothing is cached."""
    row = db.execute_sql('SELECT "version", "changed_at" FROM "data_version" WHERE "id" = 1').fetchone()
    return f"{row[0]}@{row[1]}" if row else None
