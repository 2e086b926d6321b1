"""``make bench``: issue 12's targets in ONE table, SQLite beside PostgreSQL, from ONE run.

    .venv/bin/python -m bench.table                     # SQLite, and PostgreSQL when it answers
    .venv/bin/python -m bench.table --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.table --no-postgres --quick   # a smoke run: small data, short loads

Each database gets a fresh database (a temporary SQLite file; a new PostgreSQL database,
dropped afterwards). Phases run in order; within a phase the two databases take turns
round by round, so both see the same moments of a busy machine. Every figure is the
median of ``--rounds`` rounds (3). What is measured:

1. ``seed-demo``: the command a new install runs (``flask --app app seed-demo``, then
   ``--force`` twice): the time it reports for the seeding (用时, what tests/test_cli.py
   reads) and the whole command's wall time. It leaves the demo alliance in place.
2. Figures in process (demo data): the dashboard's ``overview()`` and GET /admin/, the
   home page's figures and GET / (figures cache off), beside GET /healthz.
3. Requests through gunicorn (``--workers`` sync workers, as the public benchmark;
   ``--concurrency`` client threads in a closed loop, ``--seconds`` per route): /healthz,
   the bare-page floor ``/_bench/floor`` and its database share ``/_bench/db`` (see
   bench/floor.py; served by the same app and gunicorn as the public pages).
4. Storms through gunicorn (4 sync workers): 64 logged-in units claim a one-slot project,
   64 residents sign up for an event with 10 places (bench/storms.py checks every rule
   each round), and 64 × GET /healthz at once for reference. A storm lasts a fraction
   of a second: each waits (within ``--quiet-wait`` seconds in all) for a moment when
   other programs keep less than half a core busy, and the table shows how busy they
   kept the machine during the storms. Besides the p95, the CPU the server (gunicorn +
   PostgreSQL's processes) spent per request: a busy machine stretches the times, not
   the CPU.
5. Growth: the ledger and the sign-ups grown to ``--entries`` / ``--signups`` rows
   (1,000,000 each) by bulk insert, the running totals rebuilt, then 2. again, and
   ``verify-balances``' check timed.

The table goes to stdout and, with every round's raw figures and the machine's load, to
the git-ignored ``bench/results/``. To add a row: measure it in a phase (or a new
phase in ``PHASES``) with ``results.put(key, database, value, text)``, then declare the
row in ``ROWS`` with its target.
"""
import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import Role, db  # noqa: E402
from models.database import apply_migrations, open_database  # noqa: E402
from tests.live import live_server  # noqa: E402

from bench import dashboard as dashboard_bench  # noqa: E402
from bench import storms  # noqa: E402
from bench.load import hammer, p95, storm  # noqa: E402
from bench.public import open_bench_database  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = ROOT / "bench" / "results"
SQLITE, POSTGRES, BOTH = "SQLite", "PostgreSQL", "PostgreSQL ÷ SQLite"
BENCH_APP = "bench.floor:create_bench_app()"
FLASK = Path(sys.executable).parent / "flask"


# --- the rows --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Bound:
    """A target: ``value op limit`` per database (one limit for all, or a dict)."""
    op: str
    limit: object

    def limit_for(self, database):
        return self.limit.get(database) if isinstance(self.limit, dict) else self.limit

    def met(self, database, value):
        limit = self.limit_for(database)
        if limit is None or value is None:
            return None
        return value <= limit if self.op == "≤" else value >= limit

    def text(self):
        if isinstance(self.limit, dict):
            return " / ".join(f"{self.op} {v:g}" for v in self.limit.values())
        return f"{self.op} {self.limit:g}"


@dataclasses.dataclass(frozen=True)
class Row:
    key: str
    what: str
    bound: Bound = None   # None: shown for reading the others (no target)
    unit: str = ""


