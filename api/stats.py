"""The alliance's figures, in a handful of aggregate queries."""
from models import ProjectStatus, UnitKind
from services import stats as services_stats

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
# 微心愿 (issue 10): counted in the same statement (services/stats.py)
STATS_SCHEMA["required"].append("wishes_fulfilled_month")
STATS_SCHEMA["properties"]["wishes_fulfilled_month"] = {"type": "integer", "description": "本月圆梦的微心愿数"}


def alliance_figures():
    return services_stats.alliance_figures()
