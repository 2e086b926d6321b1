"""群众点单 through the API: the same checks, photos (Base64) and limits as the form, and
the progress read with code + phone tail; both in the OpenAPI document."""
import base64

from models import Need, NeedStatus, Photo
from services import needs

from . import factories as f
from .test_needs import fresh_ip, png_bomb, real_jpeg


def post(client, ip=None, **fields):
    body = {"kind": "appeal", "text": "小区东门的路灯不亮，晚上出行不便", "name": "李建国",
            "phone": "+86 138-0482-6789", "consent": True}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    return client.post("/api/v1/needs", json=body, environ_base={"REMOTE_ADDR": ip or fresh_ip()})


def test_a_need_is_submitted_with_a_base64_photo_and_tracked(client):
    grid = f.make_grid()
    response = post(client, grid=grid.id, photos=[base64.b64encode(real_jpeg()).decode()])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    need = Need.get()
    assert body["code"] == need.code and body["status"] == "pending" and body["track_url"].endswith(f"/track/{need.code}")
    assert (need.source, need.mobile, need.grid_id) == ("miniprogram", "13804826789", grid.id)
    assert Photo.select().where(Photo.subject == "Need").count() == 1
    read = client.get(f"/api/v1/needs/{need.code.lower()}?phone_tail=6789")
    assert read.status_code == 200
    data = read.get_json()
    assert data["status_label"] == "待受理" and data["steps"][0]["title"] == "已提交" and data["order"] is None
    assert "13804826789" not in read.get_data(as_text=True)


def test_bad_input_is_a_chinese_400_and_nothing_is_written(client):
    cases = [
        ({"phone": "12345"}, "手机号"), ({"consent": False}, "同意"), ({"kind": "x"}, "点单类型"),
        ({"photos": ["not base64!!"]}, "Base64"), ({"photos": [base64.b64encode(png_bomb()).decode()]}, "图片尺寸过大"),
        ({"photos": [base64.b64encode(b"hello world text").decode()]}, "无法识别为图片"),
        ({"grid": "3"}, "整数"), ({"text": 5}, "字符串"),
    ]
    for i, (fields, message) in enumerate(cases):
        response = post(client, **{"phone": f"1350000{i:04d}", **fields})
        assert response.status_code == 400, (fields, response.get_json())
        assert message in response.get_json()["error"]["message"], (fields, response.get_json())
    assert client.post("/api/v1/needs", data="x", environ_base={"REMOTE_ADDR": fresh_ip()}).status_code == 400
    assert Need.select().count() == 0 and Photo.select().count() == 0


def test_the_api_shares_the_form_limits(client):
    ip = fresh_ip()
    assert [post(client, ip=ip, phone=f"1360000{i:04d}").status_code for i in range(6)] == [201] * 5 + [429]
    body = post(client, ip=ip).get_json()
    assert body["error"]["code"] == 429 and "提交点单过于频繁" in body["error"]["message"]


def test_a_wrong_code_or_tail_reveals_nothing(client):
    post(client)
    need = Need.get()
    for url in (f"/api/v1/needs/{need.code}?phone_tail=0000", "/api/v1/needs/ABCDEFGH?phone_tail=6789",
                f"/api/v1/needs/{need.code}", "/api/v1/needs/x?phone_tail=abcd"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.get_json()["error"]["message"] == "查询码或手机号后四位不正确"


def test_progress_after_acceptance(client, auth):
    post(client)
    clerk = auth.as_role("clerk")
    need = needs.accept(Need.get().id, user=clerk)
    data = client.get(f"/api/v1/needs/{need.code}?phone_tail=6789").get_json()
    assert data["status"] == NeedStatus.ACCEPTED and data["order"]["number"] == need.work_order.number
    assert [s["title"] for s in data["steps"]] == ["已提交", "已受理"]


def test_both_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["paths"]["/needs"]["post"]["operationId"] == "createNeed"
    track = spec["paths"]["/needs/{code}"]["get"]
    assert {p["name"] for p in track["parameters"]} == {"code", "phone_tail"}
    assert "429" in track["responses"]