ROWS = [
    Row("seed", "`flask seed-demo` (empty database, then `--force` twice): its own 用时, s", Bound("≤", 3), "s"),
    Row("seed.wall", "… the whole command's wall time (Python start-up, app, migrations check), s"),
    Row("healthz.rps", "`/healthz` req/s (gunicorn, 2 workers, 8 client threads)"),
    Row("db.rps", "`/_bench/db` req/s (20 indexed rows, plain text)"),
    Row("floor.rps", "`/_bench/floor` req/s — the bare-page floor (20 rows, Jinja)"),
    Row("floor.ratio", "floor req/s ÷ `/healthz` req/s"),
    Row("healthz.pg", "`/healthz` req/s, PostgreSQL ÷ SQLite (pooled connection vs SQLite file)", Bound("≥", 0.8)),
    Row("db.pg", "`/_bench/db` req/s, PostgreSQL ÷ SQLite (one query per request)"),
    Row("floor.pg", "floor req/s, PostgreSQL ÷ SQLite"),
    Row("claim.p95", "claim storm p95, ms (64 units, 1 slot, 4 workers; exactly one live claim)",
        Bound("≤", {SQLITE: 150, POSTGRES: 250}), "ms"),
    Row("signup.p95", "sign-up storm p95, ms (64 people, 10 places: 10 已报名, 54 候补, no duplicates)",
        Bound("≤", {SQLITE: 150, POSTGRES: 250}), "ms"),
    Row("healthz_storm.p95", "64 × GET `/healthz` at once, p95 ms (this machine's storm floor)"),
    Row("claim.cpu", "claim storm: server CPU per request, ms (gunicorn + database processes)"),
    Row("signup.cpu", "sign-up storm: server CPU per request, ms"),
    Row("storms.others", "cores other programs kept busy during the storms (of 2), median"),
    Row("overview.ratio", "dashboard figures `overview()`: demo → large, ms (large ÷ demo)", Bound("≤", 2)),
    Row("admin_page.ratio", "GET `/admin/` (dashboard page): demo → large, ms (large ÷ demo)", Bound("≤", 2)),
    Row("home_figures.ratio", "home figures `home_figures()`: demo → large, ms (large ÷ demo)", Bound("≤", 2)),
    Row("home_page.ratio", "GET `/` (figures cache off): demo → large, ms (large ÷ demo)", Bound("≤", 2)),
    Row("admin_page.healthz", "GET `/admin/` at the large data ÷ GET `/healthz`, in process"),
    Row("verify", "`verify-balances` check at the large data, s (whole ledger and sign-ups)"),
]
ROWS += [  # the 微心愿 wall (issue 10): anonymous, demo data, 12 wishes a page with photos
    Row("wishes.rps", "`/wishes` req/s (the 微心愿 wall, demo data)"),
    Row("wishes.ratio", "`/wishes` req/s ÷ `/healthz` req/s"),
    Row("wishes.pg", "`/wishes` req/s, PostgreSQL ÷ SQLite"),
]


class Results:
    """Per (row key, database): every round's value, the median and its display text."""

    def __init__(self):
        self.rounds, self.values, self.texts = {}, {}, {}

    def add_round(self, key, database, value):
        self.rounds.setdefault((key, database), []).append(value)

    def settle(self, key, database, fmt="{:.1f}"):
        """The median of the rounds recorded so far becomes the row's value."""
        value = statistics.median(self.rounds[(key, database)])
        self.put(key, database, value, fmt.format(value))
        return value

    def put(self, key, database, value, text=None):
        self.values[(key, database)] = value
        self.texts[(key, database)] = text if text is not None else f"{value:.1f}"


# --- the databases -----------------------------------------------------------------------

class Target:
    """One database under test: its URL, a plain connection for the benchmark's own
    writes, and what to do at the end."""

    def __init__(self, name, server_url):
        self.name = name
        self.url, self.drop = open_bench_database(server_url)
        self.database = open_database(self.url)
        with self.bound():
            apply_migrations(self.database)

    @contextlib.contextmanager
    def bound(self):
        """The models bound to this database (for the benchmark's own reads and writes)."""
        db.initialize(self.database)
        self.database.connect(reuse_if_open=True)
        try:
            yield
        finally:
            storms.hand_over()

    def close(self):
        storms.hand_over()
        self.drop()
        if self.url.startswith("sqlite:///"):  # the temporary folder (2M rows: ≈ 400 MB)
            shutil.rmtree(Path(self.url[len("sqlite:///"):]).parent, ignore_errors=True)


