"""Work orders keep every round: one step per move, 二次办理 keeps the first round, the
backfill of existing orders, the first-round figures, and who may rate or redo."""
import datetime as dt

import pytest

from models import (AuditLog, OrderStatus, Rating, Role, StepKind, WorkOrder, WorkOrderStep, db,
                    now)
from models.database import _router
from services import workorders
from services.errors import Forbidden
from services.stats import work_order_rounds

from . import factories
from .scratchdb import scratch_database


def new_order(user=None, **kw):
    fields = dict(channel="hotline", requester_name="刘大爷", requester_phone="13912345678",
                  category="full_proxy", description="代办医保报销，老人行动不便")
    fields.update(kw)
    return workorders.create_order(user=user, **fields)


def steps_of(order):
    return list(WorkOrderStep.select().where(WorkOrderStep.order == order.id).order_by(WorkOrderStep.id))


def clerk(name="张敏"):
    return factories.make_user(role=Role.CLERK, display_name=name)


def finish_round(order, user, result, rating, note=None, *, unit=None):
    workorders.move(order.id, "dispatch", user=user, unit=(unit or factories.make_unit()).id)
    workorders.move(order.id, "resolve", user=user, result=result)
    return workorders.move(order.id, "rate", user=user, rating=rating, note=note)


# --- one step per move, with its actor --------------------------------------------------------

def test_every_move_writes_exactly_one_step_with_its_actor(app, clock):
    staff = clerk("张敏")
    unit = factories.make_unit(name="和平街司法所")
    unit_account = factories.make_user(role=Role.UNIT, unit=unit)
    volunteer = factories.make_volunteer(name="王秀兰")
    volunteer_account = factories.make_user(role=Role.VOLUNTEER, volunteer=volunteer)

    order = new_order(user=staff)
    expected = [(StepKind.CREATE, staff.id, "张敏")]
    assert [(s.kind, s.actor_id, s.actor_label) for s in steps_of(order)] == expected

    def made(kind, actor, label, call):
        clock.advance(dt.timedelta(minutes=5))
        before = WorkOrderStep.select().count()
        call()
        assert WorkOrderStep.select().count() == before + 1, kind
        expected.append((kind, actor, label))
        assert [(s.kind, s.actor_id, s.actor_label) for s in steps_of(order)] == expected
        return steps_of(order)[-1]

    step = made(StepKind.DISPATCH, staff.id, "张敏",
                lambda: workorders.move(order.id, "dispatch", user=staff, unit=unit.id))
    assert step.assignee_label == "和平街司法所" and step.at == now() and step.round == 1
    made(StepKind.ACCEPT, unit_account.id, "和平街司法所", lambda: workorders.accept(order.id, user=unit_account))
    step = made(StepKind.HAND_BACK, unit_account.id, "和平街司法所",
                lambda: workorders.hand_back(order.id, user=unit_account, reason="不属于本所职责"))
    assert step.reason == "不属于本所职责"
    workorders.set_open_to_volunteers([order.id], True, user=staff)  # no move, no step
    assert len(steps_of(order)) == len(expected)
    step = made(StepKind.TAKE, volunteer_account.id, "志愿者 王秀兰",
                lambda: workorders.take(order.id, user=volunteer_account))
    assert step.assignee_label == "志愿者 王秀兰"
    step = made(StepKind.REPORT, volunteer_account.id, "志愿者 王秀兰",
                lambda: workorders.report_result(order.id, user=volunteer_account, result="已陪同办理"))
    assert step.result == "已陪同办理"
    step = made(StepKind.RATE, None, "居民",
                lambda: workorders.rate(order.id, Rating.UNSATISFIED, "太慢了", by_resident=True))
    assert step.by_resident and (step.rating, step.rating_note) == (Rating.UNSATISFIED, "太慢了")
    step = made(StepKind.REDO, staff.id, "张敏",
                lambda: workorders.move(order.id, "redo", user=staff, note="居民不满意，重新办理"))
    assert step.round == 2 and step.reason == "居民不满意，重新办理" and not step.by_resident
    step = made(StepKind.REVOKE, staff.id, "张敏",
                lambda: workorders.move(order.id, "revoke", user=staff, reason="居民已自行解决"))
    assert step.round == 2 and step.reason == "居民已自行解决"


