"""Every record readable: details pages show every field, related records and history; the
audit log in Chinese for clerks; exports carry every field; printable lists and 签到表."""
import csv
import datetime as dt
import io
import json
import re
from html import unescape

import pytest
from peewee import BooleanField, ForeignKeyField, TextField

from admin.details import SECRET_FIELDS, field_text
from admin.views import REGISTRY
from models import (AuditLog, Event, MemberUnit, Role, SignupStatus, UnitStatus, Volunteer, WorkOrder, now)
from models.points import AppendOnlyError
from models.sheets import sheet_of
from services import audit

from . import factories as f
from .adminkit import populate, role_for, view_for, visible_text
from .sheetkit import read_xlsx

VIEWS = [(m, v) for m, v, _ in REGISTRY if v.__name__ != "PendingClaimView"]


def _fields_table(html):
    """{label: (text, inner html)} of the details page's field table."""
    table = re.search(r'<table[^>]*id="record-fields".*?</table>', html, re.S).group(0)
    out = {}
    for label, value in re.findall(r"<tr>\s*<td><b>(.*?)</b></td>\s*<td>(.*?)</td>\s*</tr>", table, re.S):
        text = unescape(re.sub(r"<[^>]+>", "", value)).strip()
        out[unescape(label)] = (text, value)
    return out


