"""Events: cancelling cancels their live sign-ups in one transaction and the page says
已取消; check-in only in its window; 结束考勤 keeps what the clerk typed."""
import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from models import AuditLog, Event, EventStatus, PointsEntry, Role, Signup, SignupStatus, now
from services import attendance, events, signups
from services.errors import ServiceError

from . import factories as f
from .records_helpers import alert, funded_volunteer, text

pytestmark = pytest.mark.dates  # windows, deadlines, this year's figures: make test-dates


def status_of(signup):
    return Signup.get_by_id(signup.id).status


def test_cancelling_an_event_cancels_its_live_signups(client, auth):
    """Before: the sign-ups stayed 已报名 and the page still offered places and the form."""
    clerk = auth.as_role(Role.CLERK)
    event = f.make_event(title="邻里节", capacity=2, starts_at=now().replace(second=0) + dt.timedelta(hours=1))
    a = signups.register(event.id, "张三", "13800000001")
    b = signups.register(event.id, "李四", "13800000002")
    waiting = signups.register(event.id, "王五", "13800000003")
    attendance.check_in(event.id, code=a.code, user=clerk)  # already there: stays a fact
    sequence = Event.get_by_id(event.id).sequence

    form = text(client.get(f"/admin/event/edit/?id={event.id}"))
    assert 'name="status"' not in form and 'data-move="cancel"' in form
    page = client.get(f"/admin/event/move/{event.id}?action=cancel")
    assert "已报名和候补的报名将全部取消" in text(page)
    response = client.post(f"/admin/event/move/{event.id}", data={"action": "cancel", "from": "scheduled"})
    assert response.status_code == 303

    fresh = Event.get_by_id(event.id)
    assert fresh.status == EventStatus.CANCELLED and fresh.sequence == sequence + 1
    assert [status_of(s) for s in (a, b, waiting)] == [
        SignupStatus.CHECKED_IN, SignupStatus.CANCELLED, SignupStatus.CANCELLED]
    cascaded = AuditLog.select().where(AuditLog.entity == "Signup", AuditLog.action == "cancel")
    assert cascaded.count() == 2
    assert all(json.loads(r.changes)["event_cancelled"] and r.user_id == clerk.id for r in cascaded)
    assert AuditLog.select().where(AuditLog.entity == "Event", AuditLog.action == "cancel").count() == 1

    public = client.get(f"/events/{event.id}")
    body = text(public)
    assert public.status_code == 200 and "已取消" in body
    assert "剩余" not in body and "名额已满" not in body
    assert 'name="name"' not in body and 'name="phone"' not in body and 'name="cancel-phone"' not in body
    response = client.post(f"/events/{event.id}/signup", data={"name": "赵六", "phone": "13800000004"})
    assert response.status_code == 409 and Signup.select().count() == 3

    # reinstating brings the event back, not the cancelled sign-ups
    response = client.post(f"/admin/event/move/{event.id}", data={"action": "reinstate"})
    assert response.status_code == 303 and Event.get_by_id(event.id).status == EventStatus.SCHEDULED
    assert status_of(b) == SignupStatus.CANCELLED


def test_the_event_form_cannot_cancel_and_wrong_users_cannot_move(client, auth):
    event = f.make_event()
    signup = f.make_signup(event=event)
    auth.as_role(Role.CLERK)
    client.post(f"/admin/event/edit/?id={event.id}", data={
        "title": event.title, "category": event.category, "location": event.location,
        "starts_at": event.starts_at.strftime("%Y-%m-%d %H:%M:%S"),
        "ends_at": event.ends_at.strftime("%Y-%m-%d %H:%M:%S"), "capacity": 0, "published": "y",
        "status": "cancelled", "points": 0})
    assert Event.get_by_id(event.id).status == EventStatus.SCHEDULED
    auth.logout()
    unit_user = auth.as_role(Role.UNIT)
    assert client.post(f"/admin/event/move/{event.id}", data={"action": "cancel"}).status_code == 403
    with pytest.raises(ServiceError) as err:
        events.move(event.id, "cancel", user=unit_user)
    assert err.value.status == 403
    assert Event.get_by_id(event.id).status == EventStatus.SCHEDULED and status_of(signup) == SignupStatus.REGISTERED


def test_an_ended_event_cannot_be_reinstated(client, auth):
    clerk = auth.as_role(Role.CLERK)
    start = now().replace(second=0) - dt.timedelta(hours=3)
    event = f.make_event(starts_at=start, ends_at=start + dt.timedelta(hours=2), status=EventStatus.CANCELLED)
    response = client.post(f"/admin/event/move/{event.id}", data={"action": "reinstate"})
    assert response.status_code == 409 and alert(response) == "活动当前为“已取消”，不能恢复活动：活动已结束"
    with pytest.raises(ServiceError):
        events.move(event.id, "cancel", user=clerk)


# --- check-in window -------------------------------------------------------------------------

def checkin(client, event, **data):
    return client.post(f"/admin/checkin/event/{event.id}/checkin", data=data)


