"""Dashboard benchmark: how long the admin home takes to build, with the demo alliance and
then with a large ledger and many sign-ups, beside the bare route /healthz in the same run.

    .venv/bin/python -m bench.dashboard                      # SQLite (temporary file)
    .venv/bin/python -m bench.dashboard --database-url postgresql://postgres@127.0.0.1:5432/postgres
    # options: --entries 1000000 --signups 1000000 --repeat 15

For each data set: the median time of ``admin.dashboard.overview()`` (the figures),
of a full GET /admin/ (figures and page) through the app in process, of the home
page's figures and of GET / (its per-worker figures cache off), the number of SQL
statements per page, and the page time as a ratio to GET /healthz measured the same
way in the same run. ``bench/table.py`` uses ``grow_ledger``, ``grow_signups`` and
``figure_times`` for issue 12's "constant in the size of the ledger" row.
"""
import argparse
import datetime as dt
import random
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from peewee import fn  # noqa: E402

from models import EntryKind, PointsEntry, Role, Signup, Volunteer, db, now  # noqa: E402
from models.database import apply_migrations  # noqa: E402
from tests.querycount import count_queries  # noqa: E402

TARGET_ENTRIES = 1_000_000
TARGET_SIGNUPS = 1_000_000


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


BATCH = 4000  # rows per INSERT: 8 columns × 4000 stays under SQLite's 32,766 parameters


def _contiguous_ids(model):
    """(first id, count) when the ids run without gaps (the demo writes them so), else None."""
    low, high, count = model.select(fn.MIN(model.id), fn.MAX(model.id), fn.COUNT(model.id)).tuples().get()
    return (low, count) if count and high - low + 1 == count else None


def _insert_series(table, columns, n):
    """INSERT ``n`` generated rows in one statement, computed by the database from the row
    number ``i`` (1..n): ``columns`` maps each column to (SQLite expression, PostgreSQL
    expression). About ten times faster than sending the rows."""
    from services.stats import on_postgres

    postgres = on_postgres()
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(pg if postgres else lite for lite, pg in columns.values())
    if postgres:
        values = values.replace("%", "%%")  # psycopg2's parameter marker
        sql = f'INSERT INTO "{table}" ({names}) SELECT {values} FROM generate_series(1, %s) AS g(i)'
    else:
        sql = (f'WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?) '
               f'INSERT INTO "{table}" ({names}) SELECT {values} FROM g')
    db.execute_sql(sql, (n,))


def _stamp(value, seconds_per_row=0):
    """A naive datetime column value, optionally moving on with the row number."""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if not seconds_per_row:
        return (f"'{text}'", f"TIMESTAMP '{text}'")
    return (f"datetime('{text}', '+' || (i * {seconds_per_row}) || ' seconds')",
            f"TIMESTAMP '{text}' + i * INTERVAL '{seconds_per_row} seconds'")


def grow_ledger(target):
    """Append earned entries up to ``target`` (1.0–3.0 hours each, spread over the
    volunteers and the past year), then rebuild the running totals from the ledger, as
    after any bulk import."""
    from services.points import rebuild_balances

    missing = target - PointsEntry.select().count()
    volunteers = _contiguous_ids(Volunteer)
    if missing > 0 and volunteers:
        first, count = volunteers
        hours = "CASE i % 4 WHEN 0 THEN 1.00 WHEN 1 THEN 1.50 WHEN 2 THEN 2.00 ELSE 3.00 END"
        points = "CASE i % 4 WHEN 0 THEN 1 WHEN 1 THEN 1 WHEN 2 THEN 2 ELSE 3 END"
        with db.atomic():
            _insert_series("points_entry", {
                "volunteer_id": (f"{first} + ((i % {count}) * 7919) % {count}",) * 2,
                "kind": (f"'{EntryKind.EARNED}'",) * 2, "points": (points,) * 2, "hours": (hours,) * 2,
                "description": ("'基准测试服务记录'",) * 2,
                "created_at": _stamp(now() - dt.timedelta(days=365), 30),
                "updated_at": _stamp(now()),
            }, missing)
    elif missing > 0:
        _grow_ledger_rows(missing)
    rebuild_balances()


def _grow_ledger_rows(missing):
    """The same, sent row by row in batches (ids with gaps)."""
    volunteers = [v for (v,) in Volunteer.select(Volunteer.id).tuples()]
    rng = random.Random(5)
    start = now() - dt.timedelta(days=365)
    choices = [Decimal(h) for h in ("1.00", "1.50", "2.00", "3.00")]
    with db.atomic():
        for first in range(0, missing, BATCH):
            rows = []
            for i in range(first, min(first + BATCH, missing)):
                hours = rng.choice(choices)
                rows.append({"volunteer": rng.choice(volunteers), "kind": EntryKind.EARNED,
                             "points": int(hours), "hours": hours, "description": "基准测试服务记录",
                             "created_at": start + dt.timedelta(seconds=i * 30), "updated_at": start})
            PointsEntry.insert_many(rows).as_rowcount().execute()


