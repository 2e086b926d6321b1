"""Residents' requests handled in the closed loop 接单—派单—办单—评单."""
from peewee import BooleanField, Check, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .alliance import Grid, MemberUnit
from .base import BaseModel, Choices, TimestampedModel
from .fields import PhoneField
from .volunteers import Volunteer


class Channel(Choices):
    RESIDENT_GROUP = ("resident_group", "居民群")
    HOTLINE = ("hotline", "12345")
    VISIT = ("visit", "走访")
    GRID = ("grid", "网格")
    ONLINE = ("online", "线上点单")  # a resident's own need (群众点单), accepted by a clerk


class OrderCategory(Choices):
    MEDIATION = ("mediation", "矛盾调解")
    PROPERTY = ("property", "物业维修")
    ENVIRONMENT = ("environment", "环境卫生")
    POLICY = ("policy", "政策咨询")
    ELDERLY = ("elderly", "为老服务")
    SAFETY = ("safety", "安全隐患")
    FULL_PROXY = ("full_proxy", "全程代办")
    APPOINTMENT_PROXY = ("appointment_proxy", "预约代办")
    BATCH_PROXY = ("batch_proxy", "集中代办")
    OTHER = ("other", "其他")


class OrderStatus(Choices):
    ACCEPTED = ("accepted", "已受理")
    DISPATCHED = ("dispatched", "已派单")
    IN_HAND = ("in_hand", "办理中")  # the assignee (a unit, a volunteer) accepted it (签收/接单)
    RESOLVED = ("resolved", "已办结")
    RATED = ("rated", "已评价")
    REDO = ("redo", "二次办理")
    REVOKED = ("revoked", "已撤销")


class Rating(Choices):
    SATISFIED = ("satisfied", "满意")
    FAIR = ("fair", "基本满意")  # the residents' middle answer (评单 on /track)
    UNSATISFIED = ("unsatisfied", "不满意")


ONE_ASSIGNEE = ("(CASE WHEN assignee_unit_id IS NULL THEN 0 ELSE 1 END)"
                " + (CASE WHEN assignee_volunteer_id IS NULL THEN 0 ELSE 1 END)"
                " + (CASE WHEN assignee_worker IS NULL THEN 0 ELSE 1 END) <= 1")


class WorkOrder(TimestampedModel):
    number = CharField(max_length=20, unique=True, verbose_name="工单编号")
    channel = CharField(max_length=20, choices=Channel.choices, index=True, verbose_name="来源渠道")
    requester_name = CharField(max_length=30, verbose_name="诉求人")
    requester_phone = PhoneField(null=True, verbose_name="诉求人电话")
    grid = ForeignKeyField(Grid, null=True, on_delete="RESTRICT", backref="work_orders", verbose_name="所在网格")
    category = CharField(max_length=20, choices=OrderCategory.choices, index=True, verbose_name="诉求类别")
    description = TextField(verbose_name="诉求内容")
    status = CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.ACCEPTED, index=True, verbose_name="状态")
    assignee_unit = ForeignKeyField(MemberUnit, null=True, on_delete="RESTRICT", backref="work_orders", verbose_name="承办单位")
    assignee_volunteer = ForeignKeyField(Volunteer, null=True, on_delete="RESTRICT", backref="work_orders", verbose_name="承办志愿者")
    assignee_worker = CharField(max_length=30, null=True, verbose_name="承办网格员")
    due_at = DateTimeField(null=True, index=True, verbose_name="办理时限")
    result = TextField(null=True, verbose_name="办理结果")
    rating = CharField(max_length=20, choices=Rating.choices, null=True, verbose_name="评价")
    rating_note = TextField(null=True, verbose_name="评价意见")
    revoke_reason = TextField(null=True, verbose_name="撤销原因")
    redo_count = IntegerField(default=0, verbose_name="二次办理次数")
    accepted_at = DateTimeField(null=True, verbose_name="受理时间")
    dispatched_at = DateTimeField(null=True, verbose_name="派单时间")
    resolved_at = DateTimeField(null=True, verbose_name="办结时间")
    rated_at = DateTimeField(null=True, verbose_name="评价时间")
    reopened_at = DateTimeField(null=True, verbose_name="二次办理时间")
    revoked_at = DateTimeField(null=True, verbose_name="撤销时间")
    # 党员接单: a clerk opens an accepted order to volunteers; the first to take it has it.
    # The CHECK (at most one assignee: a unit, a volunteer or a grid worker) is the
    # database's side of the one-taker rule (services/workorders.py).
    open_to_volunteers = BooleanField(default=False, index=True, verbose_name="开放党员接单",
                                      constraints=[Check(ONE_ASSIGNEE)])
    taken_at = DateTimeField(null=True, verbose_name="签收时间")
    returned_at = DateTimeField(null=True, verbose_name="退回时间")
    return_reason = TextField(null=True, verbose_name="退回原因")
    overdue_notified_at = DateTimeField(null=True, verbose_name="超期提醒时间")

    class Meta:
        verbose_name = "工单"
        read_only = ("return_reason", "overdue_notified_at")

    @property
    def assignee_label(self):
        if self.assignee_unit_id:
            return self.assignee_unit.name
        if self.assignee_volunteer_id:
            return f"志愿者 {self.assignee_volunteer.name}"
        return self.assignee_worker or ""


class StepKind(Choices):
    """One row of an order's timeline; the codes are the ORDERS machine's transition names
    (plus ``create``, the 受理 that makes the order), so the after hook writes ``kind = name``."""
    CREATE = ("create", "受理")
    DISPATCH = ("dispatch", "派单")
    ACCEPT = ("accept", "签收")
    TAKE = ("take", "接单")
    HAND_BACK = ("hand_back", "退回")
    RESOLVE = ("resolve", "办结")
    REPORT = ("report", "上报办结")
    RATE = ("rate", "评价")
    REDO = ("redo", "二次办理")
    REVOKE = ("revoke", "撤销")


class WorkOrderStep(BaseModel):
    """Every step of a work order, kept: 二次办理 starts round 2 and never overwrites round 1.

    Written only by services/workorders.py (``create_order`` and the ORDERS machine's after
    hook, inside the move's transaction); nobody edits or deletes a step."""
    order = ForeignKeyField(WorkOrder, on_delete="RESTRICT", backref="steps", verbose_name="工单")
    round = IntegerField(default=1, verbose_name="轮次")
    kind = CharField(max_length=20, choices=StepKind.choices, verbose_name="环节")
    at = DateTimeField(verbose_name="时间")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="work_order_steps",
                            verbose_name="操作账号")
    actor_label = CharField(max_length=100, verbose_name="操作人")
    assignee_label = CharField(max_length=120, null=True, verbose_name="承办方")
    result = TextField(null=True, verbose_name="办理结果")
    rating = CharField(max_length=20, choices=Rating.choices, null=True, verbose_name="评价")
    rating_note = TextField(null=True, verbose_name="评价意见")
    reason = TextField(null=True, verbose_name="原因/说明")
    by_resident = BooleanField(default=False, verbose_name="居民本人操作")

    class Meta:
        table_name = "work_order_step"
        verbose_name = "工单办理记录"
        read_only = ("order", "round", "kind", "at", "actor", "actor_label", "assignee_label", "result",
                     "rating", "rating_note", "reason", "by_resident")
        # the dashboard's first-round figures read ``kind = 'rate' AND round = 1``
        indexes = ((("kind", "round"), False),)
