"""A client that knows nothing but the OpenAPI document: it finds operations by
operationId, builds URLs from ``servers`` and ``paths``, and talks to a real gunicorn."""
import datetime as dt

import pytest
import requests

from models import ProjectStatus, Role, now
from services import tokens

from . import factories
from .live import live_server


class SpecClient:
    """Calls operations by operationId; everything else comes from the document."""

    def __init__(self, origin, token=None):
        self.origin = origin
        self.session = requests.Session()
        self.spec = self.session.get(origin + "/api/v1/openapi.json", timeout=10).json()
        self.base = origin + self.spec["servers"][0]["url"]
        self.ops = {op["operationId"]: (path, method, op)
                    for path, methods in self.spec["paths"].items() for method, op in methods.items()}
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, operation_id, path_params=None, query=None, body=None):
        path, method, op = self.ops[operation_id]
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        assert set(query or {}) <= declared, f"{operation_id} takes no {set(query) - declared}"
        url = self.base + path.format(**(path_params or {}))
        response = self.session.request(method.upper(), url, params=query, json=body, timeout=10)
        assert str(response.status_code) in op["responses"], (operation_id, response.status_code)
        return response

    def follow(self, url):
        return self.session.get(url, timeout=10)


@pytest.mark.server
def test_script_lists_next_month_pages_projects_claims_and_withdraws(app, database_url):
    today = now().date()
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    for day in (0, 9, 20):
        factories.make_event(title=f"下月活动{day}", starts_at=dt.datetime.combine(first + dt.timedelta(days=day), dt.time(19)))
    factories.make_event(title="下下月活动", starts_at=dt.datetime.combine(last + dt.timedelta(days=2), dt.time(9)))
    for i in range(12):
        factories.make_project(title=f"开放项目{i:02d}", slots=2)
    factories.make_project(title="已完成项目", status=ProjectStatus.DONE)
    user = factories.make_user(role=Role.UNIT)
    _token, plaintext = tokens.issue_token(user, "脚本")

    with live_server(database_url, workers=1) as origin:
        api = SpecClient(origin)
        events = api.call("listEvents", query={"date_from": first.isoformat(), "date_to": last.isoformat(),
                                               "sort": "starts_at"}).json()
        assert [e["title"] for e in events["items"]] == ["下月活动0", "下月活动9", "下月活动20"]

        page = api.call("listProjects", query={"status": "open", "per_page": 5, "sort": "id"}).json()
        titles = []
        while True:
            titles += [p["title"] for p in page["items"]]
            if not page["next"]:
                break
            page = api.follow(page["next"]).json()
        assert titles == [f"开放项目{i:02d}" for i in range(12)]

        unit_api = SpecClient(origin, token=plaintext)
        target = api.call("listProjects", query={"status": "open", "per_page": 1, "sort": "id"}).json()["items"][0]
        claim = unit_api.call("createClaim", body={"project_id": target["id"], "plan": "脚本认领：每周服务一次"})
        assert claim.status_code == 201 and claim.json()["status"] == "pending"
        mine = unit_api.call("listClaims").json()
        assert [c["id"] for c in mine["items"]] == [claim.json()["id"]]
        withdrawn = unit_api.call("withdrawClaim", path_params={"id": claim.json()["id"]})
        assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
        project = api.call("getProject", path_params={"id": target["id"]}).json()
        assert project["slots_left"] == 2
        # without the token the same operation is refused in the documented shape
        refused = api.call("createClaim", body={"project_id": target["id"], "plan": "匿名"})
        assert refused.status_code == 401 and refused.json()["error"]["message"]
