"""The admin and the public site work in real Chromium under our Content-Security-Policy
(no inline script, no inline handlers): every `securitypolicyviolation` event, console error
and page error on the way is collected, and there must be none. Each widget that Flask-Admin
used to drive with an inline handler or an inline script is used, not only loaded."""
import datetime as dt
import re
import shutil

import pytest

from models import Claim, ClaimStatus, Grid, Line, Role, Signup, db, now

from . import factories as f
from .live import live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make system-deps)"),
]

# Runs in every document before the page's own scripts; Playwright injects it outside the
# page's CSP. It records violations and replaces window.print (a dialog headless cannot show).
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' @' + e.lineNumber);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""


class Watcher:
    """Everything that went wrong in the browser, page by page."""

    def __init__(self, context):
        self.problems = []
        self.dialogs = []
        self.answer = False
        context.add_init_script(WATCH)
        context.on("page", self.attach)

    def attach(self, page):
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console on {page.url}: {m.text} ({m.location.get('url')})"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("dialog", self.dialog)

    def dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.accept() if self.answer else dialog.dismiss()

    def check(self, page, where):
        violations = page.evaluate("window.__violations")
        self.problems += [f"{where}: CSP {v}" for v in violations]
        assert self.problems == [], self.problems


def alliance():
    grid = f.make_grid(name="第十二网格")
    unit = f.make_unit(name="兴安盟红十字会", grid=grid)
    admin = f.make_user(role=Role.ADMIN, username="csp-admin")
    unit_user = f.make_user(role=Role.UNIT, username="csp-unit", unit=unit)
    project = f.make_project(title="银发关爱·独居老人助餐服务", grid=grid, slots=3, line=Line.LIVELIHOOD)
    for i in range(3):
        f.make_claim(project=f.make_project(title=f"楼道微改造第{i + 1}期", line=Line.PROPERTY),
                     status=ClaimStatus.CONFIRMED if i else ClaimStatus.PENDING)
    start = now().replace(hour=9, minute=30, second=0) + dt.timedelta(days=3)
    event = f.make_event(title="石榴籽邻里节", starts_at=start, capacity=20, organiser=unit)
    f.make_event(title="往期义诊", starts_at=start - dt.timedelta(days=20))
    volunteer = f.make_volunteer(name="王秀兰")
    return {"admin": admin, "unit_user": unit_user, "project": project, "event": event, "grid": grid,
            "volunteer": volunteer}


def login(page, base, username, lands_on):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


