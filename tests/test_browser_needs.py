"""The resident's side of the loop in real Chromium, on a phone (390 px) and a desktop
(1280 px): a resident submits a need with a photo from the home page, a clerk accepts it
in the 待受理 queue and dispatches it, it is finished, the resident rates it 不满意 on the
tracking page, it is redone and rated 满意 — every step visible on /track."""
import io

import pytest
from PIL import Image
from werkzeug.security import generate_password_hash

from models import Need, Role, User, WorkOrder, db

from . import factories as f
from .live import live_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-needs-5"
VIEWPORTS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}


def _no_horizontal_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide at {width}px"


def _clerk_move(page, base, order_id, action, **fields):
    page.goto(f"{base}/admin/work_order/move/{order_id}?action={action}")
    for name, value in fields.items():
        if name == "unit":
            page.select_option("select[name=unit]", value)
        else:
            page.fill(f"textarea[name={name}]", value)
    page.click(f"form[action$='/move/{order_id}'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#move-error").count() == 0, page.inner_text("#move-error")


@pytest.mark.parametrize("size", ["390", "1280"])
def test_a_need_goes_round_the_loop_twice_in_chromium(app, database_url, tmp_path, artifacts, size):
    playwright_api = pytest.importorskip("playwright.sync_api")
    viewport = VIEWPORTS[size]
    grid = f.make_grid(name="第九网格")
    unit = f.make_unit(name="红浦物业服务中心")
    clerk = User.create(username="needclerk", role=Role.CLERK, display_name="社区工作人员",
                        password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    photo = tmp_path / "corridor.jpg"
    Image.new("RGB", (800, 600), (180, 60, 50)).save(photo, "JPEG")
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=2, log_dir=tmp_path) as base, \
            playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            resident = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
            resident.goto(f"{base}/")
            resident.click("#need-link")
            resident.wait_for_url(f"{base}/needs/new")
            _no_horizontal_scroll(resident, viewport["width"])
            resident.check("input[name=kind][value=appeal]")
            resident.fill("textarea[name=text]", "9号楼二单元楼道灯坏了两个星期，晚上老人上下楼很危险。")
            resident.set_input_files("input[name=photos]", str(photo))
            resident.fill("input[name=name]", "王秀兰")
            resident.fill("input[name=phone]", "+86 139-0482-1234")
            resident.select_option("select[name=grid]", str(grid.id))
            resident.check("input[name=consent]")
            resident.screenshot(path=str(artifacts / f"needs-form-{size}.png"), full_page=True)
            resident.click("text=提交点单")
            code = resident.inner_text("#need-code").replace(" ", "")
            assert len(code) == 8
            _no_horizontal_scroll(resident, viewport["width"])
            resident.screenshot(path=str(artifacts / f"needs-done-{size}.png"), full_page=True)
            resident.click("#track-link")
            resident.wait_for_url(f"{base}/track/{code}")
            assert "已提交" in resident.inner_text("#timeline")
            assert resident.locator(".ws-photos img").count() == 1  # the resident's own photo, signed

            staff = browser.new_context(viewport=VIEWPORTS["1280"], locale="zh-CN").new_page()
            staff.goto(f"{base}/login")
            staff.fill("input[name=username]", clerk.username)
            staff.fill("input[name=password]", PASSWORD)
            staff.click("button[type=submit]")
            staff.wait_for_load_state()
            staff.goto(f"{base}/admin/need/queue/")
            card = staff.locator(f"[data-code='{code}']")
            card.locator("select[name=category]").select_option("property")
            card.locator("[data-move=accept] button").click()
            staff.wait_for_url(f"{base}/admin/need/queue/")
            assert "已受理并生成工单" in staff.inner_text("body")
            db.connect(reuse_if_open=True)
            order_id = Need.get(Need.code == code).work_order_id
            db.close()
            _clerk_move(staff, base, order_id, "dispatch", unit=str(unit.id))
            _clerk_move(staff, base, order_id, "resolve", result="已更换二单元一至三楼的楼道灯。")

            resident.reload()
            timeline = resident.inner_text("#timeline")
            assert "已受理" in timeline and "已派单" in timeline and "红浦物业服务中心" in timeline
            assert "已更换二单元一至三楼的楼道灯" in timeline
            resident.check("input[name=rating][value=unsatisfied]")
            resident.fill("textarea[name=note]", "四楼和五楼的灯还是不亮。")
            resident.click("text=提交评价")
            resident.wait_for_url(f"{base}/track/{code}")
            assert "社区已安排二次办理" in resident.inner_text("main")
            assert "二次办理" in resident.inner_text("#timeline")

            _clerk_move(staff, base, order_id, "dispatch", unit=str(unit.id))
            _clerk_move(staff, base, order_id, "resolve", result="四楼、五楼楼道灯已修好，已回访。")
            resident.reload()
            resident.check("input[name=rating][value=satisfied]")
            resident.click("text=提交评价")
            resident.wait_for_url(f"{base}/track/{code}")
            timeline = resident.inner_text("#timeline")
            for text in ("已更换二单元一至三楼的楼道灯", "居民评价：不满意", "四楼和五楼的灯还是不亮",
                         "四楼、五楼楼道灯已修好", "居民评价：满意", "第 2 轮"):
                assert text in timeline, text
            assert resident.locator("#rate-form").count() == 0
            _no_horizontal_scroll(resident, viewport["width"])
            resident.screenshot(path=str(artifacts / f"needs-track-{size}.png"), full_page=True)
        finally:
            browser.close()
    db.connect(reuse_if_open=True)
    order = WorkOrder.get_by_id(order_id)
    assert (order.status, order.redo_count, order.rating) == ("rated", 1, "satisfied")
