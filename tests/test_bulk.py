"""Bulk edit on lists: set grid, team, publish or status for the selected rows, after a page
that says how many rows change; one transaction, audited; status changes through services."""
import json


from models import (AuditLog, Claim, ClaimStatus, Event, OrderStatus, Project, Role, Signup, SignupStatus,
                    Volunteer, WorkOrder)
from services import workorders
from services.errors import Conflict

from . import factories as f
from .adminkit import flashes, visible_text


def _ids(records):
    return ",".join(str(r.id) for r in records)


def test_setting_a_team_on_selected_volunteers_says_how_many_change_then_does_it(client, auth):
    old, new = f.make_team(name="甲队"), f.make_team(name="乙队")
    volunteers = [f.make_volunteer(team=old), f.make_volunteer(team=old), f.make_volunteer(team=new)]
    untouched = f.make_volunteer(team=old)
    auth.as_role(Role.CLERK)
    response = client.post("/admin/volunteer/action/", data={"action": "bulk_edit", "rowid": [v.id for v in volunteers]})
    assert response.status_code == 302 and "/admin/volunteer/bulk/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "批量修改志愿者（已选 3 条）" in page
    assert 'value="field:team"' in page and 'value="field:grid"' in page and 'value="field:status"' in page

    form = {"ids": _ids(volunteers), "what": "field:team", "value:team": str(new.id), "step": "preview"}
    html = client.post("/admin/volunteer/bulk/", data=form).get_data(as_text=True)
    text = " ".join(visible_text(html).split())
    assert "将把 2 条志愿者的“服务队”改为“乙队”" in text
    assert "另有 1 条已是该值，不会改变" in text
    assert Volunteer.select().where(Volunteer.team == new.id).count() == 1, "nothing changes before confirming"

    form["step"] = "confirm"
    response = client.post("/admin/volunteer/bulk/", data=form)
    assert response.status_code == 303
    assert "已将 2 条志愿者的“服务队”改为“乙队”" in " ".join(flashes(client.get(response.headers["Location"]).get_data(as_text=True)))
    assert {v.team_id for v in Volunteer.select().where(Volunteer.id.in_([v.id for v in volunteers]))} == {new.id}
    assert Volunteer.get_by_id(untouched.id).team_id == old.id
    entries = list(AuditLog.select().where(AuditLog.action == "bulk_update"))
    assert len(entries) == 2 and json.loads(entries[0].changes) == {"team": [old.id, new.id]}


def test_a_value_that_is_not_offered_changes_nothing(client, auth):
    volunteers = [f.make_volunteer() for _ in range(2)]
    auth.as_role(Role.CLERK)
    for what, value in (("field:team", "999999"), ("field:status", "retired"), ("field:points_balance", "5"),
                        ("move:nope", "")):
        response = client.post("/admin/volunteer/bulk/", data={"ids": _ids(volunteers), "what": what,
                                                               "value:" + what.split(":")[1]: value, "step": "confirm"})
        assert response.status_code == 400, what
        assert flashes(response.get_data(as_text=True)), what
    assert AuditLog.select().where(AuditLog.action == "bulk_update").count() == 0
    assert {v.status for v in Volunteer.select()} == {"active"}


def test_publish_and_unpublish_events_and_projects(client, auth):
    events = [f.make_event(published=False) for _ in range(3)]
    projects = [f.make_project(published=True) for _ in range(2)]
    auth.as_role(Role.CLERK)
    client.post("/admin/event/bulk/", data={"ids": _ids(events), "what": "field:published", "value:published": "1",
                                            "step": "confirm"})
    assert {e.published for e in Event.select()} == {True}
    assert {e.sequence for e in Event.select()} == {0}, "publishing is not a calendar change"
    client.post("/admin/project/bulk/", data={"ids": _ids(projects), "what": "field:published", "value:published": "0",
                                              "step": "confirm"})
    assert {p.published for p in Project.select()} == {False}


def test_work_orders_are_revoked_in_bulk_through_the_state_machine(client, auth):
    orders = [workorders.create_order(channel="hotline", requester_name=f"居民{i}", category="policy", description="咨询")
              for i in range(3)]
    workorders.move(orders[2].id, "revoke", reason="重复")
    auth.as_role(Role.CLERK)
    form = {"ids": _ids(orders), "what": "move:revoke", "param:revoke:reason": "", "step": "preview"}
    response = client.post("/admin/work_order/bulk/", data=form)
    assert response.status_code == 400 and "请填写撤销原因" in " ".join(flashes(response.get_data(as_text=True)))
    form["param:revoke:reason"] = "居民已自行解决"
    text = " ".join(visible_text(client.post("/admin/work_order/bulk/", data=form).get_data(as_text=True)).split())
    assert "将把 2 条工单的“撤销”执行" in text and "另有 1 条当前状态不能撤销" in text
    form["step"] = "confirm"
    client.post("/admin/work_order/bulk/", data=form)
    revoked = list(WorkOrder.select().where(WorkOrder.id.in_([o.id for o in orders[:2]])))
    assert {o.status for o in revoked} == {OrderStatus.REVOKED}
    assert {o.revoke_reason for o in revoked} == {"居民已自行解决"}
    assert AuditLog.select().where(AuditLog.action == "revoke").count() == 3