def test_check_in_is_refused_days_before_the_event(client, auth):
    """Before: a code was accepted five days before the event."""
    auth.as_role(Role.CLERK)
    event = f.make_event(starts_at=now().replace(second=0) + dt.timedelta(days=5))
    signup = f.make_signup(event=event)
    response = checkin(client, event, code=signup.code)
    assert response.status_code == 409 and alert(response).startswith("签到尚未开始")
    assert checkin(client, event, signup_id=signup.id).status_code == 409
    assert status_of(signup) == SignupStatus.REGISTERED
    # the machine's guard holds even without the attendance service in front of it
    with pytest.raises(ServiceError) as err:
        signups.SIGNUPS.move(Signup.get_by_id(signup.id), "check_in")
    assert "签到尚未开始" in err.value.message
    page = text(client.get(f"/admin/checkin/event/{event.id}"))
    assert "签到时间" in page


def test_check_in_opens_two_hours_before_and_closes_with_the_event_day(client, auth, app):
    auth.as_role(Role.CLERK)
    soon = f.make_event(starts_at=now().replace(second=0) + dt.timedelta(minutes=90))
    early = f.make_signup(event=soon)
    assert checkin(client, soon, code=early.code).status_code == 302
    assert status_of(early) == SignupStatus.CHECKED_IN

    app.config["CHECKIN_OPENS_BEFORE_MINUTES"] = 60  # configurable
    later = f.make_signup(event=soon)
    response = checkin(client, soon, code=later.code)
    assert response.status_code == 409 and "签到尚未开始" in alert(response)

    start = now().replace(second=0) - dt.timedelta(hours=30)
    over = f.make_event(starts_at=start, ends_at=start + dt.timedelta(hours=2))
    late = f.make_signup(event=over)
    response = checkin(client, over, code=late.code)
    assert response.status_code == 409 and alert(response).startswith("签到已截止")
    app.config["CHECKIN_CLOSES_DAYS_AFTER"] = 2
    assert checkin(client, over, code=late.code).status_code == 302


@pytest.mark.parametrize("at_hour", [9, 0])
def test_the_window_reads_from_the_event_times(app, at_hour):
    day = dt.datetime(2026, 12, 31)
    event = Event(starts_at=day.replace(hour=at_hour) + dt.timedelta(hours=1 if at_hour else 2),
                  ends_at=day.replace(hour=at_hour) + dt.timedelta(hours=4), status=EventStatus.SCHEDULED)
    start, end = signups.checkin_window(event)
    assert start == event.starts_at - dt.timedelta(hours=2)
    assert end == dt.datetime(2027, 1, 1)  # the end of the event's last day, across the year
    assert signups.checkin_refusal(event, at=dt.datetime(2026, 12, 31, 23, 30)) is None
    assert signups.checkin_refusal(event, at=dt.datetime(2027, 1, 1, 0, 0)).startswith("签到已截止")
    midnight = Event(starts_at=day.replace(hour=20), ends_at=dt.datetime(2027, 1, 1), status="scheduled")
    assert signups.checkin_window(midnight)[1] == dt.datetime(2027, 1, 1)  # ends at 00:00: that day


# --- 结束考勤 keeps what was typed -----------------------------------------------------------------

def close(client, event, **data):
    return client.post(f"/admin/checkin/event/{event.id}/close", data=data)


def test_close_attendance_keeps_the_typed_hours_and_never_credits_the_default(client, auth):
    """Before: typed 1.5 h, an error, and then the default 3 h was credited."""
    auth.as_role(Role.CLERK)
    start = now().replace(second=0) - dt.timedelta(hours=2)  # under way: check-in open at any hour
    event = f.make_event(starts_at=start, ends_at=start + dt.timedelta(hours=3), points=0)
    volunteer = funded_volunteer(0)
    other = funded_volunteer(0)
    s1 = f.make_signup(event=event, phone=volunteer.phone, volunteer=volunteer)
    s2 = f.make_signup(event=event, phone=other.phone, volunteer=other)
    for s in (s1, s2):
        attendance.check_in(event.id, signup_id=s.id)

    response = close(client, event, **{f"hours_{s1.id}": "1.5", f"reason_{s1.id}": "",
                                       f"hours_{s2.id}": "abc", f"reason_{s2.id}": "迟到"})
    assert response.status_code == 400
    page = text(response)
    assert f'name="hours_{s1.id}" value="1.5"' in page and f'name="hours_{s2.id}" value="abc"' in page
    assert f'name="reason_{s2.id}" value="迟到"' in page
    assert PointsEntry.select().count() == 0

    # the reason typed again, the hours lost on the way: refused, not the default 3 h
    response = close(client, event, **{f"hours_{s1.id}": "", f"reason_{s1.id}": "早退"})
    assert response.status_code == 400 and "请同时填写实际时长" in alert(response)
    assert re.search(rf'id="hours_{s1.id}"[^>]*is-invalid', text(response))  # the field it is about
    assert f'name="reason_{s1.id}" value="早退"' in text(response)
    assert PointsEntry.select().count() == 0 and not Signup.get_by_id(s1.id).credited

    response = close(client, event, **{f"hours_{s1.id}": "1.5", f"reason_{s1.id}": "早退"})
    assert response.status_code == 302
    assert Signup.get_by_id(s1.id).hours == Decimal("1.50")
    assert PointsEntry.get(PointsEntry.volunteer == volunteer.id).hours == Decimal("1.50")
    assert PointsEntry.get(PointsEntry.volunteer == other.id).hours == Decimal("3.00")
