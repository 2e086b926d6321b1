"""Everyone hears what concerns them: a Notice per recipient for each happening, written in
the transaction of the change (a refused change leaves none); the bell and /notices on the
public site, 我的通知 in the admin."""
import datetime as dt

import pytest

from models import Notice, Role, SignupStatus, now
from services import attendance, claims, events, signups, workorders
from services.errors import ServiceError

from . import factories as f


def text(response):
    return response.get_data(as_text=True)


def kinds(**where):
    query = Notice.select()
    for name, value in where.items():
        query = query.where(getattr(Notice, name) == value)
    return sorted(n.kind for n in query)


@pytest.fixture
def people(app):
    clerk = f.make_user(role=Role.CLERK)
    unit_user = f.make_user(role=Role.UNIT)
    return clerk, unit_user, unit_user.unit


def test_claim_confirmed_and_rejected_with_the_reason(people):
    clerk, unit_user, unit = people
    second = f.make_user(role=Role.UNIT, unit=unit)
    project = f.make_project(title="楼道微改造", slots=2)
    one = claims.claim_project(project.id, unit, "计划一")
    claims.confirm_claim(one.id, user=clerk, note="请月底前开工")
    other_project = f.make_project(title="银发关爱")
    two = claims.claim_project(other_project.id, unit, "计划二")
    claims.reject_claim(two.id, user=clerk, reason="需要医疗资质")
    for user in (unit_user, second):
        assert kinds(recipient=user.id) == ["claim_confirmed", "claim_rejected"]
    rejected = Notice.get(Notice.kind == "claim_rejected", Notice.recipient == unit_user.id)
    assert rejected.title == "认领未通过：银发关爱" and "原因：需要医疗资质" in rejected.body
    assert rejected.link == f"/my/claims/{two.id}" and (rejected.subject, rejected.subject_id) == ("Claim", two.id)
    assert "审核意见：请月底前开工" in Notice.get(Notice.kind == "claim_confirmed").body


def test_a_refused_move_leaves_no_notice(people):
    clerk, _, unit = people
    claim = claims.claim_project(f.make_project().id, unit, "计划")
    claims.reject_claim(claim.id, user=clerk, reason="理由")
    before = Notice.select().count()
    with pytest.raises(ServiceError):
        claims.confirm_claim(claim.id, user=clerk)
    assert Notice.select().count() == before


def test_waiting_list_promotion_tells_the_person_by_account_or_phone(people):
    event = f.make_event(title="健康讲座", capacity=1)
    seated = signups.register(event.id, "甲", "13904821001")
    volunteer = f.make_volunteer(phone="13904821002")
    account = f.make_user(role=Role.VOLUNTEER, volunteer=volunteer)
    waiting = signups.register(event.id, "乙", "13904821002")
    resident = signups.register(event.id, "丙", "13904821003")
    signups.cancel(seated.id)
    told = Notice.get(Notice.kind == "signup_promoted")
    assert told.recipient_id == account.id and told.recipient_phone is None
    assert waiting.code in told.body and "已由候补转为正式报名" in told.body
    signups.cancel(waiting.id)
    assert Notice.get(Notice.kind == "signup_promoted", Notice.recipient_phone == "13904821003").subject_id == resident.id


def test_a_cancelled_event_tells_everyone_signed_up(people):
    clerk, _, _ = people
    event = f.make_event(title="邻里节")
    volunteer = f.make_volunteer(phone="13904821004")
    account = f.make_user(role=Role.VOLUNTEER, volunteer=volunteer)
    signups.register(event.id, "志愿者", "13904821004")
    signups.register(event.id, "居民", "13904821005")
    events.move(event.id, "cancel", user=clerk)
    assert kinds(kind="event_cancelled") == ["event_cancelled"] * 2
    assert Notice.get(Notice.recipient == account.id).title == "活动取消：邻里节"
    assert Notice.get(Notice.recipient_phone == "13904821005").kind == "event_cancelled"