def postgres_answers(url):
    try:
        database = open_database(url)
        database.connect()
        database.close()
        return True
    except Exception as exc:  # noqa: BLE001 — any failure means "not reachable"
        print(f"PostgreSQL at {url} does not answer ({type(exc).__name__}); SQLite only.")
        return False


def turns(targets, round_no):
    """The databases' order in this round: alternate who goes first."""
    return targets if round_no % 2 == 0 else list(reversed(targets))


def load_line():
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


# --- phase 1: seed-demo -------------------------------------------------------------------

def phase_seed(targets, results, args):
    for r in range(args.rounds):
        for t in turns(targets, r):
            command = [str(FLASK), "--app", "app", "seed-demo"] + (["--force"] if r else [])
            env = dict(os.environ, DATABASE_URL=t.url, SECRET_KEY="bench-" + uuid.uuid4().hex)
            started = time.perf_counter()
            out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            reported = re.search(r"用时 ([\d.]+) 秒", out.stdout)
            if out.returncode or not reported:
                raise RuntimeError(f"seed-demo failed on {t.name}: {out.stdout}{out.stderr}")
            results.add_round("seed", t.name, float(reported.group(1)))
            results.add_round("seed.wall", t.name, seconds)
    for t in targets:
        results.settle("seed", t.name, "{:.2f}")
        results.settle("seed.wall", t.name, "{:.2f}")


# --- phase 2 and 5: figures in process --------------------------------------------------------

def _figures_app(t):
    """The app on this database, in process, logged in as staff, figures cache off."""
    from app import create_app
    from tests.factories import PASSWORD, make_user

    if getattr(t, "app", None) is None:
        t.app = create_app({"DATABASE_URL": t.url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                            "WTF_CSRF_ENABLED": False, "HOME_FIGURES_TTL": 0, "PAGE_CACHE_BYTES": 0})
        with t.bound():
            user = make_user(role=Role.ADMIN, username=f"bench-admin-{uuid.uuid4().hex[:6]}")
        db.initialize(t.app.extensions["database"])
        t.client = t.app.test_client()
        assert t.client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    db.initialize(t.app.extensions["database"])
    return t.app, t.client


def phase_figures(label):
    def phase(targets, results, args):
        for t in targets:  # warm: imports, templates, the pool, the database's caches
            dashboard_bench.figure_times(*_figures_app(t), 3)
            storms.hand_over()
        for r in range(args.rounds):
            for t in turns(targets, r):
                app, client = _figures_app(t)
                for name, ms in dashboard_bench.figure_times(app, client, args.repeat).items():
                    results.add_round(f"{name}.{label}", t.name, ms)
                storms.hand_over()
        for t in targets:
            for name in ("overview", "admin_page", "home_figures", "home_page", "healthz"):
                results.settle(f"{name}.{label}", t.name)
    return phase


def phase_grow(targets, results, args):
    for t in targets:
        with t.bound():
            started = time.perf_counter()
            dashboard_bench.grow_ledger(args.entries)
            dashboard_bench.grow_signups(args.signups)
            t.grow_seconds = time.perf_counter() - started
            if t.name == POSTGRES:
                db.execute_sql("VACUUM ANALYZE")  # as autovacuum soon would (SQLite is left as production leaves it)
        print(f"  {t.name}: ledger {args.entries:,} entries, sign-ups {args.signups:,} "
              f"in {t.grow_seconds:.0f} s", flush=True)


