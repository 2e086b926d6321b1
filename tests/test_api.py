"""/api/v1 through the test client: public reads, filters, sorts, paging, errors, CORS,
tokens, partner-unit claiming with the service's rules, and what must never leak."""
import datetime as dt
import hashlib
import json
import re
import uuid

import pytest

from app import create_app
from models import (ApiToken, AuditLog, ClaimStatus, EventCategory, EventStatus,
                    Line, ProjectStatus, Role, UnitKind, UnitStatus, now)
from services import tokens

from . import factories
from .querycount import count_queries

PHONE_RE = re.compile(r"1[3-9]\d{9}")


def bearer(plaintext):
    return {"Authorization": f"Bearer {plaintext}"}


def assert_error(response, status):
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == status
    assert re.search(r"[\u4e00-\u9fff]", body["error"]["message"]), body
    return body["error"]["message"]


def next_month():
    today = now().date()
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return first, last


@pytest.fixture
def world(app):
    """Two partner units with accounts and tokens, public and hidden records of each kind."""
    grid = factories.make_grid(worker_phone="13911110001")
    unit_a = factories.make_unit(name="红浦超市", kind=UnitKind.MERCHANT, phone="13911110002", grid=grid)
    unit_b = factories.make_unit(name="兴安供电公司", kind=UnitKind.JURISDICTION, phone="13911110003")
    factories.make_unit(name="已退出单位", status=UnitStatus.WITHDRAWN, phone="13911110004")
    user_a = factories.make_user(role=Role.UNIT, unit=unit_a)
    user_b = factories.make_user(role=Role.UNIT, unit=unit_b)
    clerk = factories.make_user(role=Role.CLERK)
    factories.make_team(name="党员先锋服务队", leader="王队长", leader_phone="13911110005")
    factories.make_volunteer(phone="13911110006")
    first, _ = next_month()
    start = dt.datetime.combine(first, dt.time(9))
    events = {
        "next_first": factories.make_event(title="下月邻里节", starts_at=start, organiser=unit_a),
        "next_last": factories.make_event(title="下月政策宣讲", category=EventCategory.POLICY,
                                          starts_at=start + dt.timedelta(days=27)),
        "later": factories.make_event(title="两月后市集", starts_at=start + dt.timedelta(days=70)),
        "cancelled": factories.make_event(title="已取消的活动", starts_at=start + dt.timedelta(days=3),
                                          status=EventStatus.CANCELLED),
        "hidden": factories.make_event(title="未发布的活动", starts_at=start, published=False),
    }
    projects = {
        "open": factories.make_project(title="银发助餐", grid=grid, slots=1),
        "open2": factories.make_project(title="楼道微改造", line=Line.PROPERTY, category="老旧小区改造", slots=3),
        "hidden": factories.make_project(title="未发布的项目", published=False),
        "draft": factories.make_project(title="草稿项目", status=ProjectStatus.DRAFT),
    }
    claim_b = factories.make_claim(project=projects["open2"], unit=unit_b, plan="乙单位的秘密计划")
    _, token_a = tokens.issue_token(user_a, "测试A")
    _, token_b = tokens.issue_token(user_b, "测试B")
    _, token_clerk = tokens.issue_token(clerk, "工作人员")
    return dict(grid=grid, unit_a=unit_a, unit_b=unit_b, user_a=user_a, user_b=user_b,
                events=events, projects=projects, claim_b=claim_b,
                token_a=token_a, token_b=token_b, token_clerk=token_clerk)


# --- public reads --------------------------------------------------------------------------

def test_event_list_shows_published_only_with_labels(client, world):
    body = client.get("/api/v1/events?per_page=100").get_json()
    titles = {item["title"] for item in body["items"]}
    assert titles == {"下月邻里节", "下月政策宣讲", "两月后市集", "已取消的活动"}
    assert body["total"] == 4 and body["next"] is None and body["prev"] is None
    item = next(i for i in body["items"] if i["title"] == "下月邻里节")
    assert item["organiser"] == {"id": world["unit_a"].id, "name": "红浦超市"}
    assert item["category"] == "neighbourhood" and item["category_label"] == "邻里节"
    assert item["starts_at"].endswith("+08:00")
    cancelled = next(i for i in body["items"] if i["title"] == "已取消的活动")
    assert cancelled["status"] == "cancelled" and cancelled["status_label"] == "已取消"


