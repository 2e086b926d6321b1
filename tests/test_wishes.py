"""微心愿 through services.wishes: publish, the machine, the one-claimer rule, photos."""
import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from models import AuditLog, MemberUnit, Notice, Photo, Role, UnitKind, Wish, WishSource, WishStatus
from services import photos, wishes
from services.errors import ServiceError

from . import factories as f


def jpeg(size=(64, 48), colour="orange"):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    buffer.seek(0)
    return buffer


def prepared():
    return photos.prepare(jpeg())


def make_wish(status=WishStatus.PUBLISHED, **kw):
    clerk = kw.pop("clerk", None) or f.make_user(role=Role.CLERK)
    kw.setdefault("text", "想要一副老花镜，方便看报纸")
    kw.setdefault("grid", f.make_grid())
    kw.setdefault("requester_name", "王秀兰")
    kw.setdefault("requester_phone", "139 0482 1234")
    wish = wishes.publish(user=clerk if status != WishStatus.PENDING else None, **kw)
    assert wish.status == status
    return wish


def test_publish_by_a_clerk_goes_on_the_wall_with_its_photos(app):
    clerk = f.make_user(role=Role.CLERK)
    grid = f.make_grid(name="红浦第3网格")
    wish = wishes.publish(text="想给孙子买一个书包", grid=grid.id, requester_name="王秀兰",
                          requester_phone="+86 139-0482-1234", photos=[prepared()], user=clerk)
    assert (wish.status, wish.display_name, wish.requester_phone) == (WishStatus.PUBLISHED, "王**", "13904821234")
    assert wish.source == WishSource.ONLINE and wish.approved_at is not None
    (photo,) = Photo.select().where(Photo.subject == "Wish", Photo.subject_id == wish.id)
    assert photo.approved and photo.role == "request"
    assert AuditLog.select().where(AuditLog.entity == "Wish", AuditLog.action == "wish_approve").exists()


def test_publish_copies_stored_photos_and_waits_without_a_clerk(app):
    need_photo = photos.store([prepared()], "Need", 7)[0]
    wish = wishes.publish(text="轮椅坏了想修一修", grid=f.make_grid(), requester_name="李四",
                          requester_phone="13904821234", photos=[need_photo.id], user=None)
    assert wish.status == WishStatus.PENDING and wish.display_name == "李*"
    copy = Photo.get(Photo.subject == "Wish", Photo.subject_id == wish.id)
    assert copy.id != need_photo.id and not copy.approved and copy.digest == need_photo.digest
    assert Photo.get_by_id(need_photo.id).subject == "Need"


@pytest.mark.parametrize("field, value, words", [
    ("text", "  ", "请填写心愿内容"),
    ("text", "很" * 501, "不能超过 500 字"),
    ("requester_phone", "12345", "有效的手机号"),
    ("requester_name", "", "请填写许愿人姓名"),
    ("grid", None, "请选择所在网格"),
    ("grid", 999999, "请选择所在网格"),
])
def test_publish_refuses_bad_input_and_writes_nothing(app, field, value, words):
    values = dict(text="想要一副老花镜", grid=f.make_grid().id, requester_name="王秀兰", requester_phone="13904821234")
    values[field] = value
    with pytest.raises(ServiceError) as refused:
        wishes.publish(user=f.make_user(role=Role.CLERK), **values)
    assert words in refused.value.message
    assert Wish.select().count() == 0


def test_publish_refuses_a_missing_photo_id(app):
    with pytest.raises(ServiceError):
        wishes.publish(text="想要一副老花镜", grid=f.make_grid(), requester_name="王秀兰",
                       requester_phone="13904821234", photos=[424242], user=None)
    assert Wish.select().count() == 0


def test_mask_name():
    assert [wishes.mask_name(n) for n in ("王秀兰", "李四", "欧阳娜娜", "张", "")] == ["王**", "李*", "欧**", "张*", "居民"]


