"""One test per defect of stock Flask-Admin on peewee, each closed in admin/base.py."""
import csv
import datetime as dt
import io
import tracemalloc
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from werkzeug.security import check_password_hash

from admin.views import REGISTRY
from models import (AuditLog, Claim, Event, Grid, MemberUnit, Role, UnitKind, User, Volunteer,
                    db, now)

from . import factories as f
from .querycount import count_queries
from .adminkit import (csrf_token, field_errors, flashes, populate, role_for,
                       visible_text)

ARTIFACTS_NOTE = "admin_list_queries.txt"


def _count(model):
    return model.select().count()


def _follow(client, response):
    assert response.status_code == 302, response.status_code
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _admin_view(app, model):
    admin = app.extensions["alliance_admin"]
    return next(v for v in admin._views if getattr(v, "model", None) is model)


# --- no silent cascade ---------------------------------------------------------------

def test_deleting_a_unit_that_others_depend_on_is_refused_and_nothing_disappears(client, auth):
    unit = f.make_unit()
    f.make_claim(unit=unit)
    f.make_event(organiser=unit)
    f.make_user(role=Role.UNIT, unit=unit)
    auth.as_role(Role.CLERK)
    tables = (MemberUnit, Claim, Event, User)
    before = {m: _count(m) for m in tables}

    html = _follow(client, client.post("/admin/member_unit/delete/", data={"id": unit.id}))

    assert {m: _count(m) for m in tables} == before
    message = " ".join(flashes(html))
    assert f"无法删除“{unit.name}”" in message
    for dependant in ("1 条认领", "1 条账号", "1 条活动"):
        assert dependant in message


def test_deleting_an_unreferenced_unit_works_and_is_audited(client, auth):
    unit = f.make_unit()
    auth.as_role(Role.CLERK)
    html = _follow(client, client.post("/admin/member_unit/delete/", data={"id": unit.id}))
    assert MemberUnit.get_or_none(MemberUnit.id == unit.id) is None
    assert any("删除" in m for m in flashes(html))
    entry = AuditLog.get(AuditLog.action == "delete", AuditLog.entity == "MemberUnit")
    assert entry.entity_id == str(unit.id) and unit.name in entry.changes


def test_bulk_delete_is_all_or_nothing(client, auth):
    free, busy = f.make_unit(), f.make_unit()
    f.make_claim(unit=busy)
    auth.as_role(Role.CLERK)
    units = {u.id for u in MemberUnit.select()}
    html = _follow(client, client.post("/admin/member_unit/action/",
                                       data={"action": "delete", "rowid": [free.id, busy.id]}))
    assert {u.id for u in MemberUnit.select()} == units
    assert "未删除任何记录" in " ".join(flashes(html))

    _follow(client, client.post("/admin/member_unit/action/", data={"action": "delete", "rowid": [free.id]}))
    assert {u.id for u in MemberUnit.select()} == units - {free.id}


# --- one transaction per write; clashes are field errors ----------------------------------

