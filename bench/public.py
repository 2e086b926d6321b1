"""Public-site benchmark: the calendar month page, the iCalendar feed and the project list
beside the bare route /healthz, served by a real gunicorn on loopback, in ONE run.

    .venv/bin/python -m bench.public                       # SQLite (temporary file)
    .venv/bin/python -m bench.public --database-url postgresql://postgres@127.0.0.1:5432/postgres

Two data sets, same server: the demo alliance (services.demo.seed_demo), then the same
database with 100,000 more events and 100,000 more projects (bulk insert_many).
For each route: requests/s and p95 latency from a closed-loop load generator (threads,
one http.client connection each, bounded by count and time), and both as ratios to
/healthz measured in the same run. See bench/README.md.
"""
import argparse
import datetime as dt
import http.client
import os
import random
import statistics
import sys
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import Event, EventCategory, Grid, Line, MemberUnit, Project, ProjectStatus, db, now  # noqa: E402
from models.database import apply_migrations, open_database  # noqa: E402
from tests.live import live_server  # noqa: E402

from bench.load import hammer  # noqa: E402

ROUTES = [
    ("/healthz", "裸路由 /healthz"),
    ("/calendar", "活动月历"),
    ("/calendar.ics", "iCalendar 订阅"),
    ("/projects", "项目列表"),
    ("/", "首页"),
]


def one_request_ms(base, path):
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return (time.perf_counter() - started) * 1000, response.status, len(body)


def measure(base, label, args):
    print(f"\n== {label} ==")
    for path, _ in ROUTES:  # warm every worker's caches and connections
        for _ in range(args.workers * 2):
            one_request_ms(base, path)
    results = {}
    healthz = [hammer(base, "/healthz", concurrency=args.concurrency, seconds=args.seconds,
                      max_requests=args.requests)]
    for path, _ in ROUTES[1:]:
        results[path] = hammer(base, path, concurrency=args.concurrency, seconds=args.seconds,
                               max_requests=args.requests)
    healthz.append(hammer(base, "/healthz", concurrency=args.concurrency, seconds=args.seconds,
                          max_requests=args.requests))
    bare = {"rps": statistics.mean(h["rps"] for h in healthz),
            "p95_ms": statistics.mean(h["p95_ms"] for h in healthz),
            "median_ms": statistics.mean(h["median_ms"] for h in healthz),
            "requests": sum(h["requests"] for h in healthz),
            "errors": healthz[0]["errors"] + healthz[1]["errors"]}
    results = {"/healthz": bare, **results}
    print(f"{'route':<16}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'req/s ÷ bare':>14}{'p95 ÷ bare':>12}  errors")
    for path, name in ROUTES:
        r = results[path]
        print(f"{path:<16}{r['requests']:>9}{r['rps']:>9.1f}{r['median_ms']:>9.1f}{r['p95_ms']:>9.1f}"
              f"{r['rps'] / bare['rps']:>14.3f}{r['p95_ms'] / bare['p95_ms']:>12.1f}  "
              f"{len(r['errors'])}{(' ' + r['errors'][0]) if r['errors'] else ''}   # {name}")
    return results


# --- data ------------------------------------------------------------------------------------

def seed_demo_data():
    try:
        from services.demo import seed_demo
    except ImportError:
        print("services/demo.py is not there: the first data set is empty")
        return
    summary = seed_demo(force=True)
    print(summary.report().splitlines()[0] if hasattr(summary, "report") else summary)


