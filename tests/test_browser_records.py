"""A clerk on a phone in real Chromium: checks a volunteer in by the code from the QR
link, closes attendance, sees the balance rise; the dashboard draws its charts."""
from decimal import Decimal

import pytest

from models import Role, db
from services import points, workorders

from . import factories as f
from .live import live_server
from .records_helpers import funded_volunteer, past_event

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}


def test_clerk_checks_in_on_a_phone_and_sees_the_dashboard(app, database_url, tmp_path, artifacts):
    playwright_api = pytest.importorskip("playwright.sync_api")
    clerk = f.make_user(role=Role.CLERK, username="phoneclerk")
    team = f.make_team(name="红石榴志愿服务队")
    volunteer = funded_volunteer(0, name="李淑环", team=team)
    event = past_event(title="敲门行动", points=4)
    signup = f.make_signup(event=event, name=volunteer.name, phone=volunteer.phone, volunteer=volunteer)
    points.earn(funded_volunteer(0, team=team).id, 2, Decimal("2"), description="服务")
    workorders.create_order(channel="hotline", requester_name="居民", category="policy", description="咨询")
    if not db.is_closed():
        db.close()
    with live_server(database_url, workers=2, log_dir=tmp_path) as base, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{base}/admin/checkin/event/{event.id}?code={signup.code}")  # what the QR code opens
        page.fill("input[name=username]", clerk.username)
        page.fill("input[name=password]", f.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/admin/checkin/event/{event.id}?code={signup.code}")
        assert page.input_value("#code") == signup.code
        page.click("#code-form button[type=submit]")
        page.wait_for_selector("text=签到成功")  # the flash on the page the post redirects to
        page.click("#close-form button[type=submit]")
        page.wait_for_selector("text=考勤已结束")
        page.screenshot(path=str(artifacts / "records-checkin-phone.png"), full_page=True)
        page.goto(f"{base}/admin/points-bank/volunteer/{volunteer.id}")
        assert page.inner_text("#balance") == "4"
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/admin/")
        page.wait_for_selector("html[data-charts=drawn]")
        drawn = page.evaluate("""() => [...document.querySelectorAll('canvas')].map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; } return false; })""")
        assert drawn == [True] * 6  # four record charts, needs per month by kind and by grid
        page.screenshot(path=str(artifacts / "records-dashboard.png"), full_page=True)
        browser.close()
