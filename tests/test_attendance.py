"""Check-in by code or from the list, closing attendance, crediting hours and points once."""
import io
from decimal import Decimal

import pytest
import qrcode
import qrcode.image.svg

from models import AuditLog, EntryKind, PointsEntry, Role, Signup, SignupStatus

from . import factories
from .records_helpers import alert, cached_balance, funded_volunteer, ledger_sum, past_event, text


def checkin(client, event, **data):
    return client.post(f"/admin/checkin/event/{event.id}/checkin", data=data)


def close(client, event, **data):
    return client.post(f"/admin/checkin/event/{event.id}/close", data=data)


def test_clerk_checks_two_volunteers_in_by_code_and_closes_attendance(client, auth):
    auth.as_role(Role.CLERK)
    organiser = factories.make_unit(name="红浦社区党委")
    event = past_event(title="邻里节志愿服务", points=5, organiser=organiser)
    a, b = funded_volunteer(0, name="李淑环"), funded_volunteer(0, name="张建国")
    sa = factories.make_signup(event=event, name=a.name, phone=a.phone, volunteer=a)
    sb = factories.make_signup(event=event, name=b.name, phone=b.phone)  # linked by phone when credited
    page = client.get(f"/admin/checkin/event/{event.id}")
    assert page.status_code == 200 and "李淑环" in text(page) and "确认签到" in text(page)
    assert checkin(client, event, code=sa.code.lower()).status_code == 302
    assert checkin(client, event, code=f" {sb.code} ").status_code == 302
    for s in (sa, sb):
        fresh = Signup.get_by_id(s.id)
        assert fresh.status == SignupStatus.CHECKED_IN and fresh.checked_in_at is not None
    response = close(client, event, hours_2="", reason_2="")
    assert response.status_code == 302
    for v in (a, b):
        assert cached_balance(v.id) == 5 == ledger_sum(v.id)
        entry = PointsEntry.get(PointsEntry.volunteer == v.id)
        assert (entry.kind, entry.hours, entry.organiser_id, entry.event_id) == (EntryKind.EARNED, Decimal("2.00"), organiser.id, event.id)
    assert Signup.get_by_id(sb.id).volunteer_id == b.id and Signup.get_by_id(sb.id).credited
    # closing again never credits twice
    assert close(client, event).status_code == 302
    assert PointsEntry.select().count() == 2 and cached_balance(a.id) == 5
    assert AuditLog.select().where(AuditLog.action == "check_in").count() == 2
    assert AuditLog.select().where(AuditLog.action == "close_attendance").count() == 2


def test_check_in_from_the_list(client, auth):
    auth.as_role(Role.CLERK)
    event = past_event()
    signup = factories.make_signup(event=event)
    assert checkin(client, event, signup_id=signup.id).status_code == 302
    assert Signup.get_by_id(signup.id).status == SignupStatus.CHECKED_IN


def test_points_follow_hours_when_the_event_sets_none(client, auth):
    auth.as_role(Role.CLERK)
    event = past_event(points=0)
    volunteer = funded_volunteer(0)
    signup = factories.make_signup(event=event, phone=volunteer.phone, volunteer=volunteer)
    checkin(client, event, code=signup.code)
    close(client, event)
    assert cached_balance(volunteer.id) == 2  # 2 hours × POINTS_PER_HOUR (1)


def test_another_events_code_is_refused(client, auth):
    auth.as_role(Role.CLERK)
    here, there = past_event(), past_event(title="民族文化市集")
    foreign = factories.make_signup(event=there)
    response = checkin(client, here, code=foreign.code)
    assert response.status_code == 409
    assert alert(response) == "该签到码属于另一场活动“民族文化市集”，不能在本活动签到"
    assert Signup.get_by_id(foreign.id).status == SignupStatus.REGISTERED
    response = checkin(client, here, signup_id=foreign.id)
    assert response.status_code == 404 and Signup.get_by_id(foreign.id).status == SignupStatus.REGISTERED


@pytest.mark.parametrize("code, status, message", [
    ("", 400, "请输入或扫描签到码"), ("NOSUCHCODE", 404, "签到码无效，未找到对应的报名"),
    ("<script>", 404, "签到码无效，未找到对应的报名"),
])
def test_bad_codes_are_refused(client, auth, code, status, message):
    auth.as_role(Role.CLERK)
    event = past_event()
    response = checkin(client, event, code=code)
    assert response.status_code == status and alert(response) == message


