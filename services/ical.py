"""iCalendar (RFC 5545) feeds of the published events.

- Times carry ``TZID=Asia/Shanghai`` with a VTIMEZONE (never floating); DTSTAMP and
  LAST-MODIFIED are the record's last change in UTC.
- UID is ``event-<id>@<ICAL_UID_DOMAIN>``: stable across requests and edits, so a
  subscribed phone updates the entry instead of duplicating it; SEQUENCE is
  ``Event.sequence`` (raised by ``Event.save`` when what a calendar shows changes).
- Text goes through the icalendar package, which escapes ``, ; \\`` and newlines
  (a bare CR included), so no title can start a new line or property.

The whole-calendar and per-category feeds are bounded so they stay small and fast with
any number of events: events starting from ``FEED_PAST_DAYS`` ago to ``FEED_FUTURE_DAYS``
ahead, at most ``FEED_MAX_EVENTS`` of them (upcoming ones first, then the most recent
past ones). Both queries are range scans on the ``starts_at`` index with a LIMIT. A feed
is rebuilt only when the public data's version (models/dataversion.py) or the hour
changes; otherwise the bytes cached in the worker are served, and a hash of the two is
the ETag for conditional requests.
"""
import datetime as dt
import hashlib
import threading
from collections import OrderedDict

from flask import current_app
from peewee import JOIN

from models import SHANGHAI, Event, EventCategory, EventStatus, MemberUnit, now

from . import links

FEED_PAST_DAYS = 90
FEED_FUTURE_DAYS = 365
FEED_MAX_EVENTS = 1000
PRODID = "-//红石榴基层治理联盟//活动日历//ZH"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# VTIMEZONE rules are written from this date; Asia/Shanghai has had no DST since 1991.
TZ_FIRST_DATE = dt.date(2000, 1, 1)
TZ_LAST_DATE = dt.date(2100, 1, 1)
_CACHE_SIZE = 32


def uid_domain():
    return current_app.config.get("ICAL_UID_DOMAIN", "hongshiliu.local")


def event_uid(event_id):
    return f"event-{event_id}@{uid_domain()}"


def _aware(value):
    return value.replace(tzinfo=SHANGHAI)


def _utc(value):
    return _aware(value).astimezone(dt.timezone.utc)


def _event_query():
    """Published events with the organiser's name as ``organiser_name`` (one query)."""
    return (Event.select(Event, MemberUnit.name.alias("organiser_name"))
            .join(MemberUnit, JOIN.LEFT_OUTER, on=(Event.organiser == MemberUnit.id))
            .where(Event.published == True)  # noqa: E712 (peewee expression)
            .objects())


def _window(category=None, at=None):
    at = at or now()
    start, end = at - dt.timedelta(days=FEED_PAST_DAYS), at + dt.timedelta(days=FEED_FUTURE_DAYS)
    clauses = [Event.published == True, Event.starts_at >= start, Event.starts_at < end]  # noqa: E712
    if category:
        clauses.append(Event.category == category)
    return at, clauses


def _bounded(query, category=None, at=None):
    """``query`` limited to what a feed holds: the window, upcoming first, sorted by start."""
    at, clauses = _window(category, at)
    base = query.where(*clauses)
    upcoming = list(base.where(Event.starts_at >= at).order_by(Event.starts_at, Event.id)
                    .limit(FEED_MAX_EVENTS))
    past = []
    if len(upcoming) < FEED_MAX_EVENTS:
        past = list(base.where(Event.starts_at < at).order_by(Event.starts_at.desc(), Event.id.desc())
                    .limit(FEED_MAX_EVENTS - len(upcoming)))
    return list(reversed(past)) + upcoming


def feed_events(category=None, at=None):
    """The events a feed holds, with their organiser's name."""
    return _bounded(_event_query(), category, at)


def fingerprint(category=None, at=None, base=None):
    """A short hash of exactly the feed's rows (id, last change, SEQUENCE) and of the
    address its links start with (``base``, see services/links.py).

    Reads the same bounded rows as the feed (at most FEED_MAX_EVENTS, three small
    columns), so it costs the same whatever the table size. An organiser renamed without
    any change to the event shows within the hour (the hour is part of the key).
    """
    at = at or now()
    base = base or links.base_url()
    rows = _bounded(Event.select(Event.id, Event.updated_at, Event.sequence).tuples(), category, at)
    digest = hashlib.sha1(f"{category}|{at:%Y%m%d%H}|{uid_domain()}|{base}".encode())
    for row in rows:
        digest.update(("|%s,%s,%s" % row).encode())
    return digest.hexdigest()[:20]


