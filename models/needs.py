"""群众点单: what residents ask for themselves — a request for help (求助), a grievance
(诉求), a 微心愿 or a suggestion (意见建议) — with the tracking code they read out on the
phone. A clerk handles each one once (受理 → a work order; 发布为微心愿; 合并 into an
existing order; 不予受理 with a reason the resident sees): ``services.needs.NEEDS``.
"""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .alliance import Grid
from .base import Choices, TimestampedModel
from .fields import MobileField
from .workorders import WorkOrder

# 8 characters read aloud without doubt: digits 2–9 and capitals without O and I (no 0/O, 1/I)
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


class NeedKind(Choices):
    HELP = ("help", "求助")
    APPEAL = ("appeal", "诉求")
    WISH = ("wish", "微心愿")
    SUGGESTION = ("suggestion", "意见建议")


class NeedStatus(Choices):
    PENDING = ("pending", "待受理")
    ACCEPTED = ("accepted", "已受理")
    WISHED = ("wished", "已发布为微心愿")
    MERGED = ("merged", "已合并")
    REFUSED = ("refused", "未受理")


class NeedSource(Choices):
    WEB = ("web", "网页")
    MINIPROGRAM = ("miniprogram", "小程序")
    POSTER = ("poster", "海报扫码")


class Need(TimestampedModel):
    code = CharField(max_length=CODE_LENGTH, unique=True, verbose_name="查询码")
    kind = CharField(max_length=20, choices=NeedKind.choices, index=True, verbose_name="类型")
    text = TextField(verbose_name="内容")
    name = CharField(max_length=30, verbose_name="姓名")
    mobile = MobileField(verbose_name="手机号")
    grid = ForeignKeyField(Grid, null=True, on_delete="RESTRICT", backref="needs", verbose_name="所在网格")
    consent = BooleanField(default=False, verbose_name="同意联系")
    source = CharField(max_length=20, choices=NeedSource.choices, default=NeedSource.WEB, verbose_name="来源")
    status = CharField(max_length=20, choices=NeedStatus.choices, default=NeedStatus.PENDING, index=True,
                       verbose_name="状态")
    submitted_at = DateTimeField(index=True, verbose_name="提交时间")
    # one working day after submission: "accepted in time" is handled_at <= this (a column,
    # so the month's figure is one COUNT, whatever the number of needs)
    accept_due_at = DateTimeField(verbose_name="受理时限")
    handled_at = DateTimeField(null=True, verbose_name="处理时间")
    handled_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="handled_needs",
                                 verbose_name="处理人")
    refuse_reason = TextField(null=True, verbose_name="不予受理原因")
    # 受理: the work order it became (one at most: the unique index backs the machine)
    work_order = ForeignKeyField(WorkOrder, null=True, unique=True, on_delete="RESTRICT", backref="needs",
                                 verbose_name="工单")
    # 合并: the existing order it duplicates
    merged_into = ForeignKeyField(WorkOrder, null=True, on_delete="RESTRICT", backref="merged_needs",
                                  verbose_name="合并到工单")
    # 发布为微心愿: the wish's id (models/wishes.py lands in a later migration)
    wish_id = IntegerField(null=True, index=True, verbose_name="微心愿编号")

    class Meta:
        verbose_name = "群众点单"
        read_only = ("code", "status", "submitted_at", "accept_due_at", "handled_at", "handled_by",
                     "refuse_reason", "work_order", "merged_into", "wish_id", "source")

    def __str__(self):
        return f"点单 {grouped(self.code)}"

    @property
    def order(self):
        """The work order following this need (its own, or the one it was merged into)."""
        if self.work_order_id:
            return self.work_order
        if self.merged_into_id:
            return self.merged_into
        return None


def grouped(code):
    """``7KQ4M9XZ`` → ``7KQ4 M9XZ``: two groups of four, easy to read out."""
    code = code or ""
    return f"{code[:4]} {code[4:]}".strip()