def test_detail_and_hidden_records_are_404(client, world):
    event = world["events"]["next_first"]
    assert client.get(f"/api/v1/events/{event.id}").get_json()["title"] == "下月邻里节"
    assert_error(client.get(f"/api/v1/events/{world['events']['hidden'].id}"), 404)
    assert_error(client.get(f"/api/v1/projects/{world['projects']['hidden'].id}"), 404)
    assert_error(client.get(f"/api/v1/projects/{world['projects']['draft'].id}"), 404)
    project = client.get(f"/api/v1/projects/{world['projects']['open2'].id}").get_json()
    assert project["slots"] == 3 and project["live_claims"] == 1 and project["slots_left"] == 2
    assert_error(client.get("/api/v1/units/999999"), 404)
    assert_error(client.get("/api/v1/units/99999999999"), 404)


def test_event_date_range_and_category_filters(client, world):
    first, last = next_month()
    body = client.get(f"/api/v1/events?date_from={first}&date_to={last}&sort=starts_at").get_json()
    assert [i["title"] for i in body["items"]] == ["下月邻里节", "已取消的活动", "下月政策宣讲"]
    body = client.get(f"/api/v1/events?date_from={first}&date_to={last}&status=scheduled&category=policy").get_json()
    assert [i["title"] for i in body["items"]] == ["下月政策宣讲"]
    # date_to includes its whole day
    day = world["events"]["next_first"].starts_at.date()
    assert client.get(f"/api/v1/events?date_from={day}&date_to={day}").get_json()["total"] == 1


def test_project_and_unit_filters(client, world):
    grid = world["grid"]
    assert [i["title"] for i in client.get(f"/api/v1/projects?grid={grid.id}").get_json()["items"]] == ["银发助餐"]
    assert [i["title"] for i in client.get("/api/v1/projects?line=property").get_json()["items"]] == ["楼道微改造"]
    assert client.get("/api/v1/projects?category=老旧小区改造").get_json()["total"] == 1
    assert client.get("/api/v1/projects?status=open").get_json()["total"] == 2
    units = client.get("/api/v1/units?kind=merchant").get_json()["items"]
    assert [u["name"] for u in units] == ["红浦超市"]
    assert units[0]["kind_label"] == "商户" and units[0]["grid"]["name"] == world["grid"].name
    names = {u["name"] for u in client.get("/api/v1/units").get_json()["items"]}
    assert "已退出单位" not in names and {"红浦超市", "兴安供电公司"} <= names


def test_sorting_both_ways(client, world):
    up = [i["title"] for i in client.get("/api/v1/events?sort=starts_at").get_json()["items"]]
    down = [i["title"] for i in client.get("/api/v1/events?sort=-starts_at").get_json()["items"]]
    assert up == list(reversed(down)) and up[0] == "下月邻里节"
    teams = client.get("/api/v1/teams?sort=-name").get_json()["items"]
    assert teams[0]["name"] == "党员先锋服务队"


def test_unknown_filter_or_sort_is_a_400_naming_it(client, world):
    assert "colour" in assert_error(client.get("/api/v1/events?colour=red"), 400)
    assert "phone" in assert_error(client.get("/api/v1/units?sort=phone"), 400)
    assert "published" in assert_error(client.get("/api/v1/projects?published=false"), 400)
    assert "category" in assert_error(client.get("/api/v1/events?category=nope"), 400)
    assert "date_from" in assert_error(client.get("/api/v1/events?date_from=2024-13-01"), 400)
    assert "per_page" in assert_error(client.get("/api/v1/events?per_page=1000"), 400)
    assert "page" in assert_error(client.get("/api/v1/events?page=0"), 400)
    assert "grid" in assert_error(client.get("/api/v1/projects?grid=abc"), 400)
    assert_error(client.get("/api/v1/projects?category=%00x"), 400)


def test_paging_follows_next_to_the_end(client, world):
    for i in range(23):
        factories.make_project(title=f"分页项目{i:02d}", slots=2)
    url, seen, pages = "/api/v1/projects?status=open&per_page=10&sort=id", [], 0
    while url:
        body = client.get(url).get_json()
        assert body["total"] == 25 and body["per_page"] == 10
        seen += [i["id"] for i in body["items"]]
        url, pages = body["next"], pages + 1
        assert url is None or url.startswith("http://localhost/api/v1/projects?")
    assert pages == 3 and len(seen) == 25 == len(set(seen)) and seen == sorted(seen)
    last = client.get("/api/v1/projects?status=open&per_page=10&page=3").get_json()
    assert "page=2" in last["prev"] and "per_page=10" in last["prev"] and len(last["items"]) == 5
    assert client.get("/api/v1/projects?page=50").get_json()["items"] == []


