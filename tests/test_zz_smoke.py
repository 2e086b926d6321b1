import io
from PIL import Image
from models import Role, OrderStatus, WorkOrder, Notice, NoticeDelivery
from services import workorders
from tests import factories as f

def test_smoke(client, auth, app):
    clerk = f.make_user(role=Role.CLERK)
    unit_user = auth.as_role(Role.UNIT)
    order = f.make_work_order(requester_phone="13904829999")
    workorders.move(order.id, "dispatch", user=clerk, unit=unit_user.unit_id)
    r = client.get("/my"); assert r.status_code == 200, r.data.decode()[:3000]
    html = r.get_data(as_text=True)
    assert order.number in html and "待办 1" in html, html
    r = client.get(f"/my/orders/{order.id}"); assert r.status_code == 200
    r = client.post(f"/my/orders/{order.id}/accept"); assert r.status_code == 303, r.data.decode()[:2000]
    buf = io.BytesIO(); Image.new("RGB", (50, 40), "red").save(buf, "JPEG"); buf.seek(0)
    r = client.post(f"/my/orders/{order.id}/report", data={"result": "已修好", "photos": (buf, "a.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 303, r.data.decode()[:3000]
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.RESOLVED
    r = client.get("/notices"); assert r.status_code == 200
    assert "新派工单" in r.get_data(as_text=True)
    r = client.get(f"/my/orders/{order.id}"); assert "已修好" in r.get_data(as_text=True)
    for u in ("/my/events", "/my/profile", "/account", "/my/orders"):
        assert client.get(u).status_code == 200, u
