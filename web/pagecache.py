"""A per-worker cache of whole public responses, safe with many app servers on one database.

Key: the endpoint, the path with its query string, the address links start with
(``services.links.base_url``: a forged Host never poisons what others get), the minute
of the app clock (pages show "today", upcoming/past, sign-up deadlines) and the public
data's version (``models.dataversion.current_version``: one single-row read per request,
bumped by the database in the same transaction as every write to what the public
pages show — see migration 058). A write committed by ANY app server changes the version,
so the next request anywhere renders afresh; a page can never be filed under a version
newer than its data (they commit together).

Only anonymous GETs are cached: no logged-in account (the nav shows its name, badges and
logout form), no ``Authorization`` header (the API's tokens are checked by the view), no
flash message waiting in the session. What differs per request inside a cached page is
put back on every hit, never stored: the CSRF token (the forms on an event page) and the
CSP nonce are cut out of the stored body and this request's own are filled in. Only 200
responses without cookies of their own are stored; an ETag makes hits conditional (304).

Bounded: at most ``PAGE_CACHE_BYTES`` of bodies per worker (LRU; 0 turns the cache off).

The admin lists (``admin_cached``) use the same machinery per account: a clerk's GET of a
list page, once Flask-Admin has checked the account may open it, is filed under the account,
the path with its query string, the minute and the records' version
(``models.dataversion.records_version``: bumped by a write to any table but those written
while reading or signing in, migration 062). Whoever writes anything, on any app server,
every list is rendered afresh on its next request; the menu's badges and the bell are part
of the page and change with the same writes. Lists of the unversioned tables (login
sessions, login attempts, the delivery queue) are never cached. Bounded by
``ADMIN_PAGE_CACHE_BYTES`` per worker, apart from the public pages' cache.
"""
import functools
import re
import threading
from collections import OrderedDict

from flask import current_app, g, make_response, request, session

from models import now
from models.dataversion import current_version, records_version

# endpoints served through the cache (the public pages, feeds and API lists / details)
CACHED_ENDPOINTS = (
    "public.home", "public.calendar", "public.calendar_ics", "public.category_ics",
    "public.event_detail", "public.event_ics", "public.projects", "public.project_detail",
    "api.listEvents", "api.getEvent", "api.listProjects", "api.getProject", "api.listMemberUnits",
    "api.getMemberUnit", "api.listGrids", "api.getGrid", "api.listVolunteerTeams", "api.getVolunteerTeam",
    "api.getStats", "public.wishes", "public.wish_detail", "api.listWishs", "api.getWish",
)
DEFAULT_BYTES = 32 * 1024 * 1024
SKIPPED_HEADERS = {"set-cookie", "content-length", "vary"}


class PageCache:
    """LRU of (status, headers, body text or bytes, marks) bounded by the bodies' size."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.size = 0
        self.entries = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key, entry, size):
        if size > self.max_bytes // 4:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= old[-1]
            self.entries[key] = entry + (size,)
            self.size += size
            while self.size > self.max_bytes and self.entries:
                _, dropped = self.entries.popitem(last=False)
                self.size -= dropped[-1]

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.size = 0


def cache_for(app, name="page_cache", setting="PAGE_CACHE_BYTES"):
    cache = app.extensions.get(name)
    if cache is None:
        cache = app.extensions[name] = PageCache(app.config.get(setting, DEFAULT_BYTES))
    return cache


def cacheable_request():
    """Anonymous GET, no token, no flash waiting: the response is the same for everyone."""
    if request.method != "GET" or "Authorization" in request.headers:
        return False
    if "_flashes" in session or "_user_id" in session:
        return False
    from flask_login import current_user

    return not current_user.is_authenticated


def _key(version, *extra):
    from services.links import base_url

    return (request.endpoint, request.full_path, base_url(), now().strftime("%Y%m%d%H%M"), version) + extra


def _store(cache, key, response):
    if response.status_code != 200 or response.direct_passthrough or response.is_streamed:
        return
    if "Set-Cookie" in response.headers or _flashed():
        return
    body = response.get_data()
    marks = []
    tokens = {name: value for name, value in (("csrf", g.get("csrf_token")), ("nonce", g.get("csp_nonce")))
              if value and value.encode() in body}
    if tokens:
        # the body as its stretches between the per-request parts, already encoded: a hit
        # joins them around this request's own token and nonce (one pass, no re-encoding)
        pattern = re.compile(b"|".join(re.escape(v.encode()) for v in tokens.values()))
        names = {v.encode(): k for k, v in tokens.items()}
        parts, at = [], 0
        for match in pattern.finditer(body):
            parts += [body[at:match.start()], names[match.group()]]
            at = match.end()
        parts.append(body[at:])
        marks = sorted(tokens)
        body = tuple(parts)
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in SKIPPED_HEADERS]
    cache.put(key, (headers, body, tuple(marks)), sum(map(len, body)) if marks else len(body))


def _replay(entry):
    headers, body, marks = entry[:3]
    if marks:
        values = {}
        if "csrf" in marks:
            from flask_wtf.csrf import generate_csrf

            values["csrf"] = generate_csrf().encode()
        if "nonce" in marks:
            from auth.web_security import csp_nonce

            values["nonce"] = csp_nonce().encode()
        body = b"".join(values[part] if isinstance(part, str) else part for part in body)
    response = current_app.response_class(body, status=200)
    response.headers.clear()
    for name, value in headers:
        response.headers.add(name, value)
    if response.headers.get("ETag") or response.headers.get("Last-Modified"):
        response.make_conditional(request)
    return response


def cached(view):
    """The view, answered from the page cache when the request allows it."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_app.config.get("PAGE_CACHE_BYTES") or not cacheable_request():
            return view(*args, **kwargs)
        cache = cache_for(current_app)
        version = current_version()
        if version is None:
            return view(*args, **kwargs)
        key = _key(version)
        entry = cache.get(key)
        if entry is not None:
            return _replay(entry)
        response = make_response(view(*args, **kwargs))
        _store(cache, key, response)
        return response
    wrapped.page_cached = True
    return wrapped


def _flashed():
    """The page showed flash messages (taken from the session while rendering it)."""
    from flask.globals import request_ctx

    return bool(request_ctx.flashes)


ADMIN_DEFAULT_BYTES = 16 * 1024 * 1024


def admin_cached(view, render):
    """``render()`` (a Flask-Admin list view of ``view``, the account's access already
    checked), answered from the account's cache when the request allows it."""
    from flask_login import current_user

    app = current_app
    if (not app.config.get("ADMIN_PAGE_CACHE_BYTES") or request.method != "GET"
            or "_flashes" in session or not getattr(view, "page_cacheable", False)):
        return render()
    user = current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return render()
    # read by the session check (services/sessions.user_for), else now
    version = getattr(user, "records_version", None) or records_version()
    if version is None:
        return render()
    cache = cache_for(app, "admin_page_cache", "ADMIN_PAGE_CACHE_BYTES")
    key = _key(version, user.id, user.role)
    entry = cache.get(key)
    if entry is not None:
        return _replay(entry)
    response = make_response(render())
    _store(cache, key, response)
    return response


def init_app(app):
    """Wrap the public endpoints (call after every blueprint is registered)."""
    app.config.setdefault("PAGE_CACHE_BYTES", DEFAULT_BYTES)
    app.config.setdefault("ADMIN_PAGE_CACHE_BYTES", ADMIN_DEFAULT_BYTES)
    for endpoint in CACHED_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is not None and not getattr(view, "page_cached", False):
            app.view_functions[endpoint] = cached(view)
