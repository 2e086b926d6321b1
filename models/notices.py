"""Notices: one record per recipient per happening, written in the same transaction as
the change that causes it (a claim confirmed, a waiting-list promotion, an order
dispatched …). The site shows them (the bell, ``/notices``); delivery beyond the site
(email, webhook) goes through an outbox kept beside them."""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .base import BaseModel, now
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
