"""The public home page: the alliance's live figures and the next events."""
import datetime as dt
import threading
import time

from flask import current_app, render_template
from peewee import Select, fn

from models import (EntryKind, Event, EventCategory, EventStatus, MemberUnit, PointsEntry, Project,
                    ProjectStatus, UnitStatus, Volunteer, VolunteerStatus, now)

UPCOMING_SHOWN = 5
SPAN_LOOKBACK_DAYS = 92  # as on the calendar: keeps the query a range scan on starts_at

# Hours served: service hours (earned), clerk back-filled honour hours and corrections
# of either; exchanges and expiries move points only, never hours.
HOUR_KINDS = (EntryKind.EARNED, EntryKind.HONOUR, EntryKind.CORRECTED)


def _count(model, *where):
    return model.select(fn.COUNT(model.id)).where(*where)


def alliance_figures(at=None):
    """Every home-page figure in ONE query (scalar sub-selects), whatever the data size."""
    at = at or now()
    published_projects = (Project.published == True)  # noqa: E712
    row = Select(columns=[
        _count(MemberUnit, MemberUnit.status == UnitStatus.ACTIVE).alias("units"),
        _count(Project, published_projects, Project.status == ProjectStatus.OPEN).alias("open"),
        _count(Project, published_projects,
               Project.status.in_([ProjectStatus.CLAIMED, ProjectStatus.IN_PROGRESS])).alias("claimed"),
        _count(Project, published_projects, Project.status == ProjectStatus.DONE).alias("done"),
        _count(Event, Event.published == True, Event.status == EventStatus.SCHEDULED,  # noqa: E712
               Event.starts_at >= at).alias("upcoming"),
        _count(Volunteer, Volunteer.status == VolunteerStatus.ACTIVE).alias("volunteers"),
        PointsEntry.select(fn.COALESCE(fn.SUM(PointsEntry.hours), 0))
        .where(PointsEntry.kind.in_(HOUR_KINDS)).alias("hours"),
    ]).bind(Project._meta.database).dicts().get()
    row["hours"] = int(round(float(row["hours"] or 0)))
    return row


def upcoming_events(at=None, limit=UPCOMING_SHOWN):
    at = at or now()
    return list(Event.select(Event.id, Event.title, Event.category, Event.starts_at, Event.ends_at,
                             Event.location, Event.status)
                .where(Event.published == True, Event.ends_at > at,  # noqa: E712
                       Event.starts_at >= at - dt.timedelta(days=SPAN_LOOKBACK_DAYS))
                .order_by(Event.starts_at, Event.id).limit(limit))


class _FiguresCache:
    """The figures, kept per worker for ``HOME_FIGURES_TTL`` seconds (default 10).

    The counts are index-only (migration 003) but still walk every upcoming event and
    every project; at 100k rows that is tens of milliseconds per request, so the most
    visited page reuses them briefly. 0 turns the cache off."""

    def __init__(self):
        self.value, self.expires = None, 0.0
        self.lock = threading.Lock()

    def get(self, ttl, compute):
        if ttl <= 0:
            return compute()
        with self.lock:
            if self.value is not None and time.monotonic() < self.expires:
                return self.value
        value = compute()
        with self.lock:
            self.value, self.expires = value, time.monotonic() + ttl
        return value


def home():
    at = now()
    cache = current_app.extensions.setdefault("home_figures_cache", _FiguresCache())
    figures = cache.get(current_app.config.get("HOME_FIGURES_TTL", 10), lambda: alliance_figures(at))
    return render_template("public/home.html", figures=figures,
                           upcoming=upcoming_events(at), category_label=EventCategory.label,
                           EventStatus=EventStatus)
