"""Figures for the admin home: the alliance at a glance.

A constant number of aggregate queries (GROUP BY / filtered COUNT), whatever the number
of work orders; the ledger's and the sign-ups' figures come from running totals
(services/totals.py), so they cost the same at a million entries as with the demo data.
``bench/dashboard.py`` and ``bench/table.py`` measure it.
"""
import datetime as dt
from decimal import Decimal

from peewee import fn

from models import (Claim, ClaimStatus, Event, Line, MemberUnit, OrderStatus, Project, ProjectStatus,
                    Rating, Volunteer, WorkOrder, now)
from services import totals, wishes
from services.stats import month_of, seconds_between
from services.stats import work_order_rounds
from services.workorders import OPEN, overdue_clause

FINISHED = (OrderStatus.RESOLVED, OrderStatus.RATED)


def _count(model, *where):
    query = model.select(fn.COUNT(model.id))
    return int((query.where(*where) if where else query).scalar() or 0)


def claims_by_line():
    rows = (Claim.select(Project.line, Claim.status, fn.COUNT(Claim.id))
            .join(Project, on=(Claim.project == Project.id))
            .group_by(Project.line, Claim.status).tuples())
    cells = {(line, status): n for line, status, n in rows}
    return {
        "labels": [label for _, label in Line.choices],
        "series": [{"label": s_label, "key": s_code,
                    "data": [cells.get((l_code, s_code), 0) for l_code, _ in Line.choices]}
                   for s_code, s_label in ClaimStatus.choices],
    }


def events_per_month(year):
    month = month_of(Event.starts_at)
    rows = (Event.select(month, fn.COUNT(Event.id))
            .where(Event.starts_at >= dt.datetime(year, 1, 1), Event.starts_at < dt.datetime(year + 1, 1, 1))
            .group_by(month).tuples())
    counts = dict(rows)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    return {"labels": [f"{m}月" for m in range(1, 13)], "data": [counts.get(m, 0) for m in months]}


def hours_by_team():
    pairs = totals.hours_by_team()
    return {"labels": [p[0] for p in pairs], "data": [float(p[1]) for p in pairs]}


def work_orders():
    by_status = dict(WorkOrder.select(WorkOrder.status, fn.COUNT(WorkOrder.id)).group_by(WorkOrder.status).tuples())
    finished = WorkOrder.status.in_(FINISHED) & WorkOrder.resolved_at.is_null(False)
    with_due = finished & WorkOrder.due_at.is_null(False)
    closed, due_known, on_time, overdue = (WorkOrder.select(
        fn.COUNT(WorkOrder.id).filter(finished),
        fn.COUNT(WorkOrder.id).filter(with_due),
        fn.COUNT(WorkOrder.id).filter(with_due & (WorkOrder.resolved_at <= WorkOrder.due_at)),
        fn.COUNT(WorkOrder.id).filter(overdue_clause()),
    ).tuples().get())
    median_hours = None
    if closed:
        duration = seconds_between(WorkOrder.accepted_at, WorkOrder.resolved_at)
        middle = list(WorkOrder.select(duration).where(finished, WorkOrder.accepted_at.is_null(False))
                      .order_by(duration).limit(2 - closed % 2).offset((closed - 1) // 2).tuples())
        if middle:
            median_hours = round(sum(float(m[0]) for m in middle) / len(middle) / 3600, 1)
    ratings = dict(WorkOrder.select(WorkOrder.rating, fn.COUNT(WorkOrder.id))
                   .where(WorkOrder.rating.is_null(False)).group_by(WorkOrder.rating).tuples())
    rated = sum(ratings.values())
    return {
        "labels": [label for _, label in OrderStatus.choices],
        "data": [by_status.get(code, 0) for code, _ in OrderStatus.choices],
        "total": sum(by_status.values()),
        "open": sum(by_status.get(code, 0) for code in OPEN),
        "closed": closed,
        "overdue": overdue,
        "median_hours": median_hours,
        "on_time_share": round(on_time / due_known, 3) if due_known else None,
        "on_time": on_time, "due_known": due_known,
        "satisfied": ratings.get(Rating.SATISFIED, 0), "unsatisfied": ratings.get(Rating.UNSATISFIED, 0),
        "satisfaction": round(ratings.get(Rating.SATISFIED, 0) / rated, 3) if rated else None,
    }


def headline():
    projects, open_projects, wishes_month = Project.select(
        fn.COUNT(Project.id), fn.COUNT(Project.id).filter(Project.status == ProjectStatus.OPEN),
        wishes.fulfilled_this_month_query()).tuples().get()  # 微心愿: a scalar sub-select, no extra query
    pending, to_acknowledge = Claim.select(
        fn.COUNT(Claim.id).filter(Claim.status == ClaimStatus.PENDING),
        fn.COUNT(Claim.id).filter(Claim.needs_ack == True)).tuples().get()  # noqa: E712
    entries, hours = totals.ledger_totals()
    return [
        ("成员单位", _count(MemberUnit), "member_unit.index_view"),
        ("治理项目", projects, "project.index_view"),
        ("待认领项目", open_projects, "project.index_view"),
        ("待审核认领", pending or 0, "pending_claim.index_view"),
        ("撤回待知悉", to_acknowledge or 0, "withdrawn_claim.index_view"),
        ("活动", _count(Event), "event.index_view"),
        ("报名", totals.signup_total(), "signup.index_view"),
        ("志愿者", _count(Volunteer), "volunteer.index_view"),
        ("志愿服务时长(小时)", hours.quantize(Decimal("0.1")), "points_bank.teams"),
        ("积分流水", entries, "points_entry.index_view"),
        ("本月圆梦微心愿", wishes_month or 0, "wish.index_view"),
    ]


def overview(year=None):
    """Everything the dashboard shows, as plain data (the template and charts read it)."""
    year = year or now().year
    orders = work_orders()
    orders.update(work_order_rounds())  # first-round satisfaction, redo rate (every round kept)
    cards = headline() + [("未办结工单", orders["open"], "work_order.index_view")]
    return {
        "year": year,
        "cards": cards,
        "claims": claims_by_line(),
        "events": events_per_month(year),
        "hours": hours_by_team(),
        "orders": orders,
    }
