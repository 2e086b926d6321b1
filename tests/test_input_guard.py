"""No 500 on any input: the request guard (web/guard.py), the bounds of ids, integers and
dates (models/bounds.py) and the instances of issue 8, each through the app."""
import json
import re
from urllib.parse import unquote

import pytest

from admin.views import REGISTRY
from models import (AuditLog, Claim, ClaimStatus, MemberUnit, PointsEntry, ProgressReport, Role, Signup,
                    User, Volunteer)
from models.bounds import DATE_RANGE_TEXT, ID_MAX, parse_id
from services import tokens

from . import factories as f
from .adminkit import field_errors, flashes, role_for

NUL = "%00"
BAD_UTF8 = "%FF%FE"


def _text(response):
    return response.get_data(as_text=True)


def _api_error(response, status):
    assert response.status_code == status, _text(response)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    assert re.search(r"[\u4e00-\u9fff]", body["error"]["message"]), body
    return body["error"]["message"]


def _form(client, url, body):
    return client.post(url, data=body.encode("ascii"), content_type="application/x-www-form-urlencoded")


# --- the guard: NUL, bytes that are not UTF-8, lone surrogates --------------------------------

@pytest.mark.parametrize("query", [f"q=a{NUL}b", f"a{NUL}=1", f"q={BAD_UTF8}", "q=%ED%A0%80"])
def test_query_string_with_nul_or_bad_bytes_is_a_chinese_400(client, query):
    response = client.get("/projects?" + query)
    assert response.status_code == 400
    assert "空字符" in _text(response) or "UTF-8" in _text(response)


def test_api_gets_the_json_error_shape(client):
    message = _api_error(client.get(f"/api/v1/events?category=a{NUL}"), 400)
    assert "空字符" in message
    assert "UTF-8" in _api_error(client.get(f"/api/v1/projects?category={BAD_UTF8}"), 400)
    # a path that matches no route is still answered in the API's shape
    assert "空字符" in _api_error(client.get(f"/api/v1/no{NUL}where"), 400)


def test_path_with_nul_or_bad_bytes_is_refused(client):
    assert client.get(f"/calendar/a{NUL}b.ics").status_code == 400
    response = client.get("/", environ_overrides={"PATH_INFO": "/calendar/\xff\xfe.ics"})
    assert response.status_code == 400 and "UTF-8" in _text(response)


def test_header_with_nul_is_refused(client):
    response = client.get("/projects", headers={"X-Note": "a\x00b"})
    assert response.status_code == 400 and "请求头" in _text(response)


def test_login_username_with_nul_is_400_and_nothing_recorded(client):
    f.make_user(username="zhangsan")
    response = _form(client, "/login", f"username=zhang{NUL}san&password=x")
    assert response.status_code == 400 and "空字符" in _text(response)
    assert AuditLog.select().count() == 0
    response = _form(client, "/login", f"username={BAD_UTF8}&password=x")
    assert response.status_code == 400 and "UTF-8" in _text(response)


def test_sign_up_name_with_nul_writes_nothing(client):
    event = f.make_event()
    response = _form(client, f"/events/{event.id}/signup", f"name=a{NUL}&phone=13912345678")
    assert response.status_code == 400 and "空字符" in _text(response)
    assert Signup.select().count() == 0


def test_claim_plan_and_progress_text_with_nul_write_nothing(client, auth):
    user = auth.as_role(Role.UNIT)
    project = f.make_project()
    response = _form(client, f"/projects/{project.id}/claim", f"plan=a{NUL}b")
    assert response.status_code == 400
    claim = f.make_claim(unit=user.unit, status=ClaimStatus.CONFIRMED)
    response = _form(client, f"/my/claims/{claim.id}/progress", f"text=a{NUL}b&percent=10")
    assert response.status_code == 400
    assert Claim.select().count() == 1 and ProgressReport.select().count() == 0


