"""Clerks bring their spreadsheets in: template, upload, preview with every problem, confirm,
all or nothing, audited; re-importing an export changes nothing."""
import datetime as dt
import io
import json
import zipfile

import pytest

from models import (AuditLog, Event, Grid, ImportJob, ImportStatus, MemberUnit, Project,
                    ProjectStatus, Role, Signup, SignupStatus, UnitStatus, Volunteer, VolunteerTeam, db, now)
from models.sheets import sheet_of
from services import imports

from . import factories as f
from .sheetkit import (confirm, csv_bytes, flashes_of, problems, read_xlsx, summary, upload, upload_and_check,
                       xlsx)

VOLUNTEER_HEADERS = ["姓名", "手机号", "服务队", "所在网格", "党员", "特长技能", "加入日期", "状态"]


@pytest.fixture(autouse=True)
def no_import_outlives_its_test():
    """A background import thread uses the global database handle: let it finish here."""
    yield
    imports.wait_for_background()


def _counts():
    return {m.__name__: m.select().count() for m in (Volunteer, MemberUnit, Grid, VolunteerTeam, Project, Event)}


def _volunteer_rows(teams, grids, n=300):
    rows = []
    for i in range(n):
        rows.append([f"志愿者{i:03d}", f"139{i:08d}", teams[i % len(teams)].name, grids[i % len(grids)].name,
                     "是" if i % 3 == 0 else "否", "理发、维修" if i % 2 else None,
                     dt.date(2024, 1 + i % 12, 1 + i % 28), "在队"])
    return rows


# --- the template ------------------------------------------------------------------------------

