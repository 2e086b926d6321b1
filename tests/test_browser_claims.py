"""A partner unit claims and withdraws a project in real Chromium, on a phone and a desktop."""
import pytest
from werkzeug.security import generate_password_hash

from models import Claim, ClaimStatus, Grid, Line, Project, ProjectStatus, Role, User, db

from . import factories as f
from .live import live_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "browser-claims-3"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def _no_horizontal_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide at 390px"


def test_unit_claims_and_withdraws_in_chromium(app, database_url, tmp_path, artifacts):
    playwright_api = pytest.importorskip("playwright.sync_api")
    grid = f.make_grid(name="第十二网格")
    unit = f.make_unit(name="兴安盟红十字会")
    user = User.create(username="hongshizi", role=Role.UNIT, unit=unit,
                       password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    project = f.make_project(title="银发关爱·独居老人助餐与定期探访服务（红浦社区第十二网格）",
                             line=Line.LIVELIHOOD, category="银发关爱", grid=grid, slots=2,
                             description="为辖区 60 岁以上独居老人提供助餐、探访和紧急呼叫服务。" * 3,
                             needs="需要志愿者 10 名、助餐点场地一处。")
    for i in range(25):
        f.make_project(title=f"楼道微改造第{i + 1}期", line=Line.PROPERTY, category="老旧小区改造")
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=2, log_dir=tmp_path) as base, \
            playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=PHONE, locale="zh-CN")
            page.goto(f"{base}/login")
            page.fill("input[name=username]", user.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/my")  # the unit's workspace
            assert "还没有认领项目" in page.inner_text("main")

            page.goto(f"{base}/projects?line={Line.LIVELIHOOD}")
            _no_horizontal_scroll(page)
            page.screenshot(path=str(artifacts / "claims-list-390.png"), full_page=True)
            page.click(f"a[href='/projects/{project.id}']")
            page.wait_for_url(f"{base}/projects/{project.id}")
            assert "剩余名额 2 / 2" in page.inner_text(".pj-facts")
            _no_horizontal_scroll(page)
            page.fill("textarea[name=plan]", "组织本会志愿者每周二、周五上门探访，并承担助餐配送。")
            page.screenshot(path=str(artifacts / "claims-project-390.png"), full_page=True)
            page.click("text=提交认领")
            page.wait_for_url(f"{base}/my/claims")
            main = page.inner_text("main")
            assert project.title in main and "待审核" in main and "请等待工作人员审核" in main
            _no_horizontal_scroll(page)
            page.screenshot(path=str(artifacts / "claims-mine-390.png"), full_page=True)

            page.set_viewport_size(DESKTOP)
            page.screenshot(path=str(artifacts / "claims-mine-1280.png"), full_page=True)
            page.goto(f"{base}/projects")
            page.screenshot(path=str(artifacts / "claims-list-1280.png"), full_page=True)
            page.goto(f"{base}/projects/{project.id}")
            assert "剩余名额 1 / 2" in page.inner_text(".pj-facts")
            assert "贵单位已认领该项目" in page.inner_text("#claim")

            page.set_viewport_size(PHONE)
            page.goto(f"{base}/my/claims")
            page.click("text=撤回认领")
            page.wait_for_url(f"{base}/my/claims")
            main = page.inner_text("main")
            assert "名额已释放" in main and "已撤回" in main
            assert page.locator("text=撤回认领").count() == 0
            _no_horizontal_scroll(page)
            page.screenshot(path=str(artifacts / "claims-withdrawn-390.png"), full_page=True)
        finally:
            browser.close()

    db.connect(reuse_if_open=True)
    claim = Claim.get(Claim.project == project.id)
    assert (claim.unit_id, claim.status) == (unit.id, ClaimStatus.WITHDRAWN)
    project = Project.get_by_id(project.id)
    assert (project.live_claims, project.status) == (0, ProjectStatus.OPEN)
    assert Grid.select().count() == 1
