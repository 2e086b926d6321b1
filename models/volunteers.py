"""The volunteer team (志愿服务队) and its members."""
from peewee import BooleanField, CharField, DateField, DecimalField, ForeignKeyField, IntegerField, TextField

from .alliance import Grid
from .base import Choices, TimestampedModel
from .fields import BoundedIntegerField, MobileField


class VolunteerTeam(TimestampedModel):
    name = CharField(max_length=50, unique=True, verbose_name="服务队名称")
    leader = CharField(max_length=30, null=True, verbose_name="队长")
    leader_phone = MobileField(null=True, verbose_name="队长电话")
    founded_on = DateField(null=True, verbose_name="成立日期")
    intro = TextField(null=True, verbose_name="简介")

    class Meta:
        verbose_name = "志愿服务队"
        public_fields = ("id", "name", "leader", "founded_on", "intro")
        api = dict(path="teams", sorts=("name", "id"), default_sort="name")
        sheet = dict(key=("name",), columns=("name", "leader", "leader_phone", "founded_on", "intro"))


class VolunteerStatus(Choices):
    ACTIVE = ("active", "在队")
    LEFT = ("left", "已退出")


class Volunteer(TimestampedModel):
    name = CharField(max_length=30, verbose_name="姓名")
    phone = MobileField(unique=True, verbose_name="手机号")
    team = ForeignKeyField(VolunteerTeam, null=True, on_delete="RESTRICT", backref="members", verbose_name="服务队")
    grid = ForeignKeyField(Grid, null=True, on_delete="RESTRICT", backref="volunteers", verbose_name="所在网格")
    party_member = BooleanField(default=False, index=True, verbose_name="党员")
    skills = CharField(max_length=200, null=True, verbose_name="特长技能")
    joined_on = DateField(null=True, verbose_name="加入日期")
    status = CharField(max_length=20, choices=VolunteerStatus.choices, default=VolunteerStatus.ACTIVE, index=True, verbose_name="状态")
    # Cache of the points ledger's sum, moved only by services.points in the same
    # transaction as each entry; the CHECK (>= 0) makes an overdraft impossible.
    points_balance = BoundedIntegerField(default=0, min_value=0, verbose_name="积分余额")
    # Running totals of the same ledger, moved by the same UPDATE (services/totals.py):
    # the dashboard and home page sum these instead of the ledger (migration 050).
    hours_total = DecimalField(max_digits=10, decimal_places=2, default=0, verbose_name="累计服务时长(小时)")
    entry_count = IntegerField(default=0, verbose_name="积分流水条数")

    class Meta:
        verbose_name = "志愿者"
        read_only = ("points_balance", "hours_total", "entry_count")  # kept by services.points with each ledger entry
        sheet = dict(key=("phone",), columns=("name", "phone", "team", "grid", "party_member", "skills",
                                              "joined_on", "status"),
                     readonly=("points_balance",))


# Issue 12: the admin list's sorts, filters and searches walk these in order, the list's
# default order and the id after the column (admin/listing.py ``index_plan``; migration 055).
Volunteer.add_index(Volunteer.name, Volunteer.id)
Volunteer.add_index(Volunteer.phone, Volunteer.id)
Volunteer.add_index(Volunteer.party_member, Volunteer.id)
Volunteer.add_index(Volunteer.joined_on, Volunteer.id)
Volunteer.add_index(Volunteer.status, Volunteer.id)
Volunteer.add_index(Volunteer.points_balance, Volunteer.id)
Volunteer.add_index(Volunteer.team, Volunteer.id)
Volunteer.add_index(Volunteer.grid, Volunteer.id)
