"""A partner unit's workspace /my: the orders dispatched to it (签收, report the result with
photos, hand back), the events it organises (roster, check-in, 结束考勤 through the same
services as the admin: 谁组织谁记录), its profile (audited) — and nothing of another unit's,
whatever id is put in a URL or a form."""
import datetime as dt
import io
import json
import re

import pytest
from PIL import Image

from models import (AuditLog, EntryKind, Notice, OrderStatus, Photo, PointsEntry, Role, Signup, SignupStatus,
                    WorkOrder, db, now)
from services import workorders
from services.stats import on_postgres

from . import factories as f


def jpeg(size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, "JPEG")
    buffer.seek(0)
    return buffer


def dispatched_to(unit, clerk, **kw):
    order = f.make_work_order(requester_phone="13904829999", due_at=now() + dt.timedelta(days=2), **kw)
    return workorders.move(order.id, "dispatch", user=clerk, unit=unit.id)


@pytest.fixture
def world(app, client, auth):
    clerk = f.make_user(role=Role.CLERK)
    unit_user = auth.as_role(Role.UNIT)
    return {"clerk": clerk, "user": unit_user, "unit": unit_user.unit, "other": f.make_unit(name="别的单位")}


def text(response):
    return response.get_data(as_text=True)


def test_a_dispatched_order_shows_on_my_with_the_todo_count(client, world):
    order = dispatched_to(world["unit"], world["clerk"])
    dispatched_to(world["other"], world["clerk"])  # another unit's: not shown
    page = text(client.get("/my"))
    assert order.number in page and "待办 1" in page
    # order numbers only (a CSRF token or a signed link may hold the letters "GD" by chance)
    assert set(re.findall(r"(?<![\w-])GD\d+(?![\w-])", page)) == {order.number}
    assert Notice.get(Notice.kind == "order_dispatched").recipient_id == world["user"].id


def test_the_unit_accepts_and_reports_the_result_with_a_photo(client, world):
    order = dispatched_to(world["unit"], world["clerk"])
    assert client.post(f"/my/orders/{order.id}/accept").status_code == 303
    order = WorkOrder.get_by_id(order.id)
    assert order.status == OrderStatus.IN_HAND and order.taken_at == now()
    response = client.post(f"/my/orders/{order.id}/report", content_type="multipart/form-data",
                           data={"result": "已更换楼道灯并告知居民", "photos": [(jpeg(), "灯.jpg"), (jpeg((80, 60)), "2.jpg")]})
    assert response.status_code == 303, text(response)[:2000]
    order = WorkOrder.get_by_id(order.id)
    assert (order.status, order.result) == (OrderStatus.RESOLVED, "已更换楼道灯并告知居民")
    stored = list(Photo.select().where(Photo.subject == "WorkOrder", Photo.subject_id == order.id))
    assert [(p.role, p.approved, p.uploaded_by_id) for p in stored] == [("result", False, world["user"].id)] * 2
    kinds = {n.kind for n in Notice.select()}
    assert {"order_resolved", "order_resolved_resident"} <= kinds  # the clerks, and the resident by phone
    resident = Notice.get(Notice.kind == "order_resolved_resident")
    assert resident.recipient_phone == "13904829999" and "已更换楼道灯" in resident.body
    page = text(client.get(f"/my/orders/{order.id}"))
    assert "已办结" in page and "/photos/" in page and "sig=" in page
    assert client.get(page.split('<img src="')[1].split('"')[0].replace("&amp;", "&")).status_code == 200


def test_a_bad_photo_is_refused_in_chinese_and_nothing_is_written(client, world):
    order = dispatched_to(world["unit"], world["clerk"])
    logged = AuditLog.select().count()
    response = client.post(f"/my/orders/{order.id}/report", content_type="multipart/form-data",
                           data={"result": "已处理", "photos": [(io.BytesIO(b"not an image at all"), "x.jpg")]})
    assert response.status_code == 400 and "无法识别为图片" in text(response)
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.DISPATCHED
    assert Photo.select().count() == 0 and AuditLog.select().count() == logged


def test_handing_back_needs_a_reason_and_reaches_the_clerks(client, world):
    order = dispatched_to(world["unit"], world["clerk"])
    response = client.post(f"/my/orders/{order.id}/hand-back", data={"reason": "  "})
    assert response.status_code == 400 and "请填写退回原因" in text(response)
    response = client.post(f"/my/orders/{order.id}/hand-back", data={"reason": "属于供热公司职责"})
    assert response.status_code == 303
    order = WorkOrder.get_by_id(order.id)
    assert (order.status, order.assignee_unit_id, order.return_reason) == (
        OrderStatus.ACCEPTED, None, "属于供热公司职责")
    told = Notice.get(Notice.kind == "order_returned")
    assert told.recipient_id == world["clerk"].id and "属于供热公司职责" in told.body
    assert client.get(f"/my/orders/{order.id}").status_code == 404  # no longer the unit's
    assert order.number not in text(client.get("/my"))