def test_one_refusal_undoes_the_whole_batch(client, auth, monkeypatch):
    unit = f.make_unit(name="物业公司")
    orders = [workorders.create_order(channel="hotline", requester_name=f"居民{i}", category="property", description="维修")
              for i in range(3)]
    auth.as_role(Role.CLERK)
    original = workorders.move

    def flaky(order_id, action, **kw):
        if order_id == orders[1].id:
            raise Conflict("该工单刚被他人处理，请刷新后重试")
        return original(order_id, action, **kw)

    monkeypatch.setattr(workorders, "move", flaky)
    response = client.post("/admin/work_order/bulk/", data={"ids": _ids(orders), "what": "move:dispatch",
                                                            "param:dispatch:unit": str(unit.id), "step": "confirm"})
    assert response.status_code == 409
    message = " ".join(flashes(response.get_data(as_text=True)))
    assert f"工单 #{orders[1].id} 未能完成" in message and "所选记录均未修改" in message
    assert {o.status for o in WorkOrder.select()} == {OrderStatus.ACCEPTED}
    assert AuditLog.select().where(AuditLog.action == "dispatch").count() == 0


def test_claims_are_rejected_and_sign_ups_cancelled_through_their_services(client, auth):
    project = f.make_project(slots=3)
    claims = [f.make_claim(project=project) for _ in range(2)]
    auth.as_role(Role.CLERK)
    client.post("/admin/claim/bulk/", data={"ids": _ids(claims), "what": "move:reject",
                                            "param:reject:reason": "名额已满", "step": "confirm"})
    assert {c.status for c in Claim.select()} == {ClaimStatus.REJECTED}
    assert Project.get_by_id(project.id).live_claims == 0, "rejecting frees the slots"

    event = f.make_event(capacity=1)
    first = f.make_signup(event=event)
    waiting = f.make_signup(event=event, status=SignupStatus.WAITLISTED)
    client.post("/admin/signup/bulk/", data={"ids": _ids([first]), "what": "move:cancel", "step": "confirm"})
    assert Signup.get_by_id(first.id).status == SignupStatus.CANCELLED
    assert Signup.get_by_id(waiting.id).status == SignupStatus.REGISTERED, "the waiting list moves up"


def test_who_gets_bulk_edit(client, auth):
    grid = f.make_grid()
    auth.as_role(Role.CLERK)
    assert client.get(f"/admin/grid/bulk/?ids={grid.id}").status_code == 404  # nothing declared for grids
    assert "bulk_edit" not in client.get("/admin/grid/").get_data(as_text=True)
    assert "bulk_edit" in client.get("/admin/volunteer/").get_data(as_text=True)
    auth.logout()
    auth.as_role(Role.UNIT)
    volunteer = f.make_volunteer()
    assert client.get(f"/admin/volunteer/bulk/?ids={volunteer.id}").status_code == 403
    assert client.post("/admin/volunteer/bulk/", data={"ids": str(volunteer.id), "what": "field:status",
                                                       "value:status": "left", "step": "confirm"}).status_code == 403
    assert Volunteer.get_by_id(volunteer.id).status == "active"



def test_a_state_machine_gives_its_moves_to_bulk_edit(client, auth):
    """Projects and events: every move a clerk makes by hand, in bulk, through the machine."""
    import datetime as dt

    from models import EventStatus, ProjectStatus, now

    drafts = [f.make_project(status=ProjectStatus.DRAFT, published=False, deadline=now().date() + dt.timedelta(days=30))
              for _ in range(2)]
    running = f.make_project(status=ProjectStatus.OPEN)
    auth.as_role(Role.CLERK)
    page = client.get(f"/admin/project/bulk/?ids={_ids(drafts + [running])}").get_data(as_text=True)
    assert 'value="move:publish"' in page and 'value="move:close"' in page
    text = " ".join(visible_text(client.post("/admin/project/bulk/", data={
        "ids": _ids(drafts + [running]), "what": "move:publish", "step": "preview"}).get_data(as_text=True)).split())
    assert "将把 2 条治理项目的“发布并开放认领”执行" in text and "另有 1 条当前状态不能发布并开放认领" in text
    client.post("/admin/project/bulk/", data={"ids": _ids(drafts + [running]), "what": "move:publish", "step": "confirm"})
    published = [Project.get_by_id(p.id) for p in drafts]
    assert {(p.status, p.published) for p in published} == {(ProjectStatus.OPEN, True)}
    assert all(p.opened_at for p in published)
    assert AuditLog.select().where(AuditLog.action == "publish").count() == 2

    response = client.post("/admin/project/bulk/", data={"ids": _ids(drafts), "what": "move:close", "step": "confirm"})
    assert response.status_code == 400 and "请填写关闭原因" in " ".join(flashes(response.get_data(as_text=True)))

    events = [f.make_event() for _ in range(2)]
    signup = f.make_signup(event=events[0])
    client.post("/admin/event/bulk/", data={"ids": _ids(events), "what": "move:cancel", "step": "confirm"})
    assert {Event.get_by_id(e.id).status for e in events} == {EventStatus.CANCELLED}
    assert Signup.get_by_id(signup.id).status == SignupStatus.CANCELLED, "the machine's after hook ran"