def grow_signups(target):
    """Append sign-ups up to ``target`` over the existing events (distinct landline-style
    phones, so never a demo mobile, and distinct check-in codes; the four statuses in
    turn), then rebuild the events' running counts."""
    from models import Event, Signup
    from services import totals

    missing = target - Signup.select().count()
    events = _contiguous_ids(Event)
    if missing > 0:
        if not events:
            raise RuntimeError("grow_signups needs events with contiguous ids (the demo data)")
        first, count = events
        stamp = _stamp(now())
        with db.atomic():
            _insert_series("signup", {
                "event_id": (f"{first} + ((i % {count}) * 104729) % {count}",) * 2,
                "name": ("'压测居民'",) * 2,
                "phone": ("printf('099-%08d', i)", "'099-' || lpad(i::text, 8, '0')"),
                "status": ("CASE i % 4 WHEN 0 THEN 'registered' WHEN 1 THEN 'checked_in' "
                           "WHEN 2 THEN 'cancelled' ELSE 'waitlisted' END",) * 2,
                "code": ("printf('B%011X', i)", "'B' || lpad(upper(to_hex(i)), 11, '0')"),
                "credited": ("0", "false"),
                "created_at": stamp, "updated_at": stamp,
            }, missing)
    totals.rebuild(models=(Event,))


def figure_times(app, client, repeat):
    """Median milliseconds of the dashboard's and the home page's figures and pages
    (``client`` is logged in as staff), and of GET /healthz, all in process."""
    from admin.dashboard import overview
    from public.home import home_figures

    with app.test_request_context():
        times = {"overview": timed(overview, repeat), "home_figures": timed(home_figures, repeat)}
    times["admin_page"] = timed(lambda: client.get("/admin/").close(), repeat)
    times["home_page"] = timed(lambda: client.get("/").close(), repeat)
    times["healthz"] = timed(lambda: client.get("/healthz").close(), repeat * 5)
    return times


def measure(app, client, label, repeat):
    times = figure_times(app, client, repeat)
    statements = count_statements(lambda: client.get("/admin/").close())
    entries, signups = PointsEntry.select().count(), Signup.select().count()
    print(f"{label:<14} 积分流水 {entries:>8}  报名 {signups:>8}  figures {times['overview']:6.1f} ms  "
          f"GET /admin/ {times['admin_page']:6.1f} ms ({times['admin_page'] / times['healthz']:4.0f}× /healthz, "
          f"{statements} SQL)  home figures {times['home_figures']:5.1f} ms  GET / {times['home_page']:5.1f} ms")
    return times


def main():
    from bench.public import open_bench_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (a temporary database is made)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--entries", type=int, default=TARGET_ENTRIES)
    parser.add_argument("--signups", type=int, default=TARGET_SIGNUPS)
    args = parser.parse_args()
    url, drop = open_bench_database(args.database_url)
    try:
        from app import create_app
        from services.demo import seed_demo
        from tests.factories import PASSWORD, make_user

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                          "WTF_CSRF_ENABLED": False, "HOME_FIGURES_TTL": 0, "PAGE_CACHE_BYTES": 0})
        db.connect(reuse_if_open=True)
        apply_migrations(db.obj)
        started = time.perf_counter()
        seed_demo()
        print(f"database: {url.split('://')[0]}; demo seeded in {time.perf_counter() - started:.1f} s")
        make_user(role=Role.ADMIN, username="bench-admin")
        db.close()
        client = app.test_client()
        client.post("/login", data={"username": "bench-admin", "password": PASSWORD})
        small = measure(app, client, "演示联盟", args.repeat)
        db.connect(reuse_if_open=True)
        started = time.perf_counter()
        grow_ledger(args.entries)
        grow_signups(args.signups)
        db.close()
        print(f"grew the ledger to {args.entries} entries and the sign-ups to {args.signups} "
              f"in {time.perf_counter() - started:.1f} s")
        large = measure(app, client, "大数据量", args.repeat)
        print("large ÷ demo: " + "  ".join(f"{k} {large[k] / small[k]:.2f}×" for k in small if k != "healthz"))
    finally:
        db.close()
        if hasattr(db.obj, "close_all"):
            db.obj.close_all()
        drop()


if __name__ == "__main__":
    main()
