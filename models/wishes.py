"""微心愿: a resident's small wish, put on the public wall, claimed by one partner unit
(merchants included) and reported 已圆梦 with a photo and a note (seed 002)."""
from peewee import SQL, CharField, DateTimeField, ForeignKeyField, TextField

from .accounts import User
from .alliance import Grid, MemberUnit
from .base import Choices, TimestampedModel
from .fields import MobileField


class WishStatus(Choices):
    PENDING = ("pending", "待审核")
    PUBLISHED = ("published", "已发布")
    CLAIMED = ("claimed", "已认领")
    FULFILLED = ("fulfilled", "已圆梦")
    CLOSED = ("closed", "已下架")


# What the public sees (the wall, the API, the figures): approved and not taken down.
WishStatus.PUBLIC = (WishStatus.PUBLISHED, WishStatus.CLAIMED, WishStatus.FULFILLED)
# A wish that has its one claimer.
WishStatus.TAKEN = (WishStatus.CLAIMED, WishStatus.FULFILLED)


class WishSource(Choices):
    ONLINE = ("online", "线上点单")
    STAFF = ("staff", "工作人员录入")


# A claimed or fulfilled wish always names its one claimer (services/wishes.py claims it
# with a conditional UPDATE; this CHECK is the database's side of the rule).
CLAIMER_SET = "claimer_id IS NOT NULL OR status NOT IN ('claimed', 'fulfilled')"


class Wish(TimestampedModel):
    text = TextField(verbose_name="心愿内容")
    grid = ForeignKeyField(Grid, on_delete="RESTRICT", backref="wishes", verbose_name="所在网格")
    requester_name = CharField(max_length=30, verbose_name="许愿人")
    # never shown to the public: pages, the API and exports for units show ``display_name``
    requester_phone = MobileField(verbose_name="许愿人手机号")
    display_name = CharField(max_length=30, verbose_name="许愿人（公开）")
    source = CharField(max_length=20, choices=WishSource.choices, default=WishSource.STAFF, index=True,
                       verbose_name="来源")
    status = CharField(max_length=20, choices=WishStatus.choices, default=WishStatus.PENDING, index=True,
                       verbose_name="状态")
    claimer = ForeignKeyField(MemberUnit, null=True, on_delete="RESTRICT", backref="wishes",
                              verbose_name="认领单位")
    approved_at = DateTimeField(null=True, verbose_name="发布时间")
    claimed_at = DateTimeField(null=True, verbose_name="认领时间")
    fulfilled_at = DateTimeField(null=True, index=True, verbose_name="圆梦时间")
    fulfil_note = TextField(null=True, verbose_name="圆梦说明")
    withdrawn_at = DateTimeField(null=True, verbose_name="撤回认领时间")
    closed_at = DateTimeField(null=True, verbose_name="下架时间")
    close_reason = TextField(null=True, verbose_name="下架原因")
    created_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+", verbose_name="录入账号")

    class Meta:
        verbose_name = "微心愿"
        # kept by services/wishes.py (the machine, the claim, the fulfilment)
        read_only = ("display_name", "claimer", "fulfil_note", "close_reason", "created_by", "source")
        constraints = [SQL(f"CHECK ({CLAIMER_SET})")]
        public_fields = ("id", "text", "grid", "display_name", "status", "claimer", "approved_at",
                         "claimed_at", "fulfilled_at", "fulfil_note")
        api = dict(path="wishes", visible={"status": WishStatus.PUBLIC}, filters=("grid", "status"),
                   sorts=("created_at", "fulfilled_at", "id"), default_sort="-created_at")

    def __str__(self):
        return f"{self.display_name}的心愿：{(self.text or '')[:20]}"


# the wall: public wishes of a grid and a status, newest first
Wish.add_index(Wish.status, Wish.grid, Wish.created_at)