def phase_large_figures(targets, results, args):
    phase_figures("large")(targets, results, args)
    for t in targets:
        for name in ("overview", "admin_page", "home_figures", "home_page"):
            small, large = results.values[(f"{name}.demo", t.name)], results.values[(f"{name}.large", t.name)]
            results.put(f"{name}.ratio", t.name, large / small,
                        f"{small:.1f} → {large:.1f} ({large / small:.2f}×)")
        ratio = results.values[("admin_page.large", t.name)] / results.values[("healthz.large", t.name)]
        results.put("admin_page.healthz", t.name, ratio, f"{ratio:.0f}×")
        from services import totals

        with t.bound():
            started = time.perf_counter()
            found = totals.differences()
            seconds = time.perf_counter() - started
        results.put("verify", t.name, seconds, f"{seconds:.1f} ({len(found)} differences)")
        if found:
            raise AssertionError(f"{t.name}: running totals disagree with the ledger: {found[:3]}")


# --- phase 3: requests through gunicorn ----------------------------------------------------

ROUTES = (("healthz", "/healthz"), ("db", "/_bench/db"), ("floor", "/_bench/floor"))
ROUTES += (("wishes", "/wishes"),)  # the 微心愿 wall, demo data (issue 10)


def phase_requests(targets, results, args):
    with contextlib.ExitStack() as stack:
        bases = {t.name: stack.enter_context(live_server(t.url, workers=args.workers, app=BENCH_APP,
                                                         log_dir=tempfile.gettempdir()))
                 for t in targets}
        for t in targets:  # warm every worker: imports, templates, pooled connections
            for _, path in ROUTES:
                hammer(bases[t.name], path, concurrency=args.concurrency, seconds=0.5, max_requests=200)
        for r in range(args.rounds):
            for name, path in ROUTES:
                rates = {}
                for t in turns(targets, r):
                    run = hammer(bases[t.name], path, concurrency=args.concurrency, seconds=args.seconds,
                                 max_requests=10**7)
                    if run["errors"]:
                        raise RuntimeError(f"{t.name} {path}: {run['errors'][:3]}")
                    rates[t.name] = run["rps"]
                    results.add_round(f"{name}.rps", t.name, run["rps"])
                if len(rates) == 2:
                    results.add_round(f"{name}.pg", BOTH, rates[POSTGRES] / rates[SQLITE])
            for t in targets:
                results.add_round("floor.ratio", t.name,
                                  results.rounds[("floor.rps", t.name)][-1] / results.rounds[("healthz.rps", t.name)][-1])
                results.add_round("wishes.ratio", t.name,
                                  results.rounds[("wishes.rps", t.name)][-1] / results.rounds[("healthz.rps", t.name)][-1])
    for t in targets:
        for name, _ in ROUTES:
            results.settle(f"{name}.rps", t.name, "{:.0f}")
        results.settle("floor.ratio", t.name, "{:.2f}")
        results.settle("wishes.ratio", t.name, "{:.2f}")
    if len(targets) == 2:
        for name, _ in ROUTES:
            results.settle(f"{name}.pg", BOTH, "{:.2f}")


# --- phase 4: storms -------------------------------------------------------------------------

def phase_storms(targets, results, args):
    with contextlib.ExitStack() as stack:
        crowds = {}
        for t in targets:
            base = stack.enter_context(live_server(t.url, workers=4, log_dir=tempfile.gettempdir(),
                                                   extra_env=storms.SERVER_ENV))
            with t.bound():
                crowds[t.name] = (base, storms.unit_crowd(base), storms.resident_crowd(base))
        budget = time.monotonic() + args.quiet_wait

        def quiet():
            return storms.wait_for_quiet(max(0.0, min(15.0, budget - time.monotonic())))

        for r in range(args.rounds):
            for t in turns(targets, r):
                base, units, residents = crowds[t.name]
                with t.bound():
                    quiet()
                    claim = storms.claim_round(units)
                    quiet()
                    signup = storms.signup_round(residents)
                quiet()
                floor = storm(base, [("GET", "/healthz", None, {})] * storms.STORM)
                for key, figures in (("claim", claim), ("signup", signup)):
                    results.add_round(f"{key}.p95", t.name, figures["p95_ms"])
                    results.add_round(f"{key}.cpu", t.name, figures["cpu_ms_per_request"])
                    results.add_round("storms.others", t.name, figures["others_cores"])
                results.add_round("healthz_storm.p95", t.name, p95([f["ms"] for f in floor]))
    for t in targets:
        for key in ("claim.p95", "signup.p95", "healthz_storm.p95"):
            results.settle(key, t.name, "{:.0f}")
        for key in ("claim.cpu", "signup.cpu"):
            results.settle(key, t.name, "{:.1f}")
        busy = results.rounds[("storms.others", t.name)]
        results.put("storms.others", t.name, statistics.median(busy),
                    f"{statistics.median(busy):.1f} (max {max(busy):.1f})")