def test_a_refused_move_writes_no_step(app):
    staff = clerk()
    order = new_order(user=staff)
    with pytest.raises(Exception):
        workorders.move(order.id, "resolve", user=staff, result="x")
    with pytest.raises(Exception):
        workorders.move(order.id, "dispatch", user=staff)  # no assignee
    assert [s.kind for s in steps_of(order)] == [StepKind.CREATE]


# --- 二次办理 keeps the first round --------------------------------------------------------

def test_a_redone_order_keeps_both_rounds_with_results_and_ratings(app, clock):
    staff = clerk()
    order = new_order(user=staff)
    finish_round(order, staff, "已代办并送达报销款", Rating.UNSATISFIED, "到账太慢")
    workorders.redo(order.id, "协调医保局加急", user=staff)
    clock.advance(dt.timedelta(days=1))
    workorders.move(order.id, "dispatch", user=staff, worker="网格员小王")
    workorders.move(order.id, "resolve", user=staff, result="协调医保局当日到账")
    workorders.rate(order.id, Rating.SATISFIED, "很及时", by_resident=True)

    rounds = workorders.rounds(order)
    assert [(n, label) for n, label, _ in rounds] == [(1, "第1轮（首次办理）"), (2, "第2轮（二次办理）")]
    first, second = rounds[0][2], rounds[1][2]
    assert [s.label for s in first] == ["受理", "派单", "办结", "评价"]
    assert [s.label for s in second] == ["二次办理", "派单", "办结", "评价"]
    assert (first[2].result, first[3].rating_label, first[3].rating_note) == ("已代办并送达报销款", "不满意", "到账太慢")
    assert (second[2].result, second[3].rating_label, second[3].rating_note) == ("协调医保局当日到账", "满意", "很及时")
    assert second[1].assignee_label == "网格员小王" and second[0].reason == "协调医保局加急"
    assert [s.public_label for s in workorders.timeline(order.id)][:2] == ["已受理", "已派单"]
    # the order's own columns carry the current round
    final = WorkOrder.get_by_id(order.id)
    assert (final.result, final.rating, final.redo_count) == ("协调医保局当日到账", Rating.SATISFIED, 1)


def test_the_resident_rates_and_redoes_as_trusted_code(app):
    staff = clerk()
    order = new_order(user=staff)
    workorders.move(order.id, "dispatch", user=staff, worker="网格员小王")
    workorders.move(order.id, "resolve", user=staff, result="已修好")
    workorders.rate(order.id, Rating.UNSATISFIED, "又坏了", user=None, by_resident=True)
    workorders.redo(order.id, "居民评价不满意", user=None, by_resident=True)
    rate, redo = steps_of(order)[-2:]
    assert (rate.kind, rate.actor_id, rate.actor_label, rate.by_resident) == ("rate", None, "居民", True)
    assert (redo.kind, redo.round, redo.actor_label, redo.by_resident) == ("redo", 2, "居民", True)
    log = AuditLog.select().where(AuditLog.entity == "WorkOrder", AuditLog.action == "rate").get()
    assert log.user_id is None and '"by_resident": true' in log.changes


def test_bad_ratings_write_nothing(app):
    staff = clerk()
    order = new_order(user=staff)
    workorders.move(order.id, "dispatch", user=staff, worker="网格员小王")
    workorders.move(order.id, "resolve", user=staff, result="已修好")
    count = WorkOrderStep.select().count()
    for rating, note in (("great", None), (None, None), (Rating.SATISFIED, "长" * 201)):
        with pytest.raises(Exception) as info:
            workorders.rate(order.id, rating, note, by_resident=True)
        assert info.value.status == 400
    assert WorkOrderStep.select().count() == count
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.RESOLVED


# --- who may rate or redo ------------------------------------------------------------------

