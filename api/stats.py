"""The alliance's figures, in a handful of aggregate queries."""
from peewee import fn

from models import (EntryKind, Event, EventStatus, MemberUnit, PointsEntry, Project, ProjectStatus,
                    UnitKind, UnitStatus, Volunteer, VolunteerStatus, VolunteerTeam, now)
from models.exposure import exposure_of

from .resources import visible_conditions

# Hours served: service, honour hours and their corrections (as on the home page,
# public/home.py); exchanges and expiries move points only.
HOUR_KINDS = (EntryKind.EARNED, EntryKind.HONOUR, EntryKind.CORRECTED)

STATS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["units", "units_by_kind", "projects", "projects_by_status", "events_upcoming",
                 "volunteers", "volunteer_teams", "volunteer_hours"],
    "properties": {
        "units": {"type": "integer", "description": "在册成员单位数"},
        "units_by_kind": {"type": "object", "description": "按单位类型的成员单位数：" + "、".join(
            f"{c}={label}" for c, label in UnitKind.choices),
            "additionalProperties": {"type": "integer"}},
        "projects": {"type": "integer", "description": "已发布的治理项目数"},
        "projects_by_status": {"type": "object", "description": "按状态的项目数：" + "、".join(
            f"{c}={label}" for c, label in ProjectStatus.choices),
            "additionalProperties": {"type": "integer"}},
        "events_upcoming": {"type": "integer", "description": "尚未开始且未取消的已发布活动数"},
        "volunteers": {"type": "integer", "description": "在队志愿者人数"},
        "volunteer_teams": {"type": "integer", "description": "志愿服务队数"},
        "volunteer_hours": {"type": "number", "description": "累计志愿服务时长（小时）"},
    },
}


def alliance_figures():
    units_by_kind = dict(MemberUnit.select(MemberUnit.kind, fn.COUNT(MemberUnit.id))
                         .where(MemberUnit.status == UnitStatus.ACTIVE)
                         .group_by(MemberUnit.kind).tuples())
    projects_by_status = dict(Project.select(Project.status, fn.COUNT(Project.id))
                              .where(*visible_conditions(exposure_of(Project)))
                              .group_by(Project.status).tuples())
    upcoming = (Event.select().where(*visible_conditions(exposure_of(Event)),
                                     Event.status == EventStatus.SCHEDULED, Event.starts_at >= now())
                .count())
    hours = (PointsEntry.select(fn.COALESCE(fn.SUM(PointsEntry.hours), 0))
             .where(PointsEntry.kind.in_(HOUR_KINDS)).scalar())
    return {
        "units": sum(units_by_kind.values()),
        "units_by_kind": {code: units_by_kind.get(code, 0) for code in UnitKind.codes()},
        "projects": sum(projects_by_status.values()),
        "projects_by_status": {code: projects_by_status.get(code, 0) for code in ProjectStatus.codes()
                               if code != ProjectStatus.DRAFT},
        "events_upcoming": upcoming,
        "volunteers": Volunteer.select().where(Volunteer.status == VolunteerStatus.ACTIVE).count(),
        "volunteer_teams": VolunteerTeam.select().count(),
        "volunteer_hours": float(hours or 0),
    }