def test_a_changed_event_tells_those_signed_up_what_changed(client, auth):
    event = f.make_event(title="义诊", location="党群服务中心")
    signups.register(event.id, "居民", "13904821006")
    cancelled = signups.register(event.id, "走了", "13904821007")
    signups.cancel(cancelled.id)
    auth.as_role(Role.CLERK)
    page = client.get(f"/admin/event/edit/?id={event.id}")
    assert page.status_code == 200
    later = event.starts_at + dt.timedelta(days=1)
    response = client.post(f"/admin/event/edit/?id={event.id}", data={
        "title": "义诊", "category": event.category, "starts_at": later.strftime("%Y-%m-%d %H:%M:%S"),
        "ends_at": (later + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"), "location": "和平街文化广场",
        "capacity": "0", "points": "0", "published": "y"})
    assert response.status_code == 302, text(response)[:1500]
    [told] = Notice.select().where(Notice.kind == "event_changed")
    assert told.recipient_phone == "13904821006"
    assert "地点：党群服务中心 → 和平街文化广场" in told.body and "开始时间" in told.body
    # an edit of something nobody was told (the description) tells nobody
    client.post(f"/admin/event/edit/?id={event.id}", data={
        "title": "义诊", "category": event.category, "starts_at": later.strftime("%Y-%m-%d %H:%M:%S"),
        "ends_at": (later + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"), "location": "和平街文化广场",
        "capacity": "0", "points": "0", "published": "y", "description": "带上医保卡"})
    assert Notice.select().where(Notice.kind == "event_changed").count() == 1


def test_orders_dispatched_returned_overdue_and_taken(people, clock):
    clerk, unit_user, unit = people
    order = f.make_work_order(requester_phone="13904821008", due_at=now() + dt.timedelta(hours=2))
    workorders.move(order.id, "dispatch", user=clerk, unit=unit.id)
    assert kinds(recipient=unit_user.id) == ["order_dispatched"]
    assert Notice.get(Notice.recipient_phone == "13904821008").kind == "order_dispatched_resident"
    clock.advance(dt.timedelta(hours=3))
    [overdue] = workorders.notify_overdue()
    assert overdue.id == order.id and workorders.notify_overdue() == []  # once
    told = sorted((n.recipient_id, n.kind) for n in Notice.select().where(Notice.kind == "order_overdue"))
    assert told == sorted([(unit_user.id, "order_overdue"), (clerk.id, "order_overdue")]), told  # unit, clerk
    workorders.hand_back(order.id, user=unit_user, reason="需要供热公司处理")
    assert Notice.get(Notice.kind == "order_returned").recipient_id == clerk.id
    assert workorders.get_assigned  # the order is back with the clerks
    revoked = f.make_work_order()
    workorders.move(revoked.id, "dispatch", user=clerk, unit=unit.id)
    workorders.move(revoked.id, "revoke", user=clerk, reason="居民已自行解决")
    assert "居民已自行解决" in Notice.get(Notice.kind == "order_revoked").body


def test_points_credited_and_account_created(app, people):
    clerk, _, unit = people
    volunteer = f.make_volunteer()
    account = f.make_user(role=Role.VOLUNTEER, volunteer=volunteer)
    event = f.make_event(organiser=unit, starts_at=now() - dt.timedelta(hours=1), points=2)
    signup = f.make_signup(event=event, phone=volunteer.phone, volunteer=volunteer, status=SignupStatus.CHECKED_IN,
                           checked_in_at=now())
    app.config["PUBLIC_BASE_URL"] = "https://hongpu.example.org"
    with app.app_context():
        attendance.close_attendance(event.id, user=clerk)
        from services import activation

        f.make_unit(name="还没有账号的单位")
        activation.open_unit_accounts(actor=clerk)
    told = Notice.get(Notice.kind == "points_credited")
    assert told.recipient_id == account.id and "积分 2 分" in told.body and told.subject_id == signup.id
    assert Notice.select().where(Notice.kind == "account_created").count() >= 1


# --- the bell and the lists -----------------------------------------------------------------------

def test_the_bell_counts_unread_and_the_list_marks_read(client, auth):
    user = auth.as_role(Role.UNIT)
    other = f.make_user(role=Role.UNIT)
    first = f.make_notice(recipient=user, title="认领已确认：甲", link="/my/claims/1")
    f.make_notice(recipient=user, title="新派工单 GD1")
    theirs = f.make_notice(recipient=other, title="别人的通知")
    page = text(client.get("/projects"))
    assert 'aria-label="通知，2 条未读"' in page
    listing = text(client.get("/notices"))
    assert "认领已确认：甲" in listing and "别人的通知" not in listing and "2 条未读" in listing
    response = client.post(f"/notices/{first.id}/open")
    assert response.status_code == 303 and response.headers["Location"] == "/my/claims/1"
    assert 'aria-label="通知，1 条未读"' in text(client.get("/projects"))
    assert client.post(f"/notices/{theirs.id}/read").status_code == 404
    assert Notice.get_by_id(theirs.id).read_at is None
    assert client.post("/notices/read-all").status_code == 303
    assert 'aria-label="通知"' in text(client.get("/projects"))
    assert "没有未读通知" in text(client.get("/notices?unread=1"))


def test_a_notice_link_never_leaves_the_site(client, auth):
    user = auth.as_role(Role.UNIT)
    notice = f.make_notice(recipient=user, link="//evil.example.org/x")
    response = client.post(f"/notices/{notice.id}/open")
    assert response.headers["Location"] == "/notices"


def test_staff_see_theirs_in_the_admin(client, auth):
    clerk = auth.as_role(Role.CLERK)
    f.make_notice(recipient=clerk, title="新的志愿者注册申请：赵敏", link="/admin/volunteer_application/")
    home = text(client.get("/admin/"))
    assert 'data-testid="admin-bell"' in home and ">1</span>" in home
    page = text(client.get("/admin/my-notices/"))
    assert "新的志愿者注册申请：赵敏" in page
    notice = Notice.get()
    response = client.post(f"/admin/my-notices/{notice.id}/open")
    assert response.headers["Location"] == "/admin/volunteer_application/"
    assert Notice.get_by_id(notice.id).read_at is not None


def test_the_public_has_no_bell(client):
    assert client.get("/notices").headers["Location"].startswith("/login")
    assert "data-testid=\"bell\"" not in text(client.get("/"))