@pytest.mark.parametrize("endpoint, model, existing, form, field", [
    ("member_unit", MemberUnit, lambda: f.make_unit(name="红浦物业"),
     {"name": "红浦物业", "kind": UnitKind.MERCHANT}, "name"),
    ("grid", Grid, lambda: f.make_grid(number=7, name="第七网格"),
     {"number": "7", "name": "新网格", "unit_leaders": "0", "households": "0"}, "number"),
    ("volunteer", Volunteer, lambda: f.make_volunteer(phone="13912345678"),
     {"name": "李四", "phone": "13912345678", "status": "active"}, "phone"),
    ("account", User, lambda: f.make_user(username="zhangsan"),
     {"username": "zhangsan", "role": Role.CLERK, "password": "long-enough-1", "active": "y"}, "username"),
])
def test_unique_clash_is_a_chinese_field_error(client, auth, endpoint, model, existing, form, field):
    existing()
    auth.as_role(Role.ADMIN)
    rows, audits = _count(model), _count(AuditLog)
    response = client.post(f"/admin/{endpoint}/new/", data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert any("已存在" in m for m in field_errors(html).get(field, [])), field_errors(html)
    assert (_count(model), _count(AuditLog)) == (rows, audits)


def test_a_clash_only_the_database_sees_is_a_chinese_message_and_writes_nothing(client, auth):
    """One live claim per unit and project is a partial unique index, not a form rule."""
    claim = f.make_claim()
    auth.as_role(Role.CLERK)
    rows, audits = _count(Claim), _count(AuditLog)
    response = client.post("/admin/claim/new/", data={
        "project": claim.project_id, "unit": claim.unit_id, "plan": "再认领一次", "status": "pending"})
    assert response.status_code == 200
    assert any("重复" in m for m in flashes(response.get_data(as_text=True)))
    assert (_count(Claim), _count(AuditLog)) == (rows, audits)


def test_create_edit_and_delete_are_one_transaction_with_their_audit_row(client, auth, monkeypatch):
    unit = f.make_unit(name="原名称")
    auth.as_role(Role.CLERK)
    from services import audit

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(audit, "record", broken)
    client.post("/admin/member_unit/new/", data={"name": "新单位", "kind": UnitKind.MERCHANT})
    client.post(f"/admin/member_unit/edit/?id={unit.id}", data={"name": "改过的名称", "kind": UnitKind.MERCHANT})
    client.post("/admin/member_unit/delete/", data={"id": unit.id})
    assert [u.name for u in MemberUnit.select()] == ["原名称"]


# --- constant queries per list page ------------------------------------------------------

def _list_queries(client):
    out = {}
    for model, view_class, _ in REGISTRY:
        url = f"/admin/{model._meta.table_name}/?page_size=50"
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        out[model._meta.table_name] = len(statements)
    return out


def test_every_list_page_runs_a_constant_small_number_of_queries(client, auth, artifacts):
    populate(copies=3)
    auth.as_role(Role.ADMIN)
    few = _list_queries(client)
    populate(copies=57)
    many = _list_queries(client)
    assert many == few
    assert max(many.values()) <= 8, many
    (artifacts / ARTIFACTS_NOTE).write_text(
        "\n".join(f"{name}\t{count}" for name, count in many.items()) + "\n", encoding="utf-8")


# --- CSRF on every form and action ------------------------------------------------------

def _csrf_login(client, username):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": f.PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_admin_writes_without_csrf_token_are_rejected(csrf_app):
    client = csrf_app.test_client()
    unit = f.make_unit(name="原名称")
    clerk = f.make_user(role=Role.CLERK)
    _csrf_login(client, clerk.username)
    rows, audits = _count(MemberUnit), _count(AuditLog)
    posts = [
        ("/admin/member_unit/new/", {"name": "新单位", "kind": UnitKind.MERCHANT}),
        (f"/admin/member_unit/edit/?id={unit.id}", {"name": "改名", "kind": UnitKind.MERCHANT}),
        ("/admin/member_unit/delete/", {"id": unit.id}),
        ("/admin/member_unit/action/", {"action": "delete", "rowid": [unit.id]}),
    ]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert "安全令牌" in response.get_data(as_text=True)
    assert (_count(MemberUnit), _count(AuditLog)) == (rows, audits)
    assert MemberUnit.get_by_id(unit.id).name == "原名称"


def test_every_admin_form_carries_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    unit = f.make_unit()
    clerk = f.make_user(role=Role.CLERK)
    _csrf_login(client, clerk.username)
    for url in ("/admin/member_unit/new/", f"/admin/member_unit/edit/?id={unit.id}"):
        assert 'name="csrf_token"' in client.get(url).get_data(as_text=True), url
    listing = client.get("/admin/member_unit/").get_data(as_text=True)
    delete_form = listing[listing.index('action="/admin/member_unit/delete/"'):]
    assert 'name="csrf_token"' in delete_form[:delete_form.index("</form>")]
    action_form = listing[listing.index('action="/admin/member_unit/action/"'):]
    assert 'name="csrf_token"' in action_form[:action_form.index("</form>")]

    token = csrf_token(listing)
    response = client.post("/admin/member_unit/new/", data={"name": "带令牌", "kind": UnitKind.MERCHANT,
                                                            "csrf_token": token})
    assert response.status_code == 302
    assert MemberUnit.get_or_none(MemberUnit.name == "带令牌") is not None


# --- access --------------------------------------------------------------------------

def _admin_urls():
    yield "get", "/admin/"
    for model, view_class, _ in REGISTRY:
        base = f"/admin/{model._meta.table_name}"
        for path in ("/", "/new/", "/edit/?id=1", "/details/?id=1", "/export/csv/", "/export/xlsx/"):
            yield "get", base + path
        yield "post", base + "/action/"
        yield "post", base + "/delete/"


def test_anonymous_is_sent_to_login_from_every_admin_url(client):
    for method, url in _admin_urls():
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url, response.status_code)
        location = response.headers["Location"]
        assert location.startswith("/login?next="), url
        assert unquote(location.partition("next=")[2]).startswith(url.split("?")[0]), (url, location)


