"""A clerk opens a redone work order in real Chromium, on a phone and on a desktop, and
sees both rounds: the first round's result and 不满意, the second's result and 满意."""
import pytest

from models import Rating, Role, db
from services import workorders

from . import factories as f
from .live import live_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def redone_order(clerk):
    order = workorders.create_order(user=clerk, channel="hotline", requester_name="刘大爷", category="property",
                                    description="3号楼楼道灯不亮，晚上上下楼看不见")
    workorders.move(order.id, "dispatch", user=clerk, unit=f.make_unit(name="社区物业服务中心").id)
    workorders.move(order.id, "resolve", user=clerk, result="更换了楼道灯泡")
    workorders.rate(order.id, Rating.UNSATISFIED, "两天后又不亮了", by_resident=True)
    workorders.redo(order.id, "居民反映问题未解决，排查线路", user=clerk)
    workorders.move(order.id, "dispatch", user=clerk, worker="网格员小王")
    workorders.move(order.id, "resolve", user=clerk, result="更换了老化线路，已通电测试")
    workorders.rate(order.id, Rating.SATISFIED, "这次彻底修好了", by_resident=True)
    return order


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}],
                         ids=["phone", "desktop"])
def test_a_clerk_sees_both_rounds_of_a_redone_order(app, database_url, tmp_path, artifacts, viewport):
    playwright_api = pytest.importorskip("playwright.sync_api")
    clerk = f.make_user(role=Role.CLERK, username="roundsclerk", display_name="张敏")
    order = redone_order(clerk)
    if not db.is_closed():
        db.close()
    with live_server(database_url, workers=1, log_dir=tmp_path) as base, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=viewport)
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{base}/admin/work_order/details/?id={order.id}")
        page.fill("input[name=username]", clerk.username)
        page.fill("input[name=password]", f.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#order-timeline")
        first, second = page.locator("#order-round-1"), page.locator("#order-round-2")
        assert first.is_visible() and second.is_visible()
        text1, text2 = first.inner_text(), second.inner_text()
        for expected in ("第1轮（首次办理）", "社区物业服务中心", "更换了楼道灯泡", "不满意", "两天后又不亮了"):
            assert expected in text1, expected
        for expected in ("第2轮（二次办理）", "居民反映问题未解决，排查线路", "网格员小王", "更换了老化线路，已通电测试",
                         "满意", "这次彻底修好了"):
            assert expected in text2, expected
        assert first.bounding_box()["y"] < second.bounding_box()["y"]
        # the rounds fit the screen (no sideways scrolling to read a result)
        box = page.locator("#order-timeline").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, box
        second.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"rounds-{viewport['width']}.png"), full_page=True)
        assert not violations, violations
        browser.close()