def test_claim_withdraw_fulfil_through_the_service(app):
    wish = make_wish()
    merchant = f.make_unit(kind=UnitKind.MERCHANT, name="红浦眼镜店")
    other = f.make_unit()
    clerk = f.make_user(role=Role.CLERK)
    wishes.claim(wish.id, merchant)
    with pytest.raises(ServiceError) as taken:
        wishes.claim(wish.id, other)
    assert (taken.value.status, taken.value.message) == (409, "该微心愿已被认领")
    with pytest.raises(ServiceError) as not_yours:
        wishes.withdraw(wish.id, other)
    assert not_yours.value.status == 403
    merchant_user = f.make_user(role=Role.UNIT, unit=merchant)
    wishes.withdraw(wish.id, merchant)
    wish = Wish.get_by_id(wish.id)
    assert (wish.status, wish.claimer_id) == (WishStatus.PUBLISHED, None)
    wishes.claim(wish.id, other)
    done = wishes.fulfil(wish.id, other, note="已送去老花镜并帮忙验光", photos=[FileStorage(jpeg(), filename="glasses.jpg")])
    assert (done.status, done.fulfil_note) == (WishStatus.FULFILLED, "已送去老花镜并帮忙验光")
    assert Notice.select().where(Notice.kind == "wish_claimed", Notice.recipient == clerk.id).count() == 2
    assert Notice.select().where(Notice.kind == "wish_fulfilled", Notice.recipient_phone == "13904821234").exists()
    result = Photo.get(Photo.subject == "Wish", Photo.subject_id == wish.id, Photo.role == "result")
    assert not result.approved
    assert wishes.approve_photos(wish.id, user=clerk) == 1

    taken_down = make_wish(clerk=clerk)
    wishes.claim(taken_down.id, merchant)
    wishes.close(taken_down.id, user=clerk, reason="居民已搬离本社区")
    notice = Notice.get(Notice.kind == "wish_closed")
    assert notice.recipient_id == merchant_user.id and "居民已搬离本社区" in notice.body


# --- the wall and the unit's pages, through the test client ------------------------------------

def unit_login(auth, kind=UnitKind.MERCHANT, **kw):
    unit = f.make_unit(kind=kind, **kw)
    user = auth.as_role(Role.UNIT, unit=unit)
    return user, unit


def test_wall_shows_masked_names_never_phones(client):
    grid = f.make_grid(name="红浦第7网格")
    shown = make_wish(text="想学用智能手机视频通话", grid=grid, requester_name="王秀兰", requester_phone="13904827777")
    hidden = make_wish(status=WishStatus.PENDING, text="待审核的心愿不应出现", requester_name="赵六")
    html = client.get("/wishes").get_data(as_text=True)
    assert "想学用智能手机视频通话" in html and "王**" in html and "红浦第7网格" in html
    assert "王秀兰" not in html and "13904827777" not in html and "待审核的心愿不应出现" not in html
    detail = client.get(f"/wishes/{shown.id}").get_data(as_text=True)
    assert "王**" in detail and "13904827777" not in detail and "王秀兰" not in detail
    assert client.get(f"/wishes/{hidden.id}").status_code == 404
    api = client.get("/api/v1/wishes").get_json()
    assert [item["display_name"] for item in api["items"]] == ["王**"]
    assert "requester_phone" not in api["items"][0] and "13904827777" not in str(api)


def test_wall_filters_and_pages(client):
    grid_a, grid_b = f.make_grid(name="甲网格"), f.make_grid(name="乙网格")
    for n in range(13):
        make_wish(text=f"甲网格心愿{n:02d}", grid=grid_a)
    make_wish(text="乙网格的心愿", grid=grid_b)
    first = client.get(f"/wishes?grid={grid_a.id}").get_data(as_text=True)
    assert "甲网格心愿12" in first and "乙网格的心愿" not in first and "第 1 / 2 页" in first
    second = client.get(f"/wishes?grid={grid_a.id}&page=2").get_data(as_text=True)
    assert "甲网格心愿00" in second and "甲网格心愿12" not in second
    assert client.get("/wishes?status=nonsense").status_code == 400
    assert "乙网格的心愿" not in client.get("/wishes?status=fulfilled").get_data(as_text=True)


