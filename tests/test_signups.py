"""The sign-up rules of services/signups.py: places, waiting list, duplicates, closed events."""
import datetime as dt
import re

import pytest

from models import AuditLog, EventStatus, Signup, SignupStatus, now
from services import signups
from services.errors import ServiceError

from . import factories as f


def statuses(event):
    return [s.status for s in Signup.select().where(Signup.event == event.id).order_by(Signup.id)]


def test_places_fill_then_waiting_list(app):
    event = f.make_event(capacity=2)
    first = signups.register(event.id, "张三", "13800000001")
    second = signups.register(event.id, "李四", "13800000002")
    third = signups.register(event.id, "王五", "13800000003")
    assert [first.status, second.status, third.status] == [
        SignupStatus.REGISTERED, SignupStatus.REGISTERED, SignupStatus.WAITLISTED]
    assert signups.waiting_position(third) == 1
    assert signups.place_counts([event.id])[event.id] == {"taken": 2, "waiting": 1}
    assert AuditLog.select().where(AuditLog.action == "signup").count() == 3
    # the audit log never holds the full phone number
    assert all("13800000001" not in (row.changes or "") for row in AuditLog.select())


def test_no_capacity_means_no_limit(app):
    event = f.make_event(capacity=0)
    made = [signups.register(event.id, f"居民{i}", f"1380000{i:04d}") for i in range(12)]
    assert {s.status for s in made} == {SignupStatus.REGISTERED}


def test_signup_links_volunteer_by_phone(app):
    volunteer = f.make_volunteer(phone="13912345678")
    event = f.make_event(capacity=5)
    linked = signups.register(event.id, "志愿者甲", " 139 1234 5678 ")
    other = signups.register(event.id, "居民乙", "13700000000")
    assert linked.volunteer_id == volunteer.id
    assert linked.phone == "13912345678"
    assert other.volunteer_id is None


def test_same_phone_cannot_sign_up_twice_while_live(app):
    event = f.make_event(capacity=1)
    first = signups.register(event.id, "张三", "13800000001")
    with pytest.raises(ServiceError) as err:
        signups.register(event.id, "张三", "13800000001")
    assert err.value.status == 409 and "已报名" in err.value.message
    # a waitlisted sign-up is live too
    waiting = signups.register(event.id, "李四", "13800000002")
    with pytest.raises(ServiceError):
        signups.register(event.id, "李四", "13800000002")
    assert statuses(event) == [SignupStatus.REGISTERED, SignupStatus.WAITLISTED]
    # once cancelled the phone may sign up again (and joins the back of the queue)
    signups.cancel(waiting.id)
    again = signups.register(event.id, "李四", "13800000002")
    assert again.status == SignupStatus.WAITLISTED
    assert Signup.get_by_id(first.id).status == SignupStatus.REGISTERED


@pytest.mark.parametrize("change, status, words", [
    ({"status": EventStatus.CANCELLED}, 409, "已取消"),
    ({"starts_at": now() - dt.timedelta(days=2), "ends_at": now() - dt.timedelta(days=1)}, 409, "已结束"),
    ({"starts_at": now() - dt.timedelta(hours=1), "ends_at": now() + dt.timedelta(hours=1)}, 409, "已开始"),
    ({"published": False}, 404, "不存在或尚未发布"),
])
def test_closed_events_refuse_and_write_nothing(app, change, status, words):
    event = f.make_event(capacity=5, **change)
    audits = AuditLog.select().count()
    with pytest.raises(ServiceError) as err:
        signups.register(event.id, "张三", "13800000001")
    assert err.value.status == status and words in err.value.message
    assert Signup.select().count() == 0
    assert AuditLog.select().count() == audits


def test_missing_event_is_404(app):
    with pytest.raises(ServiceError) as err:
        signups.register(987654, "张三", "13800000001")
    assert err.value.status == 404


def test_staff_may_sign_up_for_unpublished_event(app):
    event = f.make_event(published=False)
    assert signups.register(event.id, "张三", "13800000001", staff=True).status == SignupStatus.REGISTERED


@pytest.mark.parametrize("name, phone, field", [
    ("", "13800000001", "name"), ("   ", "13800000001", "name"), ("张" * 31, "13800000001", "name"),
    ("张三", "", "phone"), ("张三", "12345abc", "phone"), ("张三", "1380000000", "phone"),
    ("张三", "138000000011", "phone"),
])
def test_bad_person_details_are_400_with_field(app, name, phone, field):
    event = f.make_event()
    with pytest.raises(ServiceError) as err:
        signups.register(event.id, name, phone)
    assert err.value.status == 400 and err.value.field == field
    assert Signup.select().count() == 0


