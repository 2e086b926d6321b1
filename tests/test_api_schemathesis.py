"""Schemathesis over every operation of /api/v1/openapi.json, against the WSGI app:
no 5xx, and every response matches the document (schema, status, content type)."""
import datetime as dt

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                status_code_conformance)

from models import ClaimStatus, EventStatus, ProjectStatus, Role, UnitKind, now
from services import tokens, workorders

from . import factories

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]
EXAMPLES = 15


def _world():
    grid = factories.make_grid(worker_phone="13900000001")
    unit = factories.make_unit(kind=UnitKind.MERCHANT, phone="13900000002", grid=grid)
    user = factories.make_user(role=Role.UNIT, unit=unit)
    other = factories.make_unit()
    factories.make_team(leader_phone="13900000003")
    start = now().replace(minute=0, second=0)
    events = [factories.make_event(starts_at=start + dt.timedelta(days=i * 10 + 1), organiser=unit)
              for i in range(3)]
    factories.make_event(status=EventStatus.CANCELLED)
    open_project = factories.make_project(grid=grid, slots=3)
    factories.make_project(status=ProjectStatus.CLAIMED)
    confirmed = factories.make_claim(project=open_project, unit=unit, status=ClaimStatus.CONFIRMED)
    factories.make_claim(project=open_project, unit=other)
    pending = factories.make_claim(project=factories.make_project(slots=2), unit=unit)
    _token, plaintext = tokens.issue_token(user, "schemathesis")
    clerk = factories.make_user(role=Role.CLERK)
    orders = []
    for _ in range(4):  # dispatched to the unit: one to read, one each to accept, report, hand back
        order = factories.make_work_order(requester_phone="13900000009")
        orders.append(workorders.move(order.id, "dispatch", user=clerk, unit=unit.id))
    notice = factories.make_notice(recipient=user)
    factories.make_wish(grid=grid, claimer=other)  # GET /wishes/{id} reads a public wish
    from services import needs  # 群众点单: one need to track, a body that submits another
    need = needs.submit(kind="help", text="楼道灯坏了需要维修", name="张三", mobile="13900000019", consent=True)
    targeted_needs = {
        "POST /needs": dict(body={"kind": "help", "text": "楼道灯坏了需要维修", "name": "张三",
                                  "phone": "13900000011", "consent": True}),
        "GET /needs/{code}": dict(path_parameters={"code": need.code}, query={"phone_tail": "0019"}),
    }
    return plaintext, {
        **targeted_needs,
        # operation → fixed parts that reach the success paths (the rest is generated)
        "POST /claims": dict(body={"project_id": factories.make_project(slots=5).id, "plan": "组织志愿者每周上门服务"}),
        "POST /claims/{id}/withdraw": dict(path_parameters={"id": pending.id}),
        "POST /claims/{id}/progress": dict(path_parameters={"id": confirmed.id}),
        "POST /events/{id}/signups": dict(path_parameters={"id": events[0].id},
                                          body={"name": "张三", "phone": "+86 139-0482-9999"}),
        "POST /orders/{id}/accept": dict(path_parameters={"id": orders[1].id}),
        "POST /orders/{id}/result": dict(path_parameters={"id": orders[2].id}, body={"result": "已上门修复"}),
        "POST /orders/{id}/hand-back": dict(path_parameters={"id": orders[3].id}, body={"reason": "不属于本单位职责"}),
        "POST /notices/{id}/read": dict(path_parameters={"id": notice.id}),
    }


def test_every_operation_matches_the_spec(app):
    app.config["API_WRITES_PER_MINUTE"] = 0
    plaintext, targeted = _world()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    declared = {f"{method.upper()} {path}" for path, methods in spec["paths"].items() for method in methods}
    # schemathesis leaves out the document's own path; every other operation is tested
    assert {op.label for op in operations} == declared - {"GET /openapi.json"}
    assert len(operations) >= 16
    headers = {"Authorization": f"Bearer {plaintext}"}
    statuses = {}

    client = app.test_client()

    def fixed_parts(operation):
        """Known ids/bodies so that success responses are generated and validated too."""
        if operation.label in targeted:
            return targeted[operation.label]
        if operation.method.upper() == "GET" and operation.path.endswith("/{id}"):
            listing = client.get("/api/v1" + operation.path[:-5], headers=headers).get_json()
            return dict(path_parameters={"id": listing["items"][0]["id"]})
        return None

    def run_examples(operation, examples, **fixed):
        @given(case=operation.as_strategy(**fixed))
        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.setdefault(operation.label, set()).add(response.status_code)

        run()

    for operation in operations:
        fixed = fixed_parts(operation)
        if fixed:
            run_examples(operation, 3, **fixed)
        run_examples(operation, EXAMPLES)

    # every operation answered, and each reached its success status at least once
    assert len(statuses) == len(operations)
    for operation in operations:
        success = int(next(code for code in operation.definition.raw["responses"] if code.startswith("2")))
        assert success in statuses[operation.label], (operation.label, statuses[operation.label])
