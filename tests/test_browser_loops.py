"""The loops as people live them, in real Chromium against real gunicorn, under the
Content-Security-Policy: a clerk dispatches an order to a unit (admin, 1280 px); the unit
sees it on /my on a 390 px phone, accepts it and reports the result with a photo; the clerk
sees it 已办结. The unit organises an event, checks people in from its phone and closes
attendance; each volunteer sees the hours and points on /me and a notice in the bell."""
import datetime as dt
import re
import shutil

import pytest
from PIL import Image

from models import EntryKind, OrderStatus, PointsEntry, Role, Signup, SignupStatus, WorkOrder, db, now

from . import factories as f
from .live import live_server
from .test_browser_csp import ARGS, CHROMIUM, Watcher

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make system-deps)"),
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


def login(page, base, username, lands_on):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


def context_for(browser, viewport):
    """A browser context watched for CSP violations and errors (the site has no favicon)."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    return context, Watcher(context)


def image_shown(page, selector):
    """The first image matching selector is decoded with a real width. It is scrolled into view
    first (list images load lazily, so one below the fold of a phone has no pixels yet) and
    waited for, since a page's load event does not wait for lazy images."""
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector, timeout=10_000)
    return page.evaluate("sel => document.querySelector(sel).naturalWidth", selector)


def no_sideways_scroll(page, where):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{where} is {width}px wide at 390px"


