"""The command line: migrations, the demo alliance and creating accounts.

Every command runs through Flask's CLI runner against the test database; the demo
alliance is then checked the way a clerk or the services would see it.
"""
import datetime as dt
import hashlib
import re
import uuid
from collections import Counter, defaultdict

import pytest
from peewee import fn

from app import create_app
from models import (Claim, ClaimStatus, EntryKind, Event, EventStatus, Grid, Line, MemberUnit, OrderStatus,
                    PointsEntry, Project, ProjectStatus, Role, Signup, SignupStatus, UnitKind, User, Volunteer,
                    VolunteerTeam, WorkOrder, db, now)
from models.database import open_database

from . import factories
from .conftest import ON_POSTGRES, PG_URL

TEAMS = {"红石榴志愿服务队", "青年志愿队", "葫芦丝乐器队", "巾帼志愿队", "政策宣讲志愿队", "文明劝导志愿队",
         "维稳防控志愿队"}
DEMO_LOGINS = [  # as printed in README.md
    ("admin", "hongshiliu-admin", Role.ADMIN),
    ("clerk", "hongshiliu-clerk", Role.CLERK),
    ("unit", "hongshiliu-unit", Role.UNIT),
]
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def seed(runner, *args):
    result = runner.invoke(args=["seed-demo", *args])
    assert result.exit_code == 0, result.output
    return result


def business_counts():
    return {model.__name__: model.select().count()
            for model in (Grid, MemberUnit, User, Project, Claim, Event, Signup, Volunteer, PointsEntry, WorkOrder)}


