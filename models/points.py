"""The points bank (积分银行): an append-only ledger of service hours and points."""
from peewee import CharField, DecimalField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .alliance import MemberUnit
from .base import Choices, TimestampedModel
from .events import Event, Signup
from .volunteers import Volunteer


class EntryKind(Choices):
    EARNED = ("earned", "服务获得")
    EXCHANGED = ("exchanged", "积分兑换")
    EXPIRED = ("expired", "积分过期")
    CORRECTED = ("corrected", "更正")
    HONOUR = ("honour", "荣誉时长")


class AppendOnlyError(Exception):
    """Ledger rows are never changed or deleted; a correction is a new entry."""


class PointsEntry(TimestampedModel):
    volunteer = ForeignKeyField(Volunteer, on_delete="RESTRICT", backref="points_entries", verbose_name="志愿者")
    kind = CharField(max_length=20, choices=EntryKind.choices, index=True, verbose_name="类型")
    points = IntegerField(default=0, verbose_name="积分变动")
    hours = DecimalField(max_digits=7, decimal_places=2, default=0, verbose_name="服务时长(小时)")
    event = ForeignKeyField(Event, null=True, on_delete="RESTRICT", backref="points_entries", verbose_name="活动")
    signup = ForeignKeyField(Signup, null=True, on_delete="RESTRICT", backref="points_entries", verbose_name="报名记录")
    corrects = ForeignKeyField("self", null=True, on_delete="RESTRICT", backref="corrections", verbose_name="更正的流水")
    organiser = ForeignKeyField(MemberUnit, null=True, on_delete="RESTRICT", backref="points_entries", verbose_name="记录单位")
    recorded_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="points_entries", verbose_name="记录人")
    description = CharField(max_length=200, verbose_name="说明")
    item = CharField(max_length=100, null=True, verbose_name="兑换物品/服务")
    note = TextField(null=True, verbose_name="备注")

    class Meta:
        verbose_name = "积分流水"

    def __str__(self):
        return f"{EntryKind.label(self.kind)} {self.points:+d} 分"

    def save(self, *args, **kwargs):
        if self._pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("积分流水只能追加，不能修改；请新增一条更正记录")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise AppendOnlyError("积分流水不能删除；请新增一条更正记录")


# Issue 12: the admin list's sorts, filters and searches walk these in order, the list's
# default order and the id after the column (admin/listing.py ``index_plan``; migration 055).
PointsEntry.add_index(PointsEntry.created_at, PointsEntry.id)
PointsEntry.add_index(PointsEntry.kind, PointsEntry.id)
PointsEntry.add_index(PointsEntry.volunteer, PointsEntry.id)
PointsEntry.add_index(PointsEntry.event, PointsEntry.id)
PointsEntry.add_index(PointsEntry.organiser, PointsEntry.id)
