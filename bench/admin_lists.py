"""Admin lists at 1k and at 1M rows: every big list × {page 1, page 500, each sort it
offers, each filter it offers, search}, in process, beside GET /healthz in the same run.

    .venv/bin/python -m bench.admin_lists                     # temporary SQLite file
    .venv/bin/python -m bench.admin_lists --database-url postgresql://postgres@127.0.0.1:5432/postgres
    # options: --small 1000 --large 1000000 --repeat 5 --only points_entry,signup

The demo alliance is seeded, every big table (the ledger, sign-ups, volunteers,
projects, events, the audit log, notices) grown to ``--small`` rows and the database
copied as it is then (``copy_database``: SQLite's backup API, PostgreSQL's ``CREATE
DATABASE … TEMPLATE``); then the tables grown to ``--large`` rows (one ``INSERT … SELECT``
from a number series each, as bench/dashboard.py grows the ledger). Every variant is then
rendered afresh (the per-account page cache off) on the 1k-row copy and on the grown
database turn about, ``--repeat`` times each through the Flask test client, logged in as
a clerk (``measure_pair``): both sizes at the same moments of the machine, whose speed
drifts between phases minutes apart. The growth ratio is the median on the grown database
÷ the median on the copy. Then each variant as served to a clerk asking again with nothing
written meanwhile (one request fills the account's cache, web/pagecache.admin_cached), on
the grown database, each hit beside a GET /healthz (``measure``: the variant's ratio is the
median of its hits ÷ the median of the /healthz asked between them). Targets (issue 12): large ÷ small
≤ 2 (rendered afresh) and large as served ÷ /healthz ≤ 5 for every variant; the afresh
÷ /healthz is printed beside them. ``bench/table.py`` runs the same as its phases "admin
lists 1k" (grow, copy) and "admin lists 1M" (grow, measure).
"""
import argparse
import datetime as dt
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from peewee import fn  # noqa: E402

from models import (AuditLog, Event, Notice, PointsEntry, Project, Role, Signup, Volunteer,  # noqa: E402
                    db, now)

# the lists issue 12 calls big, by admin endpoint
BIG = ("points_entry", "signup", "volunteer", "project", "event", "audit_log", "notice")


# --- growing the tables -----------------------------------------------------------------

def _series(table, columns, n):
    from bench.dashboard import _insert_series

    if n > 0:
        with db.atomic():
            _insert_series(table, columns, n)


def _date(start, per_row_days):
    text = start.isoformat()
    return (f"date('{text}', '+' || (i % {per_row_days}) || ' days')", f"DATE '{text}' + (i % {per_row_days})")


def _ids(model):
    from bench.dashboard import _contiguous_ids

    return _contiguous_ids(model)


def _fk(model, nullable=True):
    ids = _ids(model)
    if not ids:
        return ("NULL",) * 2
    first, count = ids
    return (f"{first} + (i % {count})",) * 2


