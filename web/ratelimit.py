"""One rate limiter for the whole app, built on the ``limits`` package, with its counters
where every app server sees them.

- Storage: the application database by default (``database://``: the ``rate_limit``
  table, one atomic upsert per request, on SQLite and PostgreSQL alike), or Redis when
  ``RATELIMIT_STORAGE_URL=redis://…`` (any storage ``limits`` knows). ``limits`` ships no
  SQL storage, so ``DatabaseStorage`` below is the small backend it documents for that
  ("custom storage backends": subclass ``Storage``, register a scheme); only the
  fixed-window strategy is offered.
- Rules are declared by name in ``RULES`` (which key, which configured limit) and a view
  opts in with ``@rate_limited("signup")``; ``init_app`` binds the marked views of each
  app to that app's ``RateLimiter``. A refusal is a 429 with a Chinese message: the error
  page on the site, ``{"error": {"code": 429, "message": …}}`` under ``/api/``, with
  ``Retry-After``.
- Only the marked views pay for it. (Flask-Limiter, used before, evaluated its rules in a
  hook on every request — 0.07 of /healthz's 0.40 ms — and spent ~0.35 ms more on each
  limited one; what it did for us is the few lines of ``RateLimiter.check``.)

Resident need submissions and tracking-code lookups reuse the same rules (``"lookup"``
also guards cancelling a sign-up with phone + check-in code).
"""
import contextlib
import hashlib
import os
import random
import time

import functools

from flask import current_app, request
from limits import parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import STRATEGIES
from peewee import EXCLUDED, Case, PeeweeException
from werkzeug.exceptions import TooManyRequests

from models import RateLimitCounter, db, statements
from models.fields import normalise_phone

# name → [(what the counter is keyed by, configuration key holding the limit)]
RULES = {
    "signup": [("ip", "SIGNUP_LIMIT_PER_IP"), ("phone", "SIGNUP_LIMIT_PER_PHONE")],
    "lookup": [("ip", "LOOKUP_LIMIT_PER_IP")],
    "register": [("ip", "REGISTER_LIMIT_PER_IP")],
    # 群众点单 (public/needs.py, api/needs.py): the form's phone field is ``phone`` too
    "need": [("ip", "NEED_LIMIT_PER_IP"), ("phone", "NEED_LIMIT_PER_PHONE")],
}
ACTIONS = {"signup": "报名", "lookup": "查询", "register": "注册", "need": "提交点单"}
# limits of rules added after app.py's defaults; the environment may set each
DEFAULTS = {"NEED_LIMIT_PER_IP": "5 per hour;20 per day", "NEED_LIMIT_PER_PHONE": "5 per day"}
WHO = {"ip": "同一网络", "phone": "同一手机号"}
UNITS = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "month": "个月", "year": "年"}
PRUNE_EVERY = 200  # about one hit in this many also deletes long-expired counters


def rate_limited(rule):
    """Mark a view as limited by ``RULES[rule]`` (bound to each app in ``init_app``)."""
    if rule not in RULES:
        raise KeyError(f"unknown rate-limit rule {rule!r}")

    def mark(view):
        view.rate_limit_rule = rule
        return view
    return mark


# --- keys -----------------------------------------------------------------------------

def client_ip():
    """The caller's address (behind a proxy, whatever ProxyFix made of it)."""
    return request.remote_addr or "?"


