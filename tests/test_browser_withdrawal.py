"""A partner unit withdraws a confirmed claim on a phone in real Chromium: the
confirmation page asks for a reason; a clerk then sees it on the admin home and in
撤回待知悉, and acknowledges it."""
import pytest
from werkzeug.security import generate_password_hash

from models import Claim, ClaimStatus, Role, User, db
from services import claims

from . import factories as f
from .live import live_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-withdraw-5"
PHONE = {"width": 390, "height": 844}


def _login(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_withdrawing_a_confirmed_claim_asks_why_and_reaches_the_clerks(app, database_url, tmp_path, artifacts):
    playwright_api = pytest.importorskip("playwright.sync_api")
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    unit = f.make_unit(name="兴安盟红十字会")
    user = User.create(username="hongshizi2", role=Role.UNIT, unit=unit, password_hash=digest)
    clerk = User.create(username="clerk-withdraw", role=Role.CLERK, password_hash=digest)
    project = f.make_project(title="银发关爱·助餐与探访", slots=1)
    claim = claims.claim_project(project.id, unit, "每周两次上门探访")
    claims.confirm_claim(claim.id, user=clerk)
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=2, log_dir=tmp_path) as base, \
            playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=PHONE, locale="zh-CN")
            _login(page, base, user.username)
            page.goto(f"{base}/my/claims")
            page.click("text=撤回认领…")
            page.wait_for_url(f"{base}/my/claims/{claim.id}/withdraw")
            assert "工作人员会收到提醒" in page.inner_text("main")
            page.click("text=确认撤回")  # no reason: the page comes back and says so
            page.wait_for_load_state()
            assert "撤回时必须填写原因" in page.inner_text("main")
            page.screenshot(path=str(artifacts / "withdraw-confirmed-reason-390.png"), full_page=True)
            page.fill("textarea[name=reason]", "负责人调离，暂无人手继续探访")
            page.click("text=确认撤回")
            page.wait_for_url(f"{base}/my/claims")
            assert "工作人员已收到撤回提醒" in page.inner_text("main")
            assert "撤回原因：负责人调离，暂无人手继续探访" in page.inner_text("main")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"/my/claims is {width}px wide at 390px"

            clerk_page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            _login(clerk_page, base, clerk.username)
            clerk_page.goto(f"{base}/admin/")
            card = clerk_page.locator("a.card[href='/admin/withdrawn_claim/']")  # on the admin home
            assert card.inner_text().split() == ["撤回待知悉", "1"]
            card.click()
            clerk_page.wait_for_url(f"{base}/admin/withdrawn_claim/")
            assert "负责人调离，暂无人手继续探访" in clerk_page.inner_text("body")
            clerk_page.screenshot(path=str(artifacts / "withdrawn-queue-1280.png"), full_page=True)
        finally:
            browser.close()

    db.connect(reuse_if_open=True)
    claim = Claim.get_by_id(claim.id)
    assert (claim.status, claim.needs_ack) == (ClaimStatus.WITHDRAWN, True)
