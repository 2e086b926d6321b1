"""Work orders: 接单—派单—办单—评单 with 二次办理 and 撤销, through the one moves table."""
import datetime as dt
import json

import pytest

from models import AuditLog, OrderStatus, Rating, Role, WorkOrder, now
from services import workorders

from . import factories
from .records_helpers import alert, text


def new_order(**kw):
    fields = dict(channel="hotline", requester_name="刘大爷", requester_phone="13912345678",
                  category="full_proxy", description="代办医保报销，老人行动不便")
    fields.update(kw)
    return workorders.create_order(**fields)


def move(client, order, action, **data):
    return client.post(f"/admin/work_order/move/{order.id}", data={"action": action, **data})


def status(order):
    return WorkOrder.get_by_id(order.id).status


def test_full_loop_with_second_handling(client, auth):
    auth.as_role(Role.CLERK)
    unit = factories.make_unit(name="和平街司法所")
    order = new_order(due_at=now() + dt.timedelta(days=3))
    assert order.number.startswith("GD") and order.status == OrderStatus.ACCEPTED and order.accepted_at
    steps = [
        ("dispatch", {"unit": unit.id}, OrderStatus.DISPATCHED),
        ("resolve", {"result": "已代办并送达报销款"}, OrderStatus.RESOLVED),
        ("rate", {"rating": Rating.UNSATISFIED, "note": "到账太慢"}, OrderStatus.RATED),
        ("redo", {}, OrderStatus.REDO),
        ("dispatch", {"worker": "网格员小王"}, OrderStatus.DISPATCHED),
        ("resolve", {"result": "协调医保局当日到账"}, OrderStatus.RESOLVED),
        ("rate", {"rating": Rating.SATISFIED}, OrderStatus.RATED),
    ]
    for action, data, expected in steps:
        response = move(client, order, action, **data)
        assert response.status_code == 302, (action, alert(response))
        assert status(order) == expected
    final = WorkOrder.get_by_id(order.id)
    assert final.redo_count == 1 and final.rating == Rating.SATISFIED and final.assignee_worker == "网格员小王"
    assert all([final.dispatched_at, final.resolved_at, final.rated_at, final.reopened_at])
    log = list(AuditLog.select().where(AuditLog.entity == "WorkOrder", AuditLog.entity_id == str(order.id))
               .order_by(AuditLog.id))
    assert [a.action for a in log] == ["create"] + [s[0] for s in steps]
    assert json.loads(log[4].changes)["status"] == [OrderStatus.RATED, OrderStatus.REDO]


@pytest.mark.parametrize("closing", ["satisfied", "revoked"])
def test_every_move_from_a_closed_state_is_refused(client, auth, closing):
    auth.as_role(Role.CLERK)
    order = new_order()
    if closing == "revoked":
        workorders.move(order.id, "revoke", reason="居民已自行解决")
        label = "已撤销"
    else:
        workorders.move(order.id, "dispatch", worker="网格员小李")
        workorders.move(order.id, "resolve", result="已修复")
        workorders.move(order.id, "rate", rating=Rating.SATISFIED)
        label = "已评价"
    before = WorkOrder.get_by_id(order.id).__data__.copy()
    logged = AuditLog.select().count()
    for action, transition in workorders.MOVES.items():
        if transition.who != "records.manage":
            continue  # the assignee's moves (a unit, a volunteer): tests/test_unit_workspace.py
        response = move(client, order, action, worker="张三", result="x", rating="satisfied", reason="x")
        assert response.status_code == 409, action
        assert alert(response).startswith(f"工单已关闭（{label}），不能"), alert(response)
    assert WorkOrder.get_by_id(order.id).__data__ == before and AuditLog.select().count() == logged


