"""Running totals (services/totals.py): every write that adds to the ledger or the sign-ups
moves its total in the same transaction; ``flask verify-balances`` finds any total that
disagrees with the rows it counts, and ``--rebuild`` repairs it."""
import datetime as dt
from decimal import Decimal

import pytest

from models import AuditLog, EntryKind, Event, PointsEntry, Role, Signup, SignupStatus, Volunteer, db, now
from services import attendance, points, signups, totals
from services.errors import ServiceError
from services.stats import alliance_figures

from . import factories
from .records_helpers import funded_volunteer, past_event


def ledger_of(volunteer_id):
    """What the totals must say, counted from the ledger itself."""
    entries = list(PointsEntry.select().where(PointsEntry.volunteer == volunteer_id))
    service = (EntryKind.EARNED, EntryKind.HONOUR, EntryKind.CORRECTED)
    return (sum(e.points for e in entries), sum((Decimal(e.hours) for e in entries if e.kind in service), Decimal("0")),
            len(entries))


def totals_of(volunteer_id):
    v = Volunteer.get_by_id(volunteer_id)
    return v.points_balance, totals.hours(v.hours_total), v.entry_count


def test_every_kind_of_ledger_write_moves_the_totals(app, clock):
    app.config["POINTS_EXPIRE_MONTHS"] = 12
    team = factories.make_team(name="红石榴志愿服务队")
    volunteer = factories.make_volunteer(team=team, name="李淑环")
    clerk = factories.make_user(role=Role.CLERK)
    event = past_event(points=5)
    signup = factories.make_signup(event=event, name=volunteer.name, phone=volunteer.phone, volunteer=volunteer)
    with app.test_request_context():
        attendance.check_in(event.id, code=signup.code, user=clerk)
        attendance.close_attendance(event.id, user=clerk)                   # earned: +5 points, 2 h
        assert totals_of(volunteer.id) == (5, Decimal("2.00"), 1) == ledger_of(volunteer.id)

        honour = points.add_honour_hours(volunteer.id, "3.25", "2019 年抗洪志愿服务", user=clerk)
        assert totals_of(volunteer.id) == (5, Decimal("5.25"), 2)           # honour: hours, no points

        points.exchange(volunteer.id, 2, "大米一袋", user=clerk)               # exchanged: points only
        assert totals_of(volunteer.id) == (3, Decimal("5.25"), 3)

        points.correct(honour.id, points=0, hours="-0.75", reason="时长多录", user=clerk)
        assert totals_of(volunteer.id) == (3, Decimal("4.50"), 4)           # corrected: hours back

        clock.advance(dt.timedelta(days=400))
        [expired] = points.expire_points(user=clerk)                        # expired: the rest
        assert expired.points == -3
        assert totals_of(volunteer.id) == (0, Decimal("4.50"), 5) == ledger_of(volunteer.id)

        with pytest.raises(ServiceError):                                  # refused: nothing moves
            points.exchange(volunteer.id, 1, "毛巾", user=clerk)
        assert totals_of(volunteer.id) == (0, Decimal("4.50"), 5)

    assert totals.differences() == []
    assert totals.ledger_totals() == (5, Decimal("4.50"))
    assert totals.hours_by_team() == [("红石榴志愿服务队", Decimal("4.50"))]
    assert alliance_figures()["volunteer_hours"] == 4.5


def test_figures_follow_the_totals_per_team_and_without_a_team(app):
    youth, women = factories.make_team(name="青年志愿队"), factories.make_team(name="巾帼志愿队")
    a, b = funded_volunteer(0, team=youth), funded_volunteer(0, team=women)
    loner = funded_volunteer(0)
    for volunteer, hours in ((a, "2"), (a, "1.5"), (b, "4"), (loner, "0.5")):
        points.earn(volunteer.id, 1, Decimal(hours), description="服务")
    assert totals.hours_by_team() == [("巾帼志愿队", Decimal("4.00")), ("青年志愿队", Decimal("3.50")),
                                      ("未分队", Decimal("0.50"))]
    # a volunteer who changes team takes their hours along (as a join of the ledger would)
    Volunteer.update(team=women).where(Volunteer.id == a.id).execute()
    assert totals.hours_by_team() == [("巾帼志愿队", Decimal("7.50")), ("未分队", Decimal("0.50"))]


