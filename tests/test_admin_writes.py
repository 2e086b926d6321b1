"""Admin writes: one transaction each, through the service; no form edits timestamps,
counters or what a state machine owns; hours never print as 5E+1."""
import re
from decimal import Decimal

import pytest

from admin.base import read_only_fields
from models import (Event, Grid, MemberUnit, ProgressReport, Project, Role, Signup, SignupStatus,
                    VolunteerTeam, WorkOrder, now)
from services import audit, claims, points, signups
from services.points import format_hours
from services.transitions import MACHINES

from . import factories as f
from .adminkit import populate
from .records_helpers import funded_volunteer, text

pytestmark = pytest.mark.dates  # windows, deadlines, this year's figures: make test-dates


# --- read-only and timestamp columns, once in the base ----------------------------------------

@pytest.mark.parametrize("endpoint, model, data", [
    ("member_unit", MemberUnit, {"name": "红浦超市", "kind": "merchant"}),
    ("grid", Grid, {"number": "7", "name": "第七网格"}),
    ("volunteer_team", VolunteerTeam, {"name": "青年志愿队"}),
])
def test_timestamps_are_not_editable(client, auth, endpoint, model, data):
    """Before: created_at / updated_at were fields of these forms."""
    auth.as_role(Role.CLERK)
    record = {"member_unit": f.make_unit, "grid": f.make_grid, "volunteer_team": f.make_team}[endpoint]()
    created = model.get_by_id(record.id).created_at
    form = text(client.get(f"/admin/{endpoint}/edit/?id={record.id}"))
    assert 'name="created_at"' not in form and 'name="updated_at"' not in form
    assert 'name="created_at"' not in text(client.get(f"/admin/{endpoint}/new/"))
    response = client.post(f"/admin/{endpoint}/edit/?id={record.id}",
                           data={**data, "created_at": "2001-01-01 00:00:00", "updated_at": "2001-01-01 00:00:00"})
    assert response.status_code == 302
    fresh = model.get_by_id(record.id)
    assert fresh.created_at == created and fresh.updated_at.year != 2001


def test_no_admin_form_holds_a_read_only_column(client, auth):
    records = populate(copies=1)
    auth.as_role(Role.ADMIN)
    views = [v for v in client.application.extensions["alliance_admin"]._views if hasattr(v, "model")]
    for view in views:
        hidden = read_only_fields(view.model)
        assert {"created_at", "updated_at"} & set(view.model._meta.fields) <= hidden
        if view.model.__name__ in MACHINES:
            assert MACHINES[view.model.__name__].field in hidden
        pages = [f"{view.url}/new/"] if view.can_create else []
        record = records.get(view.model._meta.table_name, [None])[-1]
        if view.can_edit and record is not None:
            pages.append(f"{view.url}/edit/?id={record.id}")
        for url in pages:
            html = text(client.get(url))
            shown = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([a-z_]+)"', html))
            assert not shown & hidden, (url, shown & hidden)


# --- one transaction each, through the service -------------------------------------------------

def test_work_orders_created_in_the_admin_go_through_the_service(client, auth):
    """Before: the admin numbered and saved the order itself, skipping create_order's rules."""
    clerk = auth.as_role(Role.CLERK)
    data = {"channel": "hotline", "requester_name": "陈阿姨", "category": "policy",
            "description": "长" * 5001}
    response = client.post("/admin/work_order/new/", data=data, follow_redirects=True)
    assert "诉求内容不能超过 5000 字" in text(response) and WorkOrder.select().count() == 0
    response = client.post("/admin/work_order/new/", data={**data, "description": "咨询居住证办理"})
    assert response.status_code == 302
    order = WorkOrder.get()
    assert order.number.startswith("GD") and order.status == "accepted" and order.accepted_at
    rows = list(audit.AuditLog.select().where(audit.AuditLog.entity == "WorkOrder"))
    assert [r.action for r in rows] == ["create"] and rows[0].user_id == clerk.id  # one row: the service's