def test_stats_figures(client, world):
    body = client.get("/api/v1/stats").get_json()
    assert body["units"] == 2 and body["units_by_kind"]["merchant"] == 1
    assert body["projects"] == 2 and body["projects_by_status"]["open"] == 2
    assert "draft" not in body["projects_by_status"]
    assert body["events_upcoming"] == 3  # published, scheduled, in the future
    assert body["volunteers"] == 1 and body["volunteer_teams"] == 1


# --- errors ------------------------------------------------------------------------------

def test_every_failure_has_the_one_error_shape(app, client, world):
    assert_error(client.get("/api/v1/no-such-thing"), 404)
    assert_error(client.delete("/api/v1/events"), 405)
    assert_error(client.put("/api/v1/claims", json={}), 405)
    assert_error(client.get("/api/v1/claims"), 401)
    assert_error(client.get("/api/v1/claims", headers=bearer(world["token_clerk"])), 403)
    assert_error(client.post("/api/v1/claims", data="{not json", headers=dict(
        bearer(world["token_a"]), **{"Content-Type": "application/json"})), 400)
    assert_error(client.post("/api/v1/claims", data="plan=x", headers=bearer(world["token_a"]),
                             content_type="application/x-www-form-urlencoded"), 400)
    assert_error(client.post("/api/v1/claims", json=[1, 2], headers=bearer(world["token_a"])), 400)
    assert "project_id" in assert_error(client.post("/api/v1/claims", json={"plan": "x"},
                                                    headers=bearer(world["token_a"])), 400)
    big = {"project_id": 1, "plan": "长" * (app.config["MAX_CONTENT_LENGTH"])}
    assert_error(client.post("/api/v1/claims", json=big, headers=bearer(world["token_a"])), 413)
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401)


def test_token_failures_are_rate_limited(app, client, world):
    app.config["API_AUTH_MAX_FAILURES"] = 3
    for _ in range(3):
        assert_error(client.get("/api/v1/claims", headers=bearer("hsl_wrong")), 401)
    assert_error(client.get("/api/v1/claims", headers=bearer("hsl_wrong")), 429)
    # even the right token waits out the window from this address
    response = client.get("/api/v1/claims", headers=bearer(world["token_a"]))
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "60"


def test_writes_are_rate_limited(app, client, world):
    app.config["API_WRITES_PER_MINUTE"] = 2
    project = world["projects"]["open2"]
    claim = client.post("/api/v1/claims", json={"project_id": project.id, "plan": "第一次"},
                        headers=bearer(world["token_a"])).get_json()
    assert client.post(f"/api/v1/claims/{claim['id']}/withdraw", headers=bearer(world["token_a"])).status_code == 200
    assert_error(client.post("/api/v1/claims", json={"project_id": project.id, "plan": "第三次"},
                             headers=bearer(world["token_a"])), 429)


