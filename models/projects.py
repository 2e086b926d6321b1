"""Governance projects (治理项目), the claims units make on them, and progress reports."""
from peewee import SQL, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .alliance import Grid, MemberUnit
from .base import Choices, TimestampedModel, now
from .fields import BoundedIntegerField, VocabularyField


class Line(Choices):
    """The six 联治 lines of seed 000."""

    MEDIATION = ("mediation", "矛盾联调")
    LIVELIHOOD = ("livelihood", "民生联帮")
    RESOURCES = ("resources", "资源联享")
    SAFETY = ("safety", "平安联创")
    PROPERTY = ("property", "物业联管")
    CULTURE = ("culture", "文化联心")


class ProjectStatus(Choices):
    DRAFT = ("draft", "草稿")
    OPEN = ("open", "待认领")
    CLAIMED = ("claimed", "已认领")
    IN_PROGRESS = ("in_progress", "实施中")
    DONE = ("done", "已完成")
    CLOSED = ("closed", "已关闭")


class ProjectCategory(TimestampedModel):
    """项目分类: the list clerks extend; a project's category is one of these names."""

    name = CharField(max_length=50, unique=True, verbose_name="分类名称")
    line = CharField(max_length=20, choices=Line.choices, null=True, index=True, verbose_name="所属联治类别")
    sort_order = IntegerField(default=0, verbose_name="排序")
    active = BooleanField(default=True, verbose_name="启用")
    note = TextField(null=True, verbose_name="说明")

    class Meta:
        verbose_name = "项目分类"
        table_name = "project_category_list"  # "project_category" is the name of project.category's index


class Project(TimestampedModel):
    title = CharField(max_length=200, verbose_name="项目名称")
    line = CharField(max_length=20, choices=Line.choices, index=True, verbose_name="联治类别")
    category = VocabularyField(max_length=50, index=True, vocabulary="ProjectCategory", verbose_name="项目分类")
    description = TextField(null=True, verbose_name="项目内容")
    grid = ForeignKeyField(Grid, null=True, on_delete="RESTRICT", backref="projects", verbose_name="所在网格")
    needs = TextField(null=True, verbose_name="需求与资源")
    slots = BoundedIntegerField(default=1, min_value=1, max_value=1000, verbose_name="认领名额")
    # Live (待审核 + 已确认) claims. Kept by services.claims in the same transaction as
    # the claim; the CHECK makes overbooking impossible even under concurrent requests.
    live_claims = BoundedIntegerField(default=0, min_value=0, verbose_name="已占名额")
    deadline = DateField(null=True, index=True, verbose_name="认领截止日期")
    published = BooleanField(default=False, index=True, verbose_name="已发布")
    status = CharField(max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.DRAFT, index=True, verbose_name="项目状态")
    progress = BoundedIntegerField(default=0, min_value=0, max_value=100, verbose_name="进度(%)")
    # set by the project state machine (services/projects.py), never by a form
    opened_at = DateTimeField(null=True, verbose_name="开放认领时间")
    started_at = DateTimeField(null=True, verbose_name="开始实施时间")
    completed_at = DateTimeField(null=True, verbose_name="完成时间")
    closed_at = DateTimeField(null=True, verbose_name="关闭时间")
    close_reason = TextField(null=True, verbose_name="关闭原因")

    class Meta:
        verbose_name = "治理项目"
        # kept by services (slots: claims; progress: reports; reason: the close move)
        read_only = ("live_claims", "progress", "close_reason")
        constraints = [SQL("CHECK (live_claims <= slots)")]
        public_fields = ("id", "title", "line", "category", "description", "grid", "needs",
                         "slots", "live_claims", "deadline", "status", "progress")
        api = dict(path="projects",
                   visible={"published": True, "status": tuple(ProjectStatus.codes()[1:])},  # not drafts
                   filters=("line", "category", "grid", "status"),
                   sorts=("created_at", "deadline", "id"), default_sort="-created_at",
                   computed={"slots_left": ("integer", "剩余名额")})
        # status and progress follow claims and progress reports; an import never sets them
        sheet = dict(key=("title", "line"), columns=("title", "line", "category", "description", "grid", "needs",
                                                     "slots", "deadline", "published"),
                     readonly=("status", "progress", "live_claims"))

    @property
    def slots_left(self):
        return max(self.slots - self.live_claims, 0)