def test_cancelling_a_place_promotes_exactly_the_first_waiting(app):
    event = f.make_event(capacity=1)
    holder = signups.register(event.id, "张三", "13800000001")
    later = signups.register(event.id, "李四", "13800000002")
    earlier = signups.register(event.id, "王五", "13800000003")
    # creation time decides the queue, not the id
    Signup.update(created_at=now() - dt.timedelta(minutes=5)).where(Signup.id == earlier.id).execute()
    cancelled, promoted = signups.cancel(holder.id)
    assert cancelled.status == SignupStatus.CANCELLED
    assert promoted.id == earlier.id
    assert Signup.get_by_id(earlier.id).status == SignupStatus.REGISTERED
    assert Signup.get_by_id(later.id).status == SignupStatus.WAITLISTED
    assert signups.waiting_position(Signup.get_by_id(later.id)) == 1
    actions = [a.action for a in AuditLog.select().order_by(AuditLog.id)]
    assert actions[-2:] == ["cancel", "promote"]


def test_cancelling_a_waiting_person_promotes_nobody(app):
    event = f.make_event(capacity=1)
    signups.register(event.id, "张三", "13800000001")
    first_waiting = signups.register(event.id, "李四", "13800000002")
    signups.register(event.id, "王五", "13800000003")
    _, promoted = signups.cancel(first_waiting.id)
    assert promoted is None
    assert statuses(event) == [SignupStatus.REGISTERED, SignupStatus.CANCELLED, SignupStatus.WAITLISTED]


def test_no_promotion_while_still_over_capacity(app):
    event = f.make_event(capacity=3)
    made = [signups.register(event.id, f"居民{i}", f"1380000000{i}") for i in range(4)]
    event.capacity = 1  # a clerk lowered the limit: three hold places for one
    event.save()
    _, promoted = signups.cancel(made[0].id)
    assert promoted is None
    assert statuses(event).count(SignupStatus.WAITLISTED) == 1


def test_cancel_twice_is_refused(app):
    event = f.make_event(capacity=1)
    signup = signups.register(event.id, "张三", "13800000001")
    signups.cancel(signup.id)
    with pytest.raises(ServiceError) as err:
        signups.cancel(signup.id)
    assert err.value.status == 409
    with pytest.raises(ServiceError) as err:
        signups.cancel(424242)
    assert err.value.status == 404


def test_resident_cancels_with_phone_and_code(app):
    event = f.make_event(capacity=1)
    mine = signups.register(event.id, "张三", "13800000001")
    waiting = signups.register(event.id, "李四", "13800000002")
    for phone, code in (("13800000001", "WRONG"), ("13800000002", mine.code), ("13800000001", waiting.code)):
        with pytest.raises(ServiceError) as err:
            signups.cancel_own(event.id, phone, code)
        assert err.value.status == 404
    with pytest.raises(ServiceError) as err:
        signups.cancel_own(event.id, "", "")
    assert err.value.status == 400
    cancelled, promoted = signups.cancel_own(event.id, "13800000001", mine.code.lower())
    assert cancelled.id == mine.id and promoted.id == waiting.id


def test_transitions_outside_the_table_are_refused(app):
    signup = f.make_signup(status=SignupStatus.CANCELLED)
    with pytest.raises(ServiceError):
        signups._move(signup, SignupStatus.REGISTERED)
    assert Signup.get_by_id(signup.id).status == SignupStatus.CANCELLED


@pytest.mark.parametrize("phone, masked", [
    ("13812341234", "138****1234"), ("0482-8261234", "048*****1234"), ("12345", "*****"), (None, ""),
])
def test_mask_phone(phone, masked):
    assert signups.mask_phone(phone) == masked


# --- the admin: counts, the per-event list, status only through the service ----------------

