"""微心愿 through services.wishes: publish, the machine, the one-claimer rule, photos."""
import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from models import AuditLog, Notice, Photo, Role, UnitKind, Wish, WishSource, WishStatus
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
    assert wishes.approve_result_photos(wish.id, user=clerk) == 1