def test_admin_and_public_pages_work_under_the_policy(app, database_url, tmp_path, artifacts):
    from playwright.sync_api import sync_playwright

    data = alliance()
    event, project = data["event"], data["project"]
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=2, log_dir=tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                          timezone_id="Asia/Shanghai")
            watch = Watcher(context)
            page = context.new_page()

            # the detector works: an injected inline handler is blocked and reported (in a
            # browser context of its own, whose console the watcher does not read)
            probe_context = browser.new_context()
            probe_context.add_init_script(WATCH)
            probe = probe_context.new_page()
            probe.goto(f"{base}/calendar")
            probe.evaluate("document.body.insertAdjacentHTML('beforeend', "
                           "'<img src=\"data:image/png;base64,AAAA\" onerror=\"window.__pwned = 1\">')")
            probe.wait_for_function("window.__violations.length > 0")
            assert probe.evaluate("window.__pwned") is None
            assert "script-src" in probe.evaluate("window.__violations")[0]
            probe_context.close()

            # --- public: calendar, event, sign-up ------------------------------------------------
            page.goto(f"{base}/calendar?view=list")
            watch.check(page, "calendar")
            page.click(f"a[href='/events/{event.id}']")
            page.wait_for_url(f"{base}/events/{event.id}")
            watch.check(page, "event")
            page.fill("#signup input[name=name]", "李梅")
            page.fill("#signup input[name=phone]", "13812340001")
            page.click("#signup button[type=submit]")
            page.wait_for_url(f"{base}/events/{event.id}/signups/*")
            assert "报名成功" in page.inner_text("main")
            watch.check(page, "signed up")
            page.screenshot(path=str(artifacts / "csp-signed-up.png"), full_page=True)

            # --- a partner unit claims a project ---------------------------------------------------
            login(page, base, "csp-unit", "/my")
            page.goto(f"{base}/projects/{project.id}")
            watch.check(page, "project")
            page.fill("textarea[name=plan]", "组织本会志愿者每周上门探访。")
            page.click("text=提交认领")
            page.wait_for_url(f"{base}/my/claims")
            watch.check(page, "my claims")
            page.click("a.button:has-text('查看详情')")
            page.wait_for_url(re.compile(rf"{re.escape(base)}/my/claims/\d+$"))
            assert "撤回认领" in page.inner_text("main")
            watch.check(page, "claim")
            page.goto(f"{base}/account/password")
            watch.check(page, "password page")
            page.click("text=退出")
            page.wait_for_url(f"{base}/login")

            # --- admin: dashboard charts -------------------------------------------------------------
            login(page, base, "csp-admin", "/admin/")
            page.goto(f"{base}/admin/")
            page.wait_for_function("window.Chart && ['chart-claims', 'chart-events', 'chart-hours']"
                                   ".every(function (id) { return Chart.getChart(id); })")
            watch.check(page, "dashboard")
            page.screenshot(path=str(artifacts / "csp-dashboard.png"), full_page=True)

            # --- admin list: menus, filters, delete confirmation, bulk actions ------------------------
            page.goto(f"{base}/admin/event/")
            watch.check(page, "event list")
            page.click("nav >> text=系统")  # a stock menu toggle (href="javascript:void(0)")
            page.wait_for_selector("a[href='/admin/login_attempt/']", state="visible")
            page.click("a.dropdown-toggle:has-text('条/页')")  # the page-size menu, another stock toggle
            page.wait_for_selector("text=每页 50 条", state="visible")
            page.click("a.dropdown-toggle:has-text('导出')")
            page.wait_for_selector("text=导出 CSV", state="visible")
            assert page.url == f"{base}/admin/event/"
            watch.check(page, "menus")
            page.click("text=添加筛选")
            page.click(".field-filters a.filter:has-text('类别')")
            page.wait_for_selector("table.filters tr")
            page.click("table.filters .select2-container >> nth=-1")  # the filter's select2 value picker
            page.wait_for_selector(".select2-drop-active .select2-result")
            page.keyboard.press("Escape")
            assert page.url == f"{base}/admin/event/"  # the menu item did not navigate
            watch.check(page, "filters")

            rows_before = page.locator("table.model-list tbody tr").count()
            page.click("table.model-list tbody tr >> nth=0 >> button[title]")  # the trash icon
            assert watch.dialogs and "删除" in watch.dialogs[-1]
            page.wait_for_timeout(300)
            assert page.url == f"{base}/admin/event/"  # dismissed: nothing was posted
            assert page.locator("table.model-list tbody tr").count() == rows_before

            page.check("table.model-list tbody tr >> nth=0 >> input.action-checkbox")
            page.click("a.dropdown-toggle:has-text('选中的')")
            asked = len(watch.dialogs)
            page.click(".dropdown-menu a[data-model-action=delete]")
            assert len(watch.dialogs) == asked + 1  # the bulk action ran and asked first
            watch.check(page, "actions")

            # --- admin edit form: select2 and the date-time picker ------------------------------------
            # (a typed box with a button opening the browser's own picker, static/js/admin-forms.js;
            # bootstrap-daterangepicker rewrote half-typed dates and is no longer attached)
            page.goto(f"{base}/admin/event/edit/?id={event.id}")
            page.fill("input#starts_at", "2026-12-01 09:00")
            page.click("input#starts_at ~ .picker-button")
            page.keyboard.press("Escape")
            assert page.input_value("input#starts_at") == "2026-12-01 09:00"
            watch.check(page, "event edit")
            page.screenshot(path=str(artifacts / "csp-event-edit.png"), full_page=True)

            # the search-as-you-type picker (select2) asks the server (connect-src 'self')
            page.goto(f"{base}/admin/signup/new/")
            page.click("#s2id_event a.select2-choice")
            page.keyboard.type("邻里")
            page.wait_for_selector(f".select2-drop-active .select2-result:has-text('{event.title}')")
            page.keyboard.press("Escape")
            watch.check(page, "sign-up form")

            # --- the printable statement -----------------------------------------------------------------
            page.goto(f"{base}/admin/points-bank/volunteer/{data['volunteer'].id}/statement")
            page.click("text=打印")
            assert page.evaluate("window.__printed") == 1
            watch.check(page, "statement")

            # a list whose delete really runs, confirmed this time
            watch.answer = True
            page.goto(f"{base}/admin/grid/")
            with page.expect_navigation():
                page.click("table.model-list tbody tr >> nth=0 >> button[title]")
            assert "无法删除" in page.inner_text("body")
            watch.check(page, "grid delete")
        finally:
            browser.close()

    db.connect(reuse_if_open=True)
    assert Signup.select().where(Signup.event == event.id).count() == 1
    assert Claim.select().where(Claim.project == project.id).count() == 1
    # the grid still has a unit: the confirmed delete reached the server and was refused there
    assert Grid.select().where(Grid.id == data["grid"].id).exists()