def test_the_template_has_the_exports_headers_and_explains_every_column(client, auth):
    team = f.make_team(name="红石榴志愿服务队")
    f.make_grid(name="第1网格")
    auth.as_role(Role.CLERK)
    response = client.get("/admin/volunteer/import/template.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows, book = read_xlsx(response.data)
    sheet = sheet_of(Volunteer)
    assert rows[0] == sheet.headers == VOLUNTEER_HEADERS + ["积分余额", "创建时间", "更新时间"]
    assert len(rows) == 1  # no example row that could be imported by mistake
    export = client.get("/admin/volunteer/export/xlsx/")
    assert read_xlsx(export.data)[0][0] == rows[0], "template and export share their headers"
    assert book.sheetnames[1] == "填写说明"
    guide = {r[0]: r for r in book["填写说明"].iter_rows(values_only=True) if r[0]}
    assert "在队、已退出" in guide["状态"][3]
    assert team.name in guide["服务队"][3]
    assert "必填" in guide["手机号"][1] and "可留空" in guide["服务队"][1]
    assert "只读" in guide["积分余额"][2]
    assert guide["党员"][3] == "是、否"


# --- the "done when" story -----------------------------------------------------------------------

def test_clerk_imports_300_volunteers_fixing_three_bad_rows_and_a_second_import_changes_nothing(client, auth):
    teams = [f.make_team(name=n) for n in ("红石榴志愿服务队", "银发互助队", "平安巡防队")]
    grids = [f.make_grid(name=f"第{i}网格", number=i) for i in (1, 2)]
    auth.as_role(Role.CLERK)
    template, _ = read_xlsx(client.get("/admin/volunteer/import/template.xlsx").data)
    rows = _volunteer_rows(teams, grids)
    rows[9][2] = "不存在的服务队"  # row 11 in the sheet (header is row 1)
    rows[49][1] = "1380013"  # row 51: not a phone
    rows[199][1] = rows[198][1]  # row 201 repeats row 200's phone
    before = _counts()

    job, html = upload_and_check(client, "volunteer", xlsx([template[0][:8]] + rows))
    assert job.status == ImportStatus.PROBLEMS
    found = problems(html)
    assert [(r, c) for r, c, _ in found] == [(11, "服务队"), (51, "手机号"), (201, "手机号")]
    assert "「不存在的服务队」在系统中不存在" in found[0][2]
    assert "不是有效的电话号码" in found[1][2]
    assert "与第 200 行重复" in found[2][2]
    assert _counts() == before, "nothing is written before the clerk confirms"
    refused = client.post(f"/admin/volunteer/import/{job.id}/confirm")
    assert refused.status_code == 303
    assert "不能导入" in " ".join(flashes_of(client.get(refused.headers["Location"]).get_data(as_text=True)))
    assert _counts() == before

    rows[9][2] = teams[0].name
    rows[49][1] = "13800138000"
    rows[199][1] = "13700137000"
    job, html = upload_and_check(client, "volunteer", xlsx([template[0][:8]] + rows), "名册-改正.xlsx")
    assert job.status == ImportStatus.READY
    assert summary(html) == {"created": 300, "updated": 0, "unchanged": 0}
    assert problems(html) == []
    assert Volunteer.select().count() == 0

    job, html = confirm(client, "volunteer", job)
    assert job.status == ImportStatus.APPLIED, job.message
    assert "已导入" in html
    assert Volunteer.select().count() == 300
    by_phone = {v.phone: v for v in Volunteer.select()}
    assert by_phone["13900000009"].team_id == teams[0].id  # the fixed row
    assert by_phone["13800138000"].name == "志愿者049"
    assert {v.team_id for v in by_phone.values()} == {t.id for t in teams}
    assert by_phone["13900000000"].party_member is True and by_phone["13900000001"].party_member is False
    assert by_phone["13900000003"].joined_on == dt.date(2024, 4, 4)
    assert AuditLog.select().where(AuditLog.action == "import_create", AuditLog.entity == "Volunteer").count() == 300
    assert AuditLog.select().where(AuditLog.action == "import", AuditLog.entity == "ImportJob").count() == 1

    again, html = upload_and_check(client, "volunteer", xlsx([template[0][:8]] + rows), "名册-改正.xlsx")
    assert summary(html) == {"created": 0, "updated": 0, "unchanged": 300}
    again, _ = confirm(client, "volunteer", again)
    assert again.status == ImportStatus.APPLIED
    assert Volunteer.select().count() == 300
    assert AuditLog.select().where(AuditLog.action.in_(("import_create", "import_update"))).count() == 300


# --- export → edit → import ------------------------------------------------------------------------

def _populated():
    grids = [f.make_grid(name=f"第{i}网格", number=i, party_leader="李书记", note="第一行\n第二行") for i in (1, 2, 3)]
    teams = [f.make_team(name=n, leader="赵队长", leader_phone="13900001111", founded_on=dt.date(2020, 3, 1),
                         intro="服务队简介\n第二行") for n in ("红石榴志愿服务队", "银发互助队")]
    units = [f.make_unit(name=n, grid=grids[i % 3], contact="张主任", phone="0482-8261234", intro="=1+1 不是公式",
                         joined_on=dt.date(2023, 5, 6)) for i, n in enumerate(("红浦小学", "惠民超市", "社区医院"))]
    units[2].status = UnitStatus.WITHDRAWN
    units[2].save()
    f.make_category(name="银发关爱")
    f.make_category(name="平安巡防")
    projects = [f.make_project(title=f"独居老人敲门行动{i}", category="银发关爱", grid=grids[i % 3],
                               description="入户走访\n每周一次", needs="需要志愿者 3 名", deadline=dt.date(2027, 1, 1))
                for i in range(3)]
    events = [f.make_event(title=f"邻里节{i}", organiser=units[i], description="欢迎参加\n带上家人", capacity=10 * i,
                           starts_at=dt.datetime(2026, 12, 1 + i, 9, 30)) for i in range(3)]
    volunteers = [f.make_volunteer(name=f"志愿者{i}", team=teams[i % 2], grid=grids[i % 3], party_member=bool(i % 2),
                                   skills="-理发" if i == 0 else "维修", joined_on=dt.date(2024, 2, 2)) for i in range(4)]
    return {"grid": grids, "volunteer_team": teams, "member_unit": units, "project": projects, "event": events,
            "volunteer": volunteers}


IMPORTABLE = ["member_unit", "grid", "volunteer_team", "volunteer", "project", "event"]


@pytest.mark.parametrize("endpoint", IMPORTABLE)
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_an_export_imported_unchanged_changes_nothing(client, auth, endpoint, kind):
    _populated()
    auth.as_role(Role.CLERK)
    exported = client.get(f"/admin/{endpoint}/export/{kind}/").data
    before = _counts()
    job, html = upload_and_check(client, endpoint, exported, f"导出.{kind}")
    assert problems(html) == [] and job.status == ImportStatus.READY, (problems(html), job.message)
    total = before[{"member_unit": "MemberUnit", "grid": "Grid", "volunteer_team": "VolunteerTeam",
                    "volunteer": "Volunteer", "project": "Project", "event": "Event"}[endpoint]]
    assert summary(html) == {"created": 0, "updated": 0, "unchanged": total}
    assert "0 新增" in html and "0 修改" in html


def test_export_edit_import_gives_exactly_the_edits(client, auth):
    data = _populated()
    auth.as_role(Role.CLERK)
    rows, _ = read_xlsx(client.get("/admin/volunteer/export/xlsx/").data)
    header = rows[0]
    target = next(r for r in rows[1:] if r[header.index("手机号")] == data["volunteer"][1].phone)
    other = next(r for r in rows[1:] if r[header.index("手机号")] == data["volunteer"][2].phone)
    target[header.index("服务队")] = "银发互助队" if target[header.index("服务队")] != "银发互助队" else "红石榴志愿服务队"
    target[header.index("特长技能")] = "理发、义诊"
    other[header.index("状态")] = "已退出"
    other[header.index("所在网格")] = None  # cleared in Excel
    rows.append(["新来的志愿者", "13511112222", "银发互助队", "第2网格", "是", None, "2026-11-30", "在队", 99, None, None])
    job, html = upload_and_check(client, "volunteer", xlsx(rows))
    assert summary(html) == {"created": 1, "updated": 2, "unchanged": 2}, problems(html)
    assert "只读列“积分余额、创建时间、更新时间”不导入" in html
    assert "特长技能 维修 → 理发、义诊" in html
    job, _ = confirm(client, "volunteer", job)
    assert job.status == ImportStatus.APPLIED
    changed = Volunteer.get(Volunteer.phone == data["volunteer"][1].phone)
    assert changed.skills == "理发、义诊" and changed.team.name == target[header.index("服务队")]
    left = Volunteer.get(Volunteer.phone == data["volunteer"][2].phone)
    assert left.status == "left" and left.grid_id is None
    assert Volunteer.get(Volunteer.phone == "13511112222").points_balance == 0  # read-only column ignored
    untouched = Volunteer.get_by_id(data["volunteer"][0].id)
    assert untouched.skills == "-理发" and untouched.updated_at == data["volunteer"][0].updated_at
    entry = AuditLog.get(AuditLog.action == "import_update", AuditLog.entity_id == str(changed.id))
    changes = json.loads(entry.changes)
    assert set(changes) == {"team", "skills"} and changes["skills"] == ["维修", "理发、义诊"]


def test_projects_and_events_keep_their_rules_when_imported(client, auth):
    f.make_category(name="银发关爱")
    grid = f.make_grid(name="第1网格")
    project = f.make_project(title="助餐点", category="银发关爱", slots=2, status=ProjectStatus.OPEN)
    f.make_claim(project=project)
    f.make_claim(project=project)
    project = Project.get_by_id(project.id)
    event = f.make_event(title="义诊", capacity=1, starts_at=dt.datetime(2026, 12, 5, 9, 0))
    f.make_signup(event=event, status=SignupStatus.REGISTERED)
    waiting = f.make_signup(event=event, status=SignupStatus.WAITLISTED)
    auth.as_role(Role.CLERK)

    headers = ["项目名称", "联治类别", "项目分类", "所在网格", "认领名额", "已发布"]
    job, html = upload_and_check(client, "project", xlsx([headers, ["助餐点", "民生联帮", "银发关爱", "第1网格", 1, "是"],
                                                           ["新项目", "平安联创", "不存在的分类", None, 1, "否"]]))
    found = problems(html)
    assert [(r, c) for r, c, _ in found] == [(2, "认领名额"), (3, "项目分类")], found
    assert "认领名额不能少于 2" in found[0][2] and "不在项目分类列表中" in found[1][2]

    f.make_category(name="平安巡防")
    job, html = upload_and_check(client, "project", xlsx([headers, ["助餐点", "民生联帮", "银发关爱", "第1网格", 3, "是"],
                                                           ["新项目", "平安联创", "平安巡防", None, 1, "否"],
                                                           ["已发布的新项目", "平安联创", "平安巡防", None, 1, "是"]]))
    assert summary(html) == {"created": 2, "updated": 1, "unchanged": 0}, problems(html)
    confirm(client, "project", job)
    assert Project.get_by_id(project.id).slots == 3 and Project.get_by_id(project.id).grid_id == grid.id
    assert Project.get(Project.title == "新项目").status == ProjectStatus.DRAFT
    assert Project.get(Project.title == "已发布的新项目").status == ProjectStatus.OPEN

    headers = ["活动名称", "活动类别", "开始时间", "结束时间", "活动地点", "人数上限(0为不限)"]
    job, html = upload_and_check(client, "event", xlsx([headers, ["义诊", "邻里节", "2026-12-05 09:00", "2026-12-05 08:00", "广场", 2]]))
    assert problems(html) == [(2, "结束时间", "结束时间必须晚于开始时间")]
    job, html = upload_and_check(client, "event", xlsx([headers, ["义诊", "邻里节", dt.datetime(2026, 12, 5, 9, 0), "2026/12/5 11:00", "广场", 2]]))
    assert summary(html) == {"created": 0, "updated": 1, "unchanged": 0}, problems(html)
    confirm(client, "event", job)
    assert Signup.get_by_id(waiting.id).status == SignupStatus.REGISTERED, "a raised capacity promotes the waiting list"
    assert Event.get_by_id(event.id).sequence == event.sequence + 1, "calendar fields changed: SEQUENCE rises"


def test_csv_in_gb18030_and_utf8_with_or_without_bom(client, auth):
    f.make_team(name="红石榴志愿服务队")
    auth.as_role(Role.CLERK)
    rows = [["姓名", "手机号", "服务队"], ["张晓红", "13900000001", "红石榴志愿服务队"]]
    for i, encoding in enumerate(("gb18030", "utf-8", "utf-8-sig")):
        rows[1][1] = f"1390000000{i}"
        job, html = upload_and_check(client, "volunteer", csv_bytes(rows, encoding), "名册.csv")
        assert summary(html)["created"] == 1, (encoding, problems(html), job.message)
        confirm(client, "volunteer", job)
    assert [v.name for v in Volunteer.select()] == ["张晓红"] * 3


def test_a_unique_column_used_by_another_record_is_a_problem(client, auth):
    f.make_grid(name="第1网格", number=1)
    f.make_grid(name="第2网格", number=2)
    auth.as_role(Role.CLERK)
    job, html = upload_and_check(client, "grid", xlsx([["网格编号", "网格名称"], [2, "第1网格"], [3, "第3网格"], [3, "第4网格"]]))
    found = problems(html)
    assert [(r, c) for r, c, _ in found] == [(2, "网格编号"), (4, "网格编号")], found
    assert "已被其他网格使用" in found[0][2] and "与第 3 行重复" in found[1][2]


# --- bad input ----------------------------------------------------------------------------------

def _encrypted_xlsx():
    """An OLE compound file as Excel writes for a password-protected workbook (its
    directory names the EncryptedPackage stream)."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = "EncryptedInfo".encode("utf-16-le") + b"\x00" * 20 + "EncryptedPackage".encode("utf-16-le")
    return head + directory + b"\x00" * 4096


def _zip_bomb():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b"<row/>" * (1 << 17)
            for _ in range(40):  # 30 MB that packs into a few kilobytes
                sheet.write(chunk)
    return buffer.getvalue()


def _empty_rows_xlsx(count):
    """A real workbook whose sheet holds a header and then ``count`` empty rows."""
    data = xlsx([VOLUNTEER_HEADERS[:2], ["张三", "13900000000"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                head, tail = text.split("</sheetData>")
                with zf.open(info.filename, "w") as sheet:
                    sheet.write(head.replace('<dimension ref="A1:B2"/>', f'<dimension ref="A1:B{count + 2}"/>').encode())
                    for r in range(3, count + 3, 10000):
                        sheet.write("".join(f'<row r="{n}"/>' for n in range(r, min(r + 10000, count + 3))).encode())
                    sheet.write(("</sheetData>" + tail).encode())
            else:
                zf.writestr(info, body)
    return out.getvalue()


BAD_FILES = [
    ("not-a-sheet.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "不是表格文件"),
    ("notes.docx", None, "不是 Excel 表格"),
    ("encrypted.xlsx", _encrypted_xlsx(), "设置了打开密码"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048, "旧版 Excel 文件（.xls）"),
    ("corrupt.xlsx", None, "已损坏"),
    ("bomb.xlsx", None, "压缩炸弹"),
    ("empty.csv", b"", "文件是空的"),
    ("binary.csv", b"abc\x00def\x00" * 10, "不是表格文件"),
    ("utf16.csv", b"\xff\xfe" + "姓名,手机号\r\n张三,13900000000".encode("utf-16-le"), "UTF-16"),
]


@pytest.mark.parametrize("filename, data, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_file_that_cannot_be_read_is_refused_in_chinese_and_writes_nothing(client, auth, filename, data, message):
    if filename == "notes.docx":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("word/document.xml", "<document/>")
        data = buffer.getvalue()
    elif filename == "corrupt.xlsx":
        data = xlsx([VOLUNTEER_HEADERS, ["张三", "13900000000"]])[:1500]
    elif filename == "bomb.xlsx":
        data = _zip_bomb()
    auth.as_role(Role.CLERK)
    before, audits = _counts(), AuditLog.select().count()
    response = upload(client, "volunteer", data, filename)
    if response.status_code == 303:  # stored, then refused by the check
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        job = ImportJob.select().order_by(ImportJob.id.desc()).get()
        assert job.status == ImportStatus.FAILED
        assert message in job.message and message in page
    else:
        assert response.status_code == 400
        assert message in " ".join(flashes_of(response.get_data(as_text=True)))
    assert _counts() == before and AuditLog.select().where(AuditLog.entity != "ImportJob").count() == audits


def test_a_20_mb_file_is_refused_before_it_is_read(client, auth, app):
    auth.as_role(Role.CLERK)
    response = upload(client, "volunteer", b"a,b\n" * (5 * 1024 * 1024), "big.csv")
    assert response.status_code == 413
    assert "不能超过 10 MB" in response.get_data(as_text=True)
    assert ImportJob.select().count() == 0


def test_formulas_long_cells_and_wrong_values_are_problems_with_row_and_column(client, auth):
    f.make_team(name="红石榴志愿服务队")
    auth.as_role(Role.CLERK)
    long_text = "长" * 100_000
    rows = [VOLUNTEER_HEADERS,
            ["=HYPERLINK(\"http://evil\",\"点我\")", "13900000001", None, None, "是", None, None, "在队"],
            ["王芳", "13900000002", None, None, "也许", long_text, "2026-13-45", "在职"],
            [None, "13900000003", None, None, None, None, None, None],
            ["李四", "=A1", None, None, None, None, None, None]]
    job, html = upload_and_check(client, "volunteer", xlsx(rows))
    found = problems(html)
    assert [(r, c) for r, c, _ in found] == [(2, "姓名"), (3, "党员"), (3, "特长技能"), (3, "加入日期"),
                                             (3, "状态"), (4, "姓名"), (5, "手机号")], found
    assert "是公式" in found[0][2] and "不计算公式" in found[0][2]
    assert "应填写“是”或“否”" in found[1][2]
    assert "最多 200 个字" in found[2][2]  # openpyxl keeps Excel's 32,767 characters of a cell
    assert "不是有效日期" in found[3][2]
    assert "不在可选列表中（可选：在队、已退出）" in found[4][2]
    assert "缺少必填值" in found[5][2]
    assert Volunteer.select().count() == 0
    assert len(html) < 200_000, "a 100k-character cell is not echoed back"


def test_a_cell_longer_than_excel_allows_is_a_problem_not_echoed(client, auth):
    auth.as_role(Role.CLERK)
    job, html = upload_and_check(client, "volunteer", csv_bytes([["姓名", "手机号", "特长技能"],
                                                                 ["王芳", "13900000002", "长" * 100_000]]), "a.csv")
    assert problems(html) == [(2, "特长技能", "「特长技能」内容过长（100,000 个字），超过表格单元格上限 32,767 个字")]
    assert len(html) < 100_000 and Volunteer.select().count() == 0


@pytest.mark.parametrize("rows, message", [
    ([["名字", "电话"], ["张三", "13900000000"]], "第一行不是志愿者表的表头"),
    ([["姓名", "手机号", "年龄"], ["张三", "13900000000", 30]], "无法识别的列：年龄"),
    ([["姓名", "服务队"], ["张三", "红石榴志愿服务队"]], "缺少必填列：手机号"),
    ([["姓名", "手机号", "姓名"], ["张三", "13900000000", "张三"]], "「姓名」出现了两次"),
    ([["姓名", "手机号"]], "只有表头，没有数据行"),
    ([[None, None], [None]], "表格是空的"),
], ids=["wrong", "unknown", "missing", "duplicate", "header-only", "blank"])
def test_wrong_or_missing_headers_are_explained(client, auth, rows, message):
    auth.as_role(Role.CLERK)
    job, html = upload_and_check(client, "volunteer", xlsx(rows))
    assert job.status == ImportStatus.FAILED
    assert message in job.message and message in html
    assert Volunteer.select().count() == 0


def test_a_sheet_with_a_million_empty_rows_is_refused_quickly(client, auth):
    auth.as_role(Role.CLERK)
    data = _empty_rows_xlsx(1_000_000)
    assert len(data) < 5 * 1024 * 1024
    job, html = upload_and_check(client, "volunteer", data)
    assert job.status == ImportStatus.FAILED
    assert "表格超过 100,000 行（空行也计算在内）" in job.message
    assert Volunteer.select().count() == 0


def test_declared_dimensions_do_not_matter_and_blank_rows_are_skipped(client, auth):
    auth.as_role(Role.CLERK)
    job, html = upload_and_check(client, "volunteer", _empty_rows_xlsx(5000))
    assert summary(html) == {"created": 1, "updated": 0, "unchanged": 0}


# --- who may import, and the job's life ------------------------------------------------------------

def test_who_may_import(client, auth):
    job = f.make_import_job()
    for url in ("/admin/volunteer/import/", "/admin/volunteer/import/template.xlsx", f"/admin/volunteer/import/{job.id}/"):
        assert client.get(url).status_code == 302  # anonymous: to the login page
    auth.as_role(Role.UNIT)
    for url in ("/admin/volunteer/import/", "/admin/volunteer/import/template.xlsx", f"/admin/volunteer/import/{job.id}/"):
        assert client.get(url).status_code == 403
    assert client.post(f"/admin/volunteer/import/{job.id}/confirm").status_code == 403
    auth.logout()
    auth.as_role(Role.CLERK)
    assert client.get("/admin/claim/import/").status_code == 404  # claims are not imported
    assert client.get(f"/admin/member_unit/import/{job.id}/").status_code == 404  # a volunteer job
    assert client.get("/admin/volunteer/import/999999/").status_code == 404
    assert client.post(f"/admin/volunteer/import/{job.id}/confirm").status_code == 403  # another clerk's upload


def test_the_preview_and_the_confirmation_may_be_served_by_different_servers(app, client, auth, database_url):
    """The file lives in the database: a second app (another server) confirms what the first checked."""
    from app import create_app

    f.make_team(name="红石榴志愿服务队")
    clerk = auth.as_role(Role.CLERK)
    job, html = upload_and_check(client, "volunteer", csv_bytes([["姓名", "手机号", "服务队"], ["张三", "13900000001", "红石榴志愿服务队"]]), "a.csv")
    assert job.status == ImportStatus.READY
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": app.config["SECRET_KEY"],
                        "WTF_CSRF_ENABLED": False})
    other_client = other.test_client()
    other_client.post("/login", data={"username": clerk.username, "password": f.PASSWORD})
    response = other_client.post(f"/admin/volunteer/import/{job.id}/confirm")
    assert response.status_code == 303
    assert ImportJob.get_by_id(job.id).status == ImportStatus.APPLIED
    assert Volunteer.get(Volunteer.phone == "13900000001").team.name == "红石榴志愿服务队"
    other.extensions["database"].close()
    db.initialize(app.extensions["database"])  # back to the first app's handle for teardown


def test_a_confirmed_import_cannot_be_confirmed_again_and_cancel_keeps_the_file(client, auth):
    auth.as_role(Role.CLERK)
    job, _ = upload_and_check(client, "volunteer", csv_bytes([["姓名", "手机号"], ["张三", "13900000001"]]), "a.csv")
    confirm(client, "volunteer", job)
    response = client.post(f"/admin/volunteer/import/{job.id}/confirm")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "不能再次确认" in " ".join(flashes_of(html))
    assert Volunteer.select().count() == 1

    second, _ = upload_and_check(client, "volunteer", csv_bytes([["姓名", "手机号"], ["李四", "13900000002"]]), "b.csv")
    response = client.post(f"/admin/volunteer/import/{second.id}/cancel")
    assert response.status_code == 303
    second = ImportJob.get_by_id(second.id)
    assert second.status == ImportStatus.CANCELLED and bytes(second.data).startswith(b"\xef\xbb\xbf")
    assert client.post(f"/admin/volunteer/import/{second.id}/confirm").status_code == 303
    assert Volunteer.select().count() == 1


def test_data_changed_after_the_preview_is_caught_at_confirmation(client, auth):
    team = f.make_team(name="临时服务队")
    auth.as_role(Role.CLERK)
    rows = [["姓名", "手机号", "服务队"], ["张三", "13900000001", "临时服务队"], ["李四", "13900000002", None]]
    job, html = upload_and_check(client, "volunteer", csv_bytes(rows), "a.csv")
    assert summary(html) == {"created": 2, "updated": 0, "unchanged": 0}
    f.make_volunteer(name="李四", phone="13900000002")  # someone added him by hand meanwhile
    team.delete_instance()  # and the team is gone
    job, html = confirm(client, "volunteer", job)
    assert job.status == ImportStatus.PROBLEMS
    assert "数据有了变化" in job.message
    assert problems(html)[0][:2] == (2, "服务队")
    assert Volunteer.select().count() == 1, "all or nothing"


def test_a_failure_half_way_rolls_everything_back(client, auth, monkeypatch):
    auth.as_role(Role.CLERK)
    rows = [["姓名", "手机号"]] + [[f"人{i}", f"139{i:08d}"] for i in range(1200)]
    job, _ = upload_and_check(client, "volunteer", csv_bytes(rows), "a.csv")
    calls = {"n": 0}
    original = imports.Writer.flush_audit

    def failing(self):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(self)

    monkeypatch.setattr(imports.Writer, "flush_audit", failing)
    job, html = confirm(client, "volunteer", job)
    assert job.status == ImportStatus.FAILED and "已全部撤销" in job.message
    assert Volunteer.select().count() == 0 and AuditLog.select().where(AuditLog.action == "import_create").count() == 0


# --- large files: in the background, with progress -----------------------------------------------------

def test_a_large_file_is_checked_and_imported_in_the_background_with_progress(app, client, auth):
    app.config["IMPORT_INLINE_BYTES"] = 0
    auth.as_role(Role.CLERK)
    rows = [["姓名", "手机号"]] + [[f"人{i}", f"139{i:08d}"] for i in range(3000)]
    response = upload(client, "volunteer", csv_bytes(rows), "big.csv")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    imports.wait_for_background()
    job = ImportJob.select().get()
    if job.status == ImportStatus.CHECKING:  # pragma: no cover - the thread outran the page
        assert 'http-equiv="refresh"' in page and "<progress" in page
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert summary(page) == {"created": 3000, "updated": 0, "unchanged": 0}
    assert 'http-equiv="refresh"' not in page
    status = client.get(f"/admin/volunteer/import/{job.id}/status.json").get_json()
    assert status["status"] == "ready" and status["processed"] == 3000 and status["created"] == 3000
    client.post(f"/admin/volunteer/import/{job.id}/confirm")
    imports.wait_for_background()
    assert ImportJob.get_by_id(job.id).status == ImportStatus.APPLIED
    assert Volunteer.select().count() == 3000


def test_the_progress_page_refreshes_while_a_job_runs(client, auth):
    auth.as_role(Role.CLERK)
    job = f.make_import_job(status=ImportStatus.CHECKING, processed_rows=1200, heartbeat_at=now())
    page = client.get(f"/admin/volunteer/import/{job.id}/").get_data(as_text=True)
    assert 'http-equiv="refresh" content="2"' in page
    assert "已处理 <span id=\"processed\">1,200</span> 行" in page
    assert '<progress class="w-100" value="1200"' in page


def test_a_job_whose_worker_died_is_taken_over(client, auth):
    auth.as_role(Role.CLERK)
    stale = now() - dt.timedelta(minutes=10)
    job = f.make_import_job(status=ImportStatus.CHECKING, heartbeat_at=stale, attempt=1)
    page = client.get(f"/admin/volunteer/import/{job.id}/").get_data(as_text=True)
    imports.wait_for_background()
    job = ImportJob.get_by_id(job.id)
    assert job.status == ImportStatus.READY and job.attempt == 2, (job.status, page[:200])
    applying = f.make_import_job(status=ImportStatus.APPLYING, heartbeat_at=now() - dt.timedelta(hours=1), attempt=3)
    client.get(f"/admin/volunteer/import/{applying.id}/")
    applying = ImportJob.get_by_id(applying.id)
    assert applying.status == ImportStatus.READY and "被中断" in applying.message


def test_phones_and_dates_are_read_as_people_write_them(client, auth):
    auth.as_role(Role.CLERK)
    rows = [["姓名", "手机号", "加入日期"],
            ["张三", "+86 139-0482-9999", "2025/3/1"],
            ["李四", "１３９０４８２８８８８", "2025年3月2日"],
            ["王五", 13904827777, dt.datetime(2025, 3, 3)],
            ["赵六", "0482-8234567", "2025-03-04"],
            ["钱七", "13904826666", "1899-12-31"]]
    job, html = upload_and_check(client, "volunteer", xlsx(rows))
    found = problems(html)
    assert [(r, c) for r, c, _ in found] == [(5, "手机号"), (6, "加入日期")], found
    assert "请输入有效的手机号" in found[0][2] and "1900-01-01 至 2100-12-31" in found[1][2]
    job, html = upload_and_check(client, "volunteer", xlsx(rows[:4]))
    confirm(client, "volunteer", job)
    assert sorted(v.phone for v in Volunteer.select()) == ["13904827777", "13904828888", "13904829999"]
    assert Volunteer.get(Volunteer.name == "李四").joined_on == dt.date(2025, 3, 2)