def test_a_capacity_raise_promotes_in_the_same_transaction(client, auth, monkeypatch):
    """Before: the promotion ran in a second transaction after the save had committed."""
    auth.as_role(Role.CLERK)
    event = f.make_event(capacity=1)
    made = [signups.register(event.id, f"居民{i}", f"1380000000{i}") for i in range(3)]
    form = {"title": event.title, "category": event.category, "location": event.location,
            "starts_at": event.starts_at.strftime("%Y-%m-%d %H:%M:%S"),
            "ends_at": event.ends_at.strftime("%Y-%m-%d %H:%M:%S"), "capacity": 3, "published": "y", "points": 0}
    original = audit.record

    def failing(action, *args, **kwargs):
        if action == "promote":
            raise RuntimeError("audit store unavailable")
        return original(action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    assert client.post(f"/admin/event/edit/?id={event.id}", data=form).status_code == 500
    assert Event.get_by_id(event.id).capacity == 1  # the raise rolled back with the promotion
    assert [Signup.get_by_id(s.id).status for s in made][1:] == [SignupStatus.WAITLISTED] * 2
    monkeypatch.setattr(audit, "record", original)
    response = client.post(f"/admin/event/edit/?id={event.id}", data=form, follow_redirects=True)
    assert "已从候补名单递补 2 人" in text(response)
    assert Event.get_by_id(event.id).capacity == 3
    assert {Signup.get_by_id(s.id).status for s in made} == {SignupStatus.REGISTERED}


def test_editing_a_progress_report_recomputes_progress_in_its_transaction(client, auth, monkeypatch):
    """Before: the report was saved, then the roll-up ran outside that transaction."""
    clerk = auth.as_role(Role.CLERK)
    project = f.make_project(slots=1)
    unit = f.make_unit()
    claim = claims.claim_project(project.id, unit, "计划")
    claims.confirm_claim(claim.id, user=clerk)
    report = claims.report_progress(claim.id, unit, "完成一半", 50)
    assert Project.get_by_id(project.id).progress == 50

    form = text(client.get(f"/admin/progress_report/edit/?id={report.id}"))
    assert 'name="percent"' in form and 'name="claim"' not in form
    data = {"text": "更正：完成两成", "percent": "20", "reported_on": str(report.reported_on)}

    def broken(project_id):
        raise RuntimeError("roll-up failed")

    monkeypatch.setattr(claims, "roll_up_progress", broken)
    assert client.post(f"/admin/progress_report/edit/?id={report.id}", data=data).status_code == 500
    assert ProgressReport.get_by_id(report.id).percent == 50  # nothing half-written
    monkeypatch.undo()

    response = client.post(f"/admin/progress_report/edit/?id={report.id}", data={**data, "percent": "101"})
    assert response.status_code == 200 and ProgressReport.get_by_id(report.id).percent == 50
    response = client.post(f"/admin/progress_report/edit/?id={report.id}", data=data)
    assert response.status_code == 302
    assert (ProgressReport.get_by_id(report.id).percent, Project.get_by_id(project.id).progress) == (20, 20)
    row = audit.AuditLog.get(audit.AuditLog.entity == "ProgressReport", audit.AuditLog.action == "update")
    assert row.user_id == clerk.id and '"percent": [50, 20]' in row.changes


# --- hours, never in scientific notation -------------------------------------------------------

@pytest.mark.parametrize("value, shown", [
    (Decimal("5E+1"), "50.00"), (Decimal("50.00").normalize(), "50.00"), (Decimal("1.5"), "1.50"),
    (Decimal("-0.5"), "-0.50"), (Decimal("-0.00"), "0.00"), (0, "0.00"), (2.25, "2.25"), (None, ""),
    (Decimal("1E+3"), "1000.00"),
])
def test_format_hours(value, shown):
    assert format_hours(value) == shown


def test_team_figures_print_plain_numbers(client, auth):
    """Before: /admin/points-bank/teams showed "5E+1/50"."""
    auth.as_role(Role.CLERK)
    team = f.make_team(name="红石榴志愿服务队")
    volunteer = funded_volunteer(0, team=team)
    points.earn(volunteer.id, 50, Decimal("50"), description="全年服务")
    page = text(client.get("/admin/points-bank/teams"))
    assert "E+" not in page and "50.00/50" in page
    for url in (f"/admin/points-bank/volunteer/{volunteer.id}", f"/admin/points-bank/volunteer/{volunteer.id}/statement",
                "/admin/points_entry/"):
        body = text(client.get(url))
        assert "E+" not in body and "50.00" in body, url
    assert now()  # the figures above are this year's, whatever the pinned date