def test_sign_ups_count_only_when_they_are_written(app):
    event = factories.make_event(capacity=1)
    first = signups.register(event.id, "王芳", "13800000001")
    signups.register(event.id, "张伟", "13800000002")                      # 候补
    with pytest.raises(ServiceError):
        signups.register(event.id, "王芳", "13800000001")                  # duplicate: refused
    closed = factories.make_event(starts_at=now() - dt.timedelta(days=2))
    with pytest.raises(ServiceError):
        signups.register(closed.id, "李娜", "13800000003")                 # ended: refused
    signups.cancel(first.id)                                              # a cancellation stays counted
    assert Event.get_by_id(event.id).signup_count == 2 == Signup.select().where(Signup.event == event.id).count()
    assert Event.get_by_id(closed.id).signup_count == 0
    assert totals.signup_total() == 2
    assert totals.differences() == []


def test_dashboard_cards_read_the_totals(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(0)
    points.earn(volunteer.id, 3, Decimal("2.5"), description="服务")
    signups.register(factories.make_event().id, "王芳", "13800000001")
    from admin.dashboard import overview

    with client.application.test_request_context():
        cards = {label: value for label, value, _ in overview()["cards"]}
    assert (cards["报名"], cards["积分流水"], cards["志愿服务时长(小时)"]) == (1, 1, Decimal("2.5"))


# --- flask verify-balances ------------------------------------------------------------

def test_verify_balances_passes_when_totals_agree(app, runner):
    volunteer = funded_volunteer(20)
    points.exchange(volunteer.id, 5, "香皂")
    factories.make_signup()
    result = runner.invoke(args=["verify-balances"])
    assert result.exit_code == 0, result.output
    assert "累计数与明细一致" in result.output


def test_verify_balances_names_every_difference_and_exits_non_zero(app, runner):
    volunteer = funded_volunteer(20, name="巴特尔")
    points.earn(volunteer.id, 2, Decimal("1.5"), description="服务")
    signup = factories.make_signup()
    # what a bulk import, a hand edit or a bug would leave behind
    Volunteer.update(points_balance=25, hours_total=Decimal("9.00")).where(Volunteer.id == volunteer.id).execute()
    Event.update(signup_count=7).where(Event.id == signup.event_id).execute()

    result = runner.invoke(args=["verify-balances"])
    assert result.exit_code == 1
    out = result.output
    assert f"志愿者#{volunteer.id}（巴特尔）积分余额：记录为 25，按明细应为 22" in out
    assert f"志愿者#{volunteer.id}（巴特尔）累计服务时长：记录为 9.00，按明细应为 1.50" in out
    assert f"活动#{signup.event_id}" in out and "报名人次：记录为 7，按明细应为 1" in out
    assert "共 3 处不一致" in out

    repaired = runner.invoke(args=["verify-balances", "--rebuild"])
    assert repaired.exit_code == 0, repaired.output
    assert "共 3 处不一致，已按明细重算" in repaired.output
    assert AuditLog.select().where(AuditLog.action == "rebuild_totals").count() == 1
    assert runner.invoke(args=["verify-balances"]).exit_code == 0
    assert (Volunteer.get_by_id(volunteer.id).points_balance, Event.get_by_id(signup.event_id).signup_count) == (22, 1)


def test_verify_balances_has_chinese_help(runner):
    result = runner.invoke(args=["verify-balances", "--help"])
    assert result.exit_code == 0 and "核对积分余额" in result.output


# --- migration 050 back-fills the totals from what is already there ----------------------

def test_migration_050_back_fills_from_the_ledger_and_the_sign_ups(tmp_path):
    from peewee import SqliteDatabase

    from models.database import _router

    from .scratchdb import scratch_database

    with scratch_database(tmp_path, "m050") as database:
        router = _router(database)
        router.run("005_index_names")  # the schema before the running totals
        stamp = now()
        q = "?" if isinstance(database, SqliteDatabase) else "%s"

        def insert(table, **row):
            columns = ", ".join(f'"{c}"' for c in row)
            cursor = database.execute_sql(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join([q] * len(row))})'
                                          + ("" if q == "?" else " RETURNING id"), list(row.values()))
            return cursor.lastrowid if q == "?" else cursor.fetchone()[0]

        common = {"created_at": stamp, "updated_at": stamp}
        volunteer = insert("volunteer", name="乌兰", phone="13900000001", party_member=False, status="active",
                           points_balance=6, **common)
        idle = insert("volunteer", name="图雅", phone="13900000002", party_member=False, status="active",
                      points_balance=0, **common)
        for kind, pts, hours in (("earned", 5, "2.50"), ("honour", 0, "1.25"), ("corrected", 1, "-0.50"),
                                 ("exchanged", 0, "0")):
            insert("points_entry", volunteer_id=volunteer, kind=kind, points=pts, hours=hours,
                   description="迁移前的流水", **common)
        event = insert("event", title="迁移前的活动", category="volunteer", starts_at=stamp,
                       ends_at=stamp + dt.timedelta(hours=2), location="党群服务中心", capacity=0,
                       published=True, status="scheduled", points=0, sequence=0, **common)
        for i in range(3):
            insert("signup", event_id=event, name="居民", phone=f"1370000000{i}", status="registered",
                   code=f"C0DE{i:04d}", credited=False, **common)

        router.run()  # 050 and after
        rows = database.execute_sql(
            'SELECT id, hours_total, entry_count FROM "volunteer" ORDER BY id').fetchall()
        assert [(r[0], totals.hours(r[1]), r[2]) for r in rows] == [
            (volunteer, Decimal("3.25"), 4), (idle, Decimal("0.00"), 0)]
        assert database.execute_sql('SELECT signup_count FROM "event"').fetchone()[0] == 3
        # and 061 the places taken / waiting
        assert database.execute_sql('SELECT taken_count, waiting_count FROM "event"').fetchone() == (3, 0)
        assert totals.differences() == []
        while "050_running_totals" in router.done:  # its rollback drops the columns again
            router.rollback()
        assert "hours_total" not in {c.name for c in database.get_columns("volunteer")}
        assert not {"signup_count", "taken_count"} & {c.name for c in database.get_columns("event")}


