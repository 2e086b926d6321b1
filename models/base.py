"""The database handle and the base model every entity inherits.

The database is bound late (``db.initialize`` in the app factory) so that models
import without an app, as in peewee's playhouse and coleifer's scout.
"""
import datetime as dt
from zoneinfo import ZoneInfo

from peewee import DatabaseProxy, DateTimeField, Model

db = DatabaseProxy()
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """The one clock the application reads: naive Asia/Shanghai wall time, whole seconds.

    Production reads the system clock. Tests pin it to fixed instants (the last day of a
    month, New Year's Eve at 23:30, 29 February …) so that no test depends on the day it
    runs; a live test server started by the tests is pinned through ``ALLIANCE_CLOCK``
    (see ``app.load_config``), ticking from that instant.
    """

    def __init__(self):
        self._fixed = None    # a frozen instant, or None
        self._offset = None   # a ticking clock: system time + offset

    def now(self):
        if self._fixed is not None:
            return self._fixed
        wall = dt.datetime.now(SHANGHAI).replace(tzinfo=None)
        if self._offset is not None:
            wall += self._offset
        return wall.replace(microsecond=0)

    def pin(self, instant, tick=False):
        """Stop the clock at ``instant`` (naive Shanghai time), or start it ticking there."""
        instant = instant.replace(microsecond=0)
        if tick:
            self._fixed = None
            self._offset = instant - dt.datetime.now(SHANGHAI).replace(tzinfo=None)
        else:
            self._fixed, self._offset = instant, None

    def advance(self, delta):
        """Move a pinned clock forward (tests of windows, expiry, overdue orders)."""
        if self._fixed is not None:
            self._fixed += delta
        else:
            self._offset = (self._offset or dt.timedelta(0)) + delta

    def reset(self):
        self._fixed = self._offset = None

    @property
    def pinned(self):
        return self._fixed is not None or self._offset is not None


clock = Clock()


def now():
    """Wall-clock time in Asia/Shanghai, naive: every datetime column holds that zone."""
    return clock.now()


def parse_instant(text):
    """``2026-12-31T23:30`` (or with a space, with seconds) → a naive datetime."""
    return dt.datetime.fromisoformat(text.strip().replace(" ", "T"))


# The column that names a record, first match wins (lists, filters, exports, the API).
DISPLAY_ATTRS = ("name", "title", "username", "number")


def display_field(model):
    """The field that names a record of ``model``; its primary key when it has none."""
    for attr in DISPLAY_ATTRS:
        if attr in model._meta.fields:
            return model._meta.fields[attr]
    return model._meta.primary_key


class Choices:
    """Named constants with Chinese labels.

    A subclass lists ``NAME = ("code", "标签")``; after class creation ``NAME`` is the
    plain code string, ``choices`` the (code, label) pairs and ``label(code)`` the label.
    """

    choices: list = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        pairs = []
        for name, value in list(vars(cls).items()):
            if name.isupper() and isinstance(value, tuple) and len(value) == 2:
                setattr(cls, name, value[0])
                pairs.append(value)
        cls.choices = pairs
        cls._labels = dict(pairs)

    @classmethod
    def label(cls, code):
        return cls._labels.get(code, code or "")

    @classmethod
    def codes(cls):
        return [code for code, _ in cls.choices]


class BaseModel(Model):
    """Base of every entity.

    ``Meta.verbose_name`` is the entity's Chinese name; the admin, the API and the
    public pages all read it from here.
    """

    class Meta:
        database = db
        legacy_table_names = False

    @classmethod
    def insert(cls, __data=None, **insert):
        """peewee's one-row insert, its text generated once per set of columns (models/statements.py)."""
        from .statements import OnceInsert

        return OnceInsert(cls, cls._normalize_data(__data, insert))

    def __str__(self):
        for attr in DISPLAY_ATTRS:
            if attr in self._meta.fields:
                return str(getattr(self, attr) or "")
        return f"{self._meta.verbose_name} #{self.get_id()}"

    def clean(self):
        """Cross-field rules. Returns {field_name: message}; empty when valid."""
        return {}


class TimestampedModel(BaseModel):
    created_at = DateTimeField(default=now, verbose_name="创建时间", index=True)
    updated_at = DateTimeField(default=now, verbose_name="更新时间")

    def save(self, *args, **kwargs):
        if self._pk is not None:
            self.updated_at = now()
        return super().save(*args, **kwargs)
