"""``make bench`` phases "public pages (demo data)" and "public pages (large data)" (issue 12,
second half): every public page and API list beside the bare-page floor, in ONE run.

Each database gets one gunicorn (``bench.floor:create_bench_app()``: the production app plus
the floor routes, ``--workers`` sync workers) serving its database; a closed loop of
``--concurrency`` client threads hammers each route for ``--public-seconds``. Within a round
the floor ``/_bench/floor`` is measured first and last, and every route's req/s is divided
by the mean of the two (same server, same minutes of a busy machine). The figure is the
median of the rounds' ratios; the target is ≥ 0.8 with the demo data AND with the large data
(+``--public-events`` events, +``--public-projects`` projects, the points ledger grown to
``--entries`` entries). The large phase grows what is missing itself, so it also runs alone:

    .venv/bin/python -m bench.table --only "public pages (demo data),public pages (large data)"

The requests are anonymous (no cookie): what a resident's phone or a crawler sends. Besides
the served rate (a page cache hit after the first request of each minute, see
web/pagecache.py), ``cold_render_ms`` times each route with the page cache off, in process:
the cost of a miss.
"""
import contextlib
import statistics
import tempfile
import time

from models import Event, EventCategory, Line, PointsEntry, Project, ProjectStatus, db, now
from tests.live import live_server

from bench.load import hammer

BENCH_APP = "bench.floor:create_bench_app()"
FLOOR = "/_bench/floor"


def routes():
    """(key, path) of every public page and API list, for the database bound now. The
    event and the project are demo ones (an upcoming published event, an open project),
    the same ids before and after the growth."""
    event = (Event.select(Event.id).where(Event.published == True, Event.starts_at >= now())  # noqa: E712
             .order_by(Event.starts_at, Event.id).first()
             or Event.select(Event.id).where(Event.published == True).first())  # noqa: E712
    project = (Project.select(Project.id).where(Project.published == True,  # noqa: E712
                                                Project.status == ProjectStatus.OPEN)
               .order_by(Project.id).first())
    category = EventCategory.codes()[0]
    today = now().date().isoformat()
    return [
        ("home", "/"),
        ("calendar", "/calendar"),
        ("calendar.list", "/calendar?view=list"),
        ("calendar.past", "/calendar?view=list&when=past"),
        ("calendar.day", f"/calendar?view=list&day={today}"),
        ("calendar.category", f"/calendar?category={category}"),
        ("feed", "/calendar.ics"),
        ("feed.category", f"/calendar/{category}.ics"),
        ("event", f"/events/{event.id}"),
        ("event.ics", f"/events/{event.id}.ics"),
        ("projects", "/projects"),
        ("projects.filtered", f"/projects?status={ProjectStatus.OPEN}&line={Line.codes()[0]}"),
        ("projects.page", "/projects?page=3"),
        ("project", f"/projects/{project.id}"),
        ("api.events", "/api/v1/events"),
        ("api.projects", "/api/v1/projects"),
        ("api.units", "/api/v1/units"),
        ("api.stats", "/api/v1/stats"),
    ]


def rows(Row, bound):
    """The table rows (bench/table.py's ``Row``), one per route, target ≥ 0.8 of the floor."""
    keys = [("home", "/"), ("calendar", "/calendar (month)"), ("calendar.list", "/calendar?view=list"),
            ("calendar.past", "/calendar?view=list&when=past"), ("calendar.day", "/calendar?view=list&day=…"),
            ("calendar.category", "/calendar?category=…"), ("feed", "/calendar.ics"),
            ("feed.category", "/calendar/<cat>.ics"), ("event", "/events/<id>"), ("event.ics", "/events/<id>.ics"),
            ("projects", "/projects"), ("projects.filtered", "/projects?status=…&line=…"),
            ("projects.page", "/projects?page=3"), ("project", "/projects/<id>"),
            ("api.events", "/api/v1/events"), ("api.projects", "/api/v1/projects"),
            ("api.units", "/api/v1/units"), ("api.stats", "/api/v1/stats")]
    out = [Row("public.floor", "public phase: floor req/s, demo / large data (anonymous, gunicorn 2 workers)")]
    for key, text in keys:
        out.append(Row(f"public.{key}", f"`{text}` req/s ÷ floor: demo / large data", bound))
    return out