def grow(target):
    """Every big table up to ``target`` rows (never fewer than it has)."""
    from bench.dashboard import _stamp, grow_ledger
    from models import Grid, VolunteerTeam

    stamp = now()
    year_ago = stamp - dt.timedelta(days=365)
    missing = lambda model: target - model.select(fn.COUNT(model.id)).scalar()  # noqa: E731
    base = lambda model: model.select(fn.COALESCE(fn.MAX(model.id), 0)).scalar()  # noqa: E731  (unique columns)
    # the ledger and the sign-ups first, spread over the demo's volunteers and events (their
    # spreading multiplies an id by a prime: over a million ids that leaves PostgreSQL's integer)
    _grow_signups(target, base(Signup))
    if missing(PointsEntry) > 0:
        grow_ledger(target)
    _series("volunteer", {
        "name": ("'压测志愿者' || i",) * 2,
        "phone": (f"printf('177%08d', i + {base(Volunteer)})", f"'177' || lpad((i + {base(Volunteer)})::text, 8, '0')"),
        "team_id": _fk(VolunteerTeam), "grid_id": _fk(Grid),
        "party_member": ("(i % 3 = 0)",) * 2, "skills": ("'维修、理发'",) * 2,
        "joined_on": _date(year_ago.date(), 365), "status": ("'active'",) * 2,
        "points_balance": ("0",) * 2, "hours_total": ("0",) * 2, "entry_count": ("0",) * 2,
        "created_at": _stamp(year_ago, 30), "updated_at": _stamp(stamp),
    }, missing(Volunteer))
    _series("project", {
        "title": ("'压测项目' || i",) * 2,
        "line": ("CASE i % 4 WHEN 0 THEN 'mediation' WHEN 1 THEN 'livelihood' WHEN 2 THEN 'resources' "
                 "ELSE 'safety' END",) * 2,
        "category": ("'其他'",) * 2, "grid_id": _fk(Grid), "slots": ("3",) * 2, "live_claims": ("0",) * 2,
        "deadline": _date(stamp.date(), 700), "published": ("(i % 2 = 0)",) * 2,
        "status": ("CASE i % 3 WHEN 0 THEN 'draft' WHEN 1 THEN 'open' ELSE 'done' END",) * 2,
        "progress": ("0",) * 2, "created_at": _stamp(year_ago, 30), "updated_at": _stamp(stamp),
    }, missing(Project))
    _series("event", {
        "title": ("'压测活动' || i",) * 2,
        "category": ("CASE i % 3 WHEN 0 THEN 'neighbourhood' WHEN 1 THEN 'volunteer' ELSE 'health' END",) * 2,
        "starts_at": _stamp(year_ago, 60),
        "ends_at": (f"datetime('{year_ago:%Y-%m-%d %H:%M:%S}', '+' || (i * 60 + 7200) || ' seconds')",
                    f"TIMESTAMP '{year_ago:%Y-%m-%d %H:%M:%S}' + (i * 60 + 7200) * INTERVAL '1 second'"),
        "location": ("'社区活动中心'",) * 2, "organiser_id": ("NULL",) * 2, "capacity": ("0",) * 2,
        "published": ("(i % 2 = 0)",) * 2, "status": ("'scheduled'",) * 2, "points": ("0",) * 2,
        "sequence": ("0",) * 2, "signup_count": ("0",) * 2,
        "created_at": _stamp(year_ago, 30), "updated_at": _stamp(stamp),
    }, missing(Event))
    _series("audit_log", {
        "username": ("'bench'",) * 2,
        "action": ("CASE i % 3 WHEN 0 THEN 'create' WHEN 1 THEN 'update' ELSE 'delete' END",) * 2,
        "entity": ("CASE i % 2 WHEN 0 THEN 'volunteer' ELSE 'project' END",) * 2,
        "entity_id": ("CAST(i AS TEXT)", "i::text"), "changes": ("'{}'",) * 2, "ip": ("'127.0.0.1'",) * 2,
        "created_at": _stamp(year_ago, 30),
    }, missing(AuditLog))
    _series("notice", {
        "recipient_phone": ("printf('178%08d', i)", "'178' || lpad(i::text, 8, '0')"),
        "kind": ("CASE i % 2 WHEN 0 THEN 'signup_promoted' ELSE 'claim_confirmed' END",) * 2,
        "title": ("'压测通知' || i",) * 2, "body": ("'通知内容'",) * 2,
        "created_at": _stamp(year_ago, 30),
    }, missing(Notice))
    from services.stats import on_postgres

    if on_postgres():
        # what autovacuum does after a bulk insert within a minute (PostgreSQL ≥ 13 vacuums
        # insert-only tables too): statistics, hint bits and the visibility map. Without it
        # every capped count reads 10,001 rows from the heap (a first read also writes their
        # hint bits): 38 ms instead of 1.6 ms for projects filtered by grid at 1M rows
        db.execute_sql("VACUUM ANALYZE")


def _grow_signups(target, offset):
    """bench/dashboard.py's grow_signups, with phones and codes after ``offset`` (it grows
    only once; this grows twice)."""
    from bench.dashboard import _stamp
    from services import totals

    missing = target - Signup.select(fn.COUNT(Signup.id)).scalar()
    events = _ids(Event)
    if missing <= 0 or not events:
        return
    first, count = events
    _series("signup", {
        "event_id": (f"{first} + ((i % {count}) * 104729) % {count}",) * 2,
        "name": ("'压测居民'",) * 2,
        "phone": (f"printf('099-%08d', i + {offset})", f"'099-' || lpad((i + {offset})::text, 8, '0')"),
        "status": ("CASE i % 4 WHEN 0 THEN 'registered' WHEN 1 THEN 'checked_in' "
                   "WHEN 2 THEN 'cancelled' ELSE 'waitlisted' END",) * 2,
        "code": (f"printf('B%011X', i + {offset})", f"'B' || lpad(upper(to_hex(i + {offset})), 11, '0')"),
        "credited": ("0", "false"),
        "created_at": _stamp(now()), "updated_at": _stamp(now()),
    }, missing)
    totals.rebuild(models=(Event,))


