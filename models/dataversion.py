"""The data's versions, in the one-row-per-version table ``data_version``.

Row 1, the public data's version: one row, bumped by the database in the same transaction as
every write to what the public pages show (migration 058's triggers), read once per
cacheable request (web/pagecache.py).

Because the row lives in the database, every app server on it — any number of workers
on any number of machines sharing one PostgreSQL — sees a write the moment it commits,
and never earlier: a page rendered from data older than the version it is filed under
cannot happen (the version and the data commit together).

Row 2, the records' version (migration 062): bumped by a write to any table but
``UNVERSIONED_TABLES`` — those written as a side effect of reading or signing in — and read
by the admin lists' per-account cache (web/pagecache.py, ``admin_cached``).
"""
from peewee import SQL, BigIntegerField, CharField, IntegerField

from .base import BaseModel, db

# Tables whose rows appear on a public page, feed or API list (directly, or in a figure):
# a write to any of them bumps the version (migrations 058 and 060 install the triggers).
VERSIONED_TABLES = ("grid", "volunteer_team", "volunteer", "member_unit", "project", "claim",
                    "event", "signup", "project_category_list", "need", "wish", "work_order_step",
                    "photo")

# Tables written while reading or signing in (a session's last-seen stamp, a rate-limit
# window, a login attempt, the notices' delivery queue): no version row moves for them, and
# the admin lists of these tables are never cached (migration 062's triggers sit on every
# other table).
UNVERSIONED_TABLES = ("login_session", "login_attempt", "rate_limit", "notice_delivery", "data_version",
                      "migratehistory")

PUBLIC, RECORDS = 1, 2


class DataVersion(BaseModel):
    id = IntegerField(primary_key=True, verbose_name="编号")
    version = BigIntegerField(default=0, verbose_name="数据版本")
    changed_at = CharField(max_length=40, default="", verbose_name="最后变更（数据库时钟）")

    class Meta:
        verbose_name = "公开数据版本"
        table_name = "data_version"


def current_version(row=PUBLIC):
    """A short token that changes with every committed write to a table of that version
    (``PUBLIC``: the public pages' tables; ``RECORDS``: every table but the unversioned);
    None when nothing was ever written (a fresh or emptied database): then nothing is
    cached."""
    found = db.execute_sql('SELECT "version", "changed_at" FROM "data_version" WHERE "id" = %s'
                           % int(row)).fetchone()
    return f"{found[0]}@{found[1]}" if found else None


def records_version():
    return current_version(RECORDS)


def records_version_column():
    """The records' version as one more column of a query (the session check carries it, so
    a cached admin list costs the one statement every logged-in request makes anyway)."""
    return SQL(f"""(SELECT CAST("version" AS TEXT) || '@' || "changed_at" FROM "data_version" WHERE "id" = {RECORDS})"""
               ).alias("records_version")