def submitted_phone():
    """The normalised phone of a sign-up (form field or JSON ``phone``), or None."""
    value = request.form.get("phone")
    if value is None and request.is_json:
        body = request.get_json(silent=True)
        value = body.get("phone") if isinstance(body, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return normalise_phone(value)
    except ValueError:
        return None  # refused by the sign-up itself; nothing to count per phone


def phone_key():
    """A digest, not the number: the counters table need not hold phone numbers."""
    return hashlib.sha256((submitted_phone() or "").encode()).hexdigest()[:24]


KEYS = {"ip": client_ip, "phone": phone_key}
EXEMPT = {"ip": None, "phone": lambda: submitted_phone() is None}


# --- the refusal ----------------------------------------------------------------------

def _per(item):
    unit = UNITS.get(item.GRANULARITY.name, item.GRANULARITY.name)
    return f"每{unit}" if item.multiples == 1 else f"每 {item.multiples} {unit}"


def _refuse(rule, kind, item, reset_at):
    exc = TooManyRequests()
    exc.chinese = (f"{ACTIONS[rule]}过于频繁：{WHO[kind]}{_per(item)}最多 {item.amount} 次，"
                   f"请稍后再试。")
    exc.extra_headers = {"Retry-After": str(max(int(reset_at - time.time()), 1))}
    return exc


# --- storage in the application database -----------------------------------------------

def _writing():
    """SQLite: the upsert as a write transaction, so it queues for the write lock with the
    other writers (models/database.py ``WriterQueue``) instead of polling for it; PostgreSQL
    runs it on its own (autocommit: no BEGIN/COMMIT round trip)."""
    from services.common import write_transaction
    from services.stats import on_postgres

    return contextlib.nullcontext() if on_postgres() else write_transaction()


class DatabaseStorage(Storage):
    """Fixed-window counters in ``rate_limit`` (``database://``), shared by all workers.

    ``incr`` is one ``INSERT … ON CONFLICT (key) DO UPDATE … RETURNING count``: a key's
    window restarts when it has expired, otherwise the count grows — atomic on SQLite
    (the statement holds the write lock) and on PostgreSQL (the row lock; the table is
    UNLOGGED there, migration 051: soft state, commits without a WAL flush).

    ``limits`` asks for one counter at a time, and a sign-up has four (two rules × two
    windows): four write statements, each taking SQLite's write lock. ``RateLimiter``
    moves all of a request's counters in one multi-row upsert (``incr_many``) instead;
    the counters after the first limit exceeded are given back, so the counts are those
    of one hit at a time that stops there.
    """

    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self):
        return PeeweeException

    def incr(self, key, expiry, amount=1):
        at = time.time()
        # fetchall: the statement runs to its end (on SQLite, the end of its write)
        with _writing():
            [(count,)] = self._run_incr(1, [key, amount, at + expiry, at, at]).fetchall()
        self._maybe_prune(at)
        return count

    def incr_many(self, hits):
        """``{key: expiry}``, one hit each, in one statement; returns ``{key: count}``.
        The rows are upserted in key order: concurrent requests sharing a counter (one
        address, two phones) lock the rows they share in the same order on PostgreSQL."""
        at = time.time()
        keys = sorted(hits)
        params = []
        for key in keys:
            params += [key, 1, at + hits[key]]
        params += [at, at]
        with _writing():
            counts = dict(self._run_incr(len(keys), params).fetchall())
        self._maybe_prune(at)
        return counts

    def give_back(self, keys):
        """Undo one hit on each of ``keys`` (hits made in advance that were not asked
        for): a counter back at zero is removed, so the next hit opens its window anew,
        as it would have."""
        keys = list(keys)
        with db.atomic():
            RateLimitCounter.update(count=RateLimitCounter.count - 1).where(
                RateLimitCounter.key.in_(keys)).execute()
            RateLimitCounter.delete().where(RateLimitCounter.key.in_(keys), RateLimitCounter.count <= 0).execute()

    @staticmethod
    def _maybe_prune(at):
        if random.randrange(PRUNE_EVERY) == 0:
            RateLimitCounter.delete().where(RateLimitCounter.expires_at < at - 60).execute()

    @staticmethod
    def _incr_query(rows, at):
        """The upsert of ``rows`` [(key, amount, new expiry)]: RETURNING count, and the key
        too when there are several (a multi-row RETURNING has no order)."""
        row = RateLimitCounter
        expired = row.expires_at <= at
        query = (row.insert_many([{"key": k, "count": a, "expires_at": e} for k, a, e in rows])
                 .on_conflict(conflict_target=[row.key], update={
                     row.count: Case(None, [(expired, EXCLUDED.count)], row.count + EXCLUDED.count),
                     row.expires_at: Case(None, [(expired, EXCLUDED.expires_at)], row.expires_at)}))
        return query.returning(row.count) if len(rows) == 1 else query.returning(row.key, row.count)

    def _run_incr(self, rows, params):
        """Run the upsert of ``rows`` counters with ``params`` (key, amount, new expiry per
        row, then now, now): its text generated once per number of rows (generating it costs
        more than running it, 0.13 of 0.18 ms), and prepared on PostgreSQL (models/statements.py)."""
        if len(params) != 3 * rows + 2:
            raise ValueError("counter upsert: wrong number of parameters")
        return statements.execute(f"rate_limit_incr_{rows}", lambda: self._incr_query(
            [tuple(params[3 * i:3 * i + 3]) for i in range(rows)], params[-1]), params)

    def get(self, key):
        return (RateLimitCounter.select(RateLimitCounter.count)
                .where(RateLimitCounter.key == key, RateLimitCounter.expires_at > time.time())
                .scalar() or 0)

    def get_expiry(self, key):
        at = time.time()
        expires = (RateLimitCounter.select(RateLimitCounter.expires_at)
                   .where(RateLimitCounter.key == key).scalar())
        return expires if expires and expires > at else at

    def check(self):
        try:
            RateLimitCounter.select().limit(1).execute()
            return True
        except PeeweeException:
            return False

    def reset(self):
        return RateLimitCounter.delete().execute()

    def clear(self, key):
        RateLimitCounter.delete().where(RateLimitCounter.key == key).execute()


