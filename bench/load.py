"""The closed-loop load generator every benchmark uses (loopback only, bounded)."""
import http.client
import statistics
import threading
import time
from urllib.parse import urlsplit


def hammer(base, path, *, concurrency, seconds, max_requests):
    """Closed loop: ``concurrency`` threads request ``path`` until time or count runs out."""
    parts = urlsplit(base)
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.perf_counter() + seconds
    remaining = [max_requests]

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        mine = []
        while time.perf_counter() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "identity"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                with lock:
                    errors.append(repr(exc))
                continue
            mine.append(time.perf_counter() - started)
            if status != 200:
                with lock:
                    errors.append(f"HTTP {status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")
    return {"requests": len(latencies), "rps": len(latencies) / elapsed if elapsed else 0.0,
            "p95_ms": p95 * 1000, "median_ms": (statistics.median(latencies) * 1000) if latencies else 0.0,
            "errors": errors}