def test_partner_unit_accounts_get_403_everywhere_in_admin(client, auth):
    auth.as_role(Role.UNIT)
    for method, url in _admin_urls():
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "没有权限" in response.get_data(as_text=True)


def test_clerks_cannot_reach_accounts_or_tokens_but_read_the_audit_log(client, auth):
    auth.as_role(Role.CLERK)
    admin_only = [m._meta.table_name for m, v, _ in REGISTRY if role_for(v) == Role.ADMIN]
    assert set(admin_only) == {"account", "api_token", "login_session", "login_attempt", "account_activation"}
    for method, url in _admin_urls():
        if url.split("/")[2] in admin_only:
            assert getattr(client, method)(url).status_code == 403, url
    assert client.get("/admin/audit_log/").status_code == 200


def test_admins_create_accounts_with_hashed_passwords(client, auth):
    auth.as_role(Role.ADMIN)
    unit = f.make_unit()
    response = client.post("/admin/account/new/", data={
        "username": "liaison", "display_name": "联络员", "role": Role.UNIT, "password": "s3cret-password"})
    assert response.status_code == 200
    assert "成员单位账号必须选择所属单位" in field_errors(response.get_data(as_text=True)).get("unit", [])
    assert User.get_or_none(User.username == "liaison") is None

    response = client.post("/admin/account/new/", data={
        "username": "liaison", "role": Role.UNIT, "unit": unit.id, "password": "s3cret-password", "active": "y"})
    assert response.status_code == 302
    user = User.get(User.username == "liaison")
    assert user.password_hash != "s3cret-password" and check_password_hash(user.password_hash, "s3cret-password")
    audit_row = AuditLog.get(AuditLog.entity == "User", AuditLog.action == "create")
    assert "password" not in audit_row.changes
    details = client.get(f"/admin/account/details/?id={user.id}").get_data(as_text=True)
    assert user.password_hash not in details


# --- export ---------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://x\")", "+8613800000000", "-2+3", "@SUM(A1)"]


def _export_fixture():
    grid = f.make_grid(name="第三网格")
    for i, text in enumerate(FORMULAS):
        f.make_unit(name=text, contact=text, kind=UnitKind.LIAISON, grid=grid)
    f.make_unit(name="红浦小学", kind=UnitKind.JURISDICTION, grid=grid)


