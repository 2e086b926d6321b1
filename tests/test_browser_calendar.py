"""A visitor in real Chromium: calendar → next month → event → sign up, on a phone and a desktop."""
import datetime as dt
import shutil

import pytest

from models import Signup, SignupStatus, now

from . import factories as f
from .live import live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make system-deps)"),
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def next_month_event():
    today = now().date()
    first_next = (today.replace(day=28) + dt.timedelta(days=7)).replace(day=1)
    start = dt.datetime.combine(first_next.replace(day=16), dt.time(9, 30))
    f.make_event(title="本月邻里节百家宴", starts_at=dt.datetime.combine(today, dt.time(23, 0)))
    f.make_event(title="下月义诊（已取消）", starts_at=start - dt.timedelta(days=2), status="cancelled")
    return f.make_event(title="民族文化市集·石榴籽手工坊（名额有限，报满即止，欢迎邻里踊跃参加）",
                        starts_at=start, ends_at=start + dt.timedelta(hours=3), capacity=1,
                        location="红浦社区党群服务中心一楼多功能厅", category="ethnic_market",
                        description="剪纸、刺绣、奶茶品鉴。\n请自带水杯。")


# (viewport width, phone, the status the sign-up gets: the event has one place)
VISITS = ((390, "13812340001", SignupStatus.REGISTERED), (1280, "13812340002", SignupStatus.WAITLISTED))


def test_visitor_signs_up_on_a_phone_then_desktop(app, database_url, browser, artifacts):
    event = next_month_event()
    with live_server(database_url, workers=2, log_dir=artifacts) as base:
        for size, number, status in VISITS:
            context = browser.new_context(viewport={"width": size, "height": 844 if size == 390 else 900},
                                          locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            page.goto(base + "/calendar")
            assert page.locator("h1").inner_text() == "活动日历"
            today = page.locator('[aria-current="date"]')
            assert today.count() == 1 and today.is_visible() and "今天" in today.inner_text()
            assert no_horizontal_scroll(page), f"horizontal scroll at {size}px on the calendar"
            page.screenshot(path=str(artifacts / f"calendar-month-{size}.png"), full_page=True)

            page.get_by_role("link", name="下个月 ›").click()
            page.wait_for_load_state()
            assert "month=" in page.url
            link = page.locator(".cal-grid").get_by_role("link", name="石榴籽手工坊")
            assert link.count() == 1 and link.is_visible()
            assert page.locator(".is-cancelled").first.is_visible()
            assert no_horizontal_scroll(page), f"horizontal scroll at {size}px on next month"
            page.screenshot(path=str(artifacts / f"calendar-next-month-{size}.png"), full_page=True)

            link.click()
            page.wait_for_load_state()
            assert page.url.endswith(f"/events/{event.id}")
            assert "北京时间" in page.locator(".facts").inner_text()
            assert no_horizontal_scroll(page), f"horizontal scroll at {size}px on the event page"
            page.screenshot(path=str(artifacts / f"event-{size}.png"), full_page=True)

            page.get_by_label("姓名").fill("张大姐")
            page.get_by_label("手机号", exact=True).fill(number)
            page.locator("#signup button[type=submit]").click()
            page.wait_for_load_state()
            code = page.get_by_test_id("checkin-code").inner_text().strip()
            signup = Signup.get(Signup.phone == number)
            assert code == signup.code and signup.status == status
            heading = page.locator("h1").inner_text()
            assert heading == ("报名成功" if status == SignupStatus.REGISTERED else "已进入候补名单")
            assert number not in page.content() and number[:3] + "****" + number[-4:] in page.content()
            assert no_horizontal_scroll(page), f"horizontal scroll at {size}px on the confirmation"
            page.screenshot(path=str(artifacts / f"signup-done-{size}.png"), full_page=True)
            context.close()
