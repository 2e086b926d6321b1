"""Import benchmark: a 50,000-row volunteer spreadsheet checked (the preview) and imported
through the admin, beside /healthz, with each phase's time and peak memory.

    .venv/bin/python -m bench.imports                         # 5,000 and 50,000 rows, temporary SQLite
    .venv/bin/python -m bench.imports --rows 50000 --kinds xlsx
    .venv/bin/python -m bench.imports --database-url postgresql://postgres@127.0.0.1:5432/postgres

For each size and file kind (XLSX written by openpyxl, CSV in GB18030 as Chinese Excel saves
it) a fresh database is seeded (19 grids, 7 teams, one clerk) and every measurement runs in
its own subprocess, so ``ru_maxrss`` is that phase's own peak:

1. ``GET /healthz`` (median of 300): the bare route the ratios divide by;
2. check: ``POST /admin/volunteer/import/`` (upload + the whole preview, in the request);
3. import: ``POST …/confirm`` (the same pass again, writing every row and its audit row in one
   transaction);
4. re-check: the same file uploaded again (every row found unchanged).

Peak RSS is the highest resident memory sampled (every 5 ms) during the request; growth is that
peak minus the resident memory just before it. Whether memory follows the file's rows shows
between 5,000 and 50,000 rows: it should not grow tenfold.
"""
import argparse
import csv
import io
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

USERNAME = "bench_importer"
PASSWORD = "bench-password-2"
TEAMS = ("红石榴志愿服务队", "银发互助队", "平安巡防队", "文化惠民队", "环境守护队", "助残帮扶队", "青年先锋队")


def make_app(database_url):
    from app import create_app
    from models import db

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "IMPORT_INLINE_BYTES": 1 << 40})  # the whole check inside the timed request
    db.obj.connect(reuse_if_open=True)
    return app


def seed(database_url):
    from models import ALL_MODELS, Grid, Role, User, VolunteerTeam, db
    from models.database import apply_migrations

    make_app(database_url)
    apply_migrations(db.obj)
    with db.atomic():
        for model in reversed(ALL_MODELS):
            model.delete().execute()
        for i in range(1, 20):
            Grid.create(number=i, name=f"第{i}网格")
        for name in TEAMS:
            VolunteerTeam.create(name=name)
        user = User(username=USERNAME, role=Role.CLERK)
        user.set_password(PASSWORD)
        user.save(force_insert=True)
    db.obj.close()


def rows(count):
    yield ["姓名", "手机号", "服务队", "所在网格", "党员", "特长技能", "加入日期", "状态"]
    for i in range(count):
        yield [f"志愿者{i:05d}", f"13{i:09d}", TEAMS[i % len(TEAMS)], f"第{i % 19 + 1}网格", "是" if i % 3 == 0 else "否",
               "理发、维修、陪伴老人" if i % 2 else None, f"20{20 + i % 6}-{i % 12 + 1:02d}-{i % 28 + 1:02d}", "在队"]


def make_file(kind, count, path):
    if kind == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("志愿者")
        for row in rows(count):
            sheet.append(row)
        book.save(path)
    else:
        with open(path, "w", encoding="gb18030", newline="") as fh:
            csv.writer(fh).writerows(rows(count))
    return path


def maxrss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_kb():
    """Resident memory now (Linux), in kB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() // 1024


class RssSampler:
    """The highest resident memory seen while the block runs (sampled every 5 ms): the peak of
    this one request, whatever the process reached before it."""

    def __init__(self):
        import threading

        self.peak = rss_kb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_kb())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb())


def child(phase, database_url, file_path, job_id):
    """One measurement in this (fresh) process; prints a JSON line."""
    app = make_app(database_url)
    client = app.test_client()
    if phase == "healthz":
        times = []
        for _ in range(300):
            start = time.perf_counter()
            client.get("/healthz").get_data()
            times.append(time.perf_counter() - start)
        print(json.dumps({"seconds": statistics.median(times), "rss_kb": maxrss_kb(), "growth_kb": 0}))
        return
    response = client.post("/login", data={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    client.get("/admin/volunteer/import/")  # warm: templates, imports
    import openpyxl  # noqa: F401  -- its import is not the import's memory

    from models import ImportJob

    data = Path(file_path).read_bytes()
    before = rss_kb()
    with RssSampler() as sampler:
        start = time.perf_counter()
        if phase == "check":
            response = client.post("/admin/volunteer/import/",
                                   data={"file": (io.BytesIO(data), Path(file_path).name)},
                                   content_type="multipart/form-data")
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
            job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        else:
            response = client.post(f"/admin/volunteer/import/{job_id}/confirm")
            assert response.status_code == 303
        seconds = time.perf_counter() - start
    job = ImportJob.get_by_id(job_id)
    print(json.dumps({"seconds": seconds, "rss_kb": sampler.peak, "growth_kb": sampler.peak - before, "job": job_id,
                      "status": job.status, "created": job.created_count, "updated": job.updated_count,
                      "unchanged": job.unchanged_count, "problems": job.problem_count, "message": job.message}))


def run_child(phase, database_url, file_path="", job_id=0):
    out = subprocess.run([sys.executable, "-m", "bench.imports", "--child", phase, "--database-url", database_url,
                          "--file", str(file_path), "--job", str(job_id)],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeatable); default 5000 and 50000")
    parser.add_argument("--kinds", default="xlsx,csv")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", choices=["healthz", "check", "confirm"])
    parser.add_argument("--file", default="")
    parser.add_argument("--job", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.database_url, args.file, args.job)

    sizes = args.rows or [5000, 50000]
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        seed(url)
        healthz = run_child("healthz", url)
        base = healthz["seconds"]
        print(f"database: {url.split('://')[0]}   GET /healthz (median) {base * 1000:.3f} ms   "
              f"peak RSS {healthz['rss_kb'] / 1024:.1f} MB")
        print(f"{'file':24} {'phase':9} {'seconds':>8} {'× /healthz':>12} {'µs/row':>7} {'peak RSS':>9} {'growth':>8}  result")
        for count in sizes:
            for kind in args.kinds.split(","):
                seed(url)
                path = make_file(kind, count, Path(tmp) / f"volunteers-{count}.{kind}")
                label = f"{count:,} rows {kind} ({path.stat().st_size / 1e6:.1f} MB)"
                check = run_child("check", url, path)
                confirm = run_child("confirm", url, path, check["job"])
                again = run_child("check", url, path)
                for phase, r in (("check", check), ("import", confirm), ("re-check", again)):
                    print(f"{label:24} {phase:9} {r['seconds']:8.2f} {r['seconds'] / base:12,.0f} "
                          f"{r['seconds'] / count * 1e6:7.0f} {r['rss_kb'] / 1024:7.1f}MB {r['growth_kb'] / 1024:6.1f}MB  "
                          f"{r['status']}: {r['created']} 新增 / {r['updated']} 修改 / {r['unchanged']} 未变"
                          + (f", {r['problems']} 问题 {r['message'] or ''}" if r["problems"] or r["message"] else ""))
                    label = ""


if __name__ == "__main__":
    main()
