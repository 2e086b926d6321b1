"""Volunteers who register themselves (志愿者注册): an application a clerk approves or
rejects (services/registrations.py). Approval ties the applicant to a Volunteer (the one
with that mobile number, or a new one) and opens their account with the password they
chose; only its hash is kept here until then."""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from .accounts import User
from .alliance import Grid
from .base import Choices, TimestampedModel
from .fields import MobileField
from .volunteers import Volunteer, VolunteerTeam


class ApplicationStatus(Choices):
    PENDING = ("pending", "待审核")
    APPROVED = ("approved", "已通过")
    REJECTED = ("rejected", "未通过")


class VolunteerApplication(TimestampedModel):
    name = CharField(max_length=30, verbose_name="姓名")
    phone = MobileField(verbose_name="手机号")
    grid = ForeignKeyField(Grid, null=True, on_delete="RESTRICT", backref="+", verbose_name="所在网格")
    team = ForeignKeyField(VolunteerTeam, null=True, on_delete="RESTRICT", backref="+", verbose_name="意向服务队")
    party_member = BooleanField(default=False, verbose_name="党员")
    skills = CharField(max_length=200, null=True, verbose_name="特长技能")
    password_hash = CharField(max_length=255, verbose_name="密码哈希")
    status = CharField(max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING,
                       index=True, verbose_name="状态")
    reviewed_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+", verbose_name="审核人")
    reviewed_at = DateTimeField(null=True, verbose_name="审核时间")
    reason = TextField(null=True, verbose_name="未通过原因")
    volunteer = ForeignKeyField(Volunteer, null=True, on_delete="RESTRICT", backref="+", verbose_name="志愿者")
    user = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+", verbose_name="开通的账号")

    class Meta:
        verbose_name = "志愿者注册申请"
        read_only = ("password_hash", "reviewed_by", "reason", "volunteer", "user")

    def __str__(self):
        return f"{self.name} 的注册申请"


# one pending application per mobile number
VolunteerApplication.add_index(VolunteerApplication.phone, unique=True,
                               where=VolunteerApplication.status == ApplicationStatus.PENDING)
