"""Write storms: many people pressing the same button at the same instant, through a real
gunicorn (4 sync workers), with every correctness rule checked after each round.

- **Claim storm**: 64 partner units, each already logged in (the sessions are made
  before the storm, so no password is checked during it), claim one project with ONE
  slot at the same instant. Exactly one 303 and one live claim; 63 × 409 "名额已满".
- **Sign-up storm**: 64 residents (64 phones, 64 network addresses, each with the CSRF
  token of their own session) sign up at the same instant for an event with 10 places:
  64 × 303, then 10 已报名 and 54 候补, 64 distinct phones. The sign-up rate limits stay
  on and count every request, as in production.

The p95 of the 64 response times (from the release to the last byte, queueing in the
server included) is what issue 12 targets; ``bench/table.py`` runs three rounds on a
fresh project / event each and takes the median. The same rules are proven by
tests/test_claims_concurrency.py and tests/test_signups_concurrency.py.

    .venv/bin/python -m bench.storms                      # SQLite, one round each
    .venv/bin/python -m bench.storms --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""
import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from werkzeug.security import generate_password_hash  # noqa: E402

from models import (Claim, ClaimStatus, Project, ProjectStatus, Role, Signup, SignupStatus,  # noqa: E402
                    User, db)
from services.stats import on_postgres  # noqa: E402
from tests import factories  # noqa: E402
from tests.live import csrf_token  # noqa: E402

from bench.load import p95, storm  # noqa: E402

STORM = 64
PLACES = 10
# The storm server sits behind one trusted proxy, which reports each person's address.
SERVER_ENV = {"PROXY_FIX": "1"}
PASSWORD = "bench-storm-1"
FORM = "application/x-www-form-urlencoded"


def hand_over():
    """Commit and close our side, so the server sees what we wrote."""
    if not db.is_closed():
        if db.in_transaction():
            db.commit()
        db.close()


def _cookie_header(session):
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


class Crowd:
    """``STORM`` browser sessions ready to post: (Cookie header, CSRF token) each."""

    def __init__(self, base, sessions, token_page):
        self.base = base

        def ready(session):
            page = session.get(base + token_page, timeout=30)
            assert page.status_code == 200, page.status_code
            return _cookie_header(session), csrf_token(page.text)

        with ThreadPoolExecutor(max_workers=8) as pool:
            self.members = list(pool.map(ready, sessions))

    def post_all(self, path, forms, addresses=None):
        """The storm; returns its results and a dict: the CPU seconds the server
        (gunicorn and, on PostgreSQL, the database's server processes) spent on it, and
        the cores other programs on the machine kept busy meanwhile. ``addresses``: each
        person's own network address, as the trusted proxy in front of the app reports
        it (``X-Forwarded-For``; the storm server runs with ``PROXY_FIX=1``)."""
        requests = []
        for i, ((cookie, token), form) in enumerate(zip(self.members, forms)):
            headers = {"Content-Type": FORM, "Cookie": cookie}
            if addresses:
                headers["X-Forwarded-For"] = addresses[i]
            requests.append(("POST", path, urlencode(dict(form, csrf_token=token)).encode(), headers))
        before, machine, own = server_cpu(self.base), machine_busy_seconds(), _own_cpu_seconds()
        started = time.perf_counter()
        results = storm(self.base, requests)
        wall = time.perf_counter() - started
        server = server_cpu(self.base, before)
        others = machine_busy_seconds() - machine - server - (_own_cpu_seconds() - own)
        return results, {"server_cpu": server, "others_cores": max(0.0, others) / wall}


# --- CPU accounting: a busy shared machine stretches the times, not the CPU spent ---------

TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def _own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(max_wait, cores=0.5, window=0.5):
    """Wait (at most ``max_wait`` seconds) until the rest of the machine keeps fewer than
    ``cores`` cores busy over ``window`` seconds; returns the cores busy last seen.

    The machine is shared: another engineer's test suite can take a core for minutes. A
    storm is a fraction of a second, so it can be run in a quiet moment; the table shows
    how busy the machine was during each storm beside its figures."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_seconds()
        time.sleep(window)
        busy = (machine_busy_seconds() - before) / window
        if busy < cores or time.monotonic() >= deadline:
            return busy


def _cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def server_cpu(base, before=None):
    """{pid: CPU seconds} of the gunicorn serving ``base`` and its workers, and of the
    PostgreSQL server processes connected to the bound database; with ``before``, the
    total spent since (processes that appeared meanwhile count from zero)."""
    from tests.live import SERVERS

    pids = []
    if base in SERVERS:
        master = SERVERS[base].pid
        pids = [master] + _children(master)
    if on_postgres():
        db.connect(reuse_if_open=True)
        pids += [pid for (pid,) in db.execute_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()").fetchall()]
        hand_over()
    now_ = {pid: _cpu_seconds(pid) for pid in pids}
    if before is None:
        return now_
    return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in now_.items())


# --- claim storm ------------------------------------------------------------------------

def unit_crowd(base, count=STORM):
    """``count`` partner-unit accounts, each logged in through the real login form."""
    import requests

    from tests.live import login_session

    tag = uuid.uuid4().hex[:6]
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # setup, not measured
    db.connect(reuse_if_open=True)
    with db.atomic():
        users = [User.create(username=f"storm{tag}{i:02d}", password_hash=digest, role=Role.UNIT,
                             unit=factories.make_unit(name=f"压测单位{tag}{i:02d}")) for i in range(count)]
        project = factories.make_project(title=f"压测令牌项目{tag}", slots=count)
    hand_over()
    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = list(pool.map(lambda u: login_session(base, u.username, PASSWORD), users))
    assert all(isinstance(s, requests.Session) for s in sessions)
    return Crowd(base, sessions, f"/projects/{project.id}")


def claim_round(crowd):
    """One storm on a fresh one-slot project; returns the round's figures (raises on a
    broken rule)."""
    db.connect(reuse_if_open=True)
    project = factories.make_project(title=f"压测认领项目{uuid.uuid4().hex[:6]}", slots=1)
    hand_over()
    results, cpu = crowd.post_all(f"/projects/{project.id}/claim",
                                  [{"plan": f"压测认领计划 {i}"} for i in range(len(crowd.members))])
    statuses = sorted(r["status"] or 0 for r in results)
    db.connect(reuse_if_open=True)
    live = Claim.select().where(Claim.project == project.id, Claim.status.in_(ClaimStatus.LIVE)).count()
    project = Project.get_by_id(project.id)
    hand_over()
    problems = []
    if statuses.count(303) != 1 or statuses.count(409) != len(results) - 1:
        problems.append(f"statuses {statuses}")
    if not all("名额已满" in r["body"] for r in results if r["status"] == 409):
        problems.append("a 409 without 名额已满")
    if (live, project.live_claims, project.status) != (1, 1, ProjectStatus.CLAIMED):
        problems.append(f"live claims {live}, counter {project.live_claims}, status {project.status}")
    if problems:
        raise AssertionError("claim storm broke a rule: " + "; ".join(problems))
    return _figures(results, cpu)


# --- sign-up storm ----------------------------------------------------------------------

def resident_crowd(base, count=STORM):
    """``count`` anonymous browser sessions, each holding its CSRF token."""
    import requests

    db.connect(reuse_if_open=True)
    event = factories.make_event(title=f"压测令牌活动{uuid.uuid4().hex[:6]}", capacity=0)
    hand_over()
    return Crowd(base, [requests.Session() for _ in range(count)], f"/events/{event.id}")


def signup_round(crowd, places=PLACES):
    db.connect(reuse_if_open=True)
    event = factories.make_event(title=f"压测报名活动{uuid.uuid4().hex[:6]}", capacity=places)
    hand_over()
    stem = uuid.uuid4().int % 10**4
    forms = [{"name": f"压测居民{i}", "phone": f"137{stem:04d}{i:04d}"} for i in range(len(crowd.members))]
    # 64 people on 64 networks: the rate limits (web/ratelimit.py) count each person's
    # address and phone, as in production, and none of them is over its limit
    addresses = [f"10.{stem % 200}.{i // 250}.{i % 250 + 1}" for i in range(len(crowd.members))]
    results, cpu = crowd.post_all(f"/events/{event.id}/signup", forms, addresses)
    statuses = sorted(r["status"] or 0 for r in results)
    db.connect(reuse_if_open=True)
    rows = list(Signup.select(Signup.status, Signup.phone).where(Signup.event == event.id).tuples())
    hand_over()
    counts = [s for s, _ in rows]
    problems = []
    if statuses != [303] * len(results):
        problems.append(f"statuses {statuses}")
    if (counts.count(SignupStatus.REGISTERED), counts.count(SignupStatus.WAITLISTED)) != (
            places, len(results) - places):
        problems.append(f"{counts.count(SignupStatus.REGISTERED)} 已报名, "
                        f"{counts.count(SignupStatus.WAITLISTED)} 候补")
    if len({p for _, p in rows}) != len(rows) or len(rows) != len(results):
        problems.append(f"{len(rows)} rows for {len(results)} people")
    if problems:
        raise AssertionError("sign-up storm broke a rule: " + "; ".join(problems))
    return _figures(results, cpu)


def _figures(results, cpu):
    times = [r["ms"] for r in results]
    return {"p95_ms": p95(times), "median_ms": statistics.median(times), "max_ms": max(times),
            "cpu_ms_per_request": cpu["server_cpu"] * 1000 / len(results), "others_cores": cpu["others_cores"]}


def main(argv=None):
    from models.database import apply_migrations, open_database
    from tests.live import live_server

    from bench.public import open_bench_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL; default: temp SQLite")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    url, drop = open_bench_database(args.database_url)
    database = open_database(url)
    db.initialize(database)
    try:
        database.connect()
        apply_migrations(database)
        from services.demo import seed_demo

        seed_demo()
        hand_over()
        with live_server(url, workers=args.workers, log_dir=tempfile.gettempdir(), extra_env=SERVER_ENV) as base:
            units, residents = unit_crowd(base), resident_crowd(base)
            for r in range(args.rounds):
                claim = claim_round(units)
                signup = signup_round(residents)
                print(f"round {r + 1}: claim storm p95 {claim['p95_ms']:.0f} ms (median {claim['median_ms']:.0f}, "
                      f"server CPU {claim['cpu_ms_per_request']:.1f} ms/request, other programs "
                      f"{claim['others_cores']:.1f} cores), sign-up storm p95 {signup['p95_ms']:.0f} ms "
                      f"(median {signup['median_ms']:.0f}, server CPU {signup['cpu_ms_per_request']:.1f} "
                      f"ms/request, other programs {signup['others_cores']:.1f} cores)")
    finally:
        hand_over()
        drop()
        if url.startswith("sqlite:///"):
            shutil.rmtree(Path(url[len("sqlite:///"):]).parent, ignore_errors=True)


if __name__ == "__main__":
    main()
