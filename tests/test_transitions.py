"""The one transition primitive (services/transitions.py): the table decides, move()
refuses in one Chinese shape, races lose with 刚被他人处理, hooks share the transaction,
and a new machine is a table only."""
import json

import pytest

from models import (AuditLog, Claim, ClaimStatus, OrderStatus, Role, Volunteer, VolunteerStatus,
                    WorkOrder)
from models.exposure import DeclarationError
from services import claims, workorders
from services.errors import Conflict, Forbidden, ServiceError
from services.transitions import MACHINES, SYSTEM, Machine, Transition

from . import factories as f


def new_order():
    return workorders.create_order(channel="hotline", requester_name="刘大爷", category="other",
                                   description="楼道灯不亮")


# --- declarations -----------------------------------------------------------------------

@pytest.mark.parametrize("transition, words", [
    (Transition("x", ("nowhere",), VolunteerStatus.LEFT, "退出", "records.manage"), "unknown state"),
    (Transition("x", (VolunteerStatus.ACTIVE,), VolunteerStatus.LEFT, "退出", "no.such.permission"),
     "unknown permission"),
    (Transition("x", (VolunteerStatus.ACTIVE,), VolunteerStatus.LEFT, "退出", SYSTEM, stamp="left_at"),
     "no column"),
])
def test_a_wrong_table_fails_when_it_is_declared(transition, words):
    with pytest.raises(DeclarationError, match=words):
        Machine(Volunteer, VolunteerStatus, [transition])
    MACHINES.pop("Volunteer", None)


def test_every_machine_of_the_app_is_declared(app):
    assert {"Claim", "Signup", "WorkOrder", "Project", "Event"} <= set(MACHINES)
    for machine in MACHINES.values():
        for t in machine:
            assert t.label and t.who  # a Chinese label and who may make it, on every move


# --- a new machine is a table only (as needs and 微心愿 will be) -----------------------------

def test_a_new_machine_needs_nothing_but_its_table(app):
    leave = Machine(Volunteer, VolunteerStatus, [
        Transition("leave", (VolunteerStatus.ACTIVE,), VolunteerStatus.LEFT, "办理退出", "records.manage"),
        Transition("rejoin", (VolunteerStatus.LEFT,), VolunteerStatus.ACTIVE, "重新入队", "records.manage",
                   guard=lambda v: "请先补全手机号" if not v.phone else None),
    ], closed=())
    try:
        clerk, unit_user = f.make_user(role=Role.CLERK), f.make_user(role=Role.UNIT)
        volunteer = f.make_volunteer()
        assert [t.name for t in leave.allowed(volunteer, clerk)] == ["leave"]
        assert leave.allowed(volunteer, unit_user) == []
        with pytest.raises(Forbidden) as err:
            leave.move(volunteer, "leave", user=unit_user)
        assert err.value.message == "您没有权限办理退出"
        leave.move(volunteer, "leave", user=clerk)
        fresh = Volunteer.get_by_id(volunteer.id)
        assert fresh.status == VolunteerStatus.LEFT and fresh.updated_at is not None
        row = AuditLog.get(AuditLog.entity == "Volunteer", AuditLog.action == "leave")
        assert row.user_id == clerk.id and json.loads(row.changes)["status"] == ["active", "left"]
        with pytest.raises(Conflict) as err:
            leave.move(fresh, "leave", user=clerk)
        assert err.value.message == "志愿者当前为“已退出”，不能办理退出"
        with pytest.raises(ServiceError) as err:
            leave.move(fresh, "fly", user=clerk)
        assert (err.value.status, err.value.message) == (400, "不支持的志愿者操作")
    finally:
        MACHINES.pop("Volunteer", None)


# --- refusals: one shape; wrong users; SYSTEM moves ------------------------------------------

def test_refusals_share_one_shape_and_change_nothing(app):
    order = new_order()
    logged = AuditLog.select().count()
    with pytest.raises(Conflict) as err:
        workorders.ORDERS.move(order, "resolve", values={"result": "x"})
    assert err.value.message == "工单当前为“已受理”，不能办结"
    workorders.move(order.id, "revoke", reason="重复工单")
    with pytest.raises(Conflict) as err:
        workorders.ORDERS.move(WorkOrder.get_by_id(order.id), "dispatch")
    assert err.value.message == "工单已关闭（已撤销），不能派单"  # the closed-state variant
    assert AuditLog.select().count() == logged + 1