@pytest.mark.parametrize("model, view_class", VIEWS, ids=[m._meta.table_name for m, _ in VIEWS])
def test_every_details_page_shows_every_field(client, auth, model, view_class):
    records = populate(copies=1)
    record = records[model._meta.table_name][-1]
    if model is MemberUnit:
        record.intro = "第一行<b>粗体</b>\n第二行"
        record.save()
    auth.as_role(role_for(view_class))
    response = client.get(f"/admin/{model._meta.table_name}/details/?id={record.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = _fields_table(html)
    record = model.select().where(model._meta.primary_key == record.id).get()
    hidden = set(SECRET_FIELDS) | ({"report", "attempt", "heartbeat_at"} if model._meta.table_name == "import_job" else set())
    for field in model._meta.sorted_fields:
        if field.name in hidden:
            assert field.verbose_name not in shown, (model.__name__, field.name)
            continue
        label = field.verbose_name
        assert label in shown, (model.__name__, field.name)
        text, inner = shown[label]
        if model.__name__ == "AuditLog" and field.name in ("action", "entity", "entity_id", "changes"):
            continue  # shown in Chinese words (test_the_audit_log_reads_in_chinese)
        expected = field_text(record, field)
        if expected == "":
            assert text == "—", (model.__name__, field.name, text)
            continue
        assert text == expected, (model.__name__, field.name, text, expected)
        if field.choices:
            assert text in dict(field.choices).values()
        if isinstance(field, BooleanField):
            assert text in ("是", "否")
        reachable = not (role_for(view_class) == Role.CLERK and isinstance(field, ForeignKeyField)
                         and role_for(view_for(field.rel_model)) == Role.ADMIN)
        if isinstance(field, ForeignKeyField) and reachable:
            assert re.search(r'<a href="/admin/[a-z_]+/details/\?id=\d+">', inner), (model.__name__, field.name, inner)
        if isinstance(field, TextField):
            assert 'class="record-text"' in inner
    assert "True" not in visible_text(html) and "False" not in visible_text(html)
    if model is MemberUnit:
        assert "第一行&lt;b&gt;粗体&lt;/b&gt;\n第二行" in shown["简介"][1], "escaped, line breaks kept"
    assert 'id="record-history"' in html


def test_the_details_page_lists_related_records_with_links_to_them(client, auth):
    team = f.make_team(name="红石榴志愿服务队")
    for i in range(3):
        f.make_volunteer(team=team)
    other = f.make_volunteer(team=f.make_team())
    auth.as_role(Role.CLERK)
    html = client.get(f"/admin/volunteer_team/details/?id={team.id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">志愿者（服务队） 3 条</a>', unescape(html))
    assert link, html[html.find("record-related"):][:600]
    listing = client.get(link.group(1)).get_data(as_text=True)
    assert "只显示 服务队：红石榴志愿服务队 的志愿者" in visible_text(listing)
    assert other.name not in listing
    assert len(re.findall(r'name="rowid"', listing)) == 3


def test_the_history_panel_says_who_changed_which_field_from_what_to_what(client, auth):
    first, second = f.make_team(name="甲队"), f.make_team(name="乙队")
    volunteer = f.make_volunteer(name="王芳", team=first)
    clerk = auth.as_role(Role.CLERK, display_name="刘干事")
    form = {"name": "王芳", "phone": volunteer.phone, "team": str(second.id), "party_member": "y", "status": "left"}
    assert client.post(f"/admin/volunteer/edit/?id={volunteer.id}", data=form).status_code == 302
    html = client.get(f"/admin/volunteer/details/?id={volunteer.id}").get_data(as_text=True)
    panel = " ".join(visible_text(html[html.index('id="record-history"'):]).split())
    assert clerk.username in panel and "修改" in panel
    assert "服务队： 甲队 → 乙队" in panel
    assert "党员" in panel and "否 → 是" in panel
    assert "状态" in panel and "在队 → 已退出" in panel


def test_the_audit_log_reads_in_chinese_links_to_records_and_filters(client, auth):
    unit = f.make_unit(name="红浦小学")
    order = f.make_work_order()
    clerk = auth.as_role(Role.CLERK)
    audit.record("update", unit, changes={"status": [UnitStatus.ACTIVE, UnitStatus.SUSPENDED]}, user=clerk)
    audit.record("revoke", order, changes={"status": ["accepted", "revoked"], "revoke_reason": "重复工单"}, user=clerk)
    html = client.get("/admin/audit_log/").get_data(as_text=True)
    text = " ".join(visible_text(html).split())
    assert "成员单位" in text and "工单" in text and "撤销" in text and "修改" in text
    assert "状态：在册 → 暂停" in text
    assert "撤销原因：重复工单" in text
    assert f'href="/admin/member_unit/details/?id={unit.id}"' in html
    assert "红浦小学（#" in text
    assert ">update<" not in html and ">MemberUnit<" not in html
    view = next(v for v in client.application.extensions["alliance_admin"]._views if getattr(v, "endpoint", "") == "audit_log")
    entity = next(i for i, flt in enumerate(view._filters) if flt.name == "对象类型")
    arg = view.get_filter_arg(entity, view._filters[entity])
    filtered = client.get(f"/admin/audit_log/?flt0_{arg}=WorkOrder").get_data(as_text=True)
    assert "重复工单" in filtered and "在册 → 暂停" not in filtered
    who = next(i for i, flt in enumerate(view._filters) if flt.name == "操作人" and "Related" in type(flt).__name__)
    filtered = client.get(f"/admin/audit_log/?flt0_{view.get_filter_arg(who, view._filters[who])}={clerk.id}")
    assert "重复工单" in filtered.get_data(as_text=True)
    day = now().strftime("%Y-%m-%d")
    dates = client.get(f"/admin/audit_log/?search=&flt0_{_created_between(view)}={day}+00:00:00+to+{day}+23:59:59")
    assert "重复工单" in dates.get_data(as_text=True)


def _created_between(view):
    index = next(i for i, flt in enumerate(view._filters) if flt.name == "时间" and "Between" in type(flt).__name__)
    return view.get_filter_arg(index, view._filters[index])


def test_nobody_edits_or_deletes_the_audit_log(client, auth):
    unit = f.make_unit()
    entry = audit.record("create", unit, changes={"name": unit.name})
    auth.as_role(Role.ADMIN)
    assert client.get(f"/admin/audit_log/edit/?id={entry.id}").status_code == 302
    assert client.get("/admin/audit_log/new/").status_code == 302
    client.post("/admin/audit_log/delete/", data={"id": entry.id})
    client.post("/admin/audit_log/action/", data={"action": "delete", "rowid": [entry.id]})
    assert AuditLog.get_by_id(entry.id).changes == entry.changes
    entry.changes = "{}"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete_instance()


# --- exports -------------------------------------------------------------------------------

def test_exports_carry_every_field_in_the_template_order_with_labels(client, auth):
    grid = f.make_grid(name="第3网格")
    f.make_unit(name="惠民超市", kind="merchant", contact="王老板", phone="13900001111", address="兴安路 8 号",
                grid=grid, joined_on=dt.date(2024, 3, 1), status=UnitStatus.SUSPENDED, intro="经营粮油\n配送上门")
    auth.as_role(Role.CLERK)
    rows, _ = read_xlsx(client.get("/admin/member_unit/export/xlsx/").data)
    assert rows[0] == sheet_of(MemberUnit).headers
    assert rows[0][:9] == ["单位名称", "单位类型", "联系人", "联系电话", "地址", "所属网格", "加入日期", "状态", "简介"]
    row = dict(zip(rows[0], rows[1]))
    assert row["单位类型"] == "商户" and row["状态"] == "暂停" and row["所属网格"] == "第3网格"
    assert row["简介"] == "经营粮油\n配送上门" and row["加入日期"] == "2024-03-01"
    text = client.get("/admin/member_unit/export/csv/").get_data(as_text=True)
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert parsed[0] == rows[0] and dict(zip(parsed[0], parsed[1]))["简介"] == "经营粮油\n配送上门"


def test_every_entity_exports_every_field_a_clerk_keeps(client, auth):
    populate(copies=1)
    auth.as_role(Role.ADMIN)
    for model, view_class, _ in REGISTRY:
        response = client.get(f"/admin/{model._meta.table_name}/export/csv/")
        assert response.status_code == 200, model
        header = next(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        if model is AuditLog:
            continue  # the log's own columns (admin/audit.py)
        kept = [fl.verbose_name for fl in model._meta.sorted_fields
                if fl.name not in ("id", "password_hash", "digest", "data", "sequence", "report", "attempt", "heartbeat_at")]
        assert sorted(header) == sorted(kept), (model.__name__, set(kept) ^ set(header))


def test_the_printable_list_follows_the_lists_search_and_filters(client, auth):
    for i in range(3):
        f.make_volunteer(name=f"张{i}", skills="理发")
    f.make_volunteer(name="李四", skills="维修")
    auth.as_role(Role.CLERK)
    # the volunteer list is a big one: it searches names and phones from their start (an index range)
    listing = client.get("/admin/volunteer/?search=张").get_data(as_text=True)
    link = unescape(re.search(r'href="([^"]+)" id="print-link"', listing).group(1))
    assert "search=" in link
    html = client.get(link).get_data(as_text=True)
    assert "共 3 条（搜索“张”）" in html
    assert "李四" not in html and all(f"张{i}" in html for i in range(3))
    assert "<script" in html and 'src="/static/js/print.js"' in html and "onclick" not in html
    assert "<nav" not in html, "no admin menus on paper"


def test_the_sign_in_sheet_is_an_a4_pdf_of_the_roster(client, auth):
    from pypdf import PdfReader

    event = f.make_event(title="邻里节百家宴", capacity=2, location="红浦社区广场")
    people = [f.make_signup(event=event, name=n, phone=f"1390000{i:04d}") for i, n in enumerate(("赵一", "钱二"))]
    waiting = f.make_signup(event=event, name="孙三", status=SignupStatus.WAITLISTED)
    f.make_signup(event=event, name="李四", status=SignupStatus.CANCELLED)
    auth.as_role(Role.CLERK)
    details = client.get(f"/admin/event/details/?id={event.id}").get_data(as_text=True)
    assert f'/admin/event/roster/{event.id}.pdf' in details
    response = client.get(f"/admin/event/roster/{event.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = "".join(p.extract_text() for p in reader.pages)
    assert "邻里节百家宴" in text and "签到表" in text and "红浦社区广场" in text
    assert "赵一" in text and "钱二" in text and waiting.name in text
    assert "李四" not in text, "cancelled sign-ups are not on the sheet"
    assert people[0].phone not in text and "139****0000" in text
    assert client.get("/admin/event/roster/999999.pdf").status_code == 404


# --- forms ----------------------------------------------------------------------------------

def test_no_form_lets_anyone_edit_creation_or_update_times(client, auth):
    records = populate(copies=1)
    auth.as_role(Role.ADMIN)
    for model, view_class, _ in REGISTRY:
        urls = []
        if view_class.can_create:
            urls.append(f"/admin/{model._meta.table_name}/new/")
        if view_class.can_edit:
            urls.append(f"/admin/{model._meta.table_name}/edit/?id={records[model._meta.table_name][-1].id}")
        for url in urls:
            html = client.get(url).get_data(as_text=True)
            assert 'name="created_at"' not in html and 'name="updated_at"' not in html, url


@pytest.mark.parametrize("typed, stored", [
    ("2026-12-01 09:00", dt.datetime(2026, 12, 1, 9, 0)),
    ("2026-12-01T09:00", dt.datetime(2026, 12, 1, 9, 0)),
    ("2026/12/1 9:05", dt.datetime(2026, 12, 1, 9, 5)),
    ("2026年12月1日 09:00", dt.datetime(2026, 12, 1, 9, 0)),
    ("2026-12-01 09:00:30", dt.datetime(2026, 12, 1, 9, 0, 30)),
])
def test_typed_dates_are_stored_as_typed(client, auth, typed, stored):
    auth.as_role(Role.CLERK)
    form = {"title": "邻里节", "category": "neighbourhood", "starts_at": typed, "ends_at": "2026-12-01 18:00",
            "location": "广场", "capacity": "0", "points": "0", "status": "scheduled"}
    response = client.post("/admin/event/new/", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    assert Event.get(Event.title == "邻里节").starts_at == stored


def test_date_boxes_are_plain_text_with_a_picker_hint_not_the_daterangepicker(client, auth):
    event = f.make_event(starts_at=dt.datetime(2026, 12, 1, 9, 0))
    auth.as_role(Role.CLERK)
    html = client.get(f"/admin/event/edit/?id={event.id}").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="starts_at"[^>]*>', html).group(0)
    assert 'data-picker="datetime"' in box and 'value="2026-12-01 09:00"' in box
    assert "data-role" not in box, "bootstrap-daterangepicker rewrites half-typed text"
    assert 'src="/static/js/admin-forms.js"' in html
    date_box = re.search(r'<input[^>]*name="joined_on"[^>]*>', client.get("/admin/volunteer/new/").get_data(as_text=True)).group(0)
    assert 'data-picker="date"' in date_box


def test_the_project_category_is_chosen_from_the_list_clerks_keep(client, auth):
    f.make_category(name="银发关爱", sort_order=1)
    f.make_category(name="平安巡防", sort_order=2)
    f.make_category(name="已停用分类", active=False)
    auth.as_role(Role.CLERK)
    html = client.get("/admin/project/new/").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="category".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option[^>]*value="([^"]*)"', select) == ["", "银发关爱", "平安巡防"]
    form = {"title": "助餐点", "line": "livelihood", "category": "自己编的分类", "slots": "1", "progress": "0",
            "status": "draft"}
    html = client.post("/admin/project/new/", data=form).get_data(as_text=True)
    assert "请从项目分类列表中选择" in html
    form["category"] = "银发关爱"
    assert client.post("/admin/project/new/", data=form).status_code == 302
    assert client.post("/admin/project_category_list/new/", data={"name": "文化惠民", "sort_order": "3", "active": "y"}).status_code == 302
    assert "文化惠民" in client.get("/admin/project/new/").get_data(as_text=True)


def test_renaming_a_category_renames_it_on_its_projects_and_a_used_one_is_not_deleted(client, auth):
    category = f.make_category(name="银发关爱")
    project = f.make_project(category="银发关爱")
    auth.as_role(Role.CLERK)
    response = client.post(f"/admin/project_category_list/edit/?id={category.id}",
                           data={"name": "为老服务", "line": "livelihood", "sort_order": "0", "active": "y"})
    assert response.status_code == 302
    from models import Project, ProjectCategory

    assert Project.get_by_id(project.id).category == "为老服务"
    entry = AuditLog.get(AuditLog.entity == "Project", AuditLog.entity_id == str(project.id))
    assert json.loads(entry.changes) == {"category": ["银发关爱", "为老服务"]}
    client.post("/admin/project_category_list/delete/", data={"id": category.id})
    assert ProjectCategory.get_or_none(ProjectCategory.id == category.id) is not None


def test_unit_pickers_put_active_units_first_and_mark_withdrawn_ones(client, auth):
    f.make_unit(name="乙单位")
    f.make_unit(name="甲单位", status=UnitStatus.WITHDRAWN)
    f.make_unit(name="丙单位", status=UnitStatus.SUSPENDED)
    auth.as_role(Role.CLERK)
    html = client.get("/admin/event/new/").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="organiser".*?</select>', html, re.S).group(0)
    assert 'data-ranked-picker="显示已退出单位"' in select
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", select)
    labels = [label for _, label in options if label != "----------------"]
    assert labels == ["乙单位", "丙单位（暂停）", "甲单位（已退出）"]
    assert 'data-hidden="1"' in dict((label, attrs) for attrs, label in options)["甲单位（已退出）"]


# --- the category migration -------------------------------------------------------------------------

def test_migration_020_turns_the_free_text_categories_into_the_list(tmp_path):
    import uuid

    from peewee_migrate import Router

    from models.database import MIGRATIONS_DIR, open_database

    from .conftest import ON_POSTGRES, PG_URL

    if ON_POSTGRES:
        admin_db = open_database(PG_URL)
        admin_db.connect()
        name = f"alliance_m020_{uuid.uuid4().hex[:10]}"
        admin_db.execute_sql(f'CREATE DATABASE "{name}"')
        database = open_database(f"{PG_URL.rpartition('/')[0]}/{name}")
    else:
        database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    database.connect()
    try:
        router = Router(database, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"])
        router.run("005_index_names")
        stamp = dt.datetime(2026, 1, 2, 9, 0)
        p = database.param
        for title, line, category in (("a", "livelihood", "银发关爱"), ("b", "livelihood", "银发关爱"),
                                      ("c", "safety", "平安巡防"), ("d", "culture", "平安巡防")):
            database.execute_sql(
                "INSERT INTO project (created_at, updated_at, title, line, category, slots, live_claims, published, "
                f"status, progress) VALUES ({p}, {p}, {p}, {p}, {p}, 1, 0, TRUE, 'open', 0)",
                (stamp, stamp, title, line, category))
        router.run()
        rows = database.execute_sql("SELECT name, line, active, created_at FROM project_category_list").fetchall()
        assert sorted((n, line, bool(a)) for n, line, a, _ in rows) == [("平安巡防", None, True), ("银发关爱", "livelihood", True)]
        assert {str(created)[:16] for *_, created in rows} == {"2026-01-02 09:00"}
    finally:
        database.close()
        if ON_POSTGRES:
            admin_db.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
            admin_db.close()


def test_bulk_status_on_units_and_volunteers_is_a_plain_audited_change(client, auth):
    units = [f.make_unit() for _ in range(3)]
    auth.as_role(Role.CLERK)
    ids = ",".join(str(u.id) for u in units)
    client.post("/admin/member_unit/bulk/", data={"ids": ids, "what": "field:status", "value:status": "withdrawn",
                                                  "step": "confirm"})
    assert {u.status for u in MemberUnit.select()} == {UnitStatus.WITHDRAWN}
    assert AuditLog.select().where(AuditLog.action == "bulk_update").count() == 3
    volunteers = [f.make_volunteer() for _ in range(2)]
    client.post("/admin/volunteer/bulk/", data={"ids": ",".join(str(v.id) for v in volunteers), "what": "field:status",
                                                "value:status": "left", "step": "confirm"})
    assert {v.status for v in Volunteer.select()} == {"left"}


def test_work_order_lists_show_bulk_edit(client, auth):
    f.make_work_order()
    auth.as_role(Role.CLERK)
    html = client.get("/admin/work_order/").get_data(as_text=True)
    assert "批量修改…" in html and WorkOrder.select().count() == 1


def test_the_audit_log_exports_in_chinese_with_related_records_named(client, auth):
    team = f.make_team(name="银发互助队")
    volunteer = f.make_volunteer(name="王芳")
    clerk = auth.as_role(Role.CLERK)
    audit.record("update", volunteer, changes={"team": [None, team.id], "party_member": [False, True]}, user=clerk)
    text = client.get("/admin/audit_log/export/csv/").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["时间", "操作人账号", "操作", "对象类型", "对象编号", "变更内容", "IP 地址"]
    row = next(r for r in rows[1:] if r[3] == "志愿者")
    assert row[2] == "修改" and row[4] == str(volunteer.id)
    assert row[5] == "服务队：（空） → 银发互助队；党员：否 → 是"
