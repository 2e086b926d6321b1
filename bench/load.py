"""The load generators every benchmark uses (loopback only, bounded): a closed loop of
threads on one route (``hammer``) and a storm of prepared requests released at one
instant (``storm``)."""
import http.client
import io
import selectors
import socket
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

    ``requests`` are ``(method, path, body, headers)``. The connections are opened
    first; then one thread writes every request and reads the answers as they come
    (``selectors``), so the figures are the server's (queueing included), not the
    client's: 64 client threads cost the two cores 0.7–0.8 ms of CPU a request, which
    the server's workers then wait for. Each time runs from the release to the last byte
    of its answer (``Content-Length`` bytes of body).
    Returns one ``{"status", "ms", "body", "location"}`` per request, in order."""
    parts = urlsplit(base)
    results = [None] * len(requests)
    selector = selectors.DefaultSelector()
    chunks = {}
    try:
        for i, (method, path, body, headers) in enumerate(requests):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
            chunks[sock] = (i, [_request_bytes(method, path, body, headers, parts.netloc)])
        started = time.perf_counter()
        for sock, (i, pending) in chunks.items():
            sock.sendall(pending.pop())  # a small request: the socket's buffer takes it at once
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        deadline = started + timeout
        while selector.get_map():
            ready = selector.select(max(0.0, deadline - time.perf_counter()))
            if not ready:
                break
            for key, _ in ready:
                sock = key.fileobj
                i, received = chunks[sock]
                try:
                    data = sock.recv(65536)
                except OSError as exc:
                    data, received[:] = b"", [repr(exc).encode()]
                if data:
                    received.append(data)
                    if not _complete(received):
                        continue
                results[i] = _parse_response(b"".join(received), (time.perf_counter() - started) * 1000)
                selector.unregister(sock)
                sock.close()  # the server lingers on its side until the client closes
        for sock, (i, _) in chunks.items():
            if results[i] is None:
                results[i] = {"status": None, "ms": (time.perf_counter() - started) * 1000,
                              "body": "timed out", "location": None}
    finally:
        selector.close()
        for sock in chunks:
            sock.close()
    return results


def _complete(received):
    """Whether the answer so far is whole: its headers and ``Content-Length`` bytes of body
    (an answer without a length ends when the server closes)."""
    data = b"".join(received)
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    received[:] = [data]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _request_bytes(method, path, body, headers, host):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", "Accept-Encoding: identity"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class _Received:
    """The bytes of one answer, as the socket ``http.client`` parses from."""

    def __init__(self, data):
        self.data = data

    def makefile(self, *args, **kwargs):
        return io.BytesIO(self.data)


def _parse_response(data, ms):
    response = http.client.HTTPResponse(_Received(data))
    try:
        response.begin()
        body = response.read()
    except (http.client.HTTPException, OSError) as exc:
        return {"status": None, "ms": ms, "body": repr(exc) + data[:200].decode("latin-1"), "location": None}
    return {"status": response.status, "ms": ms, "body": body.decode("utf-8", "replace"),
            "location": response.getheader("Location")}