def bulk_events_and_projects(n_events, n_projects, seed=20240501):
    """``n_events`` published events spread evenly over five years either side of today
    (≈ 830 a month, ≈ 27 a day) and ``n_projects`` published projects."""
    rng = random.Random(seed)
    categories = EventCategory.codes()
    lines = Line.codes()
    statuses = [ProjectStatus.OPEN, ProjectStatus.CLAIMED, ProjectStatus.IN_PROGRESS, ProjectStatus.DONE]
    units = [u.id for u in MemberUnit.select(MemberUnit.id)] or [None]
    grids = [g.id for g in Grid.select(Grid.id)] or [None]
    stamp = now()
    start = stamp - dt.timedelta(days=5 * 365)
    span = 10 * 365 * 24 * 3600
    started = time.perf_counter()
    rows = []
    for i in range(n_events):
        starts = (start + dt.timedelta(seconds=int(i * span / n_events))).replace(second=0)
        rows.append({
            "title": f"压测活动{i}", "category": categories[i % len(categories)],
            "starts_at": starts, "ends_at": starts + dt.timedelta(hours=rng.choice((2, 3))),
            "location": "红浦社区党群服务中心", "organiser": rng.choice(units), "capacity": 30,
            "description": "批量生成的活动，用于性能测试。", "published": True, "status": "scheduled",
            "points": 2, "sequence": 0, "created_at": stamp, "updated_at": stamp,
        })
    with db.atomic():
        for i in range(0, len(rows), 2000):
            Event.insert_many(rows[i:i + 2000]).as_rowcount().execute()
    rows = []
    for i in range(n_projects):
        rows.append({
            "title": f"压测项目{i}", "line": lines[i % len(lines)], "category": "银发关爱",
            "description": "批量生成的项目，用于性能测试。", "grid": rng.choice(grids), "slots": 2,
            "live_claims": 0, "published": True, "status": rng.choice(statuses), "progress": 0,
            "created_at": stamp, "updated_at": stamp,
        })
    with db.atomic():
        for i in range(0, len(rows), 2000):
            Project.insert_many(rows[i:i + 2000]).as_rowcount().execute()
    db.obj.execute_sql("ANALYZE")
    print(f"inserted {n_events} events and {n_projects} projects in {time.perf_counter() - started:.1f}s")


# --- main --------------------------------------------------------------------------------------

def open_bench_database(url):
    """A fresh database: a temp SQLite file, or a new PostgreSQL database (dropped after)."""
    if url and url.startswith("postgres"):
        admin_db = open_database(url)
        admin_db.connect()
        name = f"bench_public_{uuid.uuid4().hex[:8]}"
        admin_db.execute_sql(f'CREATE DATABASE "{name}"')
        admin_db.close()

        def drop():
            admin_db.connect()
            admin_db.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            admin_db.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
            admin_db.close()

        return url.rpartition("/")[0] + "/" + name, drop
    folder = tempfile.mkdtemp(prefix="bench-public-")
    # the temporary file goes with the run (3 GB once a bench has grown it to a million rows)
    return f"sqlite:///{folder}/bench.db", lambda: shutil.rmtree(folder, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""),
                        help="PostgreSQL server URL (a fresh database is made); default: temp SQLite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per route")
    parser.add_argument("--requests", type=int, default=3000, help="count bound per route")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=100_000)
    args = parser.parse_args(argv)

    url, drop = open_bench_database(args.database_url)
    database = open_database(url)
    db.initialize(database)
    database.connect()
    try:
        apply_migrations(database)
        seed_demo_data()
        print(f"database: {url.split('@')[-1]}   gunicorn workers: {args.workers}   "
              f"load: {args.concurrency} threads, ≤{args.seconds:g}s or ≤{args.requests} requests per route")
        with live_server(url, workers=args.workers, log_dir=tempfile.gettempdir()) as base:
            measure(base, f"demo data ({Event.select().count()} events, {Project.select().count()} projects)",
                    args)
            bulk_events_and_projects(args.events, args.projects)
            for path, note in (("/calendar.ics", "the feed is rebuilt"), ("/calendar", "")):
                ms, status, size = one_request_ms(base, path)
                print(f"first {path} after the bulk insert{' (' + note + ')' if note else ''}: "
                      f"{ms:.0f} ms, HTTP {status}, {size} bytes")
            measure(base, f"large data ({Event.select().count()} events, {Project.select().count()} projects)",
                    args)
    finally:
        database.close()
        drop()


if __name__ == "__main__":
    main()
