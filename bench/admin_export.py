"""Admin export benchmark: CSV and XLSX of 100,000 volunteers through the app, beside /healthz.

    .venv/bin/python -m bench.admin_export                 # 100k rows, temporary SQLite file
    .venv/bin/python -m bench.admin_export --rows 20000
    .venv/bin/python -m bench.admin_export --rows 200000 --database-url postgresql://postgres@127.0.0.1:5432/postgres

Seeds a throw-away SQLite database with insert_many, then runs each measurement in a fresh
subprocess (its own peak RSS: VmHWM, see ``peak_kb``): GET /healthz (the bare route,
for the ratio), GET /admin/volunteer/export/csv/ and …/xlsx/ through the test client, read
chunk by chunk as a browser would. Prints seconds, bytes, the process's peak RSS, and the
export's own RSS: before the request and its peak during it (Linux: the peak is reset just
before the request, so the login's password hash — scrypt holds 32 MB for a moment — does
not hide it), and the SQL statements per admin list page.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERNAME = "bench_clerk"
PASSWORD = "bench-password-1"


def make_app(database_url):
    from app import create_app
    from models import db

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    db.obj.connect(reuse_if_open=True)
    return app


def seed(database_url, rows):
    from models import Grid, Role, User, Volunteer, VolunteerTeam, db, now
    from models.database import apply_migrations

    make_app(database_url)
    apply_migrations(db.obj)
    stamp = now()
    with db.atomic():
        grids = [Grid.create(number=i, name=f"第{i}网格") for i in range(1, 20)]
        teams = [VolunteerTeam.create(name=f"服务队{i}") for i in range(1, 6)]
        user = User(username=USERNAME, role=Role.CLERK)
        user.set_password(PASSWORD)
        user.save(force_insert=True)
        batch = []
        for i in range(rows):
            batch.append({"name": f"志愿者{i}", "phone": f"13{i:09d}", "grid": grids[i % 19].id,
                          "team": teams[i % 5].id, "party_member": i % 3 == 0, "status": "active",
                          "skills": "=1+1" if i % 997 == 0 else "理发、维修", "joined_on": stamp.date(),
                          "created_at": stamp, "updated_at": stamp})
            if len(batch) == 1000:
                Volunteer.insert_many(batch).execute()
                batch = []
        if batch:
            Volunteer.insert_many(batch).execute()
    db.obj.close()


def status_kb(field):
    """``VmRSS`` (now) or ``VmHWM`` (the peak since start or the last reset) of this
    process in kB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None


