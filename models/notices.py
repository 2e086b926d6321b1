"""Notices: one record per recipient per happening, written in the same transaction as
the change that causes it (a claim confirmed, a waiting-list promotion, an order
dispatched …). The site shows them (the bell, ``/notices``); delivery beyond the site
(email, webhook) goes through an outbox kept beside them."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .base import BaseModel, Choices, now
from .fields import PhoneField


class Notice(BaseModel):
    # an account, or a resident without one (reached by phone; shown on their tracking page)
    recipient = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="notices", verbose_name="接收账号")
    recipient_phone = PhoneField(null=True, index=True, verbose_name="接收手机号")
    kind = CharField(max_length=40, index=True, verbose_name="类型")
    title = CharField(max_length=100, verbose_name="标题")
    body = TextField(verbose_name="内容")
    link = CharField(max_length=300, null=True, verbose_name="链接")
    subject = CharField(max_length=30, null=True, verbose_name="相关对象类型")
    subject_id = IntegerField(null=True, verbose_name="相关对象编号")
    created_at = DateTimeField(default=now, index=True, verbose_name="时间")
    read_at = DateTimeField(null=True, verbose_name="已读时间")

    class Meta:
        verbose_name = "通知"

    def __str__(self):
        return self.title


# the bell's unread count, and a subject's notices (a resident's tracking page)
Notice.add_index(Notice.recipient, Notice.read_at)
Notice.add_index(Notice.subject, Notice.subject_id)


class DeliveryStatus(Choices):
    PENDING = ("pending", "待发送")
    SENDING = ("sending", "发送中")
    SENT = ("sent", "已发送")
    FAILED = ("failed", "发送失败")


class NoticeDelivery(BaseModel):
    """The outbox: one row per notice per channel (email, webhook …), written in the same
    transaction as the notice; ``flask deliver-notices`` sends what is due, with retries
    and back-off (services/delivery.py). The unique (notice, channel) pair is what makes a
    second row for the same channel impossible."""

    notice = ForeignKeyField(Notice, on_delete="RESTRICT", backref="deliveries", verbose_name="通知")
    channel = CharField(max_length=20, verbose_name="渠道")
    address = CharField(max_length=200, verbose_name="发送地址")
    status = CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING,
                       verbose_name="状态")
    attempts = IntegerField(default=0, verbose_name="尝试次数")
    next_attempt_at = DateTimeField(default=now, verbose_name="下次尝试时间")
    lease_until = DateTimeField(null=True, verbose_name="占用至")
    worker = CharField(max_length=64, null=True, verbose_name="发送进程")
    response_code = IntegerField(null=True, verbose_name="响应码")
    last_error = TextField(null=True, verbose_name="最近错误")
    created_at = DateTimeField(default=now, index=True, verbose_name="创建时间")
    sent_at = DateTimeField(null=True, verbose_name="发送时间")

    class Meta:
        verbose_name = "通知投递"
        read_only = ("notice", "channel", "address", "attempts", "next_attempt_at", "lease_until", "worker",
                     "response_code", "last_error", "sent_at")

    def __str__(self):
        return f"通知投递 #{self.id}"


# at most one row per notice per channel; the worker's "what is due" scan
NoticeDelivery.add_index(NoticeDelivery.notice, NoticeDelivery.channel, unique=True)
NoticeDelivery.add_index(NoticeDelivery.status, NoticeDelivery.next_attempt_at)


# Issue 12: the admin list's sorts, filters and searches walk these in order, the list's
# default order and the id after the column (admin/listing.py ``index_plan``; migration 055).
Notice.add_index(Notice.created_at, Notice.id)
Notice.add_index(Notice.recipient_phone, Notice.created_at, Notice.id)
Notice.add_index(Notice.kind, Notice.created_at, Notice.id)
Notice.add_index(Notice.recipient, Notice.created_at, Notice.id)