def test_unapproved_photos_are_404_to_the_public(client):
    wish = make_wish(status=WishStatus.PENDING, photos=[prepared()])
    (photo,) = Photo.select().where(Photo.subject == "Wish", Photo.subject_id == wish.id)
    assert client.get(f"/photos/{photo.id}").status_code == 404
    wishes.approve(wish.id, user=f.make_user(role=Role.CLERK))
    assert client.get(f"/photos/{photo.id}").status_code == 200
    assert f"/photos/{photo.id}?size=thumb" in client.get("/wishes").get_data(as_text=True)


def test_anonymous_is_sent_to_login_and_other_roles_get_403(client, auth):
    wish = make_wish()
    response = client.post(f"/wishes/{wish.id}/claim")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.as_role(Role.VOLUNTEER)
    assert client.post(f"/wishes/{wish.id}/claim").status_code == 403
    assert Wish.get_by_id(wish.id).status == WishStatus.PUBLISHED


def test_a_merchant_claims_fulfils_and_the_wall_shows_it(client, auth):
    clerk = f.make_user(role=Role.CLERK)
    wish = make_wish(text="想要一副老花镜", clerk=clerk)
    user, merchant = unit_login(auth, name="红浦爱心眼镜店")
    response = client.post(f"/wishes/{wish.id}/claim")
    assert response.status_code == 303
    wish = Wish.get_by_id(wish.id)
    assert (wish.status, wish.claimer_id) == (WishStatus.CLAIMED, merchant.id)
    my = client.get("/my").get_data(as_text=True)
    assert "我认领的微心愿" in my and "想要一副老花镜" in my and "待办 1" in my

    bad = client.post(f"/wishes/{wish.id}/fulfil", data={"note": "已送到", "photos": (io.BytesIO(b"not an image"), "x.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "无法识别为图片" in bad.get_data(as_text=True)
    none = client.post(f"/wishes/{wish.id}/fulfil", data={"note": "已送到"}, content_type="multipart/form-data")
    assert none.status_code == 400 and "请上传至少 1 张圆梦照片" in none.get_data(as_text=True)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    gif.seek(0)
    refused = client.post(f"/wishes/{wish.id}/fulfil", data={"note": "已送到", "photos": (gif, "x.gif")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "只支持 JPEG、PNG、WebP" in refused.get_data(as_text=True)
    assert Wish.get_by_id(wish.id).status == WishStatus.CLAIMED
    assert not Photo.select().where(Photo.subject == "Wish", Photo.role == "result").exists()

    done = client.post(f"/wishes/{wish.id}/fulfil", content_type="multipart/form-data",
                       data={"note": "眼镜店为王阿姨免费验光配镜，已送到家", "photos": (jpeg(), "glasses.jpg")})
    assert done.status_code == 303
    assert Wish.get_by_id(wish.id).status == WishStatus.FULFILLED
    assert "待办" not in client.get("/my").get_data(as_text=True).split("</nav>")[0]
    client.post("/logout")
    wall = client.get("/wishes?status=fulfilled").get_data(as_text=True)
    assert "晒成效" in wall and "已圆梦" in wall and "眼镜店为王阿姨免费验光配镜" in wall
    (photo,) = Photo.select().where(Photo.subject == "Wish", Photo.role == "result")
    assert client.get(f"/photos/{photo.id}").status_code == 404
    wishes.approve_photos(wish.id, user=clerk)
    assert client.get(f"/photos/{photo.id}").status_code == 200


def test_taken_wish_is_409_and_wrong_unit_is_403(client, auth):
    wish = make_wish()
    first = f.make_unit(name="先到的单位")
    wishes.claim(wish.id, first)
    unit_login(auth)
    response = client.post(f"/wishes/{wish.id}/claim")
    assert response.status_code == 409 and "该微心愿已被认领" in response.get_data(as_text=True)
    assert client.post(f"/wishes/{wish.id}/withdraw").status_code == 403
    assert client.post(f"/wishes/{wish.id}/fulfil", data={"note": "x"}).status_code == 403
    assert Wish.get_by_id(wish.id).claimer_id == first.id


def test_claimer_withdraws_and_the_wish_is_free_again(client, auth):
    wish = make_wish()
    unit_login(auth)
    client.post(f"/wishes/{wish.id}/claim")
    assert client.post(f"/wishes/{wish.id}/withdraw").status_code == 303
    wish = Wish.get_by_id(wish.id)
    assert (wish.status, wish.claimer_id, wish.claimed_at) == (WishStatus.PUBLISHED, None, None)
    assert AuditLog.select().where(AuditLog.entity == "Wish", AuditLog.action == "wish_withdraw").exists()


# --- the admin ---------------------------------------------------------------------------------

def test_clerk_types_in_approves_closes_and_publishes_photos(client, auth):
    clerk = auth.as_role(Role.CLERK)
    grid = f.make_grid()
    response = client.post("/admin/wish/new/", data={"text": "想要一台收音机", "grid": grid.id,
                                                     "requester_name": "刘桂芳", "requester_phone": "12345"},
                           follow_redirects=True)
    assert "有效的手机号" in response.get_data(as_text=True) and Wish.select().count() == 0
    response = client.post("/admin/wish/new/", data={"text": "想要一台收音机", "grid": grid.id,
                                                     "requester_name": "刘桂芳", "requester_phone": "13904825555"})
    assert response.status_code == 302
    typed = Wish.get()
    assert (typed.status, typed.source, typed.display_name, typed.created_by_id) == (
        WishStatus.PUBLISHED, WishSource.STAFF, "刘**", clerk.id)

    pending = make_wish(status=WishStatus.PENDING, photos=[prepared()])
    assert client.get(f"/admin/wish/move/{pending.id}?action=approve").status_code == 200
    assert client.post(f"/admin/wish/move/{pending.id}", data={"action": "approve", "from": "pending"}).status_code == 303
    assert Wish.get_by_id(pending.id).status == WishStatus.PUBLISHED
    assert Photo.get(Photo.subject == "Wish", Photo.subject_id == pending.id).approved

    refused = client.post(f"/admin/wish/move/{typed.id}", data={"action": "close", "from": "published", "reason": ""})
    assert refused.status_code == 400 and "请填写下架原因" in refused.get_data(as_text=True)
    assert client.post(f"/admin/wish/move/{typed.id}", data={"action": "claim", "from": "published"}).status_code == 403
    client.post(f"/admin/wish/move/{typed.id}", data={"action": "close", "from": "published", "reason": "重复录入"})
    typed = Wish.get_by_id(typed.id)
    assert (typed.status, typed.close_reason) == (WishStatus.CLOSED, "重复录入")

    merchant = f.make_unit(kind=UnitKind.MERCHANT)
    wishes.claim(pending.id, merchant)
    wishes.fulfil(pending.id, merchant, note="已送达", photos=[prepared()])
    detail = client.get(f"/admin/wish/details/?id={pending.id}").get_data(as_text=True)
    assert "圆梦照片" in detail and "待审核" in detail
    client.post("/admin/wish/action/", data={"action": "approve_photos", "rowid": str(pending.id)})
    assert all(p.approved for p in Photo.select().where(Photo.subject == "Wish", Photo.subject_id == pending.id))
    html = client.get("/admin/").get_data(as_text=True)
    assert "本月圆梦微心愿" in html
    assert client.get("/admin/wish/").status_code == 200


def test_home_counts_wishes_fulfilled_this_month(app, client, clock):
    import datetime as dt

    app.config["HOME_FIGURES_TTL"] = 0
    unit = f.make_unit()
    for n in range(2):
        wish = make_wish(text=f"心愿{n}")
        wishes.claim(wish.id, unit)
        wishes.fulfil(wish.id, unit, note="已圆梦", photos=[prepared()])
    assert wishes.fulfilled_this_month() == 2
    assert '<span class="value">2</span><span class="label">本月圆梦微心愿' in client.get("/").get_data(as_text=True)
    clock.advance(dt.timedelta(days=31))
    assert wishes.fulfilled_this_month() == 0


# --- the API and notices -----------------------------------------------------------------------

def test_api_lists_public_wishes_with_masked_names(client):
    grid = f.make_grid()
    for n in range(3):
        make_wish(text=f"接口心愿{n}", grid=grid, requester_name="欧阳娜娜")
    pending = make_wish(status=WishStatus.PENDING)
    body = client.get(f"/api/v1/wishes?per_page=2&grid={grid.id}").get_json()
    assert body["total"] == 3 and len(body["items"]) == 2 and body["next"]
    item = body["items"][0]
    assert item["display_name"] == "欧**" and item["status_label"] == "已发布" and item["grid"]["id"] == grid.id
    assert not {"requester_phone", "requester_name"} & set(item)
    assert client.get(f"/api/v1/wishes/{pending.id}").status_code == 404
    assert client.get("/api/v1/wishes?status=pending").get_json()["total"] == 0
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/wishes" in spec["paths"] and "/wishes/{id}" in spec["paths"]


def test_claim_reaches_the_clerks_and_the_resident_through_the_webhook(app):
    app.config.update(NOTICE_WEBHOOK_URL="https://gw.example.org/hook", NOTICE_WEBHOOK_SECRET="s" * 32)
    clerk = f.make_user(role=Role.CLERK)
    wish = make_wish(clerk=clerk, requester_phone="13904826666")
    with app.test_request_context("/"):
        wishes.claim(wish.id, f.make_unit(name="红浦社区卫生服务站"))
    resident = Notice.get(Notice.recipient_phone == "13904826666")
    assert resident.kind == "wish_claimed" and "红浦社区卫生服务站" in resident.body
    assert [d.channel for d in resident.deliveries] == ["webhook"]
    assert Notice.get(Notice.recipient == clerk.id).link == f"/admin/wish/details/?id={wish.id}"


# --- demo data ----------------------------------------------------------------------------------

def test_demo_wishes_fill_the_wall(app, client):
    from services.demo import seed_demo

    seed_demo()
    counts = {s: Wish.select().where(Wish.status == s).count() for s in WishStatus.codes()}
    assert counts[WishStatus.FULFILLED] >= 20 and counts[WishStatus.PUBLISHED] and counts[WishStatus.PENDING]
    assert Wish.select(Wish.grid).distinct().count() == 19
    assert wishes.fulfilled_this_month() > 0
    assert not Wish.select().where(Wish.status.in_(WishStatus.TAKEN), Wish.claimer.is_null()).exists()
    html = client.get("/wishes?status=fulfilled").get_data(as_text=True)
    assert "晒成效" in html and "/photos/" in html
    demo_unit = MemberUnit.get(MemberUnit.name == "红浦社区卫生服务站")
    assert wishes.open_count(demo_unit.id) == 2


def test_at_most_three_photos_and_nothing_written_when_refused(client, auth):
    wish = make_wish()
    user, unit = unit_login(auth)
    client.post(f"/wishes/{wish.id}/claim")
    four = [(jpeg(colour=c), f"{c}.jpg") for c in ("red", "green", "blue", "white")]
    response = client.post(f"/wishes/{wish.id}/fulfil", data={"note": "已送达", "photos": four},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "最多上传 3 张照片" in response.get_data(as_text=True)
    png = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(png, "PNG")
    png.seek(0)
    three = [(jpeg(), "a.jpg"), (png, "b.png"), (io.BytesIO(b"\x89PNG\r\n\x1a\n broken"), "c.png")]
    response = client.post(f"/wishes/{wish.id}/fulfil", data={"note": "已送达", "photos": three},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "第 3 张照片" in response.get_data(as_text=True)
    assert Wish.get_by_id(wish.id).status == WishStatus.CLAIMED
    assert not Photo.select().where(Photo.subject == "Wish", Photo.role == "result").exists()