# The home page's open / claimed / done counts (migration 003).
Project.add_index(Project.published, Project.status)
# /api/v1/projects' default order (newest first, the id breaking ties): a LIMITed walk
# instead of sorting every public project (migration 059).
Project.add_index(Project.created_at, Project.id)


class ClaimStatus(Choices):
    PENDING = ("pending", "待审核")
    CONFIRMED = ("confirmed", "已确认")
    REJECTED = ("rejected", "已驳回")
    WITHDRAWN = ("withdrawn", "已撤回")


# Claims that hold a slot.
ClaimStatus.LIVE = (ClaimStatus.PENDING, ClaimStatus.CONFIRMED)


class Claim(TimestampedModel):
    project = ForeignKeyField(Project, on_delete="RESTRICT", backref="claims", verbose_name="治理项目")
    unit = ForeignKeyField(MemberUnit, on_delete="RESTRICT", backref="claims", verbose_name="认领单位")
    plan = TextField(verbose_name="认领说明")
    status = CharField(max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.PENDING, index=True, verbose_name="状态")
    reviewed_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="reviewed_claims", verbose_name="审核人")
    reviewed_at = DateTimeField(null=True, verbose_name="审核时间")
    note = TextField(null=True, verbose_name="审核意见")
    withdrawn_at = DateTimeField(null=True, verbose_name="撤回时间")
    withdraw_reason = TextField(null=True, verbose_name="撤回原因")
    # a confirmed claim withdrawn by its unit waits here until a clerk has taken note
    needs_ack = BooleanField(default=False, verbose_name="撤回待知悉")
    acknowledged_at = DateTimeField(null=True, verbose_name="知悉时间")
    acknowledged_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+", verbose_name="知悉人")

    class Meta:
        verbose_name = "认领"
        read_only = ("reviewed_by", "withdraw_reason", "needs_ack", "acknowledged_by")
        # shown only to the unit that made the claim
        public_fields = ("id", "project", "status", "plan", "note", "created_at", "reviewed_at",
                         "withdrawn_at", "withdraw_reason")
        api = dict(path="claims", scope="own", owner="unit", permission="claims.own",
                   filters=("status", "project"),
                   sorts=("created_at", "id"), default_sort="-created_at")

    def __str__(self):
        return f"{self.unit.name} 认领 {self.project.title}"


# One live claim per unit per project, enforced by the database (a partial unique index).
Claim.add_index(Claim.project, Claim.unit, unique=True, where=Claim.status.in_(ClaimStatus.LIVE))


class ProgressReport(TimestampedModel):
    claim = ForeignKeyField(Claim, on_delete="RESTRICT", backref="reports", verbose_name="认领")
    text = TextField(verbose_name="进展内容")
    percent = BoundedIntegerField(default=0, min_value=0, max_value=100, verbose_name="完成进度(%)")
    reported_on = DateField(default=lambda: now().date(), verbose_name="报告日期")

    class Meta:
        verbose_name = "项目进展"
        public_fields = ("id", "claim", "text", "percent", "reported_on", "created_at")

    def __str__(self):
        return f"进展 #{self.id}（{self.percent}%）"


# Issue 12: the admin list's sorts, filters and searches walk these in order, the list's
# default order and the id after the column (admin/listing.py ``index_plan``; migration 055).
Project.add_index(Project.title, Project.id)
Project.add_index(Project.line, Project.id)
Project.add_index(Project.category, Project.id)
Project.add_index(Project.deadline, Project.id)
Project.add_index(Project.published, Project.id)
Project.add_index(Project.status, Project.id)
Project.add_index(Project.grid, Project.id)
