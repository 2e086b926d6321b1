"""Factory helpers: records with sensible defaults, overridable per test."""
import datetime as dt
import itertools

from werkzeug.security import generate_password_hash

from models import (Claim, ClaimStatus, Event, EventCategory, Grid, Line, MemberUnit, Project,
                    ProjectStatus, Role, Signup, UnitKind, User, Volunteer, VolunteerTeam, now)

PASSWORD = "correct-horse-9"
# Hashed once for the whole suite at a cheap cost (the app checks any method a hash names).
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def _n():
    return next(_seq)


def make_grid(**kw):
    n = _n()
    kw.setdefault("number", n)
    kw.setdefault("name", f"第{n}网格")
    return Grid.create(**kw)


def make_unit(**kw):
    kw.setdefault("name", f"测试单位{_n()}")
    kw.setdefault("kind", UnitKind.JURISDICTION)
    return MemberUnit.create(**kw)


def make_user(role=Role.CLERK, password=PASSWORD, **kw):
    kw.setdefault("username", f"{role}{_n()}")
    if role == Role.UNIT and "unit" not in kw:
        kw["unit"] = make_unit()
    user = User(role=role, **kw)
    if password == PASSWORD:
        user.password_hash = PASSWORD_HASH
    else:
        user.set_password(password)
    user.save(force_insert=True)
    return user


def make_project(**kw):
    kw.setdefault("title", f"测试项目{_n()}")
    kw.setdefault("line", Line.LIVELIHOOD)
    kw.setdefault("category", "银发关爱")
    kw.setdefault("published", True)
    kw.setdefault("status", ProjectStatus.OPEN)
    return Project.create(**kw)


def make_claim(**kw):
    if "project" not in kw:  # not setdefault: that would build a stray record every call
        kw["project"] = make_project()
    if "unit" not in kw:
        kw["unit"] = make_unit()
    kw.setdefault("plan", "组织志愿者每周上门服务")
    claim = Claim.create(**kw)
    if claim.status in ClaimStatus.LIVE:
        # keep the slot counter services.claims maintains (the CHECK refuses overbooking)
        Project.update(live_claims=Project.live_claims + 1).where(Project.id == claim.project_id).execute()
    return claim


def make_event(**kw):
    start = kw.pop("starts_at", now().replace(minute=0, second=0) + dt.timedelta(days=7))
    kw.setdefault("title", f"测试活动{_n()}")
    kw.setdefault("category", EventCategory.NEIGHBOURHOOD)
    kw.setdefault("location", "红浦社区党群服务中心")
    kw.setdefault("published", True)
    kw.setdefault("ends_at", start + dt.timedelta(hours=2))
    return Event.create(starts_at=start, **kw)


def make_team(**kw):
    kw.setdefault("name", f"测试服务队{_n()}")
    return VolunteerTeam.create(**kw)


def make_volunteer(**kw):
    n = _n()
    kw.setdefault("name", f"志愿者{n}")
    kw.setdefault("phone", f"139{n:08d}")
    return Volunteer.create(**kw)


def make_signup(**kw):
    n = _n()
    kw.setdefault("event", make_event())
    kw.setdefault("name", f"居民{n}")
    kw.setdefault("phone", f"138{n:08d}")
    signup = Signup.create(**kw)
    # keep the running totals services.signups.register keeps (services/totals.py)
    from services.signups import _count_place

    Event.update(signup_count=Event.signup_count + 1).where(Event.id == signup.event_id).execute()
    _count_place(signup.event_id, entering=signup.status)
    return signup


def make_progress_report(**kw):
    from models import ProgressReport

    if "claim" not in kw:
        kw["claim"] = make_claim()
    kw.setdefault("text", "本周完成入户走访 12 户")
    kw.setdefault("percent", 30)
    return ProgressReport.create(**kw)


def make_points_entry(**kw):
    from models import EntryKind, PointsEntry

    if "volunteer" not in kw:
        kw["volunteer"] = make_volunteer()
    kw.setdefault("kind", EntryKind.EARNED)
    kw.setdefault("points", 5)
    kw.setdefault("hours", 2)
    kw.setdefault("description", "参加邻里节志愿服务")
    entry = PointsEntry(**kw)
    entry.save(force_insert=True)
    # keep the balance and totals services.points keeps with each entry (services/totals.py)
    moves = {Volunteer.points_balance: Volunteer.points_balance + entry.points,
             Volunteer.entry_count: Volunteer.entry_count + 1}
    if entry.kind in (EntryKind.EARNED, EntryKind.HONOUR, EntryKind.CORRECTED):
        moves[Volunteer.hours_total] = Volunteer.hours_total + entry.hours
    Volunteer.update(moves).where(Volunteer.id == entry.volunteer_id).execute()
    return entry


def make_work_order(**kw):
    from models import Channel, OrderCategory, WorkOrder

    n = _n()
    kw.setdefault("number", f"GD{n:08d}")
    kw.setdefault("channel", Channel.RESIDENT_GROUP)
    kw.setdefault("requester_name", f"居民{n}")
    kw.setdefault("category", OrderCategory.PROPERTY)
    kw.setdefault("description", "楼道灯不亮，请尽快维修")
    return WorkOrder.create(**kw)


