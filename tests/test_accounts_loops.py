"""Accounts for partner units and volunteers: opened by a clerk with one-time activation
links (all units without one in one action, one volunteer, a whole team; an XLSX to hand
out), or self-registered and approved; a volunteer's own page /me; 党员接单; every user
changing their own password; deactivated accounts told so."""
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from models import (AccountActivation, ApplicationStatus, EntryKind, LoginSession, Notice, OrderStatus, Role,
                    UnitStatus, User, Volunteer, VolunteerApplication, WorkOrder, now)
from services import workorders

from . import factories as f

STRONG = "hongpu-walk-2741"


def text(response):
    return response.get_data(as_text=True)


def sheet_rows(response):
    assert response.status_code == 200, text(response)[:500]
    assert response.mimetype.endswith("spreadsheetml.sheet") and response.headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:5] == ("类型", "单位/姓名", "用户名", "激活链接（一次有效）", "有效期至")
    return [r for r in rows[1:] if r[1]]


def link_path(url):
    return re.sub(r"^https?://[^/]+", "", url)


# --- opening accounts ------------------------------------------------------------------------------

def test_a_clerk_opens_accounts_for_every_unit_without_one_in_one_action(app, client, auth):
    app.config["PUBLIC_BASE_URL"] = "https://hongpu.example.org"
    has_one = f.make_user(role=Role.UNIT).unit
    a, b = f.make_unit(name="甲单位", contact="张主任"), f.make_unit(name="乙单位")
    f.make_unit(name="已退出单位", status=UnitStatus.WITHDRAWN)
    auth.as_role(Role.CLERK)
    assert "尚无账号的在册成员单位" in text(client.get("/admin/accounts-issue/"))
    rows = sheet_rows(client.post("/admin/accounts-issue/units"))
    assert sorted(r[1] for r in rows) == ["乙单位", "甲单位"]
    assert all(r[3].startswith("https://hongpu.example.org/activate/") for r in rows)
    users = {u.unit_id: u for u in User.select().where(User.unit.in_([a.id, b.id]))}
    assert set(users) == {a.id, b.id} and all(u.password_hash == "" and u.role == Role.UNIT for u in users.values())
    assert users[a.id].display_name == "张主任" and has_one.id not in users
    assert Notice.select().where(Notice.kind == "account_created").count() == 2
    # nothing left to open: the second click opens nothing
    response = client.post("/admin/accounts-issue/units")
    assert response.status_code == 302 and User.select().where(User.role == Role.UNIT).count() == 3


def test_an_activation_link_works_once_for_seven_days(app, client, auth, clock):
    unit = f.make_unit(name="兴安盟红十字会")
    auth.as_role(Role.CLERK)
    [row] = sheet_rows(client.post("/admin/accounts-issue/units"))
    auth.logout()
    path = link_path(row[3])
    page = client.get(path)
    assert page.status_code == 200 and "兴安盟红十字会" in text(page)
    weak = client.post(path, data={"new": "12345678", "confirm": "12345678"})
    assert weak.status_code == 400 and "密码太容易被猜到" in text(weak)
    done = client.post(path, data={"new": STRONG, "confirm": STRONG})
    assert done.status_code == 303 and done.headers["Location"] == "/my"
    assert client.get("/my").status_code == 200  # logged in
    client.post("/logout")
    again = client.post(path, data={"new": STRONG + "x", "confirm": STRONG + "x"})
    assert again.status_code == 404 and "该激活链接已失效" in text(again)
    user = User.get(User.unit == unit.id)
    assert client.post("/login", data={"username": user.username, "password": STRONG}).status_code == 302

    # a new link voids the old one; a link older than 7 days is dead
    client.post("/logout")
    auth.as_role(Role.ADMIN)
    rows = sheet_rows(client.post("/admin/account/action/", data={"action": "activation_links", "rowid": str(user.id)}))
    auth.logout()
    clock.advance(dt.timedelta(days=7, minutes=1))
    expired = client.get(link_path(rows[0][3]))
    assert expired.status_code == 404 and "已过期" in text(expired)
    assert AccountActivation.select().where(AccountActivation.user == user.id).count() == 2