def test_a_wrong_user_cannot_rate_or_redo(client, auth):
    staff = clerk()
    unit = factories.make_unit()
    order = new_order(user=staff)
    workorders.move(order.id, "dispatch", user=staff, unit=unit.id)
    workorders.move(order.id, "resolve", user=staff, result="已修好")
    unit_account = auth.as_role(Role.UNIT, unit=unit)
    for call in (lambda: workorders.rate(order.id, Rating.SATISFIED, user=unit_account),
                 lambda: workorders.move(order.id, "rate", user=unit_account, rating=Rating.SATISFIED)):
        with pytest.raises(Forbidden) as info:
            call()
        assert info.value.status == 403
    response = client.post(f"/admin/work_order/move/{order.id}", data={"action": "rate", "rating": "satisfied"})
    assert response.status_code == 403
    workorders.rate(order.id, Rating.UNSATISFIED, user=staff)
    with pytest.raises(Forbidden):
        workorders.redo(order.id, user=unit_account)
    response = client.post(f"/admin/work_order/move/{order.id}", data={"action": "redo"})
    assert response.status_code == 403
    volunteer_account = factories.make_user(role=Role.VOLUNTEER, volunteer=factories.make_volunteer())
    with pytest.raises(Forbidden):
        workorders.redo(order.id, user=volunteer_account)
    order = WorkOrder.get_by_id(order.id)
    assert (order.status, order.redo_count) == (OrderStatus.RATED, 0)
    assert [s.kind for s in steps_of(order)] == ["create", "dispatch", "resolve", "rate"]


# --- the figures ---------------------------------------------------------------------------

def test_first_round_satisfaction_and_redo_rate(client, auth):
    staff = clerk()
    happy = new_order(user=staff)
    finish_round(happy, staff, "已修好", Rating.SATISFIED)
    redone = new_order(user=staff)
    finish_round(redone, staff, "已修好", Rating.UNSATISFIED)
    workorders.redo(redone.id, user=staff)
    workorders.move(redone.id, "dispatch", user=staff, worker="网格员小王")
    workorders.move(redone.id, "resolve", user=staff, result="重新修好")
    workorders.rate(redone.id, Rating.SATISFIED, by_resident=True)
    unhappy = new_order(user=staff)
    finish_round(unhappy, staff, "已修好", Rating.UNSATISFIED)
    fair = new_order(user=staff)
    finish_round(fair, staff, "已修好", Rating.FAIR)  # 基本满意 counts as satisfied, as the residents' 满意率
    open_order = new_order(user=staff)
    workorders.move(open_order.id, "dispatch", user=staff, worker="网格员小王")
    workorders.move(open_order.id, "resolve", user=staff, result="已修好")  # not rated yet

    figures = work_order_rounds()
    assert figures == {"first_rated": 4, "first_satisfied": 2, "first_round_satisfaction": 0.5,
                       "rated_orders": 4, "redone_orders": 1, "redo_rate": 0.25}

    auth.as_role(Role.CLERK)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="fig-first-round">50%' in page and 'id="fig-redo-rate">25%' in page
    assert "二次办理 1/4 件已评价工单" in page and "满意（含基本满意）2" in page


def test_the_figures_without_ratings_are_dashes(client, auth):
    assert work_order_rounds()["first_round_satisfaction"] is None
    assert work_order_rounds()["redo_rate"] is None
    auth.as_role(Role.CLERK)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="fig-first-round">—' in page and 'id="fig-redo-rate">—' in page


# --- the backfill of existing orders (migration 025) ----------------------------------------

AFTER_025 = ("025_work_order_steps", "060_data_version_residents", "062_records_version")


@pytest.fixture
def database_before_025(tmp_path):
    """A database migrated to every number but 025 (and 060 and 062, whose triggers are on
    025's table), bound to the models, as a live installation is when 025 arrives."""
    with scratch_database(tmp_path, "before025") as database:
        database.connect()
        router = _router(database)
        for migration in router.todo:
            if not migration.startswith(AFTER_025):
                router.run_one(migration, router.migrator, fake=False)
        assert [m for m in router.diff] == list(AFTER_025)
        assert "work_order_step" not in database.get_tables()
        yield database