def make_api_token(**kw):
    import hashlib
    import secrets

    from models import ApiToken

    raw = secrets.token_hex(20)
    if "user" not in kw:
        kw["user"] = make_user(role=Role.ADMIN)
    kw.setdefault("name", "数据对接")
    return ApiToken.create(digest=hashlib.sha256(raw.encode()).hexdigest(), prefix=raw[:8], **kw)


def make_login_session(**kw):
    """A live login session row (its token is not kept: tests log in through /login)."""
    import hashlib
    import secrets

    from models import LoginSession

    if "user" not in kw:
        kw["user"] = make_user()
    kw.setdefault("digest", hashlib.sha256(secrets.token_bytes(16)).hexdigest())
    kw.setdefault("ip", "10.0.0.1")
    kw.setdefault("user_agent", "Mozilla/5.0 (iPhone)")
    kw.setdefault("expires_at", now() + dt.timedelta(hours=12))
    return LoginSession.create(**kw)


def make_login_attempt(**kw):
    from models import LoginAttempt

    kw.setdefault("username", "admin")
    kw.setdefault("ip", "10.0.0.1")
    return LoginAttempt.create(**kw)


def make_application(**kw):
    """A self-registration waiting for review (its password: PASSWORD)."""
    from models import VolunteerApplication

    n = _n()
    kw.setdefault("name", f"报名人{n}")
    kw.setdefault("phone", f"137{n:08d}")
    kw.setdefault("password_hash", PASSWORD_HASH)
    return VolunteerApplication.create(**kw)


def make_notice(**kw):
    from models import Notice

    if "recipient" not in kw and "recipient_phone" not in kw:
        kw["recipient"] = make_user()
    kw.setdefault("kind", "claim_confirmed")
    kw.setdefault("title", "认领已确认")
    kw.setdefault("body", "贵单位的认领已确认。")
    return Notice.create(**kw)


def make_delivery(**kw):
    from models import NoticeDelivery

    if "notice" not in kw:
        kw["notice"] = make_notice()
    kw.setdefault("channel", "webhook")
    kw.setdefault("address", "13900000000")
    return NoticeDelivery.create(**kw)


def make_activation(**kw):
    import hashlib
    import secrets

    from models import AccountActivation

    if "user" not in kw:
        kw["user"] = make_user(role=Role.UNIT, password_hash="")
    kw.setdefault("digest", hashlib.sha256(secrets.token_bytes(16)).hexdigest())
    kw.setdefault("expires_at", now() + dt.timedelta(days=7))
    return AccountActivation.create(**kw)


def make_category(**kw):
    from models import ProjectCategory

    kw.setdefault("name", f"测试分类{_n()}")
    kw.setdefault("line", Line.LIVELIHOOD)
    return ProjectCategory.create(**kw)


def make_import_job(**kw):
    import hashlib

    from models import ImportJob, ImportStatus

    data = kw.pop("data", "姓名,手机号\n张三,13900000000\n".encode())
    if "created_by" not in kw:
        kw["created_by"] = make_user(role=Role.CLERK)
    kw.setdefault("entity", "volunteer")
    kw.setdefault("filename", "志愿者名册.csv")
    kw.setdefault("status", ImportStatus.UPLOADED)
    return ImportJob.create(data=data, size=len(data), digest=hashlib.sha256(data).hexdigest(), **kw)


def make_wish(**kw):
    """A 微心愿 as a row (tests of the rules go through services.wishes)."""
    from models import Wish, WishStatus

    if "grid" not in kw:
        kw["grid"] = make_grid()
    kw.setdefault("text", f"想要一副老花镜{_n()}")
    kw.setdefault("requester_name", "王秀兰")
    kw.setdefault("requester_phone", "13904821234")
    kw.setdefault("display_name", "王**")
    kw.setdefault("status", WishStatus.CLAIMED if kw.get("claimer") else WishStatus.PUBLISHED)
    return Wish.create(**kw)


def make_work_order_step(**kw):
    from models import WorkOrderStep

    if "order" not in kw:
        kw["order"] = make_work_order()
    kw.setdefault("kind", "resolve")
    kw.setdefault("at", now())
    kw.setdefault("actor_label", "工作人员")
    kw.setdefault("result", "已办结\n第二行")
    return WorkOrderStep.create(**kw)


def make_need(**kw):
    """A 群众点单 as a row (tests of the rules go through services.needs)."""
    from models import Need
    from services.needs import new_code, one_working_day_after

    kw.setdefault("code", new_code())
    kw.setdefault("kind", "help")
    kw.setdefault("text", f"楼道灯坏了，请帮忙修一下{_n()}")
    kw.setdefault("name", "王秀兰")
    kw.setdefault("mobile", "13904821234")
    kw.setdefault("consent", True)
    kw.setdefault("submitted_at", now())
    kw.setdefault("accept_due_at", one_working_day_after(kw["submitted_at"]))
    return Need.create(**kw)