def test_another_units_order_is_never_revealed_or_moved(client, world):
    theirs = dispatched_to(world["other"], world["clerk"])
    before = WorkOrder.get_by_id(theirs.id).__data__.copy()
    assert client.get(f"/my/orders/{theirs.id}").status_code == 404
    for path, data in (("accept", {}), ("report", {"result": "x"}), ("hand-back", {"reason": "x"})):
        response = client.post(f"/my/orders/{theirs.id}/{path}", data=data)
        assert response.status_code == 404, path
        assert "工单不存在或不是派给您的" in text(response)
    assert WorkOrder.get_by_id(theirs.id).__data__ == before
    assert client.get("/my/orders/999999").status_code == 404


def test_moves_from_the_wrong_state_are_refused(client, world):
    order = dispatched_to(world["unit"], world["clerk"])
    client.post(f"/my/orders/{order.id}/accept")
    response = client.post(f"/my/orders/{order.id}/accept")
    assert response.status_code == 409 and "工单当前为“办理中”，不能签收办理" in text(response)


def test_clerks_and_volunteers_cannot_open_the_unit_workspace(app, client, auth):
    assert client.get("/my").headers["Location"].startswith("/login")
    auth.as_role(Role.CLERK)
    assert client.get("/my").status_code == 403


# --- events the unit organises ---------------------------------------------------------------------

def event_with_people(unit, phone="13904825555", walk_in_phone="13904826666", **kw):
    event = f.make_event(organiser=unit, starts_at=now().replace(minute=0, second=0) - dt.timedelta(hours=1),
                         points=3, **kw)
    volunteer = f.make_volunteer(name="王秀兰", phone=phone)
    account = f.make_user(role=Role.VOLUNTEER, volunteer=volunteer)
    signed = f.make_signup(event=event, name="王秀兰", phone=volunteer.phone, volunteer=volunteer)
    walk_in = f.make_signup(event=event, name="李大爷", phone=walk_in_phone)
    return event, volunteer, account, signed, walk_in


def test_the_unit_checks_people_in_and_closes_attendance_as_the_recorder(client, world):
    event, volunteer, account, signed, walk_in = event_with_people(world["unit"])
    page = text(client.get("/my"))
    assert event.title in page
    roster = text(client.get(f"/my/events/{event.id}"))
    assert "王秀兰" in roster and "139****5555" in roster and "13904825555" not in roster

    assert client.post(f"/my/events/{event.id}/checkin", data={"code": signed.code.lower()}).status_code == 303
    assert client.post(f"/my/events/{event.id}/checkin", data={"signup_id": walk_in.id}).status_code == 303
    assert {s.status for s in Signup.select()} == {SignupStatus.CHECKED_IN}
    assert "待办 1" in text(client.get("/my"))  # attendance to close

    response = client.post(f"/my/events/{event.id}/close", data={})
    assert response.status_code == 303
    [entry] = PointsEntry.select()
    assert (entry.volunteer_id, entry.kind, entry.points, entry.organiser_id, entry.recorded_by_id) == (
        volunteer.id, EntryKind.EARNED, 3, world["unit"].id, world["user"].id)
    told = Notice.get(Notice.kind == "points_credited")
    assert told.recipient_id == account.id and "积分 3 分" in told.body and world["unit"].name in told.body
    # not a registered volunteer: the hours stay on the sign-up, no points, nobody to tell
    assert Signup.get_by_id(walk_in.id).credited and not Notice.select().where(
        Notice.recipient_phone == "13904826666").exists()
    # closing again credits nobody twice
    client.post(f"/my/events/{event.id}/close", data={})
    assert PointsEntry.select().count() == 1


def test_an_adjusted_hour_needs_a_reason_and_the_form_comes_back_as_typed(client, world):
    event, _, _, signed, _ = event_with_people(world["unit"])
    client.post(f"/my/events/{event.id}/checkin", data={"signup_id": signed.id})
    response = client.post(f"/my/events/{event.id}/close", data={f"hours_{signed.id}": "1.5"})
    assert response.status_code == 400 and "请填写调整原因" in text(response)
    assert 'value="1.5"' in text(response)
    assert PointsEntry.select().count() == 0


def test_a_unit_cannot_record_for_an_event_it_does_not_organise(client, world):
    event, _, _, signed, _ = event_with_people(world["other"])
    assert client.get(f"/my/events/{event.id}").status_code == 404
    assert client.post(f"/my/events/{event.id}/checkin", data={"signup_id": signed.id}).status_code == 404
    assert client.post(f"/my/events/{event.id}/close", data={}).status_code == 404
    assert Signup.get_by_id(signed.id).status == SignupStatus.REGISTERED
    # its own event with another event's sign-up id in the form
    own, *_ = event_with_people(world["unit"], phone="13904827777", walk_in_phone="13904828888")
    response = client.post(f"/my/events/{own.id}/checkin", data={"signup_id": signed.id})
    assert response.status_code == 404 and "本活动没有这条报名记录" in text(response)
    assert Signup.get_by_id(signed.id).status == SignupStatus.REGISTERED