@pytest.mark.parametrize("action, data, code, message", [
    ("resolve", {"result": "x"}, 409, "工单当前为“已受理”，不能办结"),
    ("rate", {"rating": "satisfied"}, 409, "工单当前为“已受理”，不能评价"),
    ("redo", {}, 409, "工单当前为“已受理”，不能二次办理"),
    ("dispatch", {}, 400, "派单时请选择一个承办方：成员单位、网格员或志愿者（只选一个）"),
    ("revoke", {"reason": " "}, 400, "请填写撤销原因"),
    ("fly", {}, 400, "不支持的工单操作"),
])
def test_illegal_or_incomplete_moves_are_refused_in_chinese(client, auth, action, data, code, message):
    auth.as_role(Role.CLERK)
    order = new_order()
    response = move(client, order, action, **data)
    assert response.status_code == code and alert(response) == message
    assert status(order) == OrderStatus.ACCEPTED


def test_redo_only_after_an_unsatisfied_rating(client, auth):
    auth.as_role(Role.CLERK)
    order = new_order()
    workorders.move(order.id, "dispatch", worker="网格员")
    workorders.move(order.id, "resolve", result="已办")
    assert move(client, order, "rate", rating="meh").status_code == 400
    workorders.move(order.id, "rate", rating=Rating.SATISFIED)
    response = move(client, order, "redo")
    assert response.status_code == 409 and "已关闭" in alert(response)


def test_generic_form_cannot_change_the_state(client, auth):
    auth.as_role(Role.CLERK)
    order = new_order()
    form = client.get(f"/admin/work_order/edit/?id={order.id}")
    assert form.status_code == 200 and 'name="status"' not in text(form) and 'name="rating"' not in text(form)
    client.post(f"/admin/work_order/edit/?id={order.id}", data={
        "channel": "visit", "requester_name": "刘大爷", "category": "full_proxy", "description": "改",
        "status": "rated", "rating": "satisfied", "resolved_at": "2020-01-01 00:00:00"})
    fresh = WorkOrder.get_by_id(order.id)
    assert fresh.status == OrderStatus.ACCEPTED and fresh.rating is None and fresh.resolved_at is None


def test_create_through_the_admin_numbers_and_accepts(client, auth):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/work_order/new/", data={
        "channel": "resident_group", "requester_name": "陈阿姨", "requester_phone": "13800001111",
        "category": "appointment_proxy", "description": "预约周六上门办理居住证"})
    assert response.status_code == 302
    order = WorkOrder.get()
    assert order.status == OrderStatus.ACCEPTED and order.accepted_at and order.number.startswith("GD")


def test_list_views_by_state_overdue_and_one_click_moves(client, auth):
    auth.as_role(Role.CLERK)
    late = new_order(description="楼道灯坏了", due_at=now() - dt.timedelta(days=1))
    on_time = new_order(description="井盖松动", due_at=now() + dt.timedelta(days=1))
    done_late = new_order(description="垃圾清运", due_at=now() - dt.timedelta(days=1))
    workorders.move(done_late.id, "dispatch", worker="网格员")
    workorders.move(done_late.id, "resolve", result="已清运")
    page = client.get("/admin/work_order/")
    body = text(page)
    assert page.status_code == 200 and "超期未办结" in body and "二次办理" in body
    assert f"/admin/work_order/move/{late.id}?action=dispatch" in body.replace("&amp;", "&")
    view = client.application.extensions["alliance_admin"]._views
    wo_view = next(v for v in view if getattr(v, "endpoint", "") == "work_order")
    with client.application.test_request_context():
        tabs = dict(wo_view.quick_views())
    overdue = text(client.get(tabs["超期未办结"]))
    assert late.number in overdue and on_time.number not in overdue and done_late.number not in overdue
    resolved = text(client.get(tabs["已办结"]))
    assert done_late.number in resolved and late.number not in resolved
    # the rate buttons on a resolved order post straight from the list
    response = move(client, done_late, "rate", rating="satisfied", next="/admin/work_order/?page=0")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/work_order/?page=0")
    response = move(client, on_time, "revoke", reason="重复工单", next="https://evil.example/")
    assert response.headers["Location"].endswith("/admin/work_order/")
    assert status(on_time) == OrderStatus.REVOKED


def test_requester_phone_never_public(client):
    order = new_order()
    for path in ("/api/v1/work_orders", "/api/v1/workorders", f"/api/v1/work_orders/{order.id}"):
        assert "13912345678" not in text(client.get(path))