def _csv_rows(response):
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_csv_export_is_chinese_named_and_inert(client, auth):
    _export_fixture()
    auth.as_role(Role.CLERK)
    rows = _csv_rows(client.get("/admin/member_unit/export/csv/"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["单位名称", "单位类型", "联系人"] and "所属网格" in header
    assert len(body) == 5
    grid_col, kind_col = header.index("所属网格"), header.index("单位类型")
    assert {r[grid_col] for r in body} == {"第三网格"}
    assert {r[kind_col] for r in body} == {"包联部门", "辖区单位"}
    cells = [c for r in body for c in r]
    for text in FORMULAS:
        assert "'" + text in cells and text not in cells


def test_xlsx_export_is_chinese_named_and_inert(client, auth):
    _export_fixture()
    auth.as_role(Role.CLERK)
    response = client.get("/admin/member_unit/export/xlsx/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    header, body = rows[0], rows[1:]
    assert "单位名称" in header and "所属网格" in header
    assert sheet.title == "成员单位"
    assert {r[header.index("所属网格")] for r in body} == {"第三网格"}
    assert {r[header.index("单位类型")] for r in body} == {"包联部门", "辖区单位"}
    cells = [c for r in body for c in r]
    for text in FORMULAS:
        assert "'" + text in cells and text not in cells


def test_export_follows_the_lists_search_and_filters(app, client, auth):
    _export_fixture()
    auth.as_role(Role.CLERK)
    rows = _csv_rows(client.get("/admin/member_unit/export/csv/?search=小学"))
    assert [r[0] for r in rows[1:]] == ["红浦小学"]

    view = _admin_view(app, MemberUnit)
    idx = next(i for i, flt in enumerate(view._filters)
               if flt.name == "单位类型" and type(flt).__name__ == "ChoiceEqualFilter")
    rows = _csv_rows(client.get(f"/admin/member_unit/export/csv/?flt0_{idx}={UnitKind.JURISDICTION}"))
    assert [r[0] for r in rows[1:]] == ["红浦小学"]


EXPORT_ROWS = 10_000
EXPORT_PEAK_BOUND = 4 * 1024 * 1024


def _seed_volunteers(n, start=0):
    grid = f.make_grid()
    stamp = now()
    rows = [{"name": f"志愿者{i}", "phone": f"13{i:09d}", "grid": grid.id, "party_member": i % 3 == 0,
             "status": "active", "skills": "=1+1" if i % 1000 == 0 else "理发",
             "created_at": stamp, "updated_at": stamp} for i in range(start, start + n)]
    with db.atomic():
        for first in range(0, n, 1000):
            Volunteer.insert_many(rows[first:first + 1000]).execute()


def _traced_export(client, export_type):
    """(bytes, peak traced memory) of one export, read chunk by chunk as a client would."""
    import xlsxwriter  # noqa: F401 -- imported before tracing: its import is not the export's memory

    tracemalloc.start()
    try:
        response = client.get(f"/admin/volunteer/export/{export_type}/", buffered=False)
        assert response.status_code == 200
        assert response.is_streamed
        size = sum(len(chunk) for chunk in response.iter_encoded())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    response.close()
    return size, peak


def test_large_csv_export_streams_in_bounded_memory(app, client, auth):
    _seed_volunteers(EXPORT_ROWS)
    auth.as_role(Role.CLERK)
    size, peak = _traced_export(client, "csv")
    assert size > EXPORT_ROWS * 40
    assert peak < EXPORT_PEAK_BOUND, peak

    # the bound means something: holding the same rows would exceed it
    with app.test_request_context():
        view = _admin_view(app, Volunteer)
        _, query = view.get_list(0, None, False, None, [], execute=False, page_size=0)
        tracemalloc.start()
        try:
            rows = list(query)
            _, materialised = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(rows) == EXPORT_ROWS and materialised > EXPORT_PEAK_BOUND


def test_xlsx_export_memory_does_not_grow_with_rows(client, auth):
    """The sheet streams into the zip while rows are read: tripling the rows leaves the peak where it was."""
    _seed_volunteers(1000)
    auth.as_role(Role.CLERK)
    size_small, peak_small = _traced_export(client, "xlsx")
    _seed_volunteers(2000, start=1000)
    size_large, peak_large = _traced_export(client, "xlsx")
    assert size_large > 2.5 * size_small
    assert peak_large < EXPORT_PEAK_BOUND
    # holding 2,000 more rows would add ~4 MB (≈2 KB a row); one fetch batch may be in flight
    assert peak_large < peak_small + 1024 * 1024, (peak_small, peak_large)


# --- bad input on forms ------------------------------------------------------------------

def _form_start():
    start = now().replace(second=0) + dt.timedelta(days=3)
    return start.strftime("%Y-%m-%d %H:%M:%S"), (start - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")


BAD_FORMS = [
    ("member_unit", MemberUnit, {"name": "", "kind": UnitKind.MERCHANT}, "name", "此项为必填项"),
    ("member_unit", MemberUnit, {"name": "长" * 101, "kind": UnitKind.MERCHANT}, "name", "100"),
    ("member_unit", MemberUnit, {"name": "好单位", "kind": UnitKind.MERCHANT, "phone": "12345abc"},
     "phone", "请输入有效的手机号"),
    ("event", Event, "end_before_start", "ends_at", "结束时间必须晚于开始时间"),
    ("event", Event, "negative_capacity", "capacity", "请输入 0 到 100000 之间的整数"),
    ("event", Event, "bad_start", "starts_at", "请输入有效的日期时间，如 2026-12-01 09:00"),
    ("project", None, {"title": "修缮", "line": "safety", "category": "平安", "slots": "0", "progress": "0"},
     "slots", "请输入 1 到 1000 之间的整数"),
    ("project", None, {"title": "修缮", "line": "safety", "category": "平安", "slots": "-3", "progress": "0"},
     "slots", "请输入 1 到 1000 之间的整数"),
    ("grid", Grid, {"number": "abc", "name": "第九网格", "unit_leaders": "0", "households": "0"},
     "number", "不是有效的整数"),
    ("volunteer", Volunteer, {"name": "王五", "phone": "1234", "status": "active"}, "phone", "请输入有效的手机号"),
]


def _event_form(kind):
    start, before = _form_start()
    form = {"title": "邻里节", "category": "neighbourhood", "starts_at": start, "ends_at": start,
            "location": "广场", "capacity": "10", "points": "1", "status": "scheduled"}
    if kind == "end_before_start":
        form["ends_at"] = before
    elif kind == "negative_capacity":
        form["ends_at"] = (dt.datetime.strptime(start, "%Y-%m-%d %H:%M:%S") + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
        form["capacity"] = "-1"
    elif kind == "bad_start":
        form["starts_at"] = "明天上午"
    return form


@pytest.mark.parametrize("endpoint, model, form, field, message", BAD_FORMS,
                         ids=[f"{e}-{fld}-{i}" for i, (e, _, _, fld, _) in enumerate(BAD_FORMS)])
def test_bad_form_input_is_a_chinese_message_next_to_the_field(client, auth, endpoint, model, form, field, message):
    from models import Project

    model = model or Project
    auth.as_role(Role.CLERK)
    data = _event_form(form) if isinstance(form, str) else form
    rows, audits = _count(model), _count(AuditLog)
    response = client.post(f"/admin/{endpoint}/new/", data=data)
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True))
    assert any(message in m for m in errors.get(field, [])), errors
    assert (_count(model), _count(AuditLog)) == (rows, audits)


MALFORMED = ["page=-1", "page=abc", "page=99999", "sort=999", "sort=-1", "desc=x", "sort=0&desc=1",
             "page_size=-5", "page_size=abc", "page_size=1000000", "search=%25%27%22", "search=" + "长" * 500,
             "flt0_0=abc", "flt1_1=abc", "flt2_2=abc", "flt3_3=abc", "flt4_4=abc", "flt5_5=abc",
             "flt6_6=abc", "flt7_7=abc", "flt8_8=2025-13-45", "flt9_9=-1", "flt0_999=1", "fltx_y=1"]


def test_malformed_list_parameters_never_give_a_500(client, auth):
    populate(copies=1)
    auth.as_role(Role.ADMIN)
    for model, view_class, _ in REGISTRY:
        base = f"/admin/{model._meta.table_name}"
        for query in MALFORMED:
            response = client.get(f"{base}/?{query}")
            assert response.status_code == 200, (base, query, response.status_code)
        for path in ("/edit/?id=999999", "/edit/?id=abc", "/details/?id=999999", "/details/?id=abc",
                     "/details/?id=-1", "/details/?id=99999999999999999999999"):
            response = client.get(base + path)
            assert response.status_code in (200, 302), (base, path, response.status_code)
        assert client.get(f"{base}/export/pdf/").status_code == 404
        response = client.get(f"{base}/export/csv/?page=-1&flt0_0=abc&sort=99")
        assert response.status_code == 200


def test_an_unknown_id_says_so_in_chinese(client, auth):
    auth.as_role(Role.CLERK)
    html = _follow(client, client.get("/admin/member_unit/edit/?id=999999"))
    assert "记录不存在" in " ".join(flashes(html))


def test_an_unknown_related_record_is_refused_not_a_500(client, auth):
    auth.as_role(Role.CLERK)
    unit = f.make_unit()
    response = client.post("/admin/claim/new/", data={"project": "999999", "unit": unit.id, "plan": "试试",
                                                      "status": "pending"})
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True)).get("project")
    assert _count(Claim) == 0


# --- login -----------------------------------------------------------------------------

def test_one_chinese_login_page(client):
    html = client.get("/login").get_data(as_text=True)
    text = visible_text(html)
    assert "登录" in text and "用户名" in text and "密码" in text


def test_wrong_password_is_a_chinese_message(client):
    user = f.make_user(role=Role.CLERK)
    response = client.post("/login", data={"username": user.username, "password": "wrong-password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example",
                                    "\\\\evil.example", "http:/evil.example", " //evil.example"])
def test_next_only_leads_to_this_site(client, target):
    user = f.make_user(role=Role.CLERK)
    response = client.post("/login", data={"username": user.username, "password": f.PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_next_on_this_site_is_followed_and_clerks_land_in_admin(client):
    user = f.make_user(role=Role.CLERK)
    response = client.post("/login?next=/admin/grid/", data={"username": user.username, "password": f.PASSWORD})
    assert response.headers["Location"] == "/admin/grid/"
    client.post("/logout")
    response = client.post("/login", data={"username": user.username, "password": f.PASSWORD})
    assert response.headers["Location"] == "/admin/"


def test_repeated_failures_lock_the_account_for_a_while(app, client):
    user = f.make_user(role=Role.CLERK)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/login", data={"username": user.username, "password": "nope-nope"}).status_code == 401
    response = client.post("/login", data={"username": user.username, "password": f.PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_logout_is_a_post_with_csrf(csrf_app):
    client = csrf_app.test_client()
    clerk = f.make_user(role=Role.CLERK)
    _csrf_login(client, clerk.username)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    admin_home = client.get("/admin/")
    assert admin_home.status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(admin_home.get_data(as_text=True))})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