def test_the_service_refuses_a_unit_that_does_not_organise(world):
    from services import attendance
    from services.errors import Forbidden

    event, _, _, signed, _ = event_with_people(world["other"])
    with pytest.raises(Forbidden):
        attendance.close_attendance(event.id, user=world["user"])
    with pytest.raises(Forbidden):
        attendance.check_in(event.id, signup_id=signed.id, user=world["user"])


# --- the profile -------------------------------------------------------------------------------------

def test_the_unit_edits_its_profile_and_the_edit_is_audited(client, world):
    response = client.post("/my/profile", data={"contact": "张主任", "phone": "0482 823 4567", "address": "和平街1号",
                                                "intro": "辖区医疗服务"})
    assert response.status_code == 303
    unit = type(world["unit"]).get_by_id(world["unit"].id)
    assert (unit.contact, unit.phone, unit.address) == ("张主任", "0482-8234567", "和平街1号")
    row = AuditLog.get(AuditLog.action == "update_profile")
    assert row.user_id == world["user"].id and json.loads(row.changes)["phone"] == [None, "0482-8234567"]
    response = client.post("/my/profile", data={"contact": "张主任", "phone": "12345", "address": "", "intro": ""})
    assert response.status_code == 400 and "请输入有效的手机号" in text(response)


def test_the_nav_badges_are_one_statement_whatever_waits(app, client, world):
    """待办 N (orders held, events to close, claimed wishes) and the bell: one statement a page."""
    from flask import g

    from public.workspace import nav_counts

    from .querycount import count_queries

    unit, user = world["unit"], world["user"]
    dispatched_to(unit, world["clerk"])
    dispatched_to(world["other"], world["clerk"])  # another unit's
    started = f.make_event(organiser=unit, starts_at=now() - dt.timedelta(hours=3))
    for _ in range(2):  # two check-ins not yet credited: one event to close
        f.make_signup(event=started, status=SignupStatus.CHECKED_IN)
    earlier = f.make_event(organiser=unit, starts_at=now() - dt.timedelta(days=2))
    f.make_signup(event=earlier, status=SignupStatus.CHECKED_IN)  # a second event to close
    f.make_wish(claimer=unit)
    f.make_notice(recipient=user)
    f.make_notice(recipient=user, read_at=now())
    f.make_notice(recipient=world["clerk"])
    with app.test_request_context("/my"):
        g._login_user = user
        with count_queries() as statements:
            # the dispatch wrote one notice for the unit, plus the one unread above
            assert nav_counts(user) == (4, 2)
            assert nav_counts(user) == (4, 2)  # once per request
        assert len(statements) == 1
    page = text(client.get("/my"))
    assert "待办 4" in page


def test_the_nav_statement_learnt_once_counts_for_every_account_and_instant(app, world, clock):
    """The nav's statement text is learnt once per role and set of sections
    (models/statements.shaped); later accounts and later instants fill in their own ids and
    time: another unit counts its own orders, and an event counts as to close once it starts."""
    from flask import g

    from models import statements
    from public.workspace import nav_counts

    from .querycount import count_queries

    unit, user = world["unit"], world["user"]
    other_user = f.make_user(role=Role.UNIT, unit=world["other"])
    dispatched_to(world["other"], world["clerk"])
    dispatched_to(world["other"], world["clerk"])
    soon = f.make_event(organiser=unit, starts_at=now() + dt.timedelta(hours=2))
    f.make_signup(event=soon, status=SignupStatus.CHECKED_IN)

    def counts(account):
        with app.test_request_context("/my"):
            g._login_user = account
            return nav_counts(account)

    assert counts(user) == (0, 0)
    learnt = [v for k, v in statements._shapes.items() if k[0] == "nav_counts" and k[2][0] == Role.UNIT]
    assert learnt and all(v != statements._UNSAFE for v in learnt)
    with count_queries() as executed:
        assert counts(other_user) == (2, 2)  # its two orders, and the two notices of their dispatch
    assert len(executed) == 1
    clock.advance(dt.timedelta(hours=3))  # the event has started: one to close
    assert counts(user) == (1, 0)
    assert counts(other_user) == (2, 2)
    if on_postgres():  # a learnt shape is prepared once per connection, then EXECUTEd
        with app.test_request_context("/my"):
            g._login_user = user
            assert nav_counts(user) == (1, 0)
            names = [n for (n,) in db.execute_sql("SELECT name FROM pg_prepared_statements").fetchall()]
        assert any(n.startswith("hsl_nav_counts_") for n in names)
