"""The points bank: an append-only ledger, balances as its sum, exchanges that never overdraw."""
import datetime as dt
from decimal import Decimal

import pytest

from models import AppendOnlyError, EntryKind, PointsEntry, Role, now
from services import points
from services.errors import ServiceError

from . import factories
from .records_helpers import alert, audit_actions, cached_balance, funded_volunteer, ledger_sum, text


def exchange_url(volunteer):
    return f"/admin/points-bank/volunteer/{volunteer.id}/exchange"


def test_clerk_exchanges_points_and_balance_is_ledger_sum(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(30)
    response = client.post(exchange_url(volunteer), data={"points": "12", "item": "洗衣液一瓶"})
    assert response.status_code == 302
    entry = PointsEntry.select().where(PointsEntry.kind == EntryKind.EXCHANGED).get()
    assert (entry.points, entry.item, entry.recorded_by.role) == (-12, "洗衣液一瓶", Role.CLERK)
    assert cached_balance(volunteer.id) == 18 == ledger_sum(volunteer.id) == points.balance(volunteer.id)
    assert "exchanged" in audit_actions("PointsEntry")
    page = client.get(f"/admin/points-bank/volunteer/{volunteer.id}")
    assert '<span class="h3" id="balance">18</span>' in text(page) and "洗衣液一瓶" in text(page)


def test_overdraft_is_refused_and_nothing_written(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(10)
    before = PointsEntry.select().count()
    response = client.post(exchange_url(volunteer), data={"points": "11", "item": "理发一次"})
    assert response.status_code == 409
    assert alert(response) == "积分余额不足：当前余额 10 分，本次需扣减 11 分"
    assert PointsEntry.select().count() == before
    assert cached_balance(volunteer.id) == 10 == ledger_sum(volunteer.id)


@pytest.mark.parametrize("amount, message", [
    ("0", "兑换积分必须是正整数"), ("-5", "兑换积分必须是正整数"), ("abc", "兑换积分必须是正整数"),
    ("1.5", "兑换积分必须是正整数"), ("", "兑换积分必须是正整数"), ("9999999", "兑换积分不能超过 100000"),
])
def test_bad_exchange_amounts_are_refused(client, auth, amount, message):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(50)
    before = PointsEntry.select().count()
    response = client.post(exchange_url(volunteer), data={"points": amount, "item": "毛巾"})
    assert response.status_code == 400
    assert alert(response) == message
    assert PointsEntry.select().count() == before and cached_balance(volunteer.id) == 50


def test_exchange_needs_what_was_given(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(50)
    response = client.post(exchange_url(volunteer), data={"points": "5", "item": "  "})
    assert response.status_code == 400 and alert(response) == "请填写兑换的物品或服务"
    assert cached_balance(volunteer.id) == 50


def test_ledger_rows_are_never_edited_or_deleted(app):
    volunteer = funded_volunteer(20)
    entry = PointsEntry.get(PointsEntry.volunteer == volunteer.id)
    entry.points = 999
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete_instance()
    assert PointsEntry.get_by_id(entry.id).points == 20


def test_correction_is_a_new_entry_naming_the_original(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(20)
    original = PointsEntry.get(PointsEntry.volunteer == volunteer.id)
    response = client.post(f"/admin/points-bank/volunteer/{volunteer.id}/correct",
                           data={"entry": original.id, "points": "-5", "hours": "-0.5", "reason": "多记了半小时"})
    assert response.status_code == 302
    correction = PointsEntry.get(PointsEntry.kind == EntryKind.CORRECTED)
    assert correction.corrects_id == original.id and correction.points == -5 and correction.hours == Decimal("-0.50")
    assert PointsEntry.get_by_id(original.id).points == 20  # the original is untouched
    assert cached_balance(volunteer.id) == 15 == ledger_sum(volunteer.id)


def test_correction_cannot_take_balance_below_zero_or_be_empty(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(5)
    original = PointsEntry.get(PointsEntry.volunteer == volunteer.id)
    url = f"/admin/points-bank/volunteer/{volunteer.id}/correct"
    response = client.post(url, data={"entry": original.id, "points": "-6", "reason": "误记"})
    assert response.status_code == 409 and "积分余额不足" in alert(response)
    response = client.post(url, data={"entry": original.id, "points": "0", "hours": "0", "reason": "误记"})
    assert response.status_code == 400 and alert(response) == "更正的积分和时长不能都为零"
    response = client.post(url, data={"entry": original.id, "points": "-1", "reason": ""})
    assert response.status_code == 400 and alert(response) == "请填写更正原因"
    other = funded_volunteer(5)
    foreign = PointsEntry.get(PointsEntry.volunteer == other.id)
    response = client.post(url, data={"entry": foreign.id, "points": "-1", "reason": "误记"})
    assert response.status_code == 400
    assert PointsEntry.select().where(PointsEntry.kind == EntryKind.CORRECTED).count() == 0


def test_honour_hours_are_marked_and_earn_no_points(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(0)
    response = client.post(f"/admin/points-bank/volunteer/{volunteer.id}/honour",
                           data={"hours": "3.5", "description": "2023年抗洪志愿服务，街道纸质台账"})
    assert response.status_code == 302
    entry = PointsEntry.get(PointsEntry.volunteer == volunteer.id)
    assert entry.kind == EntryKind.HONOUR and entry.points == 0 and entry.hours == Decimal("3.50")
    assert entry.description.startswith("荣誉时长：")
    response = client.post(f"/admin/points-bank/volunteer/{volunteer.id}/honour", data={"hours": "abc", "description": "x"})
    assert response.status_code == 400 and "必须是数字" in alert(response)


def test_statement_prints_hours_points_and_community(client, auth):
    auth.as_role(Role.CLERK)
    team = factories.make_team(name="红石榴志愿服务队")
    volunteer = funded_volunteer(0, name="王秀兰", team=team)
    points.earn(volunteer.id, 2, Decimal("2.00"), description="参加活动“邻里节”")
    points.add_honour_hours(volunteer.id, "1.5", "往年服务补录")
    points.exchange(volunteer.id, 1, "毛巾一条")
    response = client.get(f"/admin/points-bank/volunteer/{volunteer.id}/statement")
    body = text(response)
    assert response.status_code == 200
    for expected in ("志愿服务记录证明", "红浦社区", "王秀兰", "红石榴志愿服务队", "<strong>3.50</strong> 小时",
                     "荣誉时长", "毛巾一条", "css/statement.css"):
        assert expected in body, expected
    sheet = client.get("/static/css/statement.css")
    assert "@media print" in sheet.get_data(as_text=True)
    sheet.close()
    today = now().date()
    response = client.get(f"/admin/points-bank/volunteer/{volunteer.id}/statement",
                          query_string={"start": str(today + dt.timedelta(days=1))})
    assert "该期间无记录" in text(response) and "<strong>0</strong>" not in text(response)
    bad = client.get(f"/admin/points-bank/volunteer/{volunteer.id}/statement", query_string={"start": "2025-13-01"})
    assert bad.status_code == 400 and "格式应为" in text(bad)
    reversed_ = client.get(f"/admin/points-bank/volunteer/{volunteer.id}/statement",
                           query_string={"start": "2025-05-01", "end": "2025-04-01"})
    assert reversed_.status_code == 400 and "开始日期不能晚于结束日期" in text(reversed_)


def test_statement_downloads_as_a_pdf(client, auth):
    import io

    from pypdf import PdfReader

    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(0, name="王秀兰")
    points.earn(volunteer.id, 4, Decimal("4.00"), description="参加活动“民族文化市集”")
    points.exchange(volunteer.id, 1, "毛巾一条")
    url = f"/admin/points-bank/volunteer/{volunteer.id}/statement.pdf"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) >= 1
    assert reader.metadata.title == "志愿服务记录证明 - 王秀兰"
    # the statement page links to the PDF for the same period
    page = text(client.get(f"/admin/points-bank/volunteer/{volunteer.id}/statement?start=2025-01-01"))
    assert f"{url}?start=2025-01-01" in page
    bad = client.get(url, query_string={"start": "2025-05-01", "end": "2025-04-01"})
    assert bad.status_code == 400 and "开始日期不能晚于结束日期" in text(bad)
    assert client.get("/admin/points-bank/volunteer/999999/statement.pdf").status_code == 404
    auth.logout()
    auth.as_role(Role.UNIT)
    assert client.get(url).status_code == 403


def test_statement_period_opening_balance(app):
    volunteer = funded_volunteer(10)
    tomorrow = now().date() + dt.timedelta(days=1)
    data = points.statement(volunteer.id, tomorrow, None)
    assert (data["opening"], data["change"], data["closing"], data["entries"]) == (10, 0, 10, [])


def test_team_view_sums_hours_and_points_by_month(client, auth):
    auth.as_role(Role.CLERK)
    team = factories.make_team(name="青年志愿队")
    a = funded_volunteer(0, team=team)
    b = funded_volunteer(0, team=team)
    factories.make_volunteer(team=team)
    points.earn(a.id, 2, Decimal("2"), description="服务")
    points.earn(b.id, 3, Decimal("1.5"), description="服务")
    summary = points.team_summary(now().year)
    row = next(r for r in summary["rows"] if r["team"] == "青年志愿队")
    assert (row["members"], row["hours"], row["points"]) == (3, Decimal("3.50"), 5)
    month = summary["months"].index(now().strftime("%Y-%m"))
    assert row["months"][month] == (Decimal("3.50"), 5)
    page = client.get("/admin/points-bank/teams")
    assert page.status_code == 200 and "青年志愿队" in text(page) and "3.50" in text(page)


def test_expiry_writes_an_entry_for_old_unspent_points(app, monkeypatch):
    app.config["POINTS_EXPIRE_MONTHS"] = 12
    with app.app_context():
        volunteer = funded_volunteer(10)
        points.exchange(volunteer.id, 4, "香皂")
        later = now() + dt.timedelta(days=400)
        written = points.expire_points(as_of=later)
        assert [(e.volunteer_id, e.points, e.kind) for e in written] == [(volunteer.id, -6, EntryKind.EXPIRED)]
        assert cached_balance(volunteer.id) == 0 == ledger_sum(volunteer.id)
        assert points.expire_points(as_of=later) == []  # nothing left to expire
        app.config["POINTS_EXPIRE_MONTHS"] = 0
        points.earn(volunteer.id, 5, 0, description="再次获得")
        assert points.expire_points(as_of=later) == []


def test_balances_agree_with_ledger_after_mixed_activity(app):
    volunteers = [funded_volunteer(n * 7) for n in range(1, 5)]
    for v in volunteers:
        points.exchange(v.id, 3, "纸巾")
        with pytest.raises(ServiceError):
            points.exchange(v.id, 10_000, "电视机")
    assert points.verify_balances() == []
    for v in volunteers:
        assert cached_balance(v.id) == ledger_sum(v.id) == points.balance(v.id)


def test_points_entries_cannot_be_created_through_the_generic_form(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = funded_volunteer(0)
    response = client.post("/admin/points_entry/new/", data={"volunteer": volunteer.id, "kind": "earned",
                                                            "points": "1000", "description": "自己加分"})
    assert response.status_code in (302, 403, 404)
    assert PointsEntry.select().count() == 0


def test_partner_unit_and_public_cannot_touch_points(client, auth):
    volunteer = funded_volunteer(10)
    response = client.post(exchange_url(volunteer), data={"points": "5", "item": "毛巾"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.as_role(Role.UNIT)
    response = client.post(exchange_url(volunteer), data={"points": "5", "item": "毛巾"})
    assert response.status_code == 403
    assert cached_balance(volunteer.id) == 10


def test_expire_points_command_writes_expiry_entries(app, runner):
    with app.app_context():
        volunteer = funded_volunteer(10)
    result = runner.invoke(args=["expire-points"])
    assert result.exit_code == 0 and "积分不过期" in result.output
    assert ledger_sum(volunteer.id) == 10
    app.config["POINTS_EXPIRE_MONTHS"] = 12
    later = (now() + dt.timedelta(days=400)).strftime("%Y-%m-%d")
    result = runner.invoke(args=["expire-points", "--as-of", later])
    assert result.exit_code == 0, result.output
    assert "已为 1 名志愿者写入过期流水，共 10 分" in result.output
    assert cached_balance(volunteer.id) == 0 == ledger_sum(volunteer.id)
    bad = runner.invoke(args=["expire-points", "--as-of", "明天"])
    assert bad.exit_code == 2 and ledger_sum(volunteer.id) == 0
