"""In real Chromium: a clerk imports volunteers (template → three problems → fixed → 300
created), and types dates into the event form without the old corruption."""
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from werkzeug.security import generate_password_hash

from models import Event, Role, UnitStatus, User, Volunteer, db

from . import factories as f
from .live import live_server
from .sheetkit import xlsx

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-imports-5"
DESKTOP = {"width": 1280, "height": 900}


def _clerk():
    return User.create(username="luru", display_name="录入员", role=Role.CLERK,
                       password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))


def _login(page, base, user, target):
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


# records Content-Security-Policy violations in every document (the pages run under the CSP)
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def _violations(page):
    return page.evaluate("window.__violations || []")


def _close_db():
    if not db.is_closed():
        db.close()


def test_clerk_imports_volunteers_through_the_preview_in_chromium(app, database_url, tmp_path, artifacts):
    playwright_api = pytest.importorskip("playwright.sync_api")
    teams = [f.make_team(name=n) for n in ("红石榴志愿服务队", "银发互助队")]
    f.make_grid(name="第1网格")
    clerk = _clerk()
    _close_db()
    errors = []
    with live_server(database_url, workers=2, log_dir=tmp_path) as base, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
            page.add_init_script(WATCH)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _login(page, base, clerk, "/admin/volunteer/")
            page.click("#import-link")
            page.wait_for_url(f"{base}/admin/volunteer/import/")
            with page.expect_download() as download:
                page.click("#template-link")
            assert download.value.suggested_filename.endswith(".xlsx")
            template = load_workbook(io.BytesIO(download.value.path().read_bytes()))
            header = [c.value for c in template.worksheets[0][1]]
            assert header[:3] == ["姓名", "手机号", "服务队"] and template.sheetnames[1] == "填写说明"

            rows = [[f"志愿者{i:03d}", f"139{i:08d}", teams[i % 2].name, "第1网格", "否", None, "2025-03-01", "在队"]
                    for i in range(300)]
            rows[4][2] = "第3服务队"
            rows[20][1] = "12345678"
            rows[30][0] = None
            path = tmp_path / "志愿者名册.xlsx"
            path.write_bytes(xlsx([header[:8]] + rows))
            page.set_input_files("#import-file", str(path))
            page.click("#import-form button[type=submit]")
            page.wait_for_selector("#import-problems")
            cells = page.locator("#import-problems tbody tr").all_inner_texts()
            assert [c.split("\t")[:2] for c in cells] == [["第 6 行", "服务队"], ["第 22 行", "手机号"], ["第 32 行", "姓名"]]
            assert "「第3服务队」在系统中不存在" in cells[0]
            assert page.locator("#confirm-form").count() == 0, "no confirmation while problems remain"
            page.screenshot(path=str(artifacts / "import-problems.png"), full_page=True)

            rows[4][2], rows[20][1], rows[30][0] = teams[0].name, "13812345678", "补上的姓名"
            path.write_bytes(xlsx([header[:8]] + rows))
            page.goto(f"{base}/admin/volunteer/import/")
            page.set_input_files("#import-file", str(path))
            page.click("#import-form button[type=submit]")
            page.wait_for_selector("#import-summary")
            assert "300 新增 / 0 修改 / 0 未变" in " ".join(page.inner_text("#import-summary").split())
            page.screenshot(path=str(artifacts / "import-preview.png"), full_page=True)
            assert _violations(page) == []
            page.click("#confirm-form button[type=submit]")
            page.wait_for_selector("text=已导入：")
            assert "导入完成：新增 300 条" in page.content()
            page.goto(f"{base}/admin/volunteer/print/?search=志愿者00")
            assert page.locator("#print-table tbody tr").count() == 10 and _violations(page) == []
        finally:
            browser.close()
    assert errors == []
    db.connect(reuse_if_open=True)
    assert Volunteer.select().count() == 300
    assert Volunteer.get(Volunteer.phone == "13812345678").name == "志愿者020"


def test_typed_dates_and_the_picker_fill_the_event_form_in_chromium(app, database_url, tmp_path, artifacts):
    playwright_api = pytest.importorskip("playwright.sync_api")
    clerk = _clerk()
    f.make_unit(name="红浦小学")
    f.make_unit(name="已经退出的单位", status=UnitStatus.WITHDRAWN)
    view = next(v for v in app.extensions["alliance_admin"]._views if getattr(v, "endpoint", "") == "event")
    index = next(i for i, flt in enumerate(view._filters)
                 if flt.name == "开始时间" and type(flt).__name__ == "DateTimeGreaterFilter")
    after = view.get_filter_arg(index, view._filters[index])
    _close_db()
    errors = []
    with live_server(database_url, workers=2, log_dir=tmp_path) as base, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
            page.add_init_script(WATCH)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _login(page, base, clerk, "/admin/event/new/")
            page.fill("#title", "冬至包饺子")
            page.select_option("#category", "neighbourhood")
            start = page.locator("input[name=starts_at]")
            start.click()
            start.press_sequentially("2026-12-01 09:00", delay=40)  # key by key, as a clerk types
            page.keyboard.press("Tab")
            assert start.input_value() == "2026-12-01 09:00"
            assert page.locator(".daterangepicker:visible").count() == 0

            # the picker button opens the browser's own date-time input; choosing fills the box
            button = page.locator("input[name=ends_at] ~ .picker-button")
            assert button.inner_text() == "选择时间"
            button.click()
            native = page.locator("input[name=ends_at] ~ input.picker-native")
            assert native.get_attribute("type") == "datetime-local"
            native.fill("2026-12-01T11:30")
            native.dispatch_event("change")
            assert page.locator("input[name=ends_at]").input_value() == "2026-12-01 11:30"

            organiser = page.locator("select[name=organiser]")
            labels = organiser.locator("option").all_inner_texts()
            assert "红浦小学" in labels and not any("已退出" in label for label in labels)
            page.locator(".ranked-reveal input").check()
            assert any("已经退出的单位（已退出）" in label for label in organiser.locator("option").all_inner_texts())

            page.fill("#location", "社区食堂")
            assert _violations(page) == []
            page.screenshot(path=str(artifacts / "event-form-dates.png"), full_page=True)
            page.click("input[type=submit][value='保存']")
            page.wait_for_url(f"{base}/admin/event/**")

            # the list's date filters: the same box, a minute typed is taken (seconds added)
            page.goto(f"{base}/admin/event/?flt0_{after}=2026-11-01+00:00:00")
            box = page.locator("input.filter-val[data-picker-ready]")
            assert box.count() == 1 and page.locator(".daterangepicker:visible").count() == 0
            box.fill("")
            box.press_sequentially("2026-12-01 08:00", delay=20)
            box.press("Tab")
            assert box.input_value() == "2026-12-01 08:00:00"
            page.click("#filter_form button[type=submit]")
            page.wait_for_load_state()
            assert "冬至包饺子" in page.content() and "筛选条件的值无效" not in page.content()
            assert _violations(page) == []
        finally:
            browser.close()
    assert errors == []
    db.connect(reuse_if_open=True)
    event = Event.get(Event.title == "冬至包饺子")
    assert (event.starts_at, event.ends_at) == (dt.datetime(2026, 12, 1, 9, 0), dt.datetime(2026, 12, 1, 11, 30))