def _text(value):
    """Plain text for a property: CRs normalised, other control characters dropped."""
    value = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch == "\n" or ch == "\t" or ord(ch) >= 32)


def _vevent(event, event_url):
    import icalendar  # on use, not at start-up: worker memory

    ve = icalendar.Event()
    ve.add("uid", event_uid(event.id))
    ve.add("dtstamp", _utc(event.updated_at))
    ve.add("last-modified", _utc(event.updated_at))
    ve.add("created", _utc(event.created_at))
    ve.add("sequence", int(event.sequence or 0))
    ve.add("dtstart", _aware(event.starts_at))
    ve.add("dtend", _aware(event.ends_at))
    title = _text(event.title)
    if event.status == EventStatus.CANCELLED:
        title = "【已取消】" + title
    ve.add("summary", title)
    ve.add("location", _text(event.location))
    lines = []
    organiser = getattr(event, "organiser_name", None)
    if organiser:
        lines.append(f"主办单位：{organiser}")
    if event.description:
        lines.append(event.description)
    lines.append(f"详情与报名：{event_url}")
    ve.add("description", _text("\n".join(lines)))
    ve.add("categories", [EventCategory.label(event.category)])
    ve.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    ve.add("transp", "OPAQUE")
    ve.add("url", event_url)
    return ve


def build_calendar(events, name):
    """Serialise ``events`` (from ``_event_query``) into iCalendar bytes; event links start
    with ``links.base_url()``."""
    import icalendar  # on use, not at start-up: worker memory

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _text(name))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("refresh-interval", dt.timedelta(hours=6), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT6H")
    base = links.external_url("public.event_detail", event_id=0)[:-1]
    for event in events:
        cal.add_component(_vevent(event, f"{base}{event.id}"))
    first = min([TZ_FIRST_DATE] + [e.starts_at.date() for e in events])
    last = max([TZ_LAST_DATE] + [e.ends_at.date() + dt.timedelta(days=1) for e in events])
    # every time in a feed is Asia/Shanghai (a calendar without events still names its zone)
    cal.add_component(_vtimezone(first, last))
    return cal.to_ical()


_VTIMEZONES = {}


def _vtimezone(first, last):
    """The VTIMEZONE of Asia/Shanghai from ``first`` to ``last``, made once per process:
    working out a century of rules costs ≈ 35 ms, more than the rest of a one-event .ics."""
    key = (first, last)
    component = _VTIMEZONES.get(key)
    if component is None:
        import icalendar  # on use, not at start-up: worker memory

        component = icalendar.Timezone.from_tzid("Asia/Shanghai", first_date=first, last_date=last)
        if len(_VTIMEZONES) < 16:  # almost always the one (2000-01-01, 2100-01-01)
            _VTIMEZONES[key] = component
    return component


def event_calendar(event):
    """One event as a downloadable .ics."""
    event = _event_query().where(Event.id == event.id).get()
    return build_calendar([event], f"{current_app.config['COMMUNITY_NAME']}活动：{event.title}")


class FeedCache:
    """A small LRU of built feeds per worker, keyed by (scope, fingerprint). The fingerprint
    covers the links' base address, so a request with a forged Host (when PUBLIC_BASE_URL is
    unset) builds and caches its own entry and never the one other subscribers get."""

    def __init__(self, size=_CACHE_SIZE):
        self.size = size
        self._data = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key, build):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        body = build()
        with self._lock:
            self._data[key] = body
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return body


def feed(category=None):
    """(body bytes, etag) of the whole-calendar or one category's feed.

    The ETag is a hash of the public data's version (models/dataversion.py: bumped by the
    database with every write to events, units …), the hour (the window moves with it:
    the feed is built for the hour's start, so its body is a function of the ETag's parts),
    the scope and the links' base address: no query of the events to answer a 304 or a
    cached body. A database never written to (no version yet) falls back to the rows'
    fingerprint."""
    from models.dataversion import current_version

    cache = current_app.extensions.setdefault("ical_feed_cache", FeedCache())
    at = now().replace(minute=0, second=0, microsecond=0)
    base = links.base_url()
    version = current_version()
    if version is None:
        etag = fingerprint(category, at, base)
    else:
        etag = hashlib.sha1(f"{version}|{category}|{at:%Y%m%d%H}|{uid_domain()}|{base}".encode()).hexdigest()[:20]
    community = current_app.config["COMMUNITY_NAME"]
    name = f"{community}活动日历" + (f"·{EventCategory.label(category)}" if category else "")
    body = cache.get_or_build((category, etag), lambda: build_calendar(feed_events(category, at), name))
    return body, etag