# --- a copy of the 1k-row database, measured beside the grown one -------------------------

def copy_database(url, before=None):
    """A copy of the database at ``url`` as it is now: (its URL, a function dropping it).
    SQLite: the backup API into a file beside it. PostgreSQL: ``CREATE DATABASE … TEMPLATE``,
    which needs the source without sessions: ``before()`` closes ours, and any left over
    are ended first."""
    import sqlite3

    from models.database import open_database

    if before is not None:
        before()
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        copy = path.with_name(path.stem + "-small" + path.suffix)
        source, target = sqlite3.connect(path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

        def drop_file():
            for leftover in path.parent.glob(copy.name + "*"):
                leftover.unlink(missing_ok=True)

        return f"sqlite:///{copy}", drop_file
    server, _, name = url.rpartition("/")
    copy_name = f"{name}_small"
    admin_db = open_database(server + "/postgres")
    admin_db.connect()
    try:
        admin_db.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        admin_db.execute_sql(f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}"')
    finally:
        admin_db.close()

    def drop_copy():
        admin_db.connect()
        try:
            admin_db.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = %s AND pid <> pg_backend_pid()", (copy_name,))
            admin_db.execute_sql(f'DROP DATABASE IF EXISTS "{copy_name}"')
        finally:
            admin_db.close()

    return f"{server}/{copy_name}", drop_copy


# --- the variants --------------------------------------------------------------------------

def _filter_value(flt):
    """A value a clerk would type for this filter."""
    name = type(flt).__name__
    options = getattr(flt, "options", None)
    if options and not callable(options):
        try:
            first = next(iter(options))
            return str(first[0])
        except (StopIteration, TypeError):
            pass
    if "Empty" in name or "Boolean" in name or "Overdue" in name:
        return "1"
    if "DateTime" in name:
        return ("2026-01-01 00:00:00 to 2026-01-31 23:59:59" if "Between" in name
                else "2026-01-01 00:00:00")
    if "Date" in name:
        return "2026-01-01 to 2026-01-31" if "Between" in name else "2026-01-01"
    if "Id" in name or "Int" in name or "Related" in name and "Like" not in name:
        return "1"
    if "Float" in name:
        return "1"
    if "InList" in name:
        return "1"
    return "压测"


def variants(app, endpoints=BIG):
    """(endpoint, label, query string) for every big list: page 1, page 500, each
    offered sort (ascending and descending), each offered filter, a search."""
    admin = app.extensions["admin"][0]
    out = []
    with app.test_request_context():
        for view in admin._views:
            endpoint = getattr(view, "endpoint", None)
            if endpoint not in endpoints or getattr(view, "model", None) is None:
                continue
            if getattr(view, "permission", "admin.access") != "admin.access":
                continue
            out.append((endpoint, "page 1", ""))
            out.append((endpoint, "page 500", "page=499"))
            for idx, (column, _label) in enumerate(view._list_columns):
                if column in view._sortable_columns:
                    out.append((endpoint, f"sort {column}", f"sort={idx}"))
                    out.append((endpoint, f"sort {column} desc", f"sort={idx}&desc=1"))
            for arg, (idx, flt) in (view._filter_args or {}).items():
                value = _filter_value(flt)
                out.append((endpoint, f"filter {flt.column.name if hasattr(flt.column, 'name') else flt.name} "
                                      f"{flt.operation()}", f"flt0_{arg}={value}"))
            if view._search_supported:
                out.append((endpoint, "search", "search=压测1"))
    return out


def timed(client, url, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise AssertionError(f"{url}: {response.status_code}")
        if samples[-1] > 1000:  # a slow variant: one sample is enough to see it
            break
    return statistics.median(samples)


def measure(client, the_variants, repeat, fresh=True):
    """Milliseconds per variant and for /healthz (same client, same run): each variant
    rendered afresh (the account's page cache off: ``(endpoint, label)``), then as served
    to a clerk who asks again with nothing written meanwhile (the cache on, after one
    request that filled it: ``("cached", endpoint, label)``)."""
    config = client.application.config
    setting = config.get("ADMIN_PAGE_CACHE_BYTES")
    for endpoint, _label, query in the_variants[:3]:  # warm
        client.get(f"/admin/{endpoint}/?{query}").get_data()
    times = {"healthz": timed(client, "/healthz", repeat * 10),
             "admin_floor": timed(client, "/_bench/admin_floor", repeat * 5)}
    if fresh:
        config["ADMIN_PAGE_CACHE_BYTES"] = 0
        try:
            for endpoint, label, query in the_variants:
                times[(endpoint, label)] = timed(client, f"/admin/{endpoint}/?{query}", repeat)
        finally:
            config["ADMIN_PAGE_CACHE_BYTES"] = setting
    for endpoint, label, query in the_variants:
        url = f"/admin/{endpoint}/?{query}"
        client.get(url).get_data()  # the first request renders and files it
        # a hit takes about a millisecond: five times the samples, each beside a GET /healthz,
        # so that the ratio of this variant compares the same moments of the machine
        served, beside = [], []
        for _ in range(repeat * 5):
            served.append(timed(client, url, 1))
            beside.append(timed(client, "/healthz", 1))
        times[("cached", endpoint, label)] = statistics.median(served)
        times[("cached healthz", endpoint, label)] = statistics.median(beside)
    times["healthz"] = (times["healthz"] + timed(client, "/healthz", repeat * 10)) / 2
    times["admin_floor"] = (times["admin_floor"] + timed(client, "/_bench/admin_floor", repeat * 5)) / 2
    return times


def measure_pair(small, large, the_variants, repeat):
    """Each variant rendered afresh (the page cache off) on the 1k-row copy and on the grown
    database, turn about, ``repeat`` times each: the two sizes are timed at the same moments
    of the machine, so its drift between phases minutes apart (the same page: 11 ↔ 15 ms)
    does not enter the growth ratio. ``small`` and ``large``: (app, client). Returns the
    milliseconds of each side, keyed as ``measure``'s afresh figures (and ``healthz``)."""
    sides = (small, large)
    times = ({}, {})
    settings = [app.config.get("ADMIN_PAGE_CACHE_BYTES") for app, _ in sides]

    def on(side):
        db.initialize(sides[side][0].extensions["database"])
        return sides[side][1]

    sizes = []
    for side in (0, 1):
        client = on(side)
        with sides[side][0].app_context():
            sizes.append(Event.select(fn.COUNT(Event.id)).scalar())
            db.close()
        for endpoint, _label, query in the_variants[:3]:  # warm
            client.get(f"/admin/{endpoint}/?{query}").get_data()
        sides[side][0].config["ADMIN_PAGE_CACHE_BYTES"] = 0
    assert sizes[0] < sizes[1], f"the copy has {sizes[0]:,} events, the grown database {sizes[1]:,}"
    try:
        jobs = [("healthz", "/healthz", repeat * 10)]
        jobs += [((endpoint, label), f"/admin/{endpoint}/?{query}", repeat)
                 for endpoint, label, query in the_variants]
        for key, url, count in jobs:
            samples = ([], [])
            for turn in range(count):
                for side in ((0, 1) if turn % 2 == 0 else (1, 0)):  # who goes first alternates
                    samples[side].append(timed(on(side), url, 1))
            for side in (0, 1):
                times[side][key] = statistics.median(samples[side])
    finally:
        for (app, _), setting in zip(sides, settings):
            app.config["ADMIN_PAGE_CACHE_BYTES"] = setting
        on(1)
    return times


def clerk_client(app, user=None):
    from tests.factories import PASSWORD, make_user

    user = user or make_user(role=Role.CLERK, username=f"bench-clerk-{uuid.uuid4().hex[:6]}")
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def report(small, large, the_variants):
    """Rows of (endpoint, label, small ms, large ms, large ÷ small, large as served ÷ healthz,
    large rendered afresh ÷ healthz); the first four rendered afresh."""
    rows = []
    for endpoint, label, _ in the_variants:
        s, big = small[(endpoint, label)], large[(endpoint, label)]
        served = large[("cached", endpoint, label)] / large.get(("cached healthz", endpoint, label), large["healthz"])
        rows.append((endpoint, label, s, big, big / s, served, big / large["healthz"]))
    return rows


def summary(rows):
    worst_growth = max(rows, key=lambda r: r[4])
    worst_healthz = max(rows, key=lambda r: r[5])
    over = [r for r in rows if r[4] > 2 or r[5] > 5]
    return worst_growth, worst_healthz, over


# --- bench/table.py's phases ------------------------------------------------------------------

def _table_client(t):
    """An app on this target's database, in process, and a clerk's client (kept on ``t``)."""
    from bench.floor import create_bench_app as create_app

    if getattr(t, "lists_app", None) is None:
        t.lists_app = create_app({"DATABASE_URL": t.url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                                  "WTF_CSRF_ENABLED": False})
        from tests.factories import make_user

        with t.bound():
            user = make_user(role=Role.CLERK, username=f"bench-clerk-{uuid.uuid4().hex[:6]}")
        db.initialize(t.lists_app.extensions["database"])
        t.lists_user = user
        t.lists_client = clerk_client(t.lists_app, user)
    db.initialize(t.lists_app.extensions["database"])
    return t.lists_app, t.lists_client


def _close_connections(t):
    """End this target's sessions: the benchmark's own and every in-process app's pool."""
    from bench import storms

    storms.hand_over()
    for app in (getattr(t, "app", None), getattr(t, "lists_app", None)):
        if app is not None:
            pooled = app.extensions["database"]
            if not pooled.is_closed():
                pooled.close()
            if hasattr(pooled, "close_all"):
                pooled.close_all()
    if not t.database.is_closed():
        t.database.close()


def phase_small(targets, results, args):
    """Every big table grown to ``--list-small`` rows (the clerk made first), and a copy of
    the database as it is then, kept to be measured beside the grown one in phase_large."""
    from bench.floor import create_bench_app as create_app

    for t in targets:
        with t.bound():
            grow(args.list_small)
        _table_client(t)
        url, drop = copy_database(t.url, before=lambda: _close_connections(t))
        previous = t.drop
        t.drop = lambda previous=previous, drop=drop: (drop(), previous())
        t.small_app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                                  "WTF_CSRF_ENABLED": False})
        t.small_client = clerk_client(t.small_app, t.lists_user)
        db.initialize(t.database)


