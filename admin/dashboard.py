"""Figures for the admin home."""
from models import (Claim, ClaimStatus, Event, MemberUnit, PointsEntry, Project, ProjectStatus,
                    Signup, Volunteer, WorkOrder, OrderStatus)


def overview():
    return [
        ("成员单位", MemberUnit.select().count(), "member_unit.index_view"),
        ("治理项目", Project.select().count(), "project.index_view"),
        ("待认领项目", Project.select().where(Project.status == ProjectStatus.OPEN).count(), "project.index_view"),
        ("待审核认领", Claim.select().where(Claim.status == ClaimStatus.PENDING).count(), "claim.index_view"),
        ("活动", Event.select().count(), "event.index_view"),
        ("报名", Signup.select().count(), "signup.index_view"),
        ("志愿者", Volunteer.select().count(), "volunteer.index_view"),
        ("积分流水", PointsEntry.select().count(), "points_entry.index_view"),
        ("未办结工单", WorkOrder.select().where(WorkOrder.status.in_(
            [OrderStatus.ACCEPTED, OrderStatus.DISPATCHED, OrderStatus.REDO])).count(), "work_order.index_view"),
    ]
