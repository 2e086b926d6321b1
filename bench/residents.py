"""群众点单 benchmark: a resident submitting a need (POST /api/v1/needs, the form's service),
with and without a photo, and reading its progress (GET /api/v1/needs/<code>), beside the
bare route /healthz, served by a real gunicorn on loopback, in ONE run, on the demo data.

    .venv/bin/python -m bench.residents                       # SQLite (temporary file)
    .venv/bin/python -m bench.residents --database-url postgresql://postgres@127.0.0.1:5432/postgres

Rate limits are off in the server (RATELIMIT_ENABLED=false): the figures are the cost of a
submission, not of the refusals. Reported: requests/s and p95 of each route, and the p95 as a
ratio to /healthz's p95 measured in the same run (see bench/README.md).
"""
import argparse
import base64
import http.client
import io
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import Need, db  # noqa: E402
from models.database import apply_migrations, open_database  # noqa: E402
from tests.live import live_server  # noqa: E402

from bench.load import hammer, p95  # noqa: E402
from bench.public import open_bench_database, seed_demo_data  # noqa: E402


def photo_b64():
    from PIL import Image

    image = Image.effect_noise((1600, 1200), 60).convert("RGB")  # a phone-sized photo, ≈ 1.4 MB of noise (the worst case)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def post_loop(base, body_of, *, concurrency, seconds, max_requests):
    """Closed loop of JSON POSTs to /api/v1/needs; returns rps, p95 and errors."""
    parts = urlsplit(base)
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.perf_counter() + seconds
    counter = [0]

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while time.perf_counter() < deadline:
            with lock:
                if counter[0] >= max_requests:
                    break
                counter[0] += 1
                n = counter[0]
            payload = json.dumps(body_of(n)).encode()
            started = time.perf_counter()
            conn.request("POST", "/api/v1/needs", body=payload, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 201:
                    errors.append(f"HTTP {response.status}")
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "rps": len(latencies) / elapsed if elapsed else 0.0,
            "p95_ms": p95(latencies) * 1000, "errors": errors}


def body(n, photo=None):
    out = {"kind": "appeal", "text": f"压测：{n} 号楼楼道灯不亮，老人晚上出行不便。", "name": "压测居民",
           "phone": f"139{n % 100000000:08d}", "grid": 1 + n % 19, "consent": True}
    if photo:
        out["photos"] = [photo]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per route")
    parser.add_argument("--requests", type=int, default=400, help="count bound per route")
    args = parser.parse_args(argv)

    url, drop = open_bench_database(args.database_url)
    database = open_database(url)
    db.initialize(database)
    database.connect()
    try:
        apply_migrations(database)
        seed_demo_data()
        need = Need.select().order_by(Need.id.desc()).first()
        track = f"/api/v1/needs/{need.code}?phone_tail={need.mobile[-4:]}"
        database.close()
        picture = photo_b64()
        print(f"database: {url.split('@')[-1]}   gunicorn workers: {args.workers}   load: {args.concurrency} "
              f"threads, ≤{args.seconds:g}s or ≤{args.requests} requests per route")
        with live_server(url, workers=args.workers, log_dir=tempfile.gettempdir(),
                         extra_env={"RATELIMIT_ENABLED": "false"}) as base:
            for _ in range(20):  # warm the workers
                hammer(base, "/healthz", concurrency=1, seconds=1, max_requests=1)
            bound = dict(concurrency=args.concurrency, seconds=args.seconds, max_requests=args.requests)
            rows = [("/healthz", "裸路由", hammer(base, "/healthz", **bound)),
                    ("POST /api/v1/needs", "提交点单（无照片）", post_loop(base, body, **bound)),
                    ("POST /api/v1/needs", "提交点单（1 张约 1.4 MB 照片）",
                     post_loop(base, lambda n: body(n + 10_000_000, picture), **dict(bound, max_requests=100))),
                    ("GET /api/v1/needs/<code>", "查询进度", hammer(base, track, **bound))]
        floor = rows[0][2]["p95_ms"] or float("nan")
        print(f"\n{'route':28} {'what':26} {'req/s':>8} {'p95 ms':>8} {'p95 ÷ healthz':>14} errors")
        for route, label, r in rows:
            print(f"{route:28} {label:26} {r['rps']:8.1f} {r['p95_ms']:8.1f} {r['p95_ms'] / floor:14.1f} "
                  f"{len(r['errors'])}")
    finally:
        if not database.is_closed():
            database.close()
        drop()


if __name__ == "__main__":
    main()