def test_api_json_strings_are_checked_at_any_depth(client):
    unit = f.make_unit()
    user = f.make_user(role=Role.UNIT, unit=unit)
    _token, plaintext = tokens.issue_token(user, "测试")
    headers = {"Authorization": f"Bearer {plaintext}"}
    project = f.make_project()
    body = {"project_id": project.id, "plan": "a\x00b"}
    assert "空字符" in _api_error(client.post("/api/v1/claims", json=body, headers=headers), 400)
    body = {"project_id": project.id, "plan": "计划", "extra": {"deep": ["ok", "x\x00"]}}
    assert "deep" in _api_error(client.post("/api/v1/claims", json=body, headers=headers), 400)
    raw = '{"project_id": %d, "plan": "\\ud800"}' % project.id  # a lone surrogate
    response = client.post("/api/v1/claims", data=raw, content_type="application/json", headers=headers)
    assert "无法识别" in _api_error(response, 400)
    confirmed = f.make_claim(unit=unit, status=ClaimStatus.CONFIRMED)
    response = client.post(f"/api/v1/claims/{confirmed.id}/progress", json={"text": "a\x00", "percent": 5},
                           headers=headers)
    _api_error(response, 400)
    assert Claim.select().count() == 1 and ProgressReport.select().count() == 0


@pytest.mark.parametrize("model, view_class", [(m, v) for m, v, _ in REGISTRY])
def test_every_admin_list_refuses_nul_in_search_and_filters(client, auth, model, view_class):
    auth.as_role(role_for(view_class))
    admin = client.application.extensions["alliance_admin"]
    view = next(v for v in admin._views if type(v) is view_class)
    url = f"/admin/{view.endpoint}/"
    assert client.get(url).status_code == 200
    assert client.get(f"{url}?search=a{NUL}b").status_code == 400
    for key in list(view._filter_args or {})[:3]:
        response = client.get(f"{url}?flt0_{key}=a{NUL}b")
        assert response.status_code == 400 and "空字符" in _text(response), key


# --- ids and integers out of range -------------------------------------------------------------

def test_ids_past_any_record_are_404(client):
    event = f.make_event()
    for url in ("/events/99999999999999999999", "/events/99999999999999999999.ics",
                f"/events/{ID_MAX + 1}", "/events/" + "9" * 5000,
                f"/events/{event.id}/signups/99999999999999999999"):
        response = client.get(url)
        assert response.status_code == 404, url
    assert client.get(f"/events/{event.id}").status_code == 200
    assert _api_error(client.get("/api/v1/events/99999999999999999999"), 404)
    assert "per_page" in _api_error(client.get("/api/v1/events?per_page=" + "1" * 5000), 400)


def test_one_id_rule():
    assert parse_id("17") == 17 and parse_id(17) == 17 and parse_id(" 17 ") == 17
    for bad in ("0", "-1", "abc", "", None, True, "1.5", "１７", "²", str(ID_MAX + 1), "9" * 30, "1" * 5000):
        assert parse_id(bad) is None, bad
    assert parse_id(str(ID_MAX)) == ID_MAX


@pytest.mark.parametrize("model, view_class", [(m, v) for m, v, _ in REGISTRY])
def test_huge_page_on_every_admin_list_is_an_empty_page(client, auth, model, view_class):
    auth.as_role(role_for(view_class))
    admin = client.application.extensions["alliance_admin"]
    view = next(v for v in admin._views if type(v) is view_class)
    for page in ("9" * 30, "-5", "1" * 5000):
        response = client.get(f"/admin/{view.endpoint}/?page={page}&page_size=100&sort=99999999999")
        assert response.status_code == 200, page
    response = client.get(f"/admin/{view.endpoint}/export/csv/?page={'9' * 30}")
    assert response.status_code == 200


