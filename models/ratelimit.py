"""Rate-limit counters kept in the application database, shared by every app server.

One row per limit window key (``web.ratelimit.DatabaseStorage`` writes them with one
atomic upsert); expired rows are reused by the next hit on the same key and pruned now
and then.
"""
from peewee import CharField, DoubleField, IntegerField

from .base import BaseModel


class RateLimitCounter(BaseModel):
    key = CharField(max_length=255, primary_key=True, verbose_name="计数键")
    count = IntegerField(default=0, verbose_name="次数")
    expires_at = DoubleField(index=True, verbose_name="窗口结束（Unix 秒）")

    class Meta:
        verbose_name = "访问频率计数"
        table_name = "rate_limit"