# --- the limiter -----------------------------------------------------------------------------

class RateLimiter:
    """An app's limiter: ``check(rule)`` hits the counters of ``RULES[rule]`` for this
    request in order — per address, then per phone, each configured window — and refuses
    at the first limit exceeded (the later counters are not hit). ``enabled`` follows
    ``RATELIMIT_ENABLED``."""

    def __init__(self, app):
        config = app.config
        self.enabled = bool(config.get("RATELIMIT_ENABLED", True))
        self.prefix = config.get("RATELIMIT_KEY_PREFIX", "")
        self.storage = storage_from_string(config["RATELIMIT_STORAGE_URI"])
        self.strategy = STRATEGIES[config["RATELIMIT_STRATEGY"]](self.storage)

    def _hits(self, rule):
        """[(kind, limit item, identifiers)] this request counts in, in order."""
        hits = []
        for kind, config_key in RULES[rule]:
            exempt = EXEMPT[kind]
            if exempt is not None and exempt():
                continue
            identifiers = [self.prefix, KEYS[kind](), f"{rule}:{kind}"] if self.prefix else [
                KEYS[kind](), f"{rule}:{kind}"]
            hits += [(kind, item, identifiers) for item in parse_many(current_app.config[config_key])]
        return hits

    def check(self, rule):
        if not self.enabled:
            return
        hits = self._hits(rule)
        if isinstance(self.storage, DatabaseStorage):
            self._check_at_once(rule, hits)
            return
        for kind, item, identifiers in hits:
            if not self.strategy.hit(item, *identifiers):
                raise _refuse(rule, kind, item, self.strategy.get_window_stats(item, *identifiers).reset_time)

    def _check_at_once(self, rule, hits):
        keys = [item.key_for(*identifiers) for _kind, item, identifiers in hits]
        counts = self.storage.incr_many({key: item.get_expiry() for key, (_k, item, _i) in zip(keys, hits)})
        for n, (key, (kind, item, identifiers)) in enumerate(zip(keys, hits)):
            if counts[key] > item.amount:
                later = set(keys[n + 1:]) - {key}
                if later:
                    self.storage.give_back(later)
                raise _refuse(rule, kind, item, self.storage.get_expiry(key))


def _limited(rule, view, limiter):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        limiter.check(rule)
        return view(*args, **kwargs)
    return wrapped


# --- binding to an app ---------------------------------------------------------------------

def init_app(app):
    """A limiter for this app; every view marked with ``rate_limited`` is bound to it.
    Call after the blueprints are registered. A limit that does not parse stops the start."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, os.environ.get(key, "").strip() or value)
    for rules in RULES.values():
        for _kind, config_key in rules:
            parse_many(app.config[config_key])
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")  # the one DatabaseStorage offers
    limiter = RateLimiter(app)
    for endpoint, view in list(app.view_functions.items()):
        rule = getattr(view, "rate_limit_rule", None)
        if rule is not None:
            app.view_functions[endpoint] = _limited(rule, view, limiter)
    app.extensions["rate_limiter"] = limiter
    return limiter