PHASES = [
    ("seed-demo", phase_seed),
    ("figures, demo data", phase_figures("demo")),
    ("requests through gunicorn", phase_requests),
    ("storms", phase_storms),
    ("growing the ledger and the sign-ups", phase_grow),
    ("figures, large data", phase_large_figures),
]


# --- the table ---------------------------------------------------------------------------------

def render(results, names):
    lines = ["| # | measure | target | " + " | ".join(names) + " | met |",
             "|---|---|---|" + "---:|" * len(names) + "---|"]
    for number, row in enumerate(ROWS, 1):
        cells, verdicts = [], []
        for name in names:
            database = BOTH if (row.key, BOTH) in results.values else name
            if database == BOTH and name == SQLITE:
                cells.append("—")
                continue
            value = results.values.get((row.key, database))
            cells.append(results.texts.get((row.key, database), "n/a"))
            if row.bound:
                verdicts.append(row.bound.met(name if database != BOTH else BOTH, value))
        if row.bound is None:
            met = ""
        elif None in verdicts or not verdicts:
            met = "n/a"
        else:
            met = "✓" if all(verdicts) else "✗"
        target = (row.bound.text() + (f" {row.unit}" if row.unit else "")) if row.bound else ""
        lines.append(f"| {number} | {row.what} | {target} | " + " | ".join(cells) + f" | {met} |")
    return "\n".join(lines)


def git_describe():
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="PostgreSQL server URL (a fresh database is made and dropped)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for the request phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="per route, per round")
    parser.add_argument("--repeat", type=int, default=15, help="in-process calls per figure, per round")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--signups", type=int, default=1_000_000)
    parser.add_argument("--quiet-wait", type=float, default=120,
                        help="seconds in all the storms may wait for a quiet moment on a shared machine")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 1 s per route (a smoke run)")
    parser.add_argument("--only", default="", help="comma-separated phase names to run (default: all)")
    public_pages.add_arguments(parser)
    for option, default in ADMIN_OPTIONS:
        parser.add_argument(option, type=int, default=default)
    args = parser.parse_args(argv)
    public_pages.adjust(args)
    if args.quick:
        args.entries, args.signups, args.seconds, args.repeat = 20_000, 20_000, 1.0, 5
        args.list_large, args.export_rows = 20_000, 20_000

    started_at = dt.datetime.now()
    header = [f"# make bench — issue 12 ({started_at:%Y-%m-%d %H:%M}, commit {git_describe()})",
              f"machine: {os.cpu_count()} cores, {load_line()} at the start"]
    print("\n".join(header), flush=True)
    targets = []
    phases_log = []
    results = Results()
    try:
        targets.append(Target(SQLITE, ""))
        if not args.no_postgres and postgres_answers(args.postgres):
            targets.append(Target(POSTGRES, args.postgres))
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        for name, phase in PHASES:
            if wanted and name not in wanted:
                continue
            began = time.perf_counter()
            print(f"== {name} ({load_line()})", flush=True)
            phase(targets, results, args)
            phases_log.append({"phase": name, "seconds": round(time.perf_counter() - began, 1),
                               "load_after": os.getloadavg()})
    finally:
        for t in targets:
            if getattr(t, "app", None) is not None:
                pooled = t.app.extensions["database"]
                if not pooled.is_closed():
                    pooled.close()
                if hasattr(pooled, "close_all"):
                    pooled.close_all()
            t.close()

    names = [t.name for t in targets]
    footer = (f"{len(names)} database(s); medians of {args.rounds} rounds; large data: "
              f"{args.entries:,} points entries and {args.signups:,} sign-ups; {load_line()} at the end; "
              f"{(dt.datetime.now() - started_at).total_seconds() / 60:.1f} min")
    table = "\n".join(header + ["", render(results, names), "", footer])
    print("\n" + table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"table-{stamp}.md").write_text(table + "\n")
    (RESULTS / f"table-{stamp}.json").write_text(json.dumps({
        "started": started_at.isoformat(), "commit": git_describe(), "args": vars(args), "phases": phases_log,
        "values": {f"{k}|{d}": v for (k, d), v in results.values.items()},
        "rounds": {f"{k}|{d}": v for (k, d), v in results.rounds.items()},
    }, ensure_ascii=False, indent=1))
    print(f"\n(saved to {RESULTS.relative_to(ROOT)}/table-{stamp}.md and .json)")