def test_session_writes_need_the_csrf_header(csrf_app, world):
    client = csrf_app.test_client()
    login_page = client.get("/login").data.decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    response = client.post("/login", data={"username": world["user_a"].username,
                                           "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    payload = {"project_id": world["projects"]["open"].id, "plan": "会话认领"}
    assert "CSRF" in assert_error(client.post("/api/v1/claims", json=payload), 400)
    assert_error(client.post("/api/v1/claims", json=payload, headers={"X-CSRFToken": "forged"}), 400)
    me = client.get("/api/v1/me").get_json()
    assert me["authenticated"] and me["unit"]["name"] == "红浦超市" and me["csrf_token"]
    response = client.post("/api/v1/claims", json=payload, headers={"X-CSRFToken": me["csrf_token"]})
    assert response.status_code == 201, response.data
    # a bearer token needs no CSRF header, even with CSRF protection on
    fresh = factories.make_project(slots=2)
    response = csrf_app.test_client().post("/api/v1/claims", json={"project_id": fresh.id, "plan": "令牌认领"},
                                           headers=bearer(world["token_a"]))
    assert response.status_code == 201


# --- CORS ----------------------------------------------------------------------------------

def test_cors_only_for_configured_origins(database_url, world):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": uuid.uuid4().hex,
                      "CORS_ORIGINS": ["https://mp.hongpu.example"]})
    client = app.test_client()
    ok = client.get("/api/v1/events", headers={"Origin": "https://mp.hongpu.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://mp.hongpu.example"
    other = client.get("/api/v1/events", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/api/v1/claims", headers={
        "Origin": "https://mp.hongpu.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://mp.hongpu.example"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    # not on the HTML site, and not at all without configuration
    assert "Access-Control-Allow-Origin" not in client.get(
        "/healthz", headers={"Origin": "https://mp.hongpu.example"}).headers


def test_no_cors_headers_without_configuration(client, world):
    response = client.get("/api/v1/events", headers={"Origin": "https://mp.hongpu.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- tokens ----------------------------------------------------------------------------------

def test_admin_issues_token_once_stored_hashed_and_revoke_gives_401(client, auth, world):
    admin = auth.as_role(Role.ADMIN)
    response = client.post("/admin/api_token/new/", data={"user": str(world["user_a"].id), "name": "微信小程序"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    plaintext = re.search(r'id="api-token"[^>]*>(hsl_[^<]+)<', response.data.decode()).group(1)
    row = ApiToken.get(ApiToken.name == "微信小程序")
    assert row.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row.prefix == plaintext[:12] and row.user_id == world["user_a"].id
    # the plaintext is stored nowhere: not in the token table, not in the audit log
    for token in ApiToken.select():
        assert plaintext not in json.dumps(token.__data__, default=str)
    assert not AuditLog.select().where(AuditLog.changes.contains(plaintext[12:])).exists()
    assert AuditLog.select().where(AuditLog.action == "issue_token", AuditLog.user == admin.id).count() == 1
    # shown once: the list never shows it again
    assert plaintext not in client.get("/admin/api_token/").data.decode()

    api = client.application.test_client()
    assert api.get("/api/v1/claims", headers=bearer(plaintext)).status_code == 200
    assert ApiToken.get_by_id(row.id).last_used_at is not None
    response = client.post("/admin/api_token/action/", data={"action": "revoke", "rowid": str(row.id)})
    assert response.status_code == 302
    assert ApiToken.get_by_id(row.id).revoked_at is not None
    assert "吊销" in assert_error(api.get("/api/v1/claims", headers=bearer(plaintext)), 401)


def test_only_admins_issue_tokens(client, auth, world):
    auth.as_role(Role.CLERK)
    response = client.post("/admin/api_token/new/", data={"user": str(world["user_a"].id), "name": "越权"})
    assert response.status_code == 403
    assert not ApiToken.select().where(ApiToken.name == "越权").exists()


def test_inactive_account_token_is_rejected(client, world):
    world["user_a"].active = False
    world["user_a"].save()
    assert_error(client.get("/api/v1/claims", headers=bearer(world["token_a"])), 401)


# --- claiming through the API ---------------------------------------------------------------

def test_claim_withdraw_and_progress_follow_the_service_rules(client, world):
    a, b = bearer(world["token_a"]), bearer(world["token_b"])
    project = world["projects"]["open"]  # one slot
    response = client.post("/api/v1/claims", json={"project_id": project.id, "plan": "每周两次送餐"}, headers=a)
    assert response.status_code == 201
    claim = response.get_json()
    assert claim["status"] == "pending" and claim["project"] == {"id": project.id, "title": "银发助餐"}
    assert "名额已满" in assert_error(client.post(
        "/api/v1/claims", json={"project_id": project.id, "plan": "我们也想认领"}, headers=b), 409)
    assert_error(client.post("/api/v1/claims", json={"project_id": project.id, "plan": "再来一次"}, headers=a), 409)
    assert_error(client.post("/api/v1/claims", json={"project_id": world["projects"]["hidden"].id,
                                                     "plan": "未发布"}, headers=a), 404)
    assert_error(client.post("/api/v1/claims", json={"project_id": project.id, "plan": "   "}, headers=b), 400)
    assert client.get(f"/api/v1/projects/{project.id}").get_json()["slots_left"] == 0

    # progress needs a confirmed claim; another unit cannot touch it at all
    assert_error(client.post(f"/api/v1/claims/{claim['id']}/progress", json={"text": "已开展", "percent": 10},
                             headers=a), 409)
    assert_error(client.post(f"/api/v1/claims/{claim['id']}/withdraw", headers=b), 404)
    assert_error(client.get(f"/api/v1/claims/{claim['id']}", headers=b), 404)

    withdrawn = client.post(f"/api/v1/claims/{claim['id']}/withdraw", headers=a)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert_error(client.post(f"/api/v1/claims/{claim['id']}/withdraw", headers=a), 409)
    assert client.get(f"/api/v1/projects/{project.id}").get_json()["slots_left"] == 1
    # the freed slot can be taken by the other unit now
    assert client.post("/api/v1/claims", json={"project_id": project.id, "plan": "接手"}, headers=b).status_code == 201

    confirmed = factories.make_claim(project=world["projects"]["open2"], unit=world["unit_a"],
                                     status=ClaimStatus.CONFIRMED)
    assert_error(client.post(f"/api/v1/claims/{confirmed.id}/progress", json={"text": "完成一半", "percent": 101},
                             headers=a), 400)
    report = client.post(f"/api/v1/claims/{confirmed.id}/progress", json={"text": "完成一半", "percent": 50}, headers=a)
    assert report.status_code == 201
    assert report.get_json()["percent"] == 50 and report.get_json()["claim"] == {"id": confirmed.id}
    actions = [a.action for a in AuditLog.select().order_by(AuditLog.id)]
    assert {"claim", "withdrawn", "progress"} <= set(actions)


def test_own_claims_list_shows_only_own(client, world):
    factories.make_claim(project=world["projects"]["open"], unit=world["unit_a"], plan="甲单位计划")
    body = client.get("/api/v1/claims", headers=bearer(world["token_a"])).get_json()
    assert [c["plan"] for c in body["items"]] == ["甲单位计划"] and body["total"] == 1
    assert client.get("/api/v1/claims?status=pending", headers=bearer(world["token_b"])).get_json()["total"] == 1
    assert_error(client.get(f"/api/v1/claims/{world['claim_b'].id}", headers=bearer(world["token_a"])), 404)


# --- what must never leak -----------------------------------------------------------------------

def crawl(client, headers):
    """Every GET operation in the spec, every list page and every listed item's detail."""
    spec = client.get("/api/v1/openapi.json").get_json()
    bodies = []
    for path, methods in spec["paths"].items():
        if "get" not in methods or path == "/openapi.json" or "{" in path:  # ids, tracking codes
            continue
        if methods["get"].get("security") and not headers:
            assert client.get("/api/v1" + path).status_code == 401
            continue
        url = "/api/v1" + path
        while url:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.data[:200])
            bodies.append(response.data.decode())
            body = response.get_json()
            if "items" not in body:
                break
            for item in body["items"]:
                detail = client.get(f"/api/v1{path}/{item['id']}", headers=headers)
                assert detail.status_code == 200
                bodies.append(detail.data.decode())
            url = body["next"]
    return bodies


def test_no_phone_hash_hidden_row_or_other_units_claim_in_any_response(client, world):
    world["projects"]["hidden"].description = "内部草案"
    world["projects"]["hidden"].save()
    for headers in ({}, bearer(world["token_a"])):
        bodies = crawl(client, headers)
        assert len(bodies) > 15
        text = "\n".join(json.loads(json.dumps(b)) for b in bodies)
        decoded = "\n".join(json.dumps(json.loads(b), ensure_ascii=False) for b in bodies)
        for blob in (text, decoded):
            assert not PHONE_RE.search(blob), PHONE_RE.search(blob).group(0)
            assert "scrypt:" not in blob and "pbkdf2:" not in blob and "password" not in blob
            for secret in ("未发布的活动", "未发布的项目", "草稿项目", "内部草案", "已退出单位", "乙单位的秘密计划",
                           world["token_a"], "digest"):
                assert secret not in blob, secret
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "password" not in json.dumps(spec)
    # no entity the API shows has a phone; the one phone in the document is the one a
    # resident types to sign up (answered masked, 139****9999)
    entities = {name: schema for name, schema in spec["components"]["schemas"].items()
                # a work order shows the resident's phone only to the unit handling it, while
                # it is dispatched to that unit (tests/test_api_loops.py)
                if name != "Order"}
    assert "phone" not in json.dumps(entities)
    sign_up = spec["paths"]["/events/{id}/signups"]["post"]
    assert "phone" in sign_up["requestBody"]["content"]["application/json"]["schema"]["properties"]
    # 群众点单: the phone a resident types (the body) and the tail that proves it (a query
    # parameter) are inputs only; no answer carries a phone
    typed = ("/events/{id}/signups", "/needs", "/needs/{code}")
    for path in typed[1:]:
        assert "phone" not in json.dumps([op["responses"] for op in spec["paths"][path].values()])
    rest = {path: ops for path, ops in spec["paths"].items() if path not in typed}
    assert "phone" not in json.dumps(rest)


# --- one declaration drives API, spec and admin -------------------------------------------------

def test_spec_is_derived_from_the_declarations(client, world):
    from models import Event, MemberUnit, Project
    from models.exposure import admin_filters, exposures

    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    schemas = spec["components"]["schemas"]
    for exposure in exposures():
        schema = schemas[exposure.model.__name__]
        for field in exposure.fields:
            assert field.name in schema["properties"]
            assert (field.verbose_name or field.name) in schema["properties"][field.name]["description"]
        # the serializer emits exactly the declared properties
        listing = client.get(f"/api/v1/{exposure.path}", headers=bearer(world["token_a"])).get_json()
        for item in listing["items"]:
            assert set(item) == set(schema["properties"])
        params = {p["name"] for p in spec["paths"][f"/{exposure.path}"]["get"]["parameters"]}
        assert params == set(exposure.filters) | {"sort", "page", "per_page"}
    status = schemas["Project"]["properties"]["status"]
    assert status["enum"] == ProjectStatus.codes() and status["x-enum-labels"]["open"] == "待认领"
    assert schemas["Event"]["properties"]["starts_at"]["format"] == "date-time"
    ids = {op["operationId"] for methods in spec["paths"].values() for op in methods.values()}
    assert {"listEvents", "listProjects", "createClaim", "withdrawClaim", "reportProgress", "getStats"} <= ids
    # the admin's filters come from the same declaration
    assert admin_filters(Project, "published")[:4] == ("line", "category", "grid", "status")
    assert "starts_at" in admin_filters(Event) and "kind" in admin_filters(MemberUnit)


def test_a_new_declaration_is_a_new_endpoint(app):
    """Declaring Meta.api on a model is all it takes (checked on a throwaway model)."""
    from peewee import CharField

    from api.blueprint import generated_operations
    from api.openapi import entity_schema
    from models.base import BaseModel
    from models.exposure import DeclarationError, exposure_of

    class Notice(BaseModel):
        title = CharField(max_length=80, index=True, verbose_name="公告标题")
        secret = CharField(verbose_name="内部备注")

        class Meta:
            verbose_name = "公告"
            public_fields = ("id", "title")
            api = dict(path="notices", filters=("title",), sorts=("title", "id"))

    exposure = exposure_of(Notice)
    schema = entity_schema(exposure)
    assert set(schema["properties"]) == {"id", "title"} and schema["properties"]["title"]["maxLength"] == 80
    ops = generated_operations()
    assert all(op.exposure.path != "notices" for op in ops)  # not in ALL_MODELS: not routed

    # a sort the database cannot serve from an index is refused at declaration time
    Notice._meta.api = dict(path="notices", sorts=("secret",))
    with pytest.raises(DeclarationError, match="secret"):
        exposure_of(Notice)


def test_docs_page_is_local_and_readable(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.data.decode()
    assert "listEvents" in html and "认领治理项目" in html and "活动类别" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    css = re.search(r'href="([^"]+api-docs\.css)"', html).group(1)
    with client.get(css) as stylesheet:
        assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"


# --- constant queries per page ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/projects", "/api/v1/units"])
def test_list_queries_do_not_grow_with_rows(app, client, world, monkeypatch, path):
    app.config["API_COUNT_CACHE_SECONDS"] = 0  # the worst case: the count runs every time
    def queries_and_rows():
        with count_queries() as executed:
            body = client.get(path + "?per_page=100").get_json()
        return len(executed), len(body["items"])

    small_queries, small_rows = queries_and_rows()
    grid = world["grid"]
    for i in range(60):
        factories.make_event(organiser=world["unit_a"])
        factories.make_project(grid=grid)
        factories.make_unit(grid=grid)
    big_queries, big_rows = queries_and_rows()
    assert big_rows >= small_rows + 60
    assert big_queries == small_queries <= 3


def test_cached_total_never_hides_rows(app, client, world):
    """Totals are cached for a few seconds; items and ``next`` are always read live."""
    app.config["API_COUNT_CACHE_SECONDS"] = 60
    first = client.get("/api/v1/projects?per_page=2").get_json()
    assert first["total"] == 2 and first["next"] is None
    for i in range(3):
        factories.make_project(title=f"新项目{i}")
    again = client.get("/api/v1/projects?per_page=2").get_json()
    assert again["next"] is not None and again["total"] >= 3  # never fewer than the rows seen
    assert client.get("/api/v1/projects?per_page=2&status=open").get_json()["total"] == 5  # other filter: fresh
    app.config["API_COUNT_CACHE_SECONDS"] = 0
    assert client.get("/api/v1/projects?per_page=2").get_json()["total"] == 5
