"""群众点单 through the test client: a resident submits (with a real photo), bad input and
abuse are refused in Chinese with nothing written, the tracking page needs the code and
the phone tail, clerks accept / publish / merge / refuse from the 待受理 queue, and the
resident rates the result (不满意 → 二次办理 → 满意, both rounds on /track)."""
import io
import re
import threading

import pytest
from PIL import Image

from models import (AuditLog, Need, NeedKind, NeedStatus, Notice, OrderStatus, Photo, Rating, RateLimitCounter,
                    WorkOrder, db)
from models.needs import CODE_ALPHABET
from services import needs, workorders
from services.errors import Conflict

from . import factories as f
from .test_photos import jpeg_with_gps, png_bomb

_ip = iter(range(1, 1_000_000))


def fresh_ip():
    n = next(_ip)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def real_jpeg():
    return jpeg_with_gps(size=(640, 480))


def submit(client, *, ip=None, photos=(), **fields):
    data = {"kind": NeedKind.HELP, "text": "楼道灯坏了两个星期，晚上老人上下楼很危险", "name": "王秀兰",
            "phone": "139 0482 1234", "consent": "y"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    if photos:
        data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return client.post("/needs/new", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": ip or fresh_ip()})


def code_of(response):
    match = re.search(r'id="need-code"[^>]*>([0-9A-Z ]+)<', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return match.group(1).replace(" ", "")


def track(client, code, tail="1234", ip=None):
    return client.post("/track", data={"code": code, "tail": tail}, environ_base={"REMOTE_ADDR": ip or fresh_ip()})


# --- submitting ----------------------------------------------------------------------------------

def test_a_resident_submits_a_need_with_a_photo_and_gets_a_code_to_read_aloud(client):
    grid = f.make_grid(name="第三网格")
    response = submit(client, grid=str(grid.id), photos=[("door.jpg", real_jpeg())])
    html = response.get_data(as_text=True)
    assert response.status_code == 201, html[:1500]
    code = code_of(response)
    assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("01OI")
    assert f"/track/{code}" in html
    need = Need.get()
    assert (need.code, need.mobile, need.grid_id, need.status) == (code, "13904821234", grid.id, NeedStatus.PENDING)
    assert need.accept_due_at > need.submitted_at
    photo = Photo.get()
    assert (photo.subject, photo.subject_id, photo.approved) == ("Need", need.id, False)
    assert b"Exif" not in bytes(photo.content)
    # the photo is not public; the resident's own page shows it through a signed link
    assert client.get(f"/photos/{photo.id}").status_code == 404
    page = client.get(f"/track/{code}").get_data(as_text=True)
    signed = re.search(r'src="(/photos/%d\?[^"]*sig=[^"]+)"' % photo.id, page).group(1).replace("&amp;", "&")
    assert client.get(signed).status_code == 200
    # the clerks hear of it
    assert Notice.select().where(Notice.kind == "need_submitted").count() == 0  # no clerks yet
    assert AuditLog.select().where(AuditLog.action == "need_submit").count() == 1


def test_the_submitter_is_sent_straight_to_the_tracking_page(client):
    code = code_of(submit(client))
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已提交" in page and "楼道灯坏了" in page


def test_plus_86_and_dashes_are_normalised(client):
    assert submit(client, phone="+86 139-0482-5678").status_code == 201
    assert Need.get().mobile == "13904825678"


@pytest.mark.parametrize("fields, message", [
    ({"phone": "12345"}, "请输入有效的手机号"),
    ({"phone": "0482-8234567"}, "请输入有效的手机号"),
    ({"text": ""}, "请填写需求内容"),
    ({"text": "帮忙"}, "至少 5 个字"),
    ({"text": "长" * 1001}, "不能超过 1000 字"),
    ({"kind": "other"}, "点单类型"),
    ({"consent": None}, "同意社区工作人员"),
    ({"grid": "99999"}, "网格"),
    ({"name": ""}, "请填写姓名"),
])
def test_bad_input_is_refused_in_chinese_and_nothing_is_written(client, fields, message):
    response = submit(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert Need.select().count() == 0


@pytest.mark.parametrize("name, content, message", [
    ("bomb.png", png_bomb(), "图片尺寸过大"),
    ("notes.jpg", "这不是图片，是一段文字".encode() * 20, "无法识别为图片"),
    ("empty.png", b"", "文件是空的"),
])
def test_a_bad_photo_leaves_no_need_behind(client, name, content, message):
    response = submit(client, photos=[("ok.jpg", real_jpeg()), (name, content)])
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert Need.select().count() == 0 and Photo.select().count() == 0


def test_more_than_three_photos_are_refused(client):
    response = submit(client, photos=[(f"p{i}.jpg", real_jpeg()) for i in range(4)])
    assert response.status_code == 400 and "最多上传 3 张照片" in response.get_data(as_text=True)
    assert Need.select().count() == 0


def test_the_honeypot_turns_robots_away(client):
    response = submit(client, website="http://spam.example")
    assert response.status_code == 400
    assert Need.select().count() == 0


def test_csrf_is_required(csrf_app):
    client = csrf_app.test_client()
    response = submit(client)
    assert response.status_code == 400 and "安全令牌" in response.get_data(as_text=True)
    assert Need.select().count() == 0
    # with the token the same form goes through
    page = client.get("/needs/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert submit(client, csrf_token=token).status_code == 201


def test_limits_per_address_and_per_phone_answer_429_in_chinese(client):
    ip = fresh_ip()
    codes = [submit(client, ip=ip, phone=f"1390000{i:04d}").status_code for i in range(6)]
    assert codes == [201] * 5 + [429]
    response = submit(client, ip=ip, phone="13900009999")
    assert response.status_code == 429 and "提交点单过于频繁：同一网络每小时最多 5 次" in response.get_data(as_text=True)
    # one phone from many addresses
    codes = [submit(client, phone="13800001111").status_code for _ in range(6)]
    assert codes == [201] * 5 + [429]
    assert "同一手机号每天最多 5 次" in submit(client, phone="138 0000 1111").get_data(as_text=True)
    assert not RateLimitCounter.select().where(RateLimitCounter.key.contains("13800001111")).exists()


def test_the_form_works_without_javascript_and_the_poster_link_preselects_the_grid(client):
    grid = f.make_grid(name="第七网格")
    page = client.get(f"/needs/new?grid={grid.id}&src=poster").get_data(as_text=True)
    assert "<script" not in page
    assert f'<option selected value="{grid.id}">第七网格</option>' in page
    assert "第七网格</strong> 的点单海报" in page
    assert submit(client, grid=str(grid.id), source="poster").status_code == 201
    assert Need.get().source == "poster"
    assert client.get("/needs/new?grid=abc").status_code == 200


def test_the_home_page_links_to_the_form(client):
    page = client.get("/").get_data(as_text=True)
    assert 'id="need-link" href="/needs/new"' in page and "我要点单" in page


# --- tracking ----------------------------------------------------------------------------------

def test_tracking_needs_both_the_code_and_the_phone_tail(client, app):
    code = code_of(submit(client))
    stranger = app.test_client()
    page = stranger.get(f"/track/{code}").get_data(as_text=True)
    assert "楼道灯坏了" not in page and "王秀兰" not in page and 'name="tail"' in page
    for wrong_code, tail in ((code, "9999"), ("ABCDEFGH", "1234"), (code, "12"), ("", "")):
        response = track(stranger, wrong_code, tail)
        assert response.status_code in (400, 404)
        assert "楼道灯坏了" not in response.get_data(as_text=True)
    wrong_code = track(stranger, "ABCDEFGH", "1234").get_data(as_text=True)
    wrong_tail = track(stranger, code, "9999").get_data(as_text=True)
    assert "查询码或手机号后四位不正确" in wrong_code and "查询码或手机号后四位不正确" in wrong_tail
    response = track(stranger, code.lower()[:4] + " " + code.lower()[4:], "1234")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/track/{code}")
    assert "楼道灯坏了" in stranger.get(f"/track/{code}").get_data(as_text=True)


def test_guessing_codes_is_throttled(client):
    ip = fresh_ip()
    codes = [track(client, "ABCDEFGH", "1234", ip=ip).status_code for _ in range(11)]
    assert codes[:10] == [404] * 10 and codes[10] == 429
    assert "查询过于频繁" in track(client, "ABCDEFGH", "1234", ip=ip).get_data(as_text=True)


def test_rating_without_proving_the_code_is_refused(client, app):
    code = code_of(submit(client))
    stranger = app.test_client()
    response = stranger.post(f"/track/{code}/rate", data={"rating": "satisfied"})
    assert response.status_code == 403


# --- the clerks' queue ---------------------------------------------------------------------------

def _need(client, **fields):
    code = code_of(submit(client, **fields))
    return Need.get(Need.code == code), code


def test_accepting_makes_one_work_order_linked_both_ways(client, auth):
    need, code = _need(client)
    clerk = auth.as_role("clerk")
    response = client.post(f"/admin/need/handle/{need.id}", data={"action": "accept", "category": "property"})
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    need = Need.get_by_id(need.id)
    order = need.work_order
    assert need.status == NeedStatus.ACCEPTED and need.handled_by_id == clerk.id
    assert (order.channel, order.status, order.requester_phone, order.category) == (
        "online", OrderStatus.ACCEPTED, "13904821234", "property")
    assert [n.id for n in order.needs] == [need.id]
    # a second accept: refused, still one order
    again = client.post(f"/admin/need/handle/{need.id}", data={"action": "accept", "category": "property"})
    assert again.status_code == 409 and "已受理" in again.get_data(as_text=True)
    with pytest.raises(Conflict):
        needs.accept(need.id, user=clerk)
    assert WorkOrder.select().count() == 1
    # the resident is told, by phone, and sees it on the tracking page
    assert Notice.select().where(Notice.recipient_phone == "13904821234", Notice.kind == "need_accept").count() == 1
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已受理" in page and order.number in page


def test_refusing_needs_a_reason_the_resident_sees(client, auth):
    need, code = _need(client)
    auth.as_role("clerk")
    response = client.post(f"/admin/need/handle/{need.id}", data={"action": "refuse", "reason": ""})
    assert response.status_code == 400 and "请填写不予受理原因" in response.get_data(as_text=True)
    assert Need.get_by_id(need.id).status == NeedStatus.PENDING
    client.post(f"/admin/need/handle/{need.id}",
                data={"action": "refuse", "reason": "属于物业公司职责，已转告物业<b>电话</b>"})
    assert Need.get_by_id(need.id).status == NeedStatus.REFUSED
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "未受理" in page and "属于物业公司职责，已转告物业&lt;b&gt;电话&lt;/b&gt;" in page


def test_a_duplicate_is_merged_into_an_existing_order(client, auth):
    clerk = auth.as_role("clerk")
    first, _ = _need(client)
    needs.accept(first.id, user=clerk)
    order = Need.get_by_id(first.id).work_order
    second, code = _need(client, phone="13800002222", text="3号楼楼道灯不亮，已经很久了")
    response = client.post(f"/admin/need/handle/{second.id}", data={"action": "merge", "order": "不存在的工单"})
    assert response.status_code == 400 and "找不到工单" in response.get_data(as_text=True)
    client.post(f"/admin/need/handle/{second.id}", data={"action": "merge", "order": order.number})
    second = Need.get_by_id(second.id)
    assert second.status == NeedStatus.MERGED and second.merged_into_id == order.id
    assert WorkOrder.select().count() == 1
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "合并办理" in page and order.number in page
    assert "评价办理结果" not in page  # the order is another resident's to rate


def test_the_queue_lists_pending_needs_for_clerks_only(client, auth):
    _need(client, text="小区门口垃圾桶满了没人清理")
    assert client.get("/admin/need/queue/").status_code in (302, 403)
    auth.as_role("unit")
    assert client.get("/admin/need/queue/").status_code in (302, 403)
    auth.logout()
    auth.as_role("clerk")
    page = client.get("/admin/need/queue/").get_data(as_text=True)
    assert "小区门口垃圾桶满了没人清理" in page and "待受理" in page


# --- 评单 by the resident, both rounds ------------------------------------------------------------

def _finish(order_id, clerk, unit, result):
    workorders.move(order_id, "dispatch", user=clerk, unit=unit.id)
    workorders.move(order_id, "resolve", user=clerk, result=result)


def test_unsatisfied_sends_it_to_a_second_round_and_both_rounds_stay_on_the_page(client, auth):
    unit = f.make_unit(name="红浦物业服务中心")
    need, code = _need(client)
    clerk = auth.as_role("clerk")
    order = needs.accept(need.id, user=clerk).work_order
    _finish(order.id, clerk, unit, "已更换两盏楼道灯")
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已派单" in page and "红浦物业服务中心" in page and "已更换两盏楼道灯" in page
    assert 'id="rate-form"' in page
    response = client.post(f"/track/{code}/rate", data={"rating": Rating.UNSATISFIED, "note": "三楼的灯还是不亮"})
    assert response.status_code == 303
    order = WorkOrder.get_by_id(order.id)
    assert order.status == OrderStatus.REDO and order.redo_count == 1
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "不满意" in page and "二次办理" in page and 'id="rate-form"' not in page
    _finish(order.id, clerk, unit, "三楼楼道灯已修好")
    client.post(f"/track/{code}/rate", data={"rating": Rating.SATISFIED, "note": "谢谢"})
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.RATED
    page = client.get(f"/track/{code}").get_data(as_text=True)
    for text in ("已更换两盏楼道灯", "三楼的灯还是不亮", "三楼楼道灯已修好", "居民评价：满意", "第 2 轮"):
        assert text in page, text
    # once rated 满意 there is nothing more to rate
    again = client.post(f"/track/{code}/rate", data={"rating": Rating.UNSATISFIED})
    assert again.status_code == 409


def test_a_bad_rating_is_refused(client, auth):
    need, code = _need(client)
    clerk = auth.as_role("clerk")
    order = needs.accept(need.id, user=clerk).work_order
    assert client.post(f"/track/{code}/rate", data={"rating": Rating.SATISFIED}).status_code == 409  # not done yet
    _finish(order.id, clerk, f.make_unit(), "已处理")
    assert client.post(f"/track/{code}/rate", data={"rating": "great"}).status_code == 400
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.RESOLVED


# --- figures ---------------------------------------------------------------------------------------

def test_month_figures(client, auth, clock):
    import datetime as dt

    clerk = auth.as_role("clerk")
    unit = f.make_unit()
    made = [_need(client, phone=f"1370000{i:04d}")[0] for i in range(4)]
    needs.accept(made[0].id, user=clerk)
    needs.refuse(made[1].id, user=clerk, reason="重复提交")
    clock.advance(dt.timedelta(days=3))
    needs.accept(made[2].id, user=clerk)  # late: not within one working day
    order = Need.get_by_id(made[0].id).work_order
    _finish(order.id, clerk, unit, "已处理")
    needs.rate(Need.get_by_id(made[0].id), Rating.FAIR, "")  # 基本满意 counts as satisfied
    figures = needs.month_figures(made[0].submitted_at)  # the month they came in, whatever the date now
    assert figures["received"] == 4
    assert figures["in_time"] == 1 and figures["in_time_share"] == 0.25
    assert figures["orders"] == 2 and figures["finished"] == 1 and figures["finish_share"] == 0.5
    rated = needs.month_figures()  # ratings count in the month they were made
    assert rated["rated"] == 1 and rated["satisfaction"] == 1.0
    # a clerk's rating is not the resident's
    other = needs.accept(made[3].id, user=clerk).work_order
    _finish(other.id, clerk, unit, "已处理")
    workorders.rate(other.id, Rating.UNSATISFIED, "回访记录", user=clerk)
    assert needs.month_figures()["rated"] == 1


def test_one_working_day_skips_the_weekend():
    import datetime as dt

    friday = dt.datetime(2026, 6, 12, 17, 0)
    assert needs.one_working_day_after(friday) == dt.datetime(2026, 6, 15, 17, 0)
    saturday = dt.datetime(2026, 6, 13, 10, 0)
    assert needs.one_working_day_after(saturday) == dt.datetime(2026, 6, 16, 0, 0)
    wednesday = dt.datetime(2026, 6, 10, 10, 0)
    assert needs.one_working_day_after(wednesday) == dt.datetime(2026, 6, 11, 10, 0)


def test_a_wish_is_published_to_the_wall_with_its_photo(client, auth):
    from models import Wish, WishStatus

    grid = f.make_grid(name="第五网格")
    need, code = _need(client, kind=NeedKind.WISH, text="想给孙子买一套课外书，自己腿脚不便",
                       grid=str(grid.id), photos=[("books.jpg", real_jpeg())])
    auth.as_role("clerk")
    response = client.post(f"/admin/need/handle/{need.id}", data={"action": "publish_wish"})
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    need = Need.get_by_id(need.id)
    wish = Wish.get_by_id(need.wish_id)
    assert need.status == NeedStatus.WISHED and wish.status == WishStatus.PUBLISHED
    assert wish.requester_phone == need.mobile and wish.grid_id == grid.id
    assert Photo.select().where(Photo.subject == "Wish", Photo.subject_id == wish.id).count() == 1
    assert WorkOrder.select().count() == 0
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert "已发布为微心愿" in page


def test_a_wish_without_a_grid_is_refused_and_stays_pending(client, auth):
    need, _ = _need(client, kind=NeedKind.WISH)
    auth.as_role("clerk")
    response = client.post(f"/admin/need/handle/{need.id}", data={"action": "publish_wish"})
    assert response.status_code == 400 and "请选择所在网格" in response.get_data(as_text=True)
    assert Need.get_by_id(need.id).status == NeedStatus.PENDING
    grid = f.make_grid()
    client.post(f"/admin/need/handle/{need.id}", data={"action": "publish_wish", "grid": str(grid.id)})
    assert Need.get_by_id(need.id).status == NeedStatus.WISHED


def test_demo_needs_fill_the_queue_the_tracking_pages_and_the_charts(runner, client, auth):
    from models import WorkOrderStep

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    rows = list(Need.select())
    assert len(rows) > 200
    assert len({n.grid_id for n in rows if n.grid_id}) == 19
    statuses = {s for s in NeedStatus.codes() if any(n.status == s for n in rows)}
    assert statuses == set(NeedStatus.codes())
    assert all(set(n.code) <= set(CODE_ALPHABET) for n in rows)
    # a need whose order was rated 不满意 by the resident, redone and rated 满意: both rounds on /track
    redone = (Need.select().join(WorkOrder, on=(Need.work_order == WorkOrder.id))
              .where(WorkOrder.redo_count == 1, WorkOrder.status == OrderStatus.RATED).first())
    assert redone is not None
    resident = WorkOrderStep.select().where(WorkOrderStep.order == redone.work_order_id,
                                            WorkOrderStep.by_resident == True)  # noqa: E712
    assert [s.rating for s in resident.order_by(WorkOrderStep.round)] == [Rating.UNSATISFIED, Rating.SATISFIED]
    page = track(client, redone.code, redone.mobile[-4:])
    assert page.status_code == 303
    html = client.get(f"/track/{redone.code}").get_data(as_text=True)
    assert "第 2 轮" in html and "居民评价：不满意" in html and "居民评价：满意" in html
    import datetime as dt

    from models import now

    figures = needs.month_figures(now() - dt.timedelta(days=20))  # a month with data, whatever today is
    assert figures["received"] > 0 and figures["rated"] > 0 and figures["in_time_share"] > 0.4
    auth.as_role("clerk")
    queue = client.get("/admin/need/queue/").get_data(as_text=True)
    assert queue.count('class="card mb-3 need-card"') == Need.select().where(Need.status == NeedStatus.PENDING).count()
    assert 'id="chart-needs-grids"' in client.get("/admin/").get_data(as_text=True)