def test_thirty_digit_ids_in_selects_and_id_fields(client, auth):
    auth.as_role(Role.ADMIN)
    volunteer = f.make_volunteer()
    entry = f.make_points_entry(volunteer=volunteer)
    huge = "9" * 30
    # the points-correction entry
    response = client.post(f"/admin/points-bank/volunteer/{volunteer.id}/correct",
                           data={"entry": huge, "points": "1", "reason": "更正"})
    assert response.status_code == 400 and "请选择该志愿者的一条流水" in _text(response)
    assert [e.id for e in PointsEntry.select()] == [entry.id]
    # a team drop-down, a grid drop-down, the token's account
    for value in (huge, "abc", "-1", str(ID_MAX + 1)):
        response = client.post("/admin/volunteer/new/", data={
            "name": "李四", "phone": "13912345678", "team": value, "grid": value, "status": "active"})
        assert response.status_code == 200, value
        errors = field_errors(_text(response))
        assert errors.get("team") and errors.get("grid"), errors
        response = client.post("/admin/api_token/new/", data={"user": value, "name": "对接"})
        assert response.status_code == 200 and field_errors(_text(response)).get("user")
    assert Volunteer.select().count() == 1
    # a bulk action with ids no record can have
    response = client.post("/admin/member_unit/action/", data={"action": "delete", "rowid": [huge, "abc"]})
    assert response.status_code == 302


def test_hours_with_thirty_digits_are_refused_in_chinese(client, auth):
    auth.as_role(Role.CLERK)
    volunteer = f.make_volunteer()
    entry = f.make_points_entry(volunteer=volunteer)
    for url, data in ((f"/admin/points-bank/volunteer/{volunteer.id}/honour", {"description": "补录"}),
                      (f"/admin/points-bank/volunteer/{volunteer.id}/correct",
                       {"entry": entry.id, "points": "1", "reason": "更正"})):
        response = client.post(url, data=dict(data, hours="9" * 30))
        assert response.status_code == 400 and "不能超过 1000 小时" in _text(response), url
    assert [e.id for e in PointsEntry.select()] == [entry.id]


def test_integer_fields_must_fit_their_column(client, auth):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/grid/new/", data={
        "number": "2147483648", "name": "新网格", "unit_leaders": "0", "households": "9" * 30})
    errors = field_errors(_text(response))
    assert "2147483647" in " ".join(errors["number"]) and errors["households"]
    assert not MemberUnit.select().exists()


def test_api_filter_ids_are_bounded(client):
    assert "grid" in _api_error(client.get("/api/v1/units?grid=99999999999999999999"), 400)
    assert _api_error(client.get("/api/v1/units?grid=abc"), 400)


# --- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["start=0001-01-01", "end=9999-12-31", "start=1899-12-31"])
def test_statement_dates_outside_the_supported_range(client, auth, query):
    auth.as_role(Role.CLERK)
    volunteer = f.make_volunteer()
    for suffix in ("statement", "statement.pdf"):
        response = client.get(f"/admin/points-bank/volunteer/{volunteer.id}/{suffix}?{query}")
        assert response.status_code == 400, suffix
        assert DATE_RANGE_TEXT in _text(response)
    assert client.get(f"/admin/points-bank/volunteer/{volunteer.id}/statement?start=2026-01-01").status_code == 200


def test_admin_form_dates_outside_the_range_are_field_errors(client, auth):
    auth.as_role(Role.CLERK)
    for value in ("0001-01-01", "9999-12-31"):
        response = client.post("/admin/member_unit/new/", data={
            "name": "新单位", "kind": "merchant", "joined_on": value, "status": "active"})
        assert DATE_RANGE_TEXT in " ".join(field_errors(_text(response)).get("joined_on", [])), value
    response = client.post("/admin/work_order/new/", data={
        "channel": "hotline", "requester_name": "王阿姨", "category": "other", "description": "楼道灯坏了",
        "due_at": "9999-12-31 23:59:59"})
    assert DATE_RANGE_TEXT in " ".join(field_errors(_text(response)).get("due_at", []))
    assert MemberUnit.select().count() == 0


