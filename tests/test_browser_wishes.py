"""The 微心愿 wall as people use it, in real Chromium against real gunicorn, under the CSP:
a merchant claims a wish from the wall, reports it 已圆梦 with a photo, and — once a clerk
has approved the photo — anyone sees it as 晒成效 on the wall. At 390 px and 1280 px."""
import shutil

import pytest
from PIL import Image

from models import Role, UnitKind, Wish, WishStatus, db

from . import factories as f
from .live import live_server
from .test_browser_csp import ARGS, CHROMIUM
from .test_browser_loops import DESK, PHONE, context_for, image_shown, login, no_sideways_scroll
from .test_wishes import make_wish

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed (make system-deps)"),
]


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["390", "1280"])
def test_a_merchant_claims_fulfils_and_the_wall_shows_it(app, database_url, tmp_path, artifacts, viewport):
    from playwright.sync_api import sync_playwright

    from services import wishes

    clerk = f.make_user(role=Role.CLERK, username="clerk-wishes")
    shop = f.make_unit(name="金牛眼镜店", kind=UnitKind.MERCHANT)
    f.make_user(role=Role.UNIT, username="jinniu", unit=shop)
    grid = f.make_grid(name="第六网格")
    wish = make_wish(text="想要一副老花镜，看报纸方便些", grid=grid, requester_name="王秀兰",
                     requester_phone="13904827788", clerk=clerk)
    photo = tmp_path / "glasses.jpg"
    Image.new("RGB", (1200, 900), (160, 60, 40)).save(photo, "JPEG")
    size = viewport["width"]
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=2, log_dir=tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context, watch = context_for(browser, viewport)
            page = context.new_page()
            login(page, base, "jinniu", "/my")
            page.click("nav >> text=微心愿")
            page.wait_for_url(f"{base}/wishes")
            card = page.locator(f"[data-wish='{wish.id}']")
            assert "王**" in card.inner_text() and "第六网格" in card.inner_text()
            assert "13904827788" not in page.content() and "王秀兰" not in page.content()
            if size == PHONE["width"]:
                no_sideways_scroll(page, "/wishes")
            page.screenshot(path=str(artifacts / f"wishes-wall-{size}.png"), full_page=True)
            card.locator("text=认领这个心愿").click()
            page.wait_for_url(f"{base}/wishes/{wish.id}")
            assert "认领成功" in page.inner_text("main") and "已认领" in page.inner_text("main")
            assert "待办 1" in page.inner_text("header")

            page.fill("textarea[name=note]", "店里为王阿姨免费验光，配好老花镜送到家中。")
            page.set_input_files("input[name=photos]", str(photo))
            if size == PHONE["width"]:
                no_sideways_scroll(page, "wish page")
            page.click("text=提交，标记已圆梦")
            page.wait_for_url(f"{base}/wishes/{wish.id}")
            main = page.inner_text("main")
            assert "已圆梦" in main and "照片待社区审核" in main
            assert image_shown(page, "img[alt^='圆梦照片']") > 0
            page.screenshot(path=str(artifacts / f"wishes-fulfilled-{size}.png"), full_page=True)
            watch.check(page, "claim and fulfil")

            db.connect(reuse_if_open=True)
            assert Wish.get_by_id(wish.id).status == WishStatus.FULFILLED
            wishes.approve_photos(wish.id, user=clerk)
            db.close()

            public, public_watch = context_for(browser, viewport)
            anyone = public.new_page()
            anyone.goto(f"{base}/wishes?status=fulfilled")
            item = anyone.locator(f"[data-wish='{wish.id}']")
            text = item.inner_text()
            assert "已圆梦" in text and "晒成效" in text and "金牛眼镜店" in text and "免费验光" in text
            assert image_shown(anyone, f"[data-wish='{wish.id}'] img") > 0
            anyone.screenshot(path=str(artifacts / f"wishes-shown-{size}.png"), full_page=True)
            public_watch.check(anyone, "wall")
        finally:
            browser.close()
