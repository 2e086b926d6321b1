"""The admin home: charts and figures from a constant number of aggregate queries."""
import datetime as dt
import json
import re
from decimal import Decimal

from models import ClaimStatus, Line, OrderStatus, Rating, Role, WorkOrder, now
from services import points, workorders

from . import factories
from .querycount import count_queries
from .records_helpers import funded_volunteer, past_event, text


def _order(hours_to_close, due_in_hours, rating=None):
    order = workorders.create_order(channel="grid", requester_name="居民", category="property", description="维修",
                                    due_at=now() + dt.timedelta(hours=due_in_hours))
    workorders.move(order.id, "dispatch", worker="网格员")
    workorders.move(order.id, "resolve", result="已修")
    accepted = now() - dt.timedelta(hours=hours_to_close)
    WorkOrder.update(accepted_at=accepted, resolved_at=now(), due_at=accepted + dt.timedelta(hours=due_in_hours)).where(
        WorkOrder.id == order.id).execute()
    if rating:
        workorders.move(order.id, "rate", rating=rating)
    return order


def build_data(scale=1):
    team = factories.make_team(name=f"巾帼志愿队{scale}")
    for i in range(scale):
        v = funded_volunteer(0, team=team)
        points.earn(v.id, 3, Decimal("3"), description="服务")
        factories.make_claim(project=factories.make_project(line=Line.SAFETY), status=ClaimStatus.CONFIRMED)
        past_event()


def count_queries_of(fn):
    with count_queries() as statements:
        fn()
    return len(statements)


def test_dashboard_figures(client, auth):
    auth.as_role(Role.CLERK)
    build_data()
    _order(10, 24, Rating.SATISFIED)   # closed on time
    _order(30, 24, Rating.UNSATISFIED)  # late
    _order(20, 48)                     # on time, not rated yet
    workorders.create_order(channel="hotline", requester_name="某", category="other", description="新", due_at=now() - dt.timedelta(hours=1))
    from admin.dashboard import overview

    with client.application.test_request_context():
        data = overview()
    w = data["orders"]
    assert (w["closed"], w["median_hours"], w["on_time"], w["due_known"], w["on_time_share"]) == (3, 20.0, 2, 3, 0.667)
    assert (w["satisfied"], w["unsatisfied"], w["satisfaction"], w["overdue"], w["open"]) == (1, 1, 0.5, 1, 1)
    assert w["data"][[c for c, _ in OrderStatus.choices].index(OrderStatus.RATED)] == 2
    safety = data["claims"]["labels"].index("平安联创")
    confirmed = next(s for s in data["claims"]["series"] if s["key"] == ClaimStatus.CONFIRMED)
    assert confirmed["data"][safety] == 1
    assert data["hours"] == {"labels": ["巾帼志愿队1"], "data": [3.0]}
    assert sum(data["events"]["data"]) == 1 or now().month == 1


def test_dashboard_page_has_charts_and_readable_tables(client, auth):
    auth.as_role(Role.CLERK)
    build_data()
    _order(5, 24, Rating.SATISFIED)
    page = client.get("/admin/")
    body = text(page)
    assert page.status_code == 200
    for expected in ("联盟概览", "六联治项目认领", "每月活动场次", "各服务队志愿服务时长", "工单状态",
                     "工单办结时长中位数", "按期办结率", "群众满意率", 'id="fig-satisfaction">100%',
                     "/static/vendor/chartjs/chart.umd.min.js", "<table"):
        assert expected in body, expected
    # every script and stylesheet comes from this site (no CDN at run time); the letters "cdn"
    # alone are no proof: a random CSP nonce once held them
    assets = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"', body)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    payload = json.loads(re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', body, re.S).group(1))
    assert payload["hours"]["labels"] == ["巾帼志愿队1"]
    script = client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert script.status_code == 200 and b"Chart.js v4" in script.data
    script.close()


def test_query_count_does_not_grow_with_data(client, auth):
    auth.as_role(Role.CLERK)
    build_data(1)
    _order(5, 24, Rating.SATISFIED)
    small = count_queries_of(lambda: client.get("/admin/"))
    build_data(15)
    for n in range(6):
        _order(n + 1, 24, Rating.SATISFIED if n % 2 else Rating.UNSATISFIED)
    large = count_queries_of(lambda: client.get("/admin/"))
    assert small == large and large <= 25


def test_dashboard_with_no_data_shows_dashes(client, auth):
    auth.as_role(Role.CLERK)
    body = text(client.get("/admin/"))
    assert 'id="fig-median">—' in body and 'id="fig-satisfaction">—' in body


def test_partner_unit_cannot_see_dashboard(client, auth):
    auth.as_role(Role.UNIT)
    assert client.get("/admin/").status_code == 403