def test_a_unit_and_its_volunteers_work_their_loops_on_phones(app, database_url, tmp_path, artifacts):
    from playwright.sync_api import sync_playwright

    unit = f.make_unit(name="红浦社区卫生服务站", contact="王主任")
    f.make_user(role=Role.UNIT, username="weisheng", unit=unit)
    f.make_user(role=Role.CLERK, username="clerk-loops")
    order = f.make_work_order(description="和平街12号楼道灯不亮，老人夜里摔倒过", requester_phone="13904829999",
                              due_at=now() + dt.timedelta(days=2))
    start = now().replace(second=0) - dt.timedelta(minutes=30)
    event = f.make_event(title="健康义诊进小区", organiser=unit, starts_at=start, points=3, capacity=20)
    people = []
    for name, phone, username in (("王秀兰", "13904825551", "wangxl"), ("巴特尔", "13904825552", "bateer")):
        volunteer = f.make_volunteer(name=name, phone=phone)
        f.make_user(role=Role.VOLUNTEER, username=username, volunteer=volunteer)
        people.append((volunteer, username, f.make_signup(event=event, name=name, phone=phone, volunteer=volunteer)))
    photo = tmp_path / "result.jpg"
    Image.new("RGB", (1200, 900), (200, 120, 40)).save(photo, "JPEG")
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=2, log_dir=tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # --- the clerk dispatches the order to the unit (admin, desktop) -------------------------
            desk, desk_watch = context_for(browser, DESK)
            clerk = desk.new_page()
            login(clerk, base, "clerk-loops", "/admin/")
            clerk.goto(f"{base}/admin/work_order/")
            clerk.click(f"a[href^='/admin/work_order/move/{order.id}?action=dispatch']")
            clerk.select_option("select#unit", label="红浦社区卫生服务站")
            clerk.click("text=确认派单")
            clerk.wait_for_url(re.compile(rf"{re.escape(base)}/admin/work_order/.*"))
            assert "已派单" in clerk.inner_text("body")
            desk_watch.check(clerk, "dispatch")

            # --- the unit on its phone: /my, accept, report with a photo ------------------------------
            phone, phone_watch = context_for(browser, PHONE)
            unit_page = phone.new_page()
            login(unit_page, base, "weisheng", "/my")
            main = unit_page.inner_text("main")
            assert order.number in main and "楼道灯不亮" in main
            assert "待办 1" in unit_page.inner_text("header")  # the order
            assert "1 条未读" in unit_page.locator("[data-testid=bell]").get_attribute("aria-label")
            no_sideways_scroll(unit_page, "/my")
            unit_page.screenshot(path=str(artifacts / "loops-my-390.png"), full_page=True)
            unit_page.click(f"a[href='/my/orders/{order.id}']")
            unit_page.click("text=签收办理")
            unit_page.wait_for_url(f"{base}/my/orders/{order.id}")
            assert "已签收工单" in unit_page.inner_text("main")
            unit_page.fill("textarea[name=result]", "已更换 3 盏楼道灯，并加装声控开关，已电话告知居民。")
            unit_page.set_input_files("input[name=photos]", str(photo))
            no_sideways_scroll(unit_page, "order page")
            unit_page.click("text=上报结果，办结工单")
            unit_page.wait_for_url(f"{base}/my/orders/{order.id}")
            assert "已办结" in unit_page.inner_text("main")
            assert image_shown(unit_page, "img[alt^='办理结果照片']") > 0
            unit_page.screenshot(path=str(artifacts / "loops-order-resolved-390.png"), full_page=True)
            phone_watch.check(unit_page, "order")

            # --- the clerk sees it 已办结, with the photo -----------------------------------------------
            clerk.goto(f"{base}/admin/work_order/details/?id={order.id}")
            details = clerk.inner_text("body")
            assert "已办结" in details and "已更换 3 盏楼道灯" in details
            assert image_shown(clerk, "img.result-thumb") > 0
            clerk.screenshot(path=str(artifacts / "loops-admin-resolved-1280.png"), full_page=True)
            desk_watch.check(clerk, "details")

            # --- the unit checks people in from its phone and closes attendance ----------------------
            (_, _, first), (_, _, second) = people
            unit_page.goto(f"{base}/my")
            unit_page.click(f"a[href='/my/events/{event.id}']")
            unit_page.fill("input[name=code]", first.code)
            unit_page.click("text=确认签到")
            unit_page.wait_for_url(f"{base}/my/events/{event.id}")
            assert "王秀兰 签到成功" in unit_page.inner_text("main")
            unit_page.click(f"[data-signup='{second.id}'] button:has-text('签到')")
            unit_page.wait_for_url(f"{base}/my/events/{event.id}")
            assert "巴特尔 签到成功" in unit_page.inner_text("main")
            no_sideways_scroll(unit_page, "roster")
            unit_page.screenshot(path=str(artifacts / "loops-roster-390.png"), full_page=True)
            unit_page.click("text=结束考勤，计入 2 人的时长和积分")
            unit_page.wait_for_url(f"{base}/my/events/{event.id}")
            assert "考勤已结束：为 2 人计入时长和积分" in unit_page.inner_text("main")
            phone_watch.check(unit_page, "attendance")

            # --- each volunteer sees the hours, the points and the notice ------------------------------
            for volunteer, username, _ in people:
                mine, watch = context_for(browser, PHONE)
                page = mine.new_page()
                login(page, base, username, "/me")
                assert page.inner_text("[data-testid=balance]") == "3"
                assert page.inner_text("[data-testid=hours]") == "2.00"
                assert "参加活动“健康义诊进小区”" in page.inner_text("main")
                assert "记录单位：红浦社区卫生服务站" in page.inner_text("main")
                assert "1 条未读" in page.locator("[data-testid=bell]").get_attribute("aria-label")
                no_sideways_scroll(page, "/me")
                page.screenshot(path=str(artifacts / f"loops-me-{username}-390.png"), full_page=True)
                page.click("[data-testid=bell]")
                page.wait_for_url(f"{base}/notices")
                assert "服务时长和积分已计入：健康义诊进小区" in page.inner_text("main")
                watch.check(page, "notices")
                mine.close()
        finally:
            browser.close()

    db.connect(reuse_if_open=True)
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.RESOLVED
    assert {s.status for s in Signup.select()} == {SignupStatus.CHECKED_IN}
    entries = list(PointsEntry.select())
    assert len(entries) == 2 and {(e.kind, e.points, e.organiser_id) for e in entries} == {
        (EntryKind.EARNED, 3, unit.id)}
