"""The API of the loops: the caller's dispatched orders (list, read, accept, report result,
hand back) and notices, with a token or the session (+ CSRF), in the OpenAPI document —
and another unit's order is a 404 whatever id is sent."""
import pytest

from models import Notice, OrderStatus, Role, WorkOrder
from services import tokens, workorders

from . import factories as f


@pytest.fixture
def world(app):
    clerk = f.make_user(role=Role.CLERK)
    user = f.make_user(role=Role.UNIT)
    other = f.make_user(role=Role.UNIT)
    _, token = tokens.issue_token(user, "小程序")
    _, other_token = tokens.issue_token(other, "小程序")

    def order(unit_user, **kw):
        made = f.make_work_order(requester_phone="13904829999", **kw)
        return workorders.move(made.id, "dispatch", user=clerk, unit=unit_user.unit_id)

    return {"clerk": clerk, "user": user, "other": other, "order": order,
            "auth": {"Authorization": f"Bearer {token}"}, "other_auth": {"Authorization": f"Bearer {other_token}"}}


def test_the_unit_lists_reads_accepts_reports_and_hands_back(client, world):
    mine, second, theirs = world["order"](world["user"]), world["order"](world["user"]), world["order"](world["other"])
    headers = world["auth"]
    listing = client.get("/api/v1/orders", headers=headers).get_json()
    assert listing["total"] == 2 and {o["id"] for o in listing["items"]} == {mine.id, second.id}
    item = client.get(f"/api/v1/orders/{mine.id}", headers=headers).get_json()
    assert item["status"] == "dispatched" and item["moves"] == ["accept", "report", "hand_back"]
    assert item["requester_phone"] == "13904829999"
    accepted = client.post(f"/api/v1/orders/{mine.id}/accept", headers=headers).get_json()
    assert accepted["status"] == "in_hand" and accepted["taken_at"].endswith("+08:00")
    again = client.post(f"/api/v1/orders/{mine.id}/accept", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["message"] == "工单当前为“办理中”，不能签收办理"
    done = client.post(f"/api/v1/orders/{mine.id}/result", headers=headers, json={"result": "已修复"}).get_json()
    assert (done["status"], done["result"], done["moves"], done["requester_phone"]) == ("resolved", "已修复", [], None)
    empty = client.post(f"/api/v1/orders/{second.id}/hand-back", headers=headers, json={"reason": "  "})
    assert empty.status_code == 400 and empty.get_json()["error"]["message"] == "请填写退回原因"
    back = client.post(f"/api/v1/orders/{second.id}/hand-back", headers=headers, json={"reason": "不归本单位"})
    assert back.status_code == 200
    assert WorkOrder.get_by_id(second.id).status == OrderStatus.ACCEPTED
    assert client.get("/api/v1/orders", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/orders?status=all", headers=headers).get_json()["total"] == 1
    assert WorkOrder.get_by_id(theirs.id).status == OrderStatus.DISPATCHED


def test_another_units_order_is_a_404_for_every_operation(client, world):
    theirs = world["order"](world["other"])
    before = WorkOrder.get_by_id(theirs.id).__data__.copy()
    headers = world["auth"]
    for method, path, body in (("get", "", None), ("post", "/accept", None), ("post", "/result", {"result": "x"}),
                               ("post", "/hand-back", {"reason": "x"})):
        response = getattr(client, method)(f"/api/v1/orders/{theirs.id}{path}", headers=headers, json=body)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["message"] == "工单不存在或不是派给您的"
    assert WorkOrder.get_by_id(theirs.id).__data__ == before


def test_the_session_writes_need_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    user = f.make_user(role=Role.UNIT)
    order = f.make_work_order()
    workorders.move(order.id, "dispatch", user=f.make_user(role=Role.CLERK), unit=user.unit_id)
    page = client.get("/login").get_data(as_text=True)
    from .live import csrf_token

    client.post("/login", data={"username": user.username, "password": f.PASSWORD, "csrf_token": csrf_token(page)})
    assert client.get("/api/v1/orders").get_json()["total"] == 1
    refused = client.post(f"/api/v1/orders/{order.id}/accept")
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]["message"]
    token = client.get("/api/v1/me").get_json()["csrf_token"]
    assert client.post(f"/api/v1/orders/{order.id}/accept", headers={"X-CSRFToken": token}).status_code == 200


def test_who_may_call(client, world):
    assert client.get("/api/v1/orders").status_code == 401
    _, clerk_token = tokens.issue_token(world["clerk"], "后台")
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {clerk_token}"})
    assert response.status_code == 403
    volunteer = f.make_volunteer()
    account = f.make_user(role=Role.VOLUNTEER, volunteer=volunteer)
    order = f.make_work_order()
    workorders.move(order.id, "dispatch", user=world["clerk"], volunteer=volunteer.id)
    _, volunteer_token = tokens.issue_token(account, "手机")
    mine = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {volunteer_token}"}).get_json()
    assert [o["id"] for o in mine["items"]] == [order.id]
    assert client.get("/api/v1/orders?status=maybe", headers=world["auth"]).status_code == 400
    assert client.get("/api/v1/orders?colour=red", headers=world["auth"]).status_code == 400


def test_the_caller_reads_and_marks_notices(client, world):
    world["order"](world["user"])  # one order_dispatched notice
    f.make_notice(recipient=world["user"], title="认领已确认", link="/my/claims/3")
    theirs = f.make_notice(recipient=world["other"], title="别人的")
    headers = world["auth"]
    page = client.get("/api/v1/notices", headers=headers).get_json()
    assert page["total"] == 2 and "别人的" not in str(page)
    assert page["items"][0]["link"].endswith("/my/claims/3") and page["items"][0]["link"].startswith("http")
    first = page["items"][0]["id"]
    read = client.post(f"/api/v1/notices/{first}/read", headers=headers).get_json()
    assert read["read_at"] is not None
    assert client.get("/api/v1/notices?unread=true", headers=headers).get_json()["total"] == 1
    assert client.post(f"/api/v1/notices/{theirs.id}/read", headers=headers).status_code == 404
    assert Notice.get_by_id(theirs.id).read_at is None
    assert client.post("/api/v1/notices/read-all", headers=headers).get_json() == {"marked": 1}
    assert client.get("/api/v1/notices?unread=maybe", headers=headers).status_code == 400


def test_the_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/orders/{id}/accept"]) == {"post"} and "requestBody" in paths["/orders/{id}/result"]["post"]
    assert paths["/notices"]["get"]["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    assert {"Order", "Notice"} <= set(spec["components"]["schemas"])
    assert "签收工单" in client.get("/api/v1/docs").get_data(as_text=True)