def _grow(t, args):
    """+events, +projects (bench/public.py's bulk insert) and the ledger to ``--entries``."""
    from bench import dashboard as dashboard_bench
    from bench.public import bulk_events_and_projects

    with t.bound():
        started = time.perf_counter()
        if not getattr(t, "public_grown", False):
            bulk_events_and_projects(args.public_events, args.public_projects)
            t.public_grown = True
        if PointsEntry.select().count() < args.entries:
            dashboard_bench.grow_ledger(args.entries)
        from services.stats import on_postgres
        if on_postgres():
            db.execute_sql("ANALYZE")
        print(f"  {t.name}: +{args.public_events:,} events, +{args.public_projects:,} projects, "
              f"ledger {PointsEntry.select().count():,} entries ({time.perf_counter() - started:.0f} s)", flush=True)


def phase(label, turns):
    """The phase for ``label`` ("demo" or "large"); ``turns`` is bench/table.py's."""
    def run(targets, results, args):
        for t in targets:
            if label == "large":
                _grow(t, args)
            else:
                with t.bound():
                    if not Event.select().exists():  # run alone: the seed-demo phase did not
                        from services.demo import seed_demo
                        seed_demo()
        paths = {}
        for t in targets:
            with t.bound():
                paths[t.name] = routes()
        with contextlib.ExitStack() as stack:
            bases = {t.name: stack.enter_context(live_server(t.url, workers=args.workers, app=BENCH_APP,
                                                             log_dir=tempfile.gettempdir()))
                     for t in targets}
            for t in targets:  # warm every worker: imports, templates, pooled connections, caches
                for _, path in [("floor", FLOOR)] + paths[t.name]:
                    run_ = hammer(bases[t.name], path, concurrency=args.concurrency, seconds=0.5, max_requests=100)
                    if run_["errors"]:
                        raise RuntimeError(f"{t.name} {path}: {run_['errors'][:3]}")
            for r in range(args.rounds):
                floors = {t.name: [] for t in targets}
                rates = {t.name: {} for t in targets}
                for t in turns(targets, r):
                    floors[t.name].append(_rps(bases[t.name], FLOOR, args))
                for key, _ in paths[targets[0].name]:
                    for t in turns(targets, r):
                        path = dict(paths[t.name])[key]
                        rates[t.name][key] = _rps(bases[t.name], path, args)
                for t in turns(targets, r):
                    floors[t.name].append(_rps(bases[t.name], FLOOR, args))
                for t in targets:
                    floor = statistics.mean(floors[t.name])
                    results.add_round(f"public.floor.{label}", t.name, floor)
                    for key, rps in rates[t.name].items():
                        results.add_round(f"public.{key}.{label}", t.name, rps / floor)
        for t in targets:
            results.settle(f"public.floor.{label}", t.name, "{:.0f}")
            for key, _ in paths[t.name]:
                results.settle(f"public.{key}.{label}", t.name, "{:.2f}")
            _combine(results, t.name, ["public.floor"] + [f"public.{k}" for k, _ in paths[t.name]])
    return run


def _rps(base, path, args):
    run = hammer(base, path, concurrency=args.concurrency, seconds=args.public_seconds, max_requests=10**7)
    if run["errors"]:
        raise RuntimeError(f"{path}: {run['errors'][:3]}")
    return run["rps"]


def _combine(results, database, keys):
    """The row's value: demo and large side by side; the lower of the two is checked."""
    for key in keys:
        demo = results.values.get((f"{key}.demo", database))
        large = results.values.get((f"{key}.large", database))
        fmt = "{:.0f}" if key == "public.floor" else "{:.2f}"
        shown = [fmt.format(v) if v is not None else "–" for v in (demo, large)]
        present = [v for v in (demo, large) if v is not None]
        results.put(key, database, min(present), " / ".join(shown))


def adjust(args):
    if args.quick:
        args.public_events, args.public_projects, args.public_seconds = 20_000, 20_000, 1.0


def add_arguments(parser):
    parser.add_argument("--public-seconds", type=float, default=2.0, help="per public route, per round")
    parser.add_argument("--public-events", type=int, default=100_000)
    parser.add_argument("--public-projects", type=int, default=100_000)