def test_every_signup_status_leaves_the_count_alone(app):
    """Status moves (promote, cancel, check-in) never change how many sign-ups there were."""
    event = factories.make_event(capacity=1)
    a = signups.register(event.id, "王芳", "13800000001")
    b = signups.register(event.id, "张伟", "13800000002")
    signups.cancel(a.id)
    assert Signup.get_by_id(b.id).status == SignupStatus.REGISTERED
    assert Event.get_by_id(event.id).signup_count == 2
    assert totals.differences() == []


def test_places_taken_and_waiting_move_with_every_sign_up_and_move(app):
    """Event.taken_count / waiting_count (migration 061): register, cancel, promote, check-in
    and cancelling the event keep them equal to the sign-ups, in the same transactions."""
    from services import events

    event = factories.make_event(capacity=2, starts_at=now() + dt.timedelta(minutes=30))
    people = [signups.register(event.id, f"居民{i}", f"1380000000{i}") for i in range(4)]

    def places():
        e = Event.get_by_id(event.id)
        assert signups.place_counts([event.id])[event.id] == {"taken": e.taken_count, "waiting": e.waiting_count}
        assert totals.differences() == []
        return e.taken_count, e.waiting_count

    assert places() == (2, 2)
    signups.cancel(people[0].id)                      # a place freed: the first waiting is promoted
    assert Signup.get_by_id(people[2].id).status == SignupStatus.REGISTERED
    assert places() == (2, 1)
    signups.cancel(people[3].id)                      # a waiting person leaves
    assert places() == (2, 0)
    clerk = factories.make_user(role=Role.CLERK)
    attendance.check_in(event.id, signup_id=people[1].id, user=clerk)   # the place stays taken
    assert places() == (2, 0)
    with pytest.raises(ServiceError):                 # refused: nothing moves
        signups.register(event.id, "居民1", "13800000001")
    assert places() == (2, 0)
    events.move(event.id, "cancel", user=clerk, reason="天气原因")       # the registered one is cancelled
    assert places() == (1, 0) and Event.get_by_id(event.id).signup_count == 4  # the checked-in stays


def test_verify_balances_names_a_wrong_place_count(app, runner):
    signup = factories.make_signup(status=SignupStatus.WAITLISTED)
    Event.update(taken_count=3).where(Event.id == signup.event_id).execute()
    result = runner.invoke(args=["verify-balances"])
    assert result.exit_code == 1 and "已占名额：记录为 3，按明细应为 0" in result.output
    assert runner.invoke(args=["verify-balances", "--rebuild"]).exit_code == 0
    event = Event.get_by_id(signup.event_id)
    assert (event.taken_count, event.waiting_count) == (0, 1)
