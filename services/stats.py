"""Aggregate figures, and the SQL expressions that differ between SQLite and PostgreSQL."""
from peewee import SQL, NodeList, PostgresqlDatabase, Select, fn

from models import (EntryKind, Event, EventStatus, MemberUnit, Project, ProjectStatus,
                    UnitKind, UnitStatus, Volunteer, VolunteerStatus, VolunteerTeam, Wish, WishStatus, db, now)


def on_postgres():
    return isinstance(db.obj, PostgresqlDatabase)


def month_of(column):
    """'YYYY-MM' of a naive datetime column."""
    if on_postgres():
        return fn.to_char(column, "YYYY-MM")
    return fn.strftime("%Y-%m", column)


def seconds_between(start, end):
    """``end - start`` in seconds, as a number."""
    if on_postgres():
        return fn.EXTRACT(NodeList((SQL("EPOCH FROM"), NodeList((end, SQL("-"), start)))))
    return (fn.julianday(end) - fn.julianday(start)) * 86400


# Hours served: service hours (earned), clerk back-filled honour hours and corrections
# of either; exchanges and expiries move points only, never hours.
HOUR_KINDS = (EntryKind.EARNED, EntryKind.HONOUR, EntryKind.CORRECTED)


def month_bounds(at):
    """[first instant of ``at``'s month, first instant of the next)."""
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _count(model, *where):
    return model.select(fn.COUNT(model.id)).where(*where)


def alliance_figures(at=None):
    """The alliance's live figures (home page and /api/v1/stats) in ONE statement of
    scalar sub-selects, each an index scan or a sum of per-volunteer totals, whatever
    the size of the ledger."""
    at = at or now()
    active_unit = MemberUnit.status == UnitStatus.ACTIVE
    public_project = Project.published == True  # noqa: E712
    statuses = [code for code in ProjectStatus.codes() if code != ProjectStatus.DRAFT]
    columns = [_count(MemberUnit, active_unit, MemberUnit.kind == kind).alias(f"unit_{kind}")
               for kind in UnitKind.codes()]
    columns += [_count(Project, public_project, Project.status == status).alias(f"project_{status}")
                for status in statuses]
    columns += [
        _count(Event, Event.published == True, Event.status == EventStatus.SCHEDULED,  # noqa: E712
               Event.starts_at >= at).alias("events_upcoming"),
        _count(Volunteer, Volunteer.status == VolunteerStatus.ACTIVE).alias("volunteers"),
        VolunteerTeam.select(fn.COUNT(VolunteerTeam.id)).alias("volunteer_teams"),
        # the volunteers' running totals (services/totals.py), not the whole ledger
        Volunteer.select(fn.COALESCE(fn.SUM(Volunteer.hours_total), 0)).alias("volunteer_hours"),
    ]
    # 微心愿 fulfilled this month (services/wishes.py): a range on wish.fulfilled_at
    month_start, month_end = month_bounds(at)
    columns.append(_count(Wish, Wish.status == WishStatus.FULFILLED, Wish.fulfilled_at >= month_start,
                          Wish.fulfilled_at < month_end).alias("wishes_fulfilled_month"))
    row = Select(columns=columns).bind(db.obj).dicts().get()
    units_by_kind = {kind: row[f"unit_{kind}"] for kind in UnitKind.codes()}
    projects_by_status = {status: row[f"project_{status}"] for status in statuses}
    return {
        "units": sum(units_by_kind.values()),
        "units_by_kind": units_by_kind,
        "projects": sum(projects_by_status.values()),
        "projects_by_status": projects_by_status,
        "events_upcoming": row["events_upcoming"],
        "volunteers": row["volunteers"],
        "volunteer_teams": row["volunteer_teams"],
        "volunteer_hours": float(row["volunteer_hours"] or 0),
        "wishes_fulfilled_month": row["wishes_fulfilled_month"],
    }


def work_order_rounds():
    """First-round satisfaction and redo rate, from the orders' steps (every round kept):
    ``first_round_satisfaction`` = round-1 ratings that are 满意 or 基本满意 / round-1 ratings
    (the residents' 满意率 counts the same two answers, services/needs.py);
    ``redo_rate`` = orders that reached round 2 or later / orders ever rated. One statement."""
    from models import Rating, WorkOrderStep

    def steps(*where):
        return WorkOrderStep.select(fn.COUNT(fn.DISTINCT(WorkOrderStep.order))).where(*where)

    first_rate = (WorkOrderStep.kind == "rate") & (WorkOrderStep.round == 1)
    row = Select(columns=[
        steps(first_rate).alias("first_rated"),
        steps(first_rate, WorkOrderStep.rating.in_((Rating.SATISFIED, Rating.FAIR))).alias("first_satisfied"),
        steps(WorkOrderStep.kind == "rate").alias("rated_orders"),
        steps(WorkOrderStep.round >= 2).alias("redone_orders"),
    ]).bind(db.obj).dicts().get()
    first_rated, rated = row["first_rated"] or 0, row["rated_orders"] or 0
    return {
        "first_rated": first_rated,
        "first_satisfied": row["first_satisfied"] or 0,
        "first_round_satisfaction": round((row["first_satisfied"] or 0) / first_rated, 3) if first_rated else None,
        "rated_orders": rated,
        "redone_orders": row["redone_orders"] or 0,
        "redo_rate": round((row["redone_orders"] or 0) / rated, 3) if rated else None,
    }