def test_the_backfill_gives_existing_orders_their_steps(database_before_025):
    at = dt.datetime(2026, 3, 2, 9, 0)
    hour = dt.timedelta(hours=1)
    staff = factories.make_user(role=Role.CLERK, display_name="李娟")
    unit = factories.make_unit(name="社区物业服务中心")
    volunteer = factories.make_volunteer(name="赵德明")
    fresh = factories.make_work_order(accepted_at=at)
    # a redone order in its second round: dispatched again, not yet resolved
    redone = factories.make_work_order(
        status=OrderStatus.DISPATCHED, accepted_at=at, resolved_at=at + 2 * hour, rated_at=at + 3 * hour,
        rating=Rating.UNSATISFIED, rating_note="漏水没修好", result="更换了水管", reopened_at=at + 4 * hour,
        redo_count=1, dispatched_at=at + 5 * hour, assignee_unit=unit)
    AuditLog.create(user=staff, username=staff.username, action="dispatch", entity="WorkOrder",
                    entity_id=str(redone.id))
    taken = factories.make_work_order(status=OrderStatus.REVOKED, accepted_at=at, open_to_volunteers=True,
                                      assignee_volunteer=volunteer, dispatched_at=at + hour, taken_at=at + hour,
                                      revoked_at=at + 2 * hour, revoke_reason="重复工单")
    returned = factories.make_work_order(status=OrderStatus.ACCEPTED, accepted_at=at, dispatched_at=at + hour,
                                         taken_at=at + 2 * hour, returned_at=at + 3 * hour,
                                         return_reason="不归我们管")

    router = _router(database_before_025)
    assert router.run() == list(AFTER_025)

    def steps(order):
        return [(s.round, s.kind, s.at, s.actor_label, s.assignee_label, s.result, s.rating, s.rating_note,
                 s.reason) for s in workorders.timeline(order.id)]

    assert steps(fresh) == [(1, "create", at, "工作人员", None, None, None, None, None)]
    assert steps(redone) == [
        (1, "create", at, "工作人员", None, None, None, None, None),
        (1, "resolve", at + 2 * hour, "工作人员", None, "更换了水管", None, None, None),
        (1, "rate", at + 3 * hour, "工作人员", None, None, Rating.UNSATISFIED, "漏水没修好", None),
        (2, "redo", at + 4 * hour, "工作人员", None, None, None, None, None),
        (2, "dispatch", at + 5 * hour, "李娟", "社区物业服务中心", None, None, None, None),
    ]
    assert workorders.timeline(redone)[-1].actor_id == staff.id
    assert [s[1] for s in steps(taken)] == ["create", "take", "revoke"]
    assert steps(taken)[1][4] == "志愿者 赵德明" and steps(taken)[2][8] == "重复工单"
    assert [s[1] for s in steps(returned)] == ["create", "dispatch", "accept", "hand_back"]
    assert steps(returned)[3][8] == "不归我们管"
    assert WorkOrderStep.select().where(WorkOrderStep.by_resident == True).count() == 0  # noqa: E712
    assert work_order_rounds()["redone_orders"] == 1
    # and the orders go on from there through the machine
    workorders.move(redone.id, "resolve", user=staff, result="彻底修好")
    assert [(s.round, s.kind) for s in workorders.timeline(redone.id)][-1] == (2, "resolve")


# --- the admin: the timeline on the order's page, the read-only list of steps ------------------

def redone_order(staff):
    order = new_order(user=staff)
    finish_round(order, staff, "第一次：更换了灯泡", Rating.UNSATISFIED, "两天后又不亮了",
                 unit=factories.make_unit(name="社区物业服务中心"))
    workorders.redo(order.id, "居民反映问题未解决", user=staff)
    workorders.move(order.id, "dispatch", user=staff, worker="网格员小王")
    workorders.move(order.id, "resolve", user=staff, result="第二次：更换了线路")
    workorders.rate(order.id, Rating.SATISFIED, "这次彻底修好了", by_resident=True)
    return order


