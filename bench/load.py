"""The load generators every benchmark uses (loopback only, bounded): a closed loop of
threads on one route (``hammer``) and a storm of prepared requests released at one
instant (``storm``)."""
import http.client
import statistics
import threading
import time
from urllib.parse import urlsplit


def p95(samples):
    """The 95th percentile by nearest rank (of 64 samples: the 61st smallest)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


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
    return {"requests": len(latencies), "rps": len(latencies) / elapsed if elapsed else 0.0,
            "p95_ms": p95(latencies) * 1000, "median_ms": (statistics.median(latencies) * 1000) if latencies else 0.0,
            "errors": errors}


def storm(base, requests, *, timeout=60):
    """Send every prepared request at the same instant, one connection each.

    ``requests`` are ``(method, path, body, headers)``; the connections are opened
    first, then a barrier releases every thread at once, so the figures are the
    server's (queueing included), not the client's start-up. Returns one
    ``{"status", "ms", "body", "location"}`` per request, in order."""
    parts = urlsplit(base)
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def fire(i):
        method, path, body, headers = requests[i]
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        conn.connect()
        barrier.wait(timeout=timeout)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
            results[i] = {"status": response.status, "ms": (time.perf_counter() - started) * 1000,
                          "body": text.decode("utf-8", "replace"),
                          "location": response.getheader("Location")}
        except (OSError, http.client.HTTPException) as exc:
            results[i] = {"status": None, "ms": (time.perf_counter() - started) * 1000,
                          "body": repr(exc), "location": None}
        finally:
            conn.close()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
