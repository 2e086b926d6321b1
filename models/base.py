"""The database handle and the base model every entity inherits.

The database is bound late (``db.initialize`` in the app factory) so that models
import without an app, as in peewee's playhouse and coleifer's scout.
"""
import datetime as dt
from zoneinfo import ZoneInfo

from peewee import DatabaseProxy, DateTimeField, Model

db = DatabaseProxy()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def now():
    """Wall-clock time in Asia/Shanghai, naive: every datetime column holds that zone."""
    return dt.datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


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