def test_a_clerk_opens_one_volunteer_or_a_whole_team(client, auth):
    team = f.make_team(name="红石榴志愿服务队")
    members = [f.make_volunteer(team=team, name=f"队员{i}") for i in range(3)]
    already = f.make_volunteer(team=team, name="已有账号")
    f.make_user(role=Role.VOLUNTEER, volunteer=already)
    single = f.make_volunteer(name="单独开通")
    auth.as_role(Role.CLERK)
    found = text(client.get("/admin/accounts-issue/?q=单独"))
    assert "单独开通" in found
    [row] = sheet_rows(client.post("/admin/accounts-issue/volunteer", data={"volunteer": single.id}))
    assert (row[0], row[1], row[2]) == ("志愿者", "单独开通", single.phone)
    again = client.post("/admin/accounts-issue/volunteer", data={"volunteer": single.id}, follow_redirects=True)
    assert "单独开通 已有账号" in text(again)
    rows = sheet_rows(client.post("/admin/accounts-issue/team", data={"team": team.id}))
    assert sorted(r[1] for r in rows) == sorted(m.name for m in members)
    assert {u.volunteer_id for u in User.select().where(User.role == Role.VOLUNTEER)} == {
        m.id for m in members} | {already.id, single.id}


def test_a_unit_account_cannot_open_accounts(client, auth):
    auth.as_role(Role.UNIT)
    assert client.post("/admin/accounts-issue/units").status_code == 403
    assert User.select().count() == 1


# --- self-registration --------------------------------------------------------------------------

def test_a_volunteer_registers_waits_for_review_and_is_approved(client, auth):
    grid, team = f.make_grid(), f.make_team(name="青年志愿队")
    clerk = f.make_user(role=Role.CLERK)
    response = client.post("/volunteers/register", data={
        "name": "赵敏", "phone": "+86 139-0482-7001", "grid": str(grid.id), "team": str(team.id),
        "party_member": "y", "skills": "理发", "password": STRONG, "confirm": STRONG})
    assert response.status_code == 201 and "审核" in text(response)
    application = VolunteerApplication.get()
    assert (application.phone, application.status, application.party_member) == (
        "13904827001", ApplicationStatus.PENDING, True)
    assert Notice.get(Notice.kind == "registration_pending").recipient_id == clerk.id
    twice = client.post("/volunteers/register", data={"name": "赵敏", "phone": "13904827001", "password": STRONG,
                                                      "confirm": STRONG})
    assert twice.status_code == 409 and "正在等待审核" in text(twice)

    waiting = client.post("/login", data={"username": "13904827001", "password": STRONG})
    assert waiting.status_code == 403 and "正在等待社区工作人员审核" in text(waiting)
    wrong = client.post("/login", data={"username": "13904827001", "password": "not-the-password"})
    assert wrong.status_code == 401 and "用户名或密码错误" in text(wrong)

    auth.login(clerk.username)
    response = client.post(f"/admin/volunteer_application/move/{application.id}",
                           data={"action": "approve", "from": "pending"})
    assert response.status_code == 303, text(response)[:800]
    auth.logout()
    user = User.get(User.username == "13904827001")
    volunteer = Volunteer.get_by_id(user.volunteer_id)
    assert (user.role, volunteer.name, volunteer.team_id, volunteer.party_member) == (
        Role.VOLUNTEER, "赵敏", team.id, True)
    assert Notice.get(Notice.kind == "account_created").recipient_id == user.id
    assert client.post("/login", data={"username": "13904827001", "password": STRONG}).headers["Location"] == "/me"


def test_a_rejection_needs_a_reason_and_reaches_the_applicant_by_phone(client, auth):
    application = f.make_application(phone="13904827002")
    auth.as_role(Role.CLERK)
    response = client.post(f"/admin/volunteer_application/move/{application.id}",
                           data={"action": "reject", "from": "pending", "reason": ""})
    assert response.status_code == 400 and "请填写未通过原因" in text(response)
    response = client.post(f"/admin/volunteer_application/move/{application.id}",
                           data={"action": "reject", "from": "pending", "reason": "不在本社区居住"})
    assert response.status_code == 303
    told = Notice.get(Notice.kind == "registration_rejected")
    assert told.recipient_phone == "13904827002" and "不在本社区居住" in told.body
    assert User.select().where(User.username == "13904827002").count() == 0