def demo_digest():
    """What a person would recognise the demo by: names, titles, phones, dates."""
    parts = []
    parts += [f"{g.number}{g.name}{g.party_leader}{g.worker}{g.unit_leaders}"
              for g in Grid.select().order_by(Grid.number)]
    parts += [f"{u.name}{u.kind}{u.contact}{u.phone}" for u in MemberUnit.select().order_by(MemberUnit.name)]
    parts += [f"{p.title}{p.line}{p.category}{p.slots}{p.status}" for p in Project.select().order_by(Project.title)]
    parts += [f"{e.title}{e.starts_at}{e.capacity}" for e in Event.select().order_by(Event.starts_at, Event.title)]
    parts += [f"{v.name}{v.phone}" for v in Volunteer.select().order_by(Volunteer.phone)]
    parts += [f"{w.number}{w.description}" for w in WorkOrder.select().order_by(WorkOrder.number)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# --- migrations -------------------------------------------------------------------

@pytest.fixture
def blank_app(tmp_path):
    """The app on a database with no tables at all (not the migrated template)."""
    if ON_POSTGRES:
        name = f"alliance_blank_{uuid.uuid4().hex[:10]}"
        admin = open_database(PG_URL)
        admin.connect()
        admin.execute_sql(f'CREATE DATABASE "{name}"')
        url = f"{PG_URL.rpartition('/')[0]}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'blank.db'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "t-" + uuid.uuid4().hex})
    yield app
    if not db.is_closed():
        db.close()
    if hasattr(app.extensions["database"], "close_all"):  # the PostgreSQL pool's idle connections
        app.extensions["database"].close_all()
    if ON_POSTGRES:
        admin.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def test_init_db_applies_migrations_once_and_status_follows(blank_app):
    runner = blank_app.test_cli_runner()

    pending = runner.invoke(args=["migration-status"])
    assert pending.exit_code == 1
    assert "待执行迁移：" in pending.output and "001_initial" in pending.output

    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("已应用迁移：") and "001_initial" in first.output

    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0, second.output
    assert "数据库已是最新，无需迁移。" in second.output

    status = runner.invoke(args=["migration-status"])
    assert status.exit_code == 0, status.output
    assert "没有待执行的迁移。" in status.output


@pytest.mark.parametrize("command, help_text", [
    ("init-db", "应用尚未执行的数据库迁移（可重复执行）。"),
    ("migration-status", "列出待执行的迁移；有待执行迁移时退出码非零。"),
    ("seed-demo", "写入演示联盟数据（确定性）；数据库非空时需加 --force。"),
    ("create-user", "创建账号：--role admin|clerk|unit，成员单位账号需 --unit。"),
])
def test_every_command_has_chinese_help(runner, command, help_text):
    result = runner.invoke(args=[command, "--help"])
    assert result.exit_code == 0, result.output
    assert help_text in result.output
    listing = runner.invoke(args=["--help"])
    assert command in listing.output


# --- the demo alliance ----------------------------------------------------------------

def test_seed_demo_fills_the_documented_alliance(runner):
    result = seed(runner)
    seconds = float(re.search(r"用时 ([\d.]+) 秒", result.output).group(1))
    assert seconds < 10
    for username, password, _ in DEMO_LOGINS:
        assert username in result.output and password in result.output

    assert Grid.select().count() == 19
    assert Grid.select(fn.SUM(Grid.unit_leaders)).scalar() == 232
    assert MemberUnit.select().count() == 123
    kinds = Counter(u.kind for u in MemberUnit.select(MemberUnit.kind))
    assert set(kinds) == set(UnitKind.codes())
    for name in ("市第二中学", "红浦社区卫生服务站", "和平街派出所", "李淑环金牌调解室", "阳光诺卡超市"):
        assert MemberUnit.select().where(MemberUnit.name == name).exists(), name

    assert Project.select().count() == 300
    assert {p.line for p in Project.select(Project.line)} == set(Line.codes())
    statuses = Counter(p.status for p in Project.select(Project.status))
    assert set(statuses) == set(ProjectStatus.codes())
    assert Project.select().where(Project.published == True).count() > 250  # noqa: E712
    drafts = Project.select().where(Project.status == ProjectStatus.DRAFT)
    assert drafts.count() > 0 and not any(p.published for p in drafts)
    assert Project.select().where((Project.slots < 1) | (Project.slots > 3)).count() == 0

    year = now().year
    in_year = Event.select().where(Event.starts_at >= dt.datetime(year, 1, 1),
                                   Event.ends_at < dt.datetime(year + 1, 1, 1))
    assert in_year.count() == Event.select().count() >= 120
    assert Event.select().where(Event.status == EventStatus.CANCELLED).count() > 0
    assert Event.select().where(Event.published == False).count() > 0  # noqa: E712
    months = {e.starts_at.month for e in Event.select(Event.starts_at)}
    assert months == set(range(1, 13))

    assert Volunteer.select().count() == 300
    team_names = {t.name for t in VolunteerTeam.select()}
    assert team_names == TEAMS
    assert Volunteer.select().where(Volunteer.team.is_null()).count() == 0
    members = Counter(v.team.name for v in Volunteer.select(Volunteer, VolunteerTeam).join(VolunteerTeam))
    assert set(members) == TEAMS
    phones = [v.phone for v in Volunteer.select(Volunteer.phone)]
    assert len(set(phones)) == 300 and all(MOBILE.match(p) for p in phones)
    assert 0 < Volunteer.select().where(Volunteer.party_member == True).count() < 300  # noqa: E712

    for model in (Claim, Signup, PointsEntry, WorkOrder):
        assert model.select().count() > 0, model.__name__
    assert {c.status for c in Claim.select(Claim.status)} == set(ClaimStatus.codes())
    assert {s.status for s in Signup.select(Signup.status)} == set(SignupStatus.codes())
    assert {w.status for w in WorkOrder.select(WorkOrder.status)} == set(OrderStatus.codes())
    assert {e.kind for e in PointsEntry.select(PointsEntry.kind)} >= {EntryKind.EARNED, EntryKind.EXCHANGED,
                                                                      EntryKind.HONOUR}

    # the demo unit account has claims of its own to show
    unit_user = User.get(User.username == "unit")
    assert unit_user.role == Role.UNIT and unit_user.unit_id
    own = Counter(c.status for c in Claim.select().where(Claim.unit == unit_user.unit_id))
    assert own[ClaimStatus.CONFIRMED] and own[ClaimStatus.PENDING]

    # ids continue after the explicit ones the seed wrote (PostgreSQL sequences moved on)
    extra = factories.make_unit(name="种子之后新增单位")
    assert extra.id > 123
    created = runner.invoke(args=["create-user", "after-seed", "--role", "clerk", "--password", "long-enough-1"])
    assert created.exit_code == 0, created.output


def test_seed_demo_keeps_the_invariants(runner):
    seed(runner)

    # claims: live_claims is the live count, never above slots; status follows the slots
    live = dict(Claim.select(Claim.project, fn.COUNT(Claim.id)).where(Claim.status.in_(ClaimStatus.LIVE))
                .group_by(Claim.project).tuples())
    for project in Project.select():
        assert project.live_claims == live.get(project.id, 0) <= project.slots, project.title
        if project.status == ProjectStatus.OPEN:
            assert project.live_claims < project.slots
            assert project.deadline >= now().date()
        if project.status == ProjectStatus.CLAIMED:
            assert project.live_claims == project.slots
        if project.status in (ProjectStatus.DRAFT, ProjectStatus.CLOSED):
            assert project.live_claims == 0
    pairs = Counter((c.project_id, c.unit_id) for c in Claim.select().where(Claim.status.in_(ClaimStatus.LIVE)))
    assert max(pairs.values()) == 1
    assert Claim.select().where(Claim.status.in_((ClaimStatus.CONFIRMED, ClaimStatus.REJECTED)),
                                Claim.reviewed_at.is_null()).count() == 0

    # sign-ups: never over capacity, one live sign-up per phone, volunteers linked by phone
    seated = dict(Signup.select(Signup.event, fn.COUNT(Signup.id))
                  .where(Signup.status.in_((SignupStatus.REGISTERED, SignupStatus.CHECKED_IN)))
                  .group_by(Signup.event).tuples())
    for event in Event.select().where(Event.capacity > 0):
        assert seated.get(event.id, 0) <= event.capacity, event.title
    live_phones = Counter((s.event_id, s.phone) for s in Signup.select().where(Signup.status.in_(SignupStatus.LIVE)))
    assert max(live_phones.values()) == 1
    volunteer_phones = {v.phone: v.id for v in Volunteer.select()}
    for signup in Signup.select():
        assert signup.volunteer_id == volunteer_phones.get(signup.phone)
    waitlisted_events = {s.event_id for s in Signup.select().where(Signup.status == SignupStatus.WAITLISTED)}
    for event in Event.select().where(Event.id.in_(waitlisted_events or {0})):
        assert event.capacity and seated.get(event.id, 0) == event.capacity  # only full events have a queue
    unpublished = Event.select(Event.id).where(Event.published == False)  # noqa: E712
    assert Signup.select().where(Signup.event.in_(unpublished)).count() == 0

    # points: earned = hours × POINTS_PER_HOUR for checked-in volunteers; no balance ever below zero
    rate = runner.app.config["POINTS_PER_HOUR"]
    earned = (PointsEntry.select(PointsEntry, Signup).join(Signup, on=(PointsEntry.signup == Signup.id))
              .where(PointsEntry.kind == EntryKind.EARNED))
    assert earned.count() == PointsEntry.select().where(PointsEntry.kind == EntryKind.EARNED).count()
    for entry in earned:
        assert entry.points == int(entry.hours * rate) > 0
        assert entry.signup.status == SignupStatus.CHECKED_IN and entry.signup.volunteer_id == entry.volunteer_id
    assert PointsEntry.select().where(PointsEntry.kind == EntryKind.HONOUR, PointsEntry.points != 0).count() == 0
    assert PointsEntry.select().where(PointsEntry.kind == EntryKind.EXCHANGED, PointsEntry.points >= 0).count() == 0
    running = defaultdict(int)
    for entry in PointsEntry.select().order_by(PointsEntry.created_at, PointsEntry.id):
        running[entry.volunteer_id] += entry.points
        assert running[entry.volunteer_id] >= 0
    for volunteer in Volunteer.select():
        assert volunteer.points_balance == running.get(volunteer.id, 0)

    # work orders: every step's time after the one before
    assert len({w.number for w in WorkOrder.select()}) == WorkOrder.select().count()
    for order in WorkOrder.select():
        steps = [t for t in (order.accepted_at, order.dispatched_at, order.resolved_at, order.rated_at) if t]
        assert steps == sorted(steps) and order.accepted_at <= now(), order.number
        if order.status in (OrderStatus.RATED, OrderStatus.REDO):
            assert order.rating and order.rated_at
        if order.status == OrderStatus.REDO:
            assert order.reopened_at >= order.rated_at and order.redo_count == 1
        if order.status == OrderStatus.REVOKED:
            assert order.revoked_at >= order.accepted_at and order.revoke_reason


def test_seed_demo_is_deterministic_and_force_replaces(runner):
    first = runner.invoke(args=["seed-demo", "--if-empty"])  # the `make run` path on an empty database
    assert first.exit_code == 0 and "演示数据已写入" in first.output, first.output
    digest, counts = demo_digest(), business_counts()

    seed(runner, "--force")
    assert business_counts() == counts  # replaced, not added to
    assert demo_digest() == digest


@pytest.mark.parametrize("existing", ["unit", "user", "project"])
def test_seed_demo_refuses_a_database_with_data(runner, existing):
    {"unit": factories.make_unit, "user": factories.make_user, "project": factories.make_project}[existing]()
    before = business_counts()

    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0
    assert "数据库已有数据；如确需覆盖，请加 --force。" in refused.output
    assert business_counts() == before

    skipped = runner.invoke(args=["seed-demo", "--if-empty"])
    assert skipped.exit_code == 0, skipped.output
    assert skipped.output.strip() == "数据库已有数据，跳过演示数据。"
    assert business_counts() == before


def test_demo_logins_work_through_the_login_form(csrf_app):
    """With CSRF on, as in production: fetch the form, post it with its token."""
    result = csrf_app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    landing = {Role.ADMIN: "/admin", Role.CLERK: "/admin", Role.UNIT: None}
    for username, password, role in DEMO_LOGINS:
        client = csrf_app.test_client()
        page = client.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
        wrong = client.post("/login", data={"username": username, "password": "not-the-password",
                                            "csrf_token": token})
        assert wrong.status_code == 401
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        location = response.headers["Location"]
        if landing[role]:
            assert location.rstrip("/").endswith(landing[role])
            assert client.get("/admin/").status_code == 200
        else:
            assert "/admin" not in location
            assert client.get("/admin/", follow_redirects=False).status_code in (302, 403)
            assert client.get(location, follow_redirects=True).status_code == 200


# --- create-user -------------------------------------------------------------------

def test_create_user_stores_a_hashed_password(runner):
    result = runner.invoke(args=["create-user", "zhangsan", "--role", "clerk", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    assert "已创建账号 zhangsan（工作人员）" in result.output
    user = User.get(User.username == "zhangsan")
    assert user.role == Role.CLERK and user.unit_id is None
    assert user.password_hash != "s3cret-pass" and "s3cret-pass" not in user.password_hash
    assert user.check_password("s3cret-pass") and not user.check_password("s3cret-pasS")


def test_create_unit_user_needs_an_existing_unit(runner):
    missing = runner.invoke(args=["create-user", "hongpu", "--role", "unit", "--password", "long-enough-1"])
    assert missing.exit_code != 0
    assert "成员单位账号必须用 --unit 指定所属单位" in missing.output

    unknown = runner.invoke(args=["create-user", "hongpu", "--role", "unit", "--unit", "不存在的单位",
                                  "--password", "long-enough-1"])
    assert unknown.exit_code != 0
    assert "找不到成员单位：不存在的单位" in unknown.output
    assert not User.select().where(User.username == "hongpu").exists()

    unit = factories.make_unit(name="红浦社区卫生服务站")
    ok = runner.invoke(args=["create-user", "hongpu", "--role", "unit", "--unit", "红浦社区卫生服务站",
                             "--password", "long-enough-1"])
    assert ok.exit_code == 0, ok.output
    assert User.get(User.username == "hongpu").unit_id == unit.id


def test_create_user_rejects_duplicates_and_short_passwords(runner):
    assert runner.invoke(args=["create-user", "lisi", "--role", "admin", "--password", "long-enough-1"]).exit_code == 0
    duplicate = runner.invoke(args=["create-user", "lisi", "--role", "clerk", "--password", "another-pass-2"])
    assert duplicate.exit_code != 0
    assert "用户名 lisi 已存在" in duplicate.output
    assert User.get(User.username == "lisi").role == Role.ADMIN

    short = runner.invoke(args=["create-user", "wangwu", "--role", "clerk", "--password", "short"])
    assert short.exit_code != 0
    assert "密码至少 8 位" in short.output
    assert not User.select().where(User.username == "wangwu").exists()

    bad_role = runner.invoke(args=["create-user", "zhaoliu", "--role", "root", "--password", "long-enough-1"])
    assert bad_role.exit_code != 0
    assert not User.select().where(User.username == "zhaoliu").exists()


def test_create_user_prompts_for_the_password(runner):
    result = runner.invoke(args=["create-user", "prompted", "--role", "clerk"], input="typed-pass-9\ntyped-pass-9\n")
    assert result.exit_code == 0, result.output
    assert "密码" in result.output and "再次输入密码" in result.output
    assert "typed-pass-9" not in result.output  # hidden input
    assert User.get(User.username == "prompted").check_password("typed-pass-9")

    mismatch = runner.invoke(args=["create-user", "twice", "--role", "clerk"],
                             input="first-pass-1\nother-pass-2\n")
    assert mismatch.exit_code != 0
    assert not User.select().where(User.username == "twice").exists()
