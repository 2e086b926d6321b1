"""Dashboard benchmark: how long the admin home takes to build, with the demo alliance and
then with 200,000 points entries, beside the bare route /healthz in the same run.

    .venv/bin/python -m bench.dashboard                      # SQLite (temporary file)
    .venv/bin/python -m bench.dashboard --database-url postgresql://postgres@127.0.0.1:5432/postgres

For each data set: the median time of ``admin.dashboard.overview()`` (the figures:
a constant number of aggregate queries), the median time of a full GET /admin/ (figures
and page) through the app in process, the number of SQL statements per page, and the
page time as a ratio to GET /healthz measured the same way in the same run.
"""
import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import EntryKind, PointsEntry, Role, Volunteer, db, now  # noqa: E402
from models.database import apply_migrations, open_database  # noqa: E402
from tests.querycount import count_queries  # noqa: E402

TARGET_ENTRIES = 200_000


def timed(fn, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def count_statements(fn):
    with count_queries() as statements:
        fn()
    return len(statements)


def grow_ledger(target):
    """Bulk-append earned entries (and keep the cached balances equal to the ledger)."""
    from services.points import rebuild_balances

    have = PointsEntry.select().count()
    volunteers = [v for (v,) in Volunteer.select(Volunteer.id).tuples()]
    rng = random.Random(5)
    start = now() - dt.timedelta(days=365)
    rows = []
    for i in range(target - have):
        hours = Decimal(rng.choice(["1.00", "1.50", "2.00", "3.00"]))
        rows.append({"volunteer": rng.choice(volunteers), "kind": EntryKind.EARNED, "points": int(hours),
                     "hours": hours, "description": "基准测试服务记录",
                     "created_at": start + dt.timedelta(minutes=i * 2), "updated_at": start})
    with db.atomic():
        for n in range(0, len(rows), 2000):
            PointsEntry.insert_many(rows[n:n + 2000]).execute()
    rebuild_balances()


def measure(app, client, label, repeat):
    from admin.dashboard import overview

    with app.test_request_context():
        build = timed(overview, repeat)
    page = timed(lambda: client.get("/admin/").close(), repeat)
    bare = timed(lambda: client.get("/healthz").close(), repeat * 5)
    statements = count_statements(lambda: client.get("/admin/").close())
    entries = PointsEntry.select().count()
    print(f"{label:<22} 积分流水 {entries:>7}  figures {build:7.1f} ms  GET /admin/ {page:7.1f} ms  "
          f"/healthz {bare:5.2f} ms  ratio {page / bare:6.0f}x  SQL/page {statements}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a temporary database is made)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    cleanup = None
    if args.database_url:
        admin_db = open_database(args.database_url)
        admin_db.connect()
        name = f"bench_dash_{uuid.uuid4().hex[:8]}"
        admin_db.execute_sql(f'CREATE DATABASE "{name}"')
        admin_db.close()
        url = args.database_url.rsplit("/", 1)[0] + "/" + name

        def cleanup():
            db.close()
            admin_db.connect()
            admin_db.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')
            admin_db.close()
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        from app import create_app
        from services.demo import seed_demo
        from tests.factories import PASSWORD, make_user

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex, "WTF_CSRF_ENABLED": False})
        db.connect(reuse_if_open=True)
        apply_migrations(db.obj)
        started = time.perf_counter()
        seed_demo()
        print(f"database: {url.split('://')[0]}; demo seeded in {time.perf_counter() - started:.1f} s")
        make_user(role=Role.ADMIN, username="bench-admin")
        client = app.test_client()
        client.post("/login", data={"username": "bench-admin", "password": PASSWORD})
        measure(app, client, "演示联盟", args.repeat)
        started = time.perf_counter()
        grow_ledger(TARGET_ENTRIES)
        print(f"grew the ledger to {TARGET_ENTRIES} entries in {time.perf_counter() - started:.1f} s")
        measure(app, client, "20 万条积分流水", args.repeat)
    finally:
        if cleanup:
            cleanup()


if __name__ == "__main__":
    main()