def test_the_order_page_shows_every_round(client, auth):
    staff = auth.as_role(Role.CLERK)
    order = redone_order(staff)
    page = client.get(f"/admin/work_order/details/?id={order.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "办理过程" in html and 'id="order-round-1"' in html and 'id="order-round-2"' in html
    first, second = html.split('id="order-round-2"')
    first = first.split('id="order-round-1"')[1]
    second = second.split("</section>")[0]
    for text in ("第1轮（首次办理）", "社区物业服务中心", "第一次：更换了灯泡", "不满意", "两天后又不亮了"):
        assert text in first, text
    for text in ("第2轮（二次办理）", "居民反映问题未解决", "网格员小王", "第二次：更换了线路", "满意", "这次彻底修好了",
                 "居民本人"):
        assert text in second, text
    assert "第一次：更换了灯泡" not in second
    assert "居民本人操作" in html  # the history panel names the resident's own rating


def test_the_timeline_escapes_text(client, auth):
    staff = auth.as_role(Role.CLERK)
    order = new_order(user=staff)
    workorders.move(order.id, "dispatch", user=staff, worker="<b>网格员</b>")
    workorders.move(order.id, "resolve", user=staff, result='<script>alert("x")</script>\n第二行')
    workorders.rate(order.id, Rating.UNSATISFIED, "<img src=x onerror=alert(1)>", by_resident=True)
    html = client.get(f"/admin/work_order/details/?id={order.id}").get_data(as_text=True)
    timeline = html.split('id="order-timeline"')[1]
    assert "<script>alert" not in timeline and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;\n第二行" in timeline
    assert "<img src=x" not in timeline and "&lt;img src=x onerror=alert(1)&gt;" in timeline
    assert "<b>网格员</b>" not in timeline and "&lt;b&gt;网格员&lt;/b&gt;" in timeline


def test_an_order_without_steps_shows_an_empty_timeline(client, auth):
    auth.as_role(Role.CLERK)
    order = factories.make_work_order()
    html = client.get(f"/admin/work_order/details/?id={order.id}").get_data(as_text=True)
    assert "暂无办理记录" in html


def test_the_steps_list_is_read_only(client, auth):
    staff = auth.as_role(Role.CLERK)
    order = redone_order(staff)
    listing = client.get("/admin/work_order_step/")
    assert listing.status_code == 200 and "二次办理" in listing.get_data(as_text=True)
    step = WorkOrderStep.select().where(WorkOrderStep.order == order.id).first()
    assert client.get(f"/admin/work_order_step/details/?id={step.id}").status_code == 200
    count = WorkOrderStep.select().count()
    for url, data in (("/admin/work_order_step/new/", {"round": "1", "kind": "rate", "actor_label": "x"}),
                      (f"/admin/work_order_step/edit/?id={step.id}", {"actor_label": "改过"}),
                      ("/admin/work_order_step/delete/", {"id": str(step.id)})):
        client.post(url, data=data)
    assert WorkOrderStep.select().count() == count
    assert WorkOrderStep.get_by_id(step.id).actor_label == step.actor_label
    # the order's page links to its steps
    html = client.get(f"/admin/work_order/details/?id={order.id}").get_data(as_text=True)
    assert f"of=order.{order.id}" in html


# --- the demo data --------------------------------------------------------------------------

LAST_STEP = {OrderStatus.ACCEPTED: ("create",), OrderStatus.DISPATCHED: ("dispatch",),
             OrderStatus.IN_HAND: ("accept", "take"), OrderStatus.RESOLVED: ("resolve", "report"),
             OrderStatus.RATED: ("rate",), OrderStatus.REDO: ("redo",), OrderStatus.REVOKED: ("revoke",)}


def test_the_demo_orders_carry_every_round(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    orders = list(WorkOrder.select())
    by_order = {}
    for step in WorkOrderStep.select().order_by(WorkOrderStep.round, WorkOrderStep.at, WorkOrderStep.id):
        by_order.setdefault(step.order_id, []).append(step)
    assert set(by_order) == {o.id for o in orders}
    redone = 0
    for order in orders:
        steps = by_order[order.id]
        assert steps[0].kind == "create" and steps[0].at == order.accepted_at
        assert [s.at for s in steps] == sorted(s.at for s in steps), order.number
        assert steps[-1].kind in LAST_STEP[order.status], (order.number, order.status, steps[-1].kind)
        assert steps[-1].round == order.redo_count + 1
        if order.redo_count and order.status == OrderStatus.RATED:
            redone += 1
            rates = [(s.round, s.rating) for s in steps if s.kind == "rate"]
            assert rates == [(1, Rating.UNSATISFIED), (2, order.rating)]
            assert [s.result for s in steps if s.kind in ("resolve", "report")][-1] == order.result
    assert redone
    figures = work_order_rounds()
    assert figures["redone_orders"] == WorkOrder.select().where(WorkOrder.redo_count > 0).count()
    assert 0 < figures["first_round_satisfaction"] < 1 and 0 < figures["redo_rate"] < 1
