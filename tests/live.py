"""A real gunicorn server on a free loopback port, for concurrency and browser tests."""
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from models import clock

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(database_url, workers=4, threads=1, log_dir=None, extra_env=None):
    """Serve ``create_app()`` with ``workers`` processes; yields the base URL."""
    port = free_port()
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": "live-test-" + os.urandom(8).hex()})
    if clock.pinned:  # the server's clock starts where the test's stands
        env["ALLIANCE_CLOCK"] = clock.now().isoformat()
    env.update(extra_env or {})
    log_path = Path(log_dir or ROOT / "test-artifacts") / f"gunicorn-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--timeout", "60", "--preload", "app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log_path}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html):
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token"
    return match.group(1)


def login_session(base, username, password):
    """A requests.Session logged in through the real login form."""
    import requests

    session = requests.Session()
    page = session.get(base + "/login", timeout=10)
    response = session.post(base + "/login", data={
        "username": username, "password": password, "csrf_token": csrf_token(page.text)},
        allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return session