def test_double_check_in_is_refused(client, auth):
    auth.as_role(Role.CLERK)
    event = past_event()
    signup = factories.make_signup(event=event, name="王芳")
    checkin(client, event, code=signup.code)
    first = Signup.get_by_id(signup.id).checked_in_at
    response = checkin(client, event, code=signup.code)
    assert response.status_code == 409 and alert(response).startswith("王芳 已于") and "不能重复签到" in alert(response)
    assert Signup.get_by_id(signup.id).checked_in_at == first
    assert AuditLog.select().where(AuditLog.action == "check_in").count() == 1


@pytest.mark.parametrize("status, message", [
    (SignupStatus.WAITLISTED, "仍在候补名单中"), (SignupStatus.CANCELLED, "报名已取消"),
])
def test_waitlisted_and_cancelled_cannot_check_in(client, auth, status, message):
    auth.as_role(Role.CLERK)
    event = past_event()
    signup = factories.make_signup(event=event, status=status)
    response = checkin(client, event, code=signup.code)
    assert response.status_code == 409 and message in alert(response)
    assert Signup.get_by_id(signup.id).status == status


def test_hours_beyond_the_event_need_a_reason(client, auth):
    auth.as_role(Role.CLERK)
    event = past_event()
    volunteer = funded_volunteer(0)
    signup = factories.make_signup(event=event, phone=volunteer.phone, volunteer=volunteer)
    checkin(client, event, code=signup.code)
    response = close(client, event, **{f"hours_{signup.id}": "3"})
    assert response.status_code == 400
    assert alert(response) == "时长 3.00 小时超过活动时长 2.00 小时，必须填写原因"
    assert PointsEntry.select().count() == 0 and not Signup.get_by_id(signup.id).credited
    for bad, message in (("abc", "必须是数字"), ("-1", "不能为负数")):
        response = close(client, event, **{f"hours_{signup.id}": bad, f"reason_{signup.id}": "x"})
        assert response.status_code == 400 and message in alert(response)
    response = close(client, event, **{f"hours_{signup.id}": "3", f"reason_{signup.id}": "活动后留下整理场地"})
    assert response.status_code == 302
    fresh = Signup.get_by_id(signup.id)
    assert fresh.hours == Decimal("3.00") and fresh.hours_note == "活动后留下整理场地"
    entry = PointsEntry.get(PointsEntry.volunteer == volunteer.id)
    assert entry.hours == Decimal("3.00") and "活动后留下整理场地" in entry.description


def test_shorter_hours_need_a_reason_too(client, auth):
    auth.as_role(Role.CLERK)
    event = past_event()
    signup = factories.make_signup(event=event)
    checkin(client, event, code=signup.code)
    response = close(client, event, **{f"hours_{signup.id}": "1"})
    assert response.status_code == 400 and "请填写调整原因" in alert(response)


def test_cannot_close_before_the_event_starts(client, auth):
    auth.as_role(Role.CLERK)
    event = factories.make_event()  # next week
    response = close(client, event)
    assert response.status_code == 409 and alert(response) == "活动尚未开始，不能结束考勤"


def test_qr_code_encodes_the_clerks_check_in_page(client, app):
    event = past_event()
    signup = factories.make_signup(event=event)
    response = client.get(f"/signups/{signup.code}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "no-store" in response.headers["Cache-Control"]
    url = f"http://localhost/admin/checkin/event/{event.id}?code={signup.code}"
    expected = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                           error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    expected.save(buffer)
    assert response.data == buffer.getvalue()
    assert client.get("/signups/NOSUCHCODE/qr.svg").status_code == 404
    # the page the QR code opens has the code filled in, ready to confirm
    factories.make_user(role=Role.CLERK, username="qrclerk")
    client.post("/login", data={"username": "qrclerk", "password": factories.PASSWORD})
    page = client.get(f"/admin/checkin/event/{event.id}?code={signup.code}")
    assert f'value="{signup.code}"' in text(page)


def test_cancelled_sign_up_has_no_qr_code(client):
    signup = factories.make_signup(event=past_event(), status=SignupStatus.CANCELLED)
    assert client.get(f"/signups/{signup.code}/qr.svg").status_code == 404


def test_check_in_screens_follow_the_admin_access_rule(client, auth):
    event = past_event()
    signup = factories.make_signup(event=event)
    response = client.get(f"/admin/checkin/event/{event.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    auth.as_role(Role.UNIT)
    assert client.get("/admin/checkin/").status_code == 403
    assert checkin(client, event, code=signup.code).status_code == 403
    assert Signup.get_by_id(signup.id).status == SignupStatus.REGISTERED