@pytest.mark.parametrize("data, message", [
    ({"name": "", "phone": "13904827003"}, "请填写姓名"),
    ({"name": "钱七", "phone": "12345"}, "请输入有效的手机号"),
    ({"name": "钱七", "phone": "13904827003", "password": "13904827003", "confirm": "13904827003"}, "密码太容易被猜到"),
    ({"name": "钱七", "phone": "13904827003", "grid": "999"}, "不是有效的选择"),
])
def test_bad_registrations_are_refused_in_chinese(client, data, message):
    form = {"password": STRONG, "confirm": STRONG, **data}
    response = client.post("/volunteers/register", data=form)
    assert response.status_code == 400 and message in text(response), text(response)[-1500:]
    assert VolunteerApplication.select().count() == 0


# --- a volunteer's own page ---------------------------------------------------------------------

@pytest.fixture
def volunteer_login(client, auth):
    volunteer = f.make_volunteer(name="王秀兰", phone="13904825555", points_balance=0, party_member=True)
    user = f.make_user(role=Role.VOLUNTEER, volunteer=volunteer)
    auth.login(user.username)
    return volunteer, user


def test_me_shows_the_balance_hours_ledger_and_statement(client, volunteer_login):
    from services import points

    volunteer, _ = volunteer_login
    organiser = f.make_unit(name="红浦社区卫生服务站")
    event = f.make_event(title="健康义诊", organiser=organiser)
    points.earn(volunteer.id, 4, 2, description="参加活动“健康义诊”", event=event.id, organiser=organiser.id)
    points.exchange(volunteer.id, 1, "洗衣液")
    someone = f.make_volunteer(name="别人")
    points.earn(someone.id, 50, 10, description="别人的服务")
    page = text(client.get("/me"))
    assert 'data-testid="balance">3<' in page and 'data-testid="hours">2.00<' in page
    assert "参加活动“健康义诊”" in page and "记录单位：红浦社区卫生服务站" in page and "别人的服务" not in page
    ledger = text(client.get("/me/ledger"))
    assert "积分兑换：洗衣液" in ledger and "别人的服务" not in ledger
    pdf = client.get("/me/statement.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    content = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "王秀兰" in content and "别人" not in content
    assert client.get("/me/statement.pdf?start=2026-13-01").status_code == 400


def test_signing_up_is_prefilled_and_the_history_shows(client, volunteer_login):
    volunteer, _ = volunteer_login
    event = f.make_event(title="石榴籽邻里节")
    page = text(client.get(f"/events/{event.id}"))
    assert 'value="王秀兰"' in page and 'value="13904825555"' in page
    client.post(f"/events/{event.id}/signup", data={"name": "王秀兰", "phone": "13904825555"})
    assert "石榴籽邻里节" in text(client.get("/me"))


def test_units_and_the_public_cannot_open_me(app, client, auth):
    assert client.get("/me").headers["Location"].startswith("/login")
    auth.as_role(Role.UNIT)
    assert client.get("/me").status_code == 403
    assert client.get("/me/statement.pdf").status_code == 403


def test_党员接单_the_first_volunteer_to_take_an_order_has_it(app, client, volunteer_login):
    volunteer, user = volunteer_login
    clerk = f.make_user(role=Role.CLERK)
    order = f.make_work_order(description="帮独居老人取药")
    closed = f.make_work_order(description="未开放的工单")
    with app.app_context():
        done, failures = workorders.set_open_to_volunteers([order.id], True, user=clerk)
    assert done == [order.id] and not failures
    assert Notice.get(Notice.kind == "order_open").recipient_id == user.id  # a party member
    page = text(client.get("/me/orders"))
    assert "帮独居老人取药" in page and "未开放的工单" not in page
    assert client.post(f"/me/orders/{closed.id}/take").status_code == 404
    response = client.post(f"/me/orders/{order.id}/take")
    assert response.status_code == 303 and response.headers["Location"] == f"/my/orders/{order.id}"
    order = WorkOrder.get_by_id(order.id)
    assert (order.status, order.assignee_volunteer_id) == (OrderStatus.IN_HAND, volunteer.id)
    assert Notice.get(Notice.kind == "order_taken").recipient_id == clerk.id

    other = f.make_user(role=Role.VOLUNTEER, volunteer=f.make_volunteer(name="晚一步"))
    late = app.test_client()
    late.post("/login", data={"username": other.username, "password": f.PASSWORD})
    response = late.post(f"/me/orders/{order.id}/take")
    assert response.status_code == 409 and "该工单已被其他志愿者接单" in text(response)
    # the taker reports the result like a unit
    response = client.post(f"/my/orders/{order.id}/report", data={"result": "已送药上门"})
    assert response.status_code == 303
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.RESOLVED
    assert late.get(f"/my/orders/{order.id}").status_code == 404


# --- passwords and logins --------------------------------------------------------------------------

def test_every_user_changes_their_own_password_and_other_sessions_end(app, client, auth):
    for role in (Role.UNIT, Role.VOLUNTEER):
        kw = {"volunteer": f.make_volunteer()} if role == Role.VOLUNTEER else {}
        user = f.make_user(role=role, **kw)
        elsewhere = app.test_client()
        elsewhere.post("/login", data={"username": user.username, "password": f.PASSWORD})
        here = app.test_client()
        here.post("/login", data={"username": user.username, "password": f.PASSWORD})
        weak = here.post("/account/password", data={"current": f.PASSWORD, "new": "password1", "confirm": "password1"})
        assert weak.status_code == 400 and "密码太容易被猜到" in text(weak)
        named = here.post("/account/password", data={"current": f.PASSWORD, "new": user.username + "1",
                                                     "confirm": user.username + "1"})
        assert named.status_code == 400
        done = here.post("/account/password", data={"current": f.PASSWORD, "new": STRONG, "confirm": STRONG})
        assert done.status_code == 302
        assert LoginSession.select().where(LoginSession.user == user.id, LoginSession.ended_at.is_null()).count() == 1
        assert elsewhere.get("/account").status_code == 302  # that session ended
        assert here.get("/account").status_code == 200


def test_the_account_page_keeps_where_notices_reach(client, auth):
    user = auth.as_role(Role.UNIT)
    response = client.post("/account", data={"email": "Lianluo@Example.org", "phone": "139 0482 1234"})
    assert response.status_code == 303
    user = User.get_by_id(user.id)
    assert (user.email, user.phone) == ("Lianluo@example.org", "13904821234")
    bad = client.post("/account", data={"email": "not-an-email", "phone": ""})
    assert bad.status_code == 400 and "请输入有效的邮箱地址" in text(bad)


def test_a_deactivated_account_is_told_so_at_login(client):
    user = f.make_user(role=Role.UNIT, active=False)
    response = client.post("/login", data={"username": user.username, "password": f.PASSWORD})
    assert response.status_code == 403 and "该账号已停用" in text(response)
    assert "用户名或密码错误" not in text(response)
    response = client.post("/login", data={"username": user.username, "password": "wrong-password"})
    assert response.status_code == 401 and "用户名或密码错误" in text(response)


def test_demo_data_has_a_volunteer_account_and_work_for_the_unit(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "志愿者：用户名 volunteer" in result.output
    volunteer = User.get(User.username == "volunteer")
    assert volunteer.role == Role.VOLUNTEER and Volunteer.get_by_id(volunteer.volunteer_id).party_member
    unit = User.get(User.username == "unit")
    held = workorders.assigned_to(unit)
    assert {o.status for o in held} == {OrderStatus.DISPATCHED, OrderStatus.IN_HAND}
    assert workorders.open_for_volunteers().count() == 3
    assert now()  # clock pinned
    assert EntryKind.EARNED