# --- issue 12, second half: the public pages beside the floor (bench/public_pages.py) ------------
from bench import public_pages  # noqa: E402

ROWS += public_pages.rows(Row, Bound("≥", 0.8))
PHASES.insert([name for name, _ in PHASES].index("storms"),
              ("public pages (demo data)", public_pages.phase("demo", turns)))
PHASES.append(("public pages (large data)", public_pages.phase("large", turns)))
# --- issue 12, the admin half: lists at 1k and 1M rows, exports (bench/admin_lists.py, admin_export.py) ---
from bench import admin_export as admin_export_bench  # noqa: E402
from bench import admin_lists as admin_lists_bench  # noqa: E402

ROWS += [
    Row("lists.growth", "admin lists, every list × {page 1, page 500, each sort, filter, search}: worst 1M ÷ 1k rows",
        Bound("≤", 2)),
    Row("lists.healthz", "… worst 1M-row page as served ÷ GET `/healthz` (in process, logged in as clerk; asked "
        "again with nothing written meanwhile: from the account's page cache, keyed by the records' version)",
        Bound("≤", 5)),
    Row("lists.healthz_median", "… median 1M-row page as served ÷ GET `/healthz`"),
    Row("lists.beside", "… GET `/healthz` asked between the hits (each variant's ratio is to these: the same moments "
        "of the machine), median ms ÷ GET `/healthz` in a loop of its own"),
    Row("lists.fresh", "… worst 1M-row page rendered afresh (cache off: a first view, or after any write) ÷ GET "
        "`/healthz`"),
    Row("lists.floor", "… the admin-list floor (`/_bench/admin_floor`: session checked, 20 ledger rows + the "
        "bounded count, bare template) ÷ GET `/healthz`, 1M rows"),
    Row("lists.floor_median", "… median 1M-row page rendered afresh ÷ the admin-list floor"),
    Row("lists.over", "… variants over either target"),
    Row("export.csv", "CSV export of 200,000 volunteers, s (through the app, read to the end)", Bound("≤", 2), "s"),
    Row("export.first", "… its first byte, s", Bound("≤", 0.3), "s"),
    Row("export.xlsx", "XLSX export of the same, s", Bound("≤", 6), "s"),
    Row("export.rss", "peak RSS of the exporting process, MB (CSV, XLSX)", Bound("≤", 100), "MB"),
]
_growth_at = [name for name, _ in PHASES].index("growing the ledger and the sign-ups")
PHASES[_growth_at:_growth_at] = [("admin lists 1k", admin_lists_bench.phase_small)]
PHASES += [("admin lists 1M", admin_lists_bench.phase_large), ("admin exports", admin_export_bench.phase)]
ADMIN_OPTIONS = (("--list-small", 1000), ("--list-large", 1_000_000), ("--export-rows", 200_000))


if __name__ == "__main__":
    main()
