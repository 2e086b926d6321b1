"""011 — rate-limit counters in the application database.

The shared limiter (``web.ratelimit``) keeps its fixed-window counters here by default,
so that every app server on one database sees the same counts (Redis instead when
``RATELIMIT_STORAGE_URL`` says so).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class RateLimitCounter(pw.Model):
        key = pw.CharField(max_length=255, primary_key=True)
        count = pw.IntegerField(default=0)
        expires_at = pw.DoubleField(index=True)

        class Meta:
            table_name = "rate_limit"
            legacy_table_names = False  # index names from the table, as the models name them


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("rate_limit")