def peak_kb():
    """This process's peak RSS. Not ``ru_maxrss`` where /proc has VmHWM: a child that
    subprocess starts with vfork inherits there the peak of its parent (the seeding's)."""
    return status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak():
    """Start this process's peak RSS again from its current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def child(kind, database_url):
    """One measurement in this (fresh) process; prints a JSON line."""
    app = make_app(database_url)
    client = app.test_client()
    if kind == "healthz":
        times = []
        for _ in range(300):
            start = time.perf_counter()
            client.get("/healthz").get_data()
            times.append(time.perf_counter() - start)
        print(json.dumps({"seconds": statistics.median(times), "bytes": 2, "rss_kb": peak_kb(), "growth_kb": 0}))
        return
    response = client.post("/login", data={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    client.get("/admin/volunteer/?page_size=20")  # warm: templates, filters, imports

    process_peak, before = peak_kb(), status_kb("VmRSS")
    measured = reset_peak()
    start = time.perf_counter()
    response = client.get(f"/admin/volunteer/export/{kind}/", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    size, first = 0, None
    for chunk in response.iter_encoded():
        if first is None and chunk:
            first = time.perf_counter() - start
        size += len(chunk)
    seconds = time.perf_counter() - start
    response.close()
    export_peak = status_kb("VmHWM") if measured else None
    print(json.dumps({"seconds": seconds, "first_byte": first, "bytes": size,
                      "rss_kb": max(process_peak, peak_kb()), "before_kb": before, "export_peak_kb": export_peak,
                      "growth_kb": export_peak - before if export_peak else None}))


def run_child(kind, database_url):
    out = subprocess.run([sys.executable, "-m", "bench.admin_export", "--child", kind, "--database-url", database_url],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def list_queries(database_url):
    """SQL statements per admin list page (page_size=50), every registered view."""
    from admin.views import REGISTRY
    from tests.querycount import count_queries

    app = make_app(database_url)
    client = app.test_client()
    client.post("/login", data={"username": USERNAME, "password": PASSWORD})
    counts = {}
    for model, view_class, _ in REGISTRY:
        if view_class.permission != "admin.access":
            continue
        with count_queries() as statements:
            start = time.perf_counter()
            status = client.get(f"/admin/{model._meta.table_name}/?page_size=50").status_code
            seconds = time.perf_counter() - start
        counts[model._meta.table_name] = (status, len(statements), seconds)
    return counts


def phase(targets, results, args):
    """bench/table.py's "admin exports": a fresh database of each kind with ``args.export_rows``
    volunteers, CSV and XLSX of all of them, each in a fresh process."""
    from bench.public import open_bench_database

    for t in targets:
        url, drop = open_bench_database(args.postgres if t.name == "PostgreSQL" else "")
        try:
            seed(url, args.export_rows)
            figures = {kind: run_child(kind, url) for kind in ("csv", "xlsx")}
        finally:
            drop()
        for kind, r in figures.items():
            results.put(f"export.{kind}", t.name, r["seconds"], f"{r['seconds']:.2f}")
        results.put("export.first", t.name, figures["csv"]["first_byte"], f"{figures['csv']['first_byte']:.3f}")
        peak = max(r["rss_kb"] for r in figures.values()) / 1024
        during = [r["export_peak_kb"] for r in figures.values() if r["export_peak_kb"]]
        results.put("export.rss", t.name, peak, f"{peak:.0f} (CSV {figures['csv']['rss_kb'] / 1024:.0f}, "
                                                 f"XLSX {figures['xlsx']['rss_kb'] / 1024:.0f}"
                                                 + (f"; during the exports ≤ {max(during) / 1024:.0f})" if during else ")"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["healthz", "csv", "xlsx"])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.database_url)

    from bench.public import open_bench_database

    url, drop = open_bench_database(args.database_url or "")
    try:
        start = time.perf_counter()
        seed(url, args.rows)
        print(f"seeded {args.rows:,} volunteers in {time.perf_counter() - start:.1f}s ({url})")
        healthz = run_child("healthz", url)
        print(f"{'GET /healthz (median)':34} {healthz['seconds'] * 1000:8.3f} ms   peak RSS {healthz['rss_kb'] / 1024:6.1f} MB")
        for kind in ("csv", "xlsx"):
            r = run_child(kind, url)
            during = (f"export {r['before_kb'] / 1024:.1f} → peak {r['export_peak_kb'] / 1024:.1f} MB"
                      if r["export_peak_kb"] else "export's own peak: not measurable here")
            print(f"{'export ' + kind + f' ({args.rows:,} rows)':34} {r['seconds']:8.2f} s    "
                  f"{r['bytes'] / 1e6:6.1f} MB out   peak RSS {r['rss_kb'] / 1024:6.1f} MB ({during})   "
                  f"first byte {r['first_byte']:.3f} s   "
                  f"{r['seconds'] / healthz['seconds']:,.0f}× /healthz   "
                  f"{r['seconds'] / args.rows * 1e6:.0f} µs/row")
        print("admin list pages (page_size=50): status, SQL statements, time")
        for name, (status, queries, seconds) in list_queries(url).items():
            print(f"  /admin/{name + '/':20} {status}  {queries:2d} queries  {seconds * 1000:7.1f} ms  "
                  f"{seconds / healthz['seconds']:,.0f}× /healthz")
    finally:
        from models import db

        db.close()
        drop()


if __name__ == "__main__":
    main()