def phase_large(targets, results, args):
    """The tables grown to ``--list-large`` rows; every variant rendered afresh on the
    1k-row copy and on the grown database turn about (the growth ratio), then as served
    from the account's page cache on the grown one (÷ /healthz)."""
    from bench import storms

    repeat = max(3, args.repeat // 3)
    for t in targets:
        with t.bound():
            grow(args.list_large)
        app, client = _table_client(t)
        the_variants = variants(app)
        small, fresh = measure_pair((t.small_app, t.small_client), (app, client), the_variants, repeat)
        large = measure(client, the_variants, repeat, fresh=False)
        large.update({key: value for key, value in fresh.items() if key != "healthz"})
        storms.hand_over()
        rows = report(small, large, the_variants)
        worst_growth, worst_healthz, over = summary(rows)
        results.put("lists.growth", t.name, worst_growth[4],
                    f"{worst_growth[4]:.2f} ({worst_growth[0]} {worst_growth[1]})")
        results.put("lists.healthz", t.name, worst_healthz[5],
                    f"{worst_healthz[5]:.1f}× ({worst_healthz[0]} {worst_healthz[1]})")
        ratios = sorted(r[5] for r in rows)
        results.put("lists.healthz_median", t.name, statistics.median(ratios),
                    f"{statistics.median(ratios):.1f}× (page 1 of the ledger: "
                    f"{next(r[5] for r in rows if r[0] == 'points_entry' and r[1] == 'page 1'):.1f}×)")
        fresh_ratios = sorted(r[6] for r in rows)
        results.put("lists.fresh", t.name, fresh_ratios[-1],
                    f"{fresh_ratios[-1]:.0f}× (median {statistics.median(fresh_ratios):.0f}×)")
        results.put("lists.over", t.name, len(over), f"{len(over)} of {len(rows)}")
        beside = statistics.median(value for key, value in large.items() if isinstance(key, tuple) and key[0] == "cached healthz")
        results.put("lists.beside", t.name, beside / large["healthz"],
                    f"{beside:.2f} ÷ {large['healthz']:.2f} ms = {beside / large['healthz']:.2f}")
        floor = large["admin_floor"] / large["healthz"]
        results.put("lists.floor", t.name, floor, f"{floor:.0f}× ({large['admin_floor']:.1f} ms)")
        to_floor = statistics.median(r[3] / large["admin_floor"] for r in rows)
        results.put("lists.floor_median", t.name, to_floor, f"{to_floor:.1f}×")
        t.lists_rows = rows


def main():
    from bench.public import open_bench_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (a temporary database is made)")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated endpoints")
    args = parser.parse_args()
    endpoints = tuple(e for e in args.only.split(",") if e) or BIG
    url, drop = open_bench_database(args.database_url)
    drop_small, small_app = None, None
    try:
        from bench.floor import create_bench_app as create_app
        from models.database import apply_migrations
        from services.demo import seed_demo

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                          "WTF_CSRF_ENABLED": False, "HOME_FIGURES_TTL": 0})
        db.connect(reuse_if_open=True)
        apply_migrations(db.obj)
        seed_demo()
        grow(args.small)
        from tests.factories import make_user

        user = make_user(role=Role.CLERK, username=f"bench-clerk-{uuid.uuid4().hex[:6]}")
        client = clerk_client(app, user)
        the_variants = variants(app, endpoints)

        def close_app():
            db.close()
            if hasattr(db.obj, "close_all"):
                db.obj.close_all()

        small_url, drop_small = copy_database(url, before=close_app)
        small_app = create_app({"DATABASE_URL": small_url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                                "WTF_CSRF_ENABLED": False, "HOME_FIGURES_TTL": 0})
        small_client = clerk_client(small_app, user)
        db.initialize(app.extensions["database"])
        db.connect(reuse_if_open=True)
        started = time.perf_counter()
        grow(args.large)
        db.close()
        print(f"grew to {args.large:,} rows a table in {time.perf_counter() - started:.0f} s", flush=True)
        small, fresh = measure_pair((small_app, small_client), (app, client), the_variants, args.repeat)
        large = measure(client, the_variants, args.repeat, fresh=False)
        large.update({key: value for key, value in fresh.items() if key != "healthz"})
        rows = report(small, large, the_variants)
        print(f"/healthz {small['healthz']:.2f} ms (beside the 1k copy), {fresh['healthz']:.2f} ms (beside the "
              f"grown database), {large['healthz']:.2f} ms (with the pages as served)")
        print(f"admin-list floor /_bench/admin_floor {large['admin_floor']:.2f} ms (large, "
              f"{large['admin_floor'] / large['healthz']:.1f}× /healthz); median page ÷ floor, large: "
              f"{statistics.median(r[3] / large['admin_floor'] for r in rows):.1f}×")
        print("rendered afresh: the account's page cache off; served: asked again, nothing written meanwhile")
        print(f"{'list':14} {'variant':40} {'1k ms':>8} {'1M ms':>8} {'1M÷1k':>7} {'served÷hz':>10} "
              f"{'fresh÷hz':>9}")
        for endpoint, label, s, big, growth, ratio, afresh in rows:
            flag = "  ✗" if growth > 2 or ratio > 5 else ""
            print(f"{endpoint:14} {label[:40]:40} {s:8.1f} {big:8.1f} {growth:7.2f} {ratio:10.1f} {afresh:9.1f}{flag}")
        worst_growth, worst_healthz, over = summary(rows)
        print(f"worst 1M÷1k (rendered afresh): {worst_growth[4]:.2f} ({worst_growth[0]} {worst_growth[1]}); "
              f"worst served ÷healthz: {worst_healthz[5]:.1f} ({worst_healthz[0]} {worst_healthz[1]}); worst "
              f"rendered afresh ÷healthz: {max(r[6] for r in rows):.1f}; {len(over)} of {len(rows)} over target")
    finally:
        for database in (db.obj, small_app and small_app.extensions["database"]):
            if database:
                database.close()
                if hasattr(database, "close_all"):
                    database.close_all()
        if drop_small:
            drop_small()
        drop()


if __name__ == "__main__":
    main()