def test_admin_date_filters_outside_the_range_are_ignored_with_a_notice(client, auth):
    auth.as_role(Role.CLERK)
    f.make_event()
    admin = client.application.extensions["alliance_admin"]
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == "event")
    keys = [key for key, (_idx, flt) in view._filter_args.items() if "date" in type(flt).__name__.lower()]
    assert keys
    for key in keys:
        response = client.get(f"/admin/event/?flt0_{key}=9999-12-31+23:59:59")
        assert response.status_code == 200, key
    response = client.get(f"/admin/event/?flt0_{keys[0]}=0001-01-01+00:00:00")
    assert any(DATE_RANGE_TEXT in m for m in flashes(_text(response))), flashes(_text(response))


def test_api_date_filters_outside_the_range_are_400(client):
    assert DATE_RANGE_TEXT in _api_error(client.get("/api/v1/events?date_from=0001-01-01"), 400)
    assert DATE_RANGE_TEXT in _api_error(client.get("/api/v1/events?date_to=9999-12-31"), 400)
    assert client.get("/api/v1/events?date_to=2100-12-31").status_code == 200


# --- the other listed instances -----------------------------------------------------------------

def test_closing_attendance_of_a_missing_event_is_404(client, auth):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/checkin/event/999999999/close", data={"hours_1": "2"})
    assert response.status_code == 404 and "活动不存在" in _text(response)
    response = client.post("/admin/checkin/event/999999999/checkin", data={"code": "ABC"})
    assert response.status_code == 404


def test_return_url_with_a_line_break_cannot_break_the_response(client, auth):
    auth.as_role(Role.CLERK)
    unit = f.make_unit(name="原名称")
    url = "/admin/member_unit/?x=1\r\nSet-Cookie: evil=1"
    response = client.post(f"/admin/member_unit/edit/?id={unit.id}", data={
        "name": "新名称", "kind": unit.kind, "status": "active", "url": url})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "%0D%0A" in location
    assert "evil" not in response.headers.get("Set-Cookie", "")
    assert MemberUnit.get_by_id(unit.id).name == "新名称"
    # the login's next= too
    user = f.make_user(role=Role.CLERK)
    other = client.application.test_client()
    response = other.post("/login?next=" + "/admin/%0D%0AX-Evil:%201", data={
        "username": user.username, "password": f.PASSWORD})
    assert response.status_code == 302 and "\n" not in response.headers["Location"]


@pytest.mark.parametrize("value", ["abc", "9" * 30])
def test_a_select_value_that_is_no_id_is_a_field_error(client, auth, value):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/volunteer/new/", data={
        "name": "王五", "phone": "13912345678", "team": value, "status": "active"})
    assert response.status_code == 200
    assert field_errors(_text(response)).get("team")
    assert Volunteer.select().count() == 0


def test_a_refusal_no_view_catches_is_its_own_status(client, auth):
    """A service's NotFound escaping a screen is its 404 page, never a 500."""
    auth.as_role(Role.CLERK)
    response = client.get("/admin/points-bank/volunteer/2147483647/statement")
    assert response.status_code == 404 and "志愿者不存在" in _text(response)


def test_unknown_user_in_a_session_cookie_is_anonymous(client):
    with client.session_transaction() as session:
        session["_user_id"] = "9" * 30
    assert client.get("/my/claims").status_code == 302


def test_nothing_guarded_reaches_the_audit_log_or_users(client):
    before = (User.select().count(), AuditLog.select().count())
    for body in (f"username=a{NUL}&password=b", f"username={BAD_UTF8}&password=b"):
        _form(client, "/login", body)
    assert (User.select().count(), AuditLog.select().count()) == before


def test_location_helper_keeps_ordinary_targets():
    from web.guard import safe_location

    assert safe_location("/admin/event/?page=2") == "/admin/event/?page=2"
    assert unquote(safe_location("/a\r\nb")) == "/a\r\nb" and "\n" not in safe_location("/a\r\nb")
    assert json.dumps(safe_location("/事件")) == json.dumps("/事件")
