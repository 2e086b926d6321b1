"""Events (活动) and sign-ups (报名)."""
import secrets

from peewee import SQL, BooleanField, CharField, DateTimeField, DecimalField, ForeignKeyField, IntegerField, TextField

from .alliance import MemberUnit
from .base import Choices, TimestampedModel
from .fields import BoundedIntegerField, MobileField
from .volunteers import Volunteer


class EventCategory(Choices):
    NEIGHBOURHOOD = ("neighbourhood", "邻里节")
    ETHNIC_MARKET = ("ethnic_market", "民族文化市集")
    VOLUNTEER = ("volunteer", "志愿服务")
    POLICY = ("policy", "政策宣讲")
    CULTURE_SPORTS = ("culture_sports", "文体活动")
    HEALTH = ("health", "健康义诊")
    SAFETY = ("safety", "平安宣传")
    PARTY = ("party", "党建活动")


class EventStatus(Choices):
    SCHEDULED = ("scheduled", "正常")
    CANCELLED = ("cancelled", "已取消")


class Event(TimestampedModel):
    title = CharField(max_length=200, verbose_name="活动名称")
    category = CharField(max_length=30, choices=EventCategory.choices, index=True, verbose_name="活动类别")
    starts_at = DateTimeField(index=True, verbose_name="开始时间")
    ends_at = DateTimeField(verbose_name="结束时间")
    location = CharField(max_length=200, verbose_name="活动地点")
    organiser = ForeignKeyField(MemberUnit, null=True, on_delete="RESTRICT", backref="events", verbose_name="主办单位")
    capacity = BoundedIntegerField(default=0, min_value=0, max_value=100000, verbose_name="人数上限(0为不限)")
    description = TextField(null=True, verbose_name="活动介绍")
    published = BooleanField(default=False, index=True, verbose_name="已发布")
    status = CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.SCHEDULED, index=True, verbose_name="状态")
    points = BoundedIntegerField(default=0, min_value=0, max_value=1000, verbose_name="参加积分")
    # RFC 5545 SEQUENCE: raised whenever what a calendar shows changes.
    sequence = IntegerField(default=0, verbose_name="修订号")
    # Sign-ups ever made for this event, moved in the sign-up's transaction by
    # services.signups.register (services/totals.py; migration 050).
    signup_count = IntegerField(default=0, verbose_name="报名人次")
    # Places taken (已报名, 已签到) and people waiting (候补), moved in the sign-up's
    # transaction by services.signups (register, and the machine's moves; migration 061).
    taken_count = IntegerField(default=0, verbose_name="已占名额")
    waiting_count = IntegerField(default=0, verbose_name="候补人数")

    class Meta:
        verbose_name = "活动"
        read_only = ("sequence", "signup_count", "taken_count", "waiting_count")
        constraints = [SQL("CHECK (ends_at > starts_at)")]
        public_fields = ("id", "title", "category", "starts_at", "ends_at", "location", "organiser",
                         "capacity", "description", "status", "points")
        api = dict(path="events", visible={"published": True},
                   filters=("category", "status", "organiser",
                            ("date_from", "starts_at", ">="), ("date_to", "starts_at", "<=")),
                   sorts=("starts_at", "created_at", "id"), default_sort="starts_at")
        # status moves only through the event machine (services/events.py): exported, never imported
        sheet = dict(key=("title", "starts_at"), columns=("title", "category", "starts_at", "ends_at", "location",
                                                          "organiser", "capacity", "description", "published",
                                                          "points"),
                     readonly=("status",))

    CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "location", "description", "status")

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "结束时间必须晚于开始时间"
        return errors

    def save(self, *args, **kwargs):
        if self._pk is not None and self._dirty & set(self.CALENDAR_FIELDS):
            self.sequence = (self.sequence or 0) + 1
            if kwargs.get("only") is not None:  # a save of the changed fields only
                kwargs["only"] = list(kwargs["only"]) + [Event.sequence]
        return super().save(*args, **kwargs)

    @property
    def is_cancelled(self):
        return self.status == EventStatus.CANCELLED


# Calendar, feeds and the home page's upcoming count (migration 003).
Event.add_index(Event.published, Event.starts_at, Event.status)
# /api/v1/events?sort=created_at walks it in order, the id breaking ties (migration 059).
Event.add_index(Event.created_at, Event.id)
# The month grid's spans (public/events.py ``_month_grid``) from the index alone: hundreds
# of events a month plus 92 days of look-back, without a table lookup each (migration 059).
Event.add_index(Event.published, Event.starts_at, Event.ends_at, Event.category)


class SignupStatus(Choices):
    REGISTERED = ("registered", "已报名")
    WAITLISTED = ("waitlisted", "候补")
    CANCELLED = ("cancelled", "已取消")
    CHECKED_IN = ("checked_in", "已签到")


# Sign-ups that hold (or wait for) a place.
SignupStatus.LIVE = (SignupStatus.REGISTERED, SignupStatus.WAITLISTED, SignupStatus.CHECKED_IN)


def new_checkin_code():
    return secrets.token_hex(6).upper()


class Signup(TimestampedModel):
    # no single-column indexes where an index of the admin lists' (below) starts with the
    # column: each would be one more B-tree every sign-up writes (migration 063)
    event = ForeignKeyField(Event, on_delete="RESTRICT", backref="signups", index=False, verbose_name="活动")
    name = CharField(max_length=30, verbose_name="姓名")
    phone = MobileField(verbose_name="手机号")
    volunteer = ForeignKeyField(Volunteer, null=True, on_delete="RESTRICT", backref="signups", index=False,
                                verbose_name="志愿者")
    status = CharField(max_length=20, choices=SignupStatus.choices, default=SignupStatus.REGISTERED, verbose_name="状态")
    code = CharField(max_length=20, unique=True, default=new_checkin_code, verbose_name="签到码")
    checked_in_at = DateTimeField(null=True, verbose_name="签到时间")
    hours = DecimalField(max_digits=6, decimal_places=2, null=True, verbose_name="服务时长(小时)")
    hours_note = CharField(max_length=200, null=True, verbose_name="时长调整说明")
    credited = BooleanField(default=False, verbose_name="已计入时长积分")

    class Meta:
        verbose_name = "报名"

    def __str__(self):
        return f"{self.name} 报名 {self.event.title}"


# One live sign-up per phone per event (cancelled ones don't count).
Signup.add_index(Signup.event, Signup.phone, unique=True, where=Signup.status.in_(SignupStatus.LIVE))


# Issue 12: the admin list's sorts, filters and searches walk these in order, the list's
# default order and the id after the column (admin/listing.py ``index_plan``; migration 055).
Event.add_index(Event.starts_at, Event.id)
Event.add_index(Event.title, Event.starts_at, Event.id)
Event.add_index(Event.category, Event.starts_at, Event.id)
Event.add_index(Event.published, Event.starts_at, Event.id)
Event.add_index(Event.status, Event.starts_at, Event.id)
Event.add_index(Event.organiser, Event.starts_at, Event.id)
Signup.add_index(Signup.created_at, Signup.id)
Signup.add_index(Signup.name, Signup.created_at, Signup.id)
Signup.add_index(Signup.phone, Signup.created_at, Signup.id)
Signup.add_index(Signup.status, Signup.created_at, Signup.id)
Signup.add_index(Signup.code, Signup.created_at, Signup.id)
Signup.add_index(Signup.checked_in_at, Signup.created_at, Signup.id)
Signup.add_index(Signup.event, Signup.created_at, Signup.id)
Signup.add_index(Signup.volunteer, Signup.created_at, Signup.id)
