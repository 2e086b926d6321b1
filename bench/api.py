"""Benchmark of the /api/v1 list endpoints beside the bare /healthz route, same run.

    .venv/bin/python -m bench.api                       # SQLite, 100k events + 100k projects
    .venv/bin/python -m bench.api --postgres postgresql://postgres@127.0.0.1:5432/postgres

Builds a throw-away database (temp SQLite file, or a temp PostgreSQL database that is
dropped afterwards), fills it with insert_many, serves it with gunicorn on 127.0.0.1
and drives each URL with concurrent keep-alive-less clients for a fixed time. Prints
requests/s, p50 and p95 per URL and the ratio to /healthz, plus the query plans of the
list queries (to show they walk indexes, not the whole table).
"""
import argparse
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peewee import fn  # noqa: E402

from models import (Event, EventCategory, EventStatus, Grid, Line, MemberUnit,  # noqa: E402
                    Project, ProjectStatus, UnitKind, db)
from models.database import apply_migrations, open_database  # noqa: E402
from tests.live import live_server  # noqa: E402

from bench.load import hammer  # noqa: E402

URLS = [
    "/healthz",
    "/api/v1/events",
    "/api/v1/events?date_from={month_start}&date_to={month_end}&category=neighbourhood",
    "/api/v1/projects",
    "/api/v1/projects?status=open&line=livelihood&sort=-deadline&page=20",
]


def fill(rows, seed=7):
    """19 grids, 123 units, ``rows`` events and ``rows`` projects, in one transaction."""
    rnd = random.Random(seed)
    stamp = dt.datetime(2025, 1, 1, 8, 0)
    with db.atomic():
        Grid.insert_many([{"number": i, "name": f"第{i}网格", "created_at": stamp, "updated_at": stamp}
                          for i in range(1, 20)]).execute()
        grid_ids = [g.id for g in Grid.select(Grid.id)]
        kinds = UnitKind.codes()
        MemberUnit.insert_many([{"name": f"成员单位{i:03d}", "kind": kinds[i % 4], "grid": grid_ids[i % 19],
                                 "phone": f"139{i:08d}", "created_at": stamp, "updated_at": stamp}
                                for i in range(123)]).execute()
        unit_ids = [u.id for u in MemberUnit.select(MemberUnit.id)]
        categories, lines = EventCategory.codes(), Line.codes()
        statuses = [s for s in ProjectStatus.codes() if s != ProjectStatus.DRAFT]
        batch = 1000
        for start in range(0, rows, batch):
            events, projects = [], []
            for i in range(start, min(start + batch, rows)):
                begins = stamp + dt.timedelta(hours=rnd.randrange(0, 3 * 365 * 24))
                events.append({
                    "title": f"活动{i}", "category": categories[i % len(categories)], "starts_at": begins,
                    "ends_at": begins + dt.timedelta(hours=2), "location": "红浦社区党群服务中心",
                    "organiser": rnd.choice(unit_ids), "capacity": 50, "description": "活动介绍" * 10,
                    "published": i % 10 != 0, "points": 2, "sequence": 0,
                    "status": EventStatus.CANCELLED if i % 50 == 0 else EventStatus.SCHEDULED,
                    "created_at": stamp, "updated_at": stamp,
                })
                projects.append({
                    "title": f"治理项目{i}", "line": lines[i % 6], "category": f"分类{i % 20}",
                    "description": "项目内容" * 10, "grid": grid_ids[i % 19], "needs": "需要志愿者",
                    "slots": 3, "live_claims": 0, "deadline": (stamp + dt.timedelta(days=i % 700)).date(),
                    "published": i % 10 != 0, "status": statuses[i % len(statuses)], "progress": 0,
                    "created_at": stamp + dt.timedelta(minutes=i), "updated_at": stamp,
                })
            Event.insert_many(events).execute()
            Project.insert_many(projects).execute()


def query_plans(database):
    """EXPLAIN of the page and count queries the list endpoints run."""
    from api.resources import select_public, visible_conditions
    from models.exposure import exposure_of

    out = []
    for model, order in ((Event, (Event.starts_at.asc(), Event.id.asc())),
                         (Project, (Project.created_at.desc(), Project.id.desc()))):
        exposure = exposure_of(model)
        conditions = visible_conditions(exposure)
        page = select_public(exposure).where(*conditions).order_by(*order).limit(20)
        count = model.select(fn.COUNT(model.id)).where(*conditions)
        for label, query in (("page", page), ("count", count)):
            sql, params = query.sql()
            prefix = "EXPLAIN QUERY PLAN " if "sqlite" in type(database).__name__.lower() else "EXPLAIN "
            plan = database.execute_sql(prefix + sql, params).fetchall()
            out.append(f"  {model.__name__} {label}: " + " | ".join(str(row[-1]) for row in plan))
    return out


def run(url, rows, seconds, clients, workers):
    database = open_database(url)
    db.initialize(database)
    database.connect()
    apply_migrations(database)
    t0 = time.perf_counter()
    fill(rows)
    print(f"  filled {rows} events + {rows} projects in {time.perf_counter() - t0:.1f}s")
    database.execute_sql("ANALYZE")
    for line in query_plans(database):
        print(line)
    database.close()

    today = dt.date(2025, 6, 1)
    fmt = {"month_start": today.isoformat(), "month_end": (today + dt.timedelta(days=29)).isoformat()}
    results = {}
    with live_server(url, workers=workers) as base:
        for path in URLS:
            hammer(base, path.format(**fmt), concurrency=clients, seconds=1, max_requests=10**6)  # warm-up
        for path in URLS:
            results[path] = hammer(base, path.format(**fmt), concurrency=clients, seconds=seconds,
                                   max_requests=10**6)
    base = results["/healthz"]
    print(f"  {'URL':78} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'rps/healthz':>12} {'p95/healthz':>12} errors")
    for path, r in results.items():
        print(f"  {path:78} {r['rps']:8.0f} {r['median_ms']:8.1f} {r['p95_ms']:8.1f} "
              f"{r['rps'] / base['rps']:12.2f} {r['p95_ms'] / base['p95_ms']:12.1f} {len(r['errors'])}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=None, help="PostgreSQL server URL (a temp database is made)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite ({args.rows} rows each, {args.clients} clients, {args.workers} gunicorn workers)")
        run(f"sqlite:///{tmp}/bench.db", args.rows, args.seconds, args.clients, args.workers)

    if args.postgres:
        admin = open_database(args.postgres)
        admin.connect()
        name = f"alliance_bench_{uuid.uuid4().hex[:8]}"
        admin.execute_sql(f'CREATE DATABASE "{name}"')
        base, _, _ = args.postgres.rpartition("/")
        try:
            print(f"PostgreSQL ({args.rows} rows each)")
            run(f"{base}/{name}", args.rows, args.seconds, args.clients, args.workers)
        finally:
            if not db.is_closed():
                db.close()
            admin.execute_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            admin.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()


if __name__ == "__main__":
    main()
