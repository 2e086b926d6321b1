"""The public home page: the alliance's live figures and the next events."""
import datetime as dt
import threading
import time

from flask import current_app, render_template

from models import Event, EventCategory, EventStatus, ProjectStatus, now
from models.dataversion import current_version
from services.stats import alliance_figures

UPCOMING_SHOWN = 5
SPAN_LOOKBACK_DAYS = 92  # as on the calendar: keeps the query a range scan on starts_at


def home_figures(at=None):
    """The seven home-page numbers, from the shared alliance figures."""
    figures = alliance_figures(at)
    by_status = figures["projects_by_status"]
    return {
        "units": figures["units"],
        "open": by_status[ProjectStatus.OPEN],
        "claimed": by_status[ProjectStatus.CLAIMED] + by_status[ProjectStatus.IN_PROGRESS],
        "done": by_status[ProjectStatus.DONE],
        "upcoming": figures["events_upcoming"],
        "volunteers": figures["volunteers"],
        "hours": int(round(figures["volunteer_hours"])),
        "wishes_fulfilled": figures["wishes_fulfilled_month"],  # 微心愿 (services/wishes.py)
    }


def upcoming_events(at=None, limit=UPCOMING_SHOWN):
    at = at or now()
    return list(Event.select(Event.id, Event.title, Event.category, Event.starts_at, Event.ends_at,
                             Event.location, Event.status)
                .where(Event.published == True, Event.ends_at > at,  # noqa: E712
                       Event.starts_at >= at - dt.timedelta(days=SPAN_LOOKBACK_DAYS))
                .order_by(Event.starts_at, Event.id).limit(limit))


class _FiguresCache:
    """The figures, kept per worker for ``HOME_FIGURES_TTL`` seconds (default 10) while the
    public data's version (models/dataversion.py) stays the same: any write to units,
    projects, events or volunteers shows on the next request, on every app server.

    The counts are index-only (migration 003) but still walk every upcoming event and
    every project; at 100k rows that is tens of milliseconds per request, so the most
    visited page reuses them briefly. 0 turns the cache off."""

    def __init__(self):
        self.value, self.expires, self.version = None, 0.0, None
        self.lock = threading.Lock()

    def get(self, ttl, compute, version=None):
        if ttl <= 0 or version is None:
            return compute()
        with self.lock:
            if self.value is not None and self.version == version and time.monotonic() < self.expires:
                return self.value
        value = compute()
        with self.lock:
            self.value, self.expires, self.version = value, time.monotonic() + ttl, version
        return value


def home():
    at = now()
    cache = current_app.extensions.setdefault("home_figures_cache", _FiguresCache())
    ttl = current_app.config.get("HOME_FIGURES_TTL", 10)
    figures = cache.get(ttl, lambda: home_figures(at), current_version() if ttl > 0 else None)
    return render_template("public/home.html", figures=figures,
                           upcoming=upcoming_events(at), category_label=EventCategory.label,
                           EventStatus=EventStatus)
