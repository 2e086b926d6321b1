"""The alliance itself: grids and member units."""
from peewee import CharField, DateField, ForeignKeyField, IntegerField, TextField

from .base import Choices, TimestampedModel
from .fields import PhoneField


class Grid(TimestampedModel):
    number = IntegerField(unique=True, verbose_name="网格编号")
    name = CharField(max_length=50, unique=True, verbose_name="网格名称")
    party_leader = CharField(max_length=30, null=True, verbose_name="网格党小组长")
    worker = CharField(max_length=30, null=True, verbose_name="专职网格员")
    worker_phone = PhoneField(null=True, verbose_name="网格员电话")
    unit_leaders = IntegerField(default=0, verbose_name="单元长人数")
    households = IntegerField(default=0, verbose_name="户数")
    note = TextField(null=True, verbose_name="备注")

    class Meta:
        verbose_name = "网格"
        public_fields = ("id", "number", "name", "party_leader", "worker")
        api = dict(path="grids", sorts=("number", "name", "id"), default_sort="number")
        sheet = dict(key=("name",), columns=("number", "name", "party_leader", "worker", "worker_phone",
                                             "unit_leaders", "households", "note"))


class UnitKind(Choices):
    JURISDICTION = ("jurisdiction", "辖区单位")
    LIAISON = ("liaison", "包联部门")
    SOCIAL_ORG = ("social_org", "社会组织")
    MERCHANT = ("merchant", "商户")


class UnitStatus(Choices):
    ACTIVE = ("active", "在册")
    SUSPENDED = ("suspended", "暂停")
    WITHDRAWN = ("withdrawn", "已退出")


class MemberUnit(TimestampedModel):
    name = CharField(max_length=100, unique=True, verbose_name="单位名称")
    kind = CharField(max_length=20, choices=UnitKind.choices, index=True, verbose_name="单位类型")
    contact = CharField(max_length=30, null=True, verbose_name="联系人")
    phone = PhoneField(null=True, verbose_name="联系电话")
    address = CharField(max_length=200, null=True, verbose_name="地址")
    grid = ForeignKeyField(Grid, null=True, on_delete="RESTRICT", backref="units", verbose_name="所属网格")
    joined_on = DateField(null=True, verbose_name="加入日期")
    status = CharField(max_length=20, choices=UnitStatus.choices, default=UnitStatus.ACTIVE, index=True, verbose_name="状态")
    intro = TextField(null=True, verbose_name="简介")

    class Meta:
        verbose_name = "成员单位"
        public_fields = ("id", "name", "kind", "address", "grid", "joined_on", "intro")
        api = dict(path="units", visible={"status": UnitStatus.ACTIVE}, filters=("kind", "grid"),
                   sorts=("name", "id"), default_sort="name")
        sheet = dict(key=("name",), columns=("name", "kind", "contact", "phone", "address", "grid",
                                             "joined_on", "status", "intro"))
        # pickers of units (admin forms): active first, 已退出 hidden until asked for
        picker = dict(field="status", order=("active", "suspended", "withdrawn"), hidden=("withdrawn",),
                      reveal="显示已退出单位")