def test_wrong_users_are_refused_by_the_table(app):
    project = f.make_project(slots=2)
    owner = f.make_user(role=Role.UNIT)
    stranger = f.make_user(role=Role.UNIT)
    clerk = f.make_user(role=Role.CLERK)
    claim = claims.claim_project(project.id, owner.unit, "计划")

    # another unit may not move this unit's claim, even with the service bypassed
    with pytest.raises(Forbidden):
        claims.CLAIMS.move(claim, "withdraw", user=stranger)
    # a unit may not review, a clerk may not withdraw for a unit
    with pytest.raises(Forbidden):
        claims.confirm_claim(claim.id, user=owner)
    with pytest.raises(Forbidden):
        claims.CLAIMS.move(claim, "withdraw", user=clerk)

    class Anonymous:
        is_authenticated = is_active = False
        role = None

    with pytest.raises(Forbidden) as err:
        claims.CLAIMS.move(claim, "confirm", user=Anonymous())
    assert err.value.message == "请先登录后再确认认领"
    # SYSTEM moves are the services' alone
    with pytest.raises(Forbidden) as err:
        claims.projects.PROJECTS.move(project, "fill", user=clerk)
    assert "由系统自动完成" in err.value.message
    assert Claim.get_by_id(claim.id).status == ClaimStatus.PENDING

    assert [t.name for t in claims.CLAIMS.allowed(claim, owner)] == ["withdraw"]
    assert claims.CLAIMS.allowed(claim, stranger) == []
    assert [t.name for t in claims.CLAIMS.allowed(claim, clerk)] == ["confirm", "reject"]
    assert claims.CLAIMS.allowed(claim, Anonymous()) == []
    claims.CLAIMS.move(claim, "withdraw", user=owner)
    assert Claim.get_by_id(claim.id).status == ClaimStatus.WITHDRAWN


def test_a_record_moved_meanwhile_is_a_conflict_not_a_move_from_an_unseen_state(app):
    order = new_order()
    stale = WorkOrder.get_by_id(order.id)
    workorders.move(order.id, "dispatch", worker="网格员小王")
    # "revoke" is allowed from 已派单 too, but the clerk saw 已受理: refuse, do not revoke
    with pytest.raises(Conflict) as err:
        workorders.ORDERS.move(stale, "revoke", values={"revoke_reason": "重复"})
    assert err.value.message == "该工单刚被他人处理，请刷新后重试"
    assert WorkOrder.get_by_id(order.id).status == OrderStatus.DISPATCHED


# --- after hooks run in the move's transaction ---------------------------------------------

def test_after_hooks_commit_or_roll_back_with_the_move(app):
    seen = []

    def hook(moved):
        seen.append((moved.transition.name, moved.source, moved.obj.status, moved.changes["status"]))
        if moved.transition.name == "revoke":
            raise RuntimeError("a notice could not be written")

    workorders.ORDERS.add_after(hook)
    try:
        order = new_order()
        workorders.move(order.id, "dispatch", worker="网格员小王")
        assert seen == [("dispatch", "accepted", "dispatched", ["accepted", "dispatched"])]
        logged = AuditLog.select().count()
        with pytest.raises(RuntimeError):
            workorders.move(order.id, "revoke", reason="居民已自行解决")
        fresh = WorkOrder.get_by_id(order.id)
        assert fresh.status == OrderStatus.DISPATCHED and fresh.revoked_at is None
        assert fresh.revoke_reason is None and AuditLog.select().count() == logged
    finally:
        workorders.ORDERS._after.remove(hook)


def test_counters_computed_by_the_update_are_read_back(app):
    order = new_order()
    workorders.move(order.id, "dispatch", worker="甲")
    workorders.move(order.id, "resolve", result="已办")
    workorders.move(order.id, "rate", rating="unsatisfied")
    moved = workorders.ORDERS.move(WorkOrder.get_by_id(order.id), "redo",
                                   values={"redo_count": WorkOrder.redo_count + 1})
    assert moved.redo_count == 1 and moved.status == OrderStatus.REDO and moved.reopened_at
