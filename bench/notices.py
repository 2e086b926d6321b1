"""Delivery throughput: how fast ``flask deliver-notices`` empties an outbox of 10,000
pending notices, with one worker and with two, beside the bare route /healthz measured in
the same run.

    .venv/bin/python -m bench.notices                       # SQLite (temporary file)
    .venv/bin/python -m bench.notices --database-url postgresql://postgres@127.0.0.1:5432/postgres
    # options: --notices 10000 --channel webhook|email|both --batch 50

Each notice goes to an account with a mobile number (the webhook to a local HTTP gateway
that checks nothing but answers 200 at once) and, with ``--channel both``, an e-mail
address (a local SMTP server: aiosmtpd from .venv-smtp, as in the tests). The outbox rows
are written the way ``services.notices.notify`` writes them. The workers are real
processes (``flask deliver-notices``, one pass each); the clock starts when they start and
stops when every row is 已发送. Reported: notices/s and deliveries/s, and /healthz req/s
from the same machine in the same run (a single gunicorn worker, 8 client threads).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import hammer  # noqa: E402
from models import DeliveryStatus, Notice, NoticeDelivery, Role, User, db, now  # noqa: E402
from models.database import apply_migrations, open_database  # noqa: E402
from tests.live import live_server  # noqa: E402
from tests.sinks import smtp_server, webhook_gateway  # noqa: E402

FLASK = Path(sys.executable).parent / "flask"


def fill(count, channels):
    """``count`` notices to ``count`` accounts, with their outbox rows (bulk, like notify)."""
    NoticeDelivery.delete().execute()
    Notice.delete().execute()
    User.delete().where(User.username.startswith("bench-")).execute()
    stamp = now()
    with db.atomic():
        users = [{"username": f"bench-{i:06d}", "password_hash": "", "role": Role.CLERK, "email": f"u{i}@example.org",
                  "phone": f"139{i:08d}", "active": True, "created_at": stamp, "updated_at": stamp}
                 for i in range(count)]
        for start in range(0, count, 500):
            User.insert_many(users[start:start + 500]).execute()
        ids = [pk for (pk,) in User.select(User.id).where(User.username.startswith("bench-"))
               .order_by(User.id).tuples()]
        notices = [{"recipient": pk, "kind": "order_dispatched", "title": f"新派工单 GD{n:08d}",
                    "body": "社区向您派发了工单，请签收办理。", "link": f"/my/orders/{n}", "created_at": stamp}
                   for n, pk in enumerate(ids)]
        for start in range(0, count, 500):
            Notice.insert_many(notices[start:start + 500]).execute()
        rows = []
        for notice_id, user_id in Notice.select(Notice.id, Notice.recipient).order_by(Notice.id).tuples():
            i = user_id - ids[0]
            if "webhook" in channels:
                rows.append({"notice": notice_id, "channel": "webhook", "address": f"139{i:08d}",
                             "next_attempt_at": stamp, "created_at": stamp})
            if "email" in channels:
                rows.append({"notice": notice_id, "channel": "email", "address": f"u{i}@example.org",
                             "next_attempt_at": stamp, "created_at": stamp})
        for start in range(0, len(rows), 500):
            NoticeDelivery.insert_many(rows[start:start + 500]).execute()
    return len(rows)


def run_workers(n, env, expected):
    started = time.perf_counter()
    procs = [subprocess.Popen([str(FLASK), "--app", "app", "deliver-notices"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode:
            errors.append(err[-2000:])
    elapsed = time.perf_counter() - started
    db.connect(reuse_if_open=True)
    sent = NoticeDelivery.select().where(NoticeDelivery.status == DeliveryStatus.SENT).count()
    workers = NoticeDelivery.select(NoticeDelivery.worker).distinct().count()
    db.close()
    if sent != expected or errors:
        raise SystemExit(f"only {sent} of {expected} sent; errors: {errors}")
    return elapsed, workers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--notices", type=int, default=10000)
    parser.add_argument("--channel", choices=("webhook", "email", "both"), default="webhook")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    channels = ("webhook", "email") if args.channel == "both" else (args.channel,)

    tmp = Path(tempfile.mkdtemp(prefix="bench-notices-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if url.startswith("postgres"):
        admin = open_database(url)
        admin.connect()
        name = f"bench_notices_{uuid.uuid4().hex[:8]}"
        admin.execute_sql(f'CREATE DATABASE "{name}"')
        url = f"{url.rpartition('/')[0]}/{name}"
    database = open_database(url)
    db.initialize(database)
    database.connect()
    apply_migrations(database)
    database.close()

    secret = "bench-" + uuid.uuid4().hex
    results = []
    with webhook_gateway(secret) as gateway, smtp_server(tmp / "mail") as mailbox:
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-" + uuid.uuid4().hex,
                   NOTICE_BATCH=str(args.batch), PUBLIC_BASE_URL="https://hongpu.example.org")
        if "webhook" in channels:
            env.update(NOTICE_WEBHOOK_URL=gateway.url, NOTICE_WEBHOOK_SECRET=secret)
        if "email" in channels:
            env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.port), SMTP_SECURITY="none",
                       NOTICE_EMAIL_FROM="noreply@hongpu.example.org")
        with live_server(url, workers=1, log_dir=tmp) as base:
            hammer(base, "/healthz", concurrency=8, seconds=1, max_requests=500)
            bare = hammer(base, "/healthz", concurrency=8, seconds=5, max_requests=3000)
        for workers in (1, 2):
            database.connect(reuse_if_open=True)
            expected = fill(args.notices, channels)
            database.close()
            elapsed, took_part = run_workers(workers, env, expected)
            results.append((workers, elapsed, args.notices / elapsed, expected / elapsed, took_part))

    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"\nDelivery throughput, {kind}, {args.notices} pending notices, channel: {args.channel}, "
          f"batch {args.batch}")
    print(f"/healthz (1 gunicorn worker, 8 threads): {bare['rps']:.1f} req/s")
    print("| workers | seconds | notices/s | deliveries/s | notices/s ÷ /healthz req/s | workers that sent |")
    print("|---:|---:|---:|---:|---:|---:|")
    for workers, elapsed, nps, dps, took_part in results:
        print(f"| {workers} | {elapsed:.1f} | {nps:.0f} | {dps:.0f} | {nps / bare['rps']:.2f} | {took_part} |")
    if url.startswith("postgres"):
        admin.execute_sql(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