def test_admin_event_list_counts_and_links_to_its_signups(client, auth):
    auth.as_role("clerk")
    event = f.make_event(title="邻里节", capacity=2)
    other = f.make_event(title="义诊")
    for i in range(3):
        signups.register(event.id, f"居民{i}", f"1380000000{i}")
    signups.register(other.id, "别的活动的人", "13700000000")
    html = client.get("/admin/event/").get_data(as_text=True)
    match = re.search(r'<a href="([^"]+)">已报名 2/2 · 候补 1</a>', html)
    assert match, html[-3000:]
    listing = client.get(match.group(1).replace("&amp;", "&"))
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert "居民0" in text and "居民2" in text and "别的活动的人" not in text


def test_admin_edit_form_cannot_change_status_or_event(client, auth):
    auth.as_role("clerk")
    event = f.make_event(capacity=1)
    other = f.make_event()
    signups.register(event.id, "张三", "13800000001")
    waiting = signups.register(event.id, "李四", "13800000002")
    form = client.get(f"/admin/signup/edit/?id={waiting.id}").get_data(as_text=True)
    assert 'name="status"' not in form and 'name="event"' not in form
    response = client.post(f"/admin/signup/edit/?id={waiting.id}", data={
        "name": "李四（更正）", "phone": "13800000003", "status": "registered", "event": other.id})
    assert response.status_code == 302
    row = Signup.get_by_id(waiting.id)
    assert (row.name, row.phone, row.status, row.event_id) == (
        "李四（更正）", "13800000003", SignupStatus.WAITLISTED, event.id)
    # a phone already live on this event is refused with a Chinese message
    response = client.post(f"/admin/signup/edit/?id={waiting.id}", data={"name": "李四", "phone": "13800000001"},
                           follow_redirects=True)
    assert "已有有效报名" in response.get_data(as_text=True)
    assert Signup.get_by_id(waiting.id).phone == "13800000003"


def test_admin_create_goes_through_the_waiting_list(client, auth):
    auth.as_role("clerk")
    event = f.make_event(capacity=1)
    for phone in ("13800000001", "13800000002"):
        response = client.post("/admin/signup/new/", data={"event": event.id, "name": "居民", "phone": phone,
                                                           "status": "registered"})
        assert response.status_code == 302
    assert statuses(event) == [SignupStatus.REGISTERED, SignupStatus.WAITLISTED]
    response = client.post("/admin/signup/new/", data={"event": event.id, "name": "居民", "phone": "13800000001"},
                           follow_redirects=True)
    assert "请勿重复报名" in response.get_data(as_text=True)
    assert Signup.select().count() == 2


def test_admin_bulk_cancel_promotes_and_delete_is_off(client, auth):
    auth.as_role("clerk")
    event = f.make_event(capacity=2)
    made = [signups.register(event.id, f"居民{i}", f"1380000000{i}") for i in range(4)]
    response = client.post("/admin/signup/action/", data={"action": "delete", "rowid": [made[0].id]})
    assert Signup.select().count() == 4
    response = client.post("/admin/signup/action/", data={
        "action": "cancel_signups", "rowid": [made[0].id, made[1].id, made[0].id]}, follow_redirects=True)
    html = response.get_data(as_text=True)
    # the repeated id is taken once
    assert "已取消 2 条报名" in html and "候补递补 2 人" in html and "未取消" not in html
    assert statuses(event) == [SignupStatus.CANCELLED, SignupStatus.CANCELLED,
                               SignupStatus.REGISTERED, SignupStatus.REGISTERED]
    again = client.post("/admin/signup/action/", data={
        "action": "cancel_signups", "rowid": [made[0].id]}, follow_redirects=True)
    assert f"报名 #{made[0].id} 未取消" in again.get_data(as_text=True)
    assert statuses(event)[2:] == [SignupStatus.REGISTERED, SignupStatus.REGISTERED]


def test_raising_capacity_promotes_waiting_people(client, auth):
    auth.as_role("clerk")
    event = f.make_event(capacity=1)
    for i in range(4):
        signups.register(event.id, f"居民{i}", f"1380000000{i}")
    response = client.post(f"/admin/event/edit/?id={event.id}", data={
        "title": event.title, "category": event.category, "location": event.location,
        "starts_at": event.starts_at.strftime("%Y-%m-%d %H:%M:%S"),
        "ends_at": event.ends_at.strftime("%Y-%m-%d %H:%M:%S"),
        "capacity": 3, "published": "y", "status": event.status, "points": 0}, follow_redirects=True)
    assert "已从候补名单递补 2 人" in response.get_data(as_text=True)
    assert statuses(event) == [SignupStatus.REGISTERED] * 3 + [SignupStatus.WAITLISTED]
