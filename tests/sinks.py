"""Real servers the tests start to receive what the platform sends: an SMTP server
(aiosmtpd, in its own venv and process — see tests/smtp_sink_server.py) and an HTTP server
standing in for the community's SMS / WeChat gateway, which checks each webhook's
HMAC-SHA256 signature."""
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .live import ROOT, free_port

SMTP_PYTHON = ROOT / ".venv-smtp" / "bin" / "python"
SMTP_SCRIPT = ROOT / "tests" / "smtp_sink_server.py"


class Mailbox:
    def __init__(self, folder, port):
        self.folder = Path(folder)
        self.port = port

    def messages(self):
        out = []
        for path in sorted(self.folder.glob("*.eml")):
            out.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        return out

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(list(self.folder.glob("*.eml"))) >= count:
                return self.messages()
            time.sleep(0.05)
        return self.messages()


@contextlib.contextmanager
def smtp_server(folder):
    """An aiosmtpd server on a free loopback port writing each message into ``folder``."""
    if not SMTP_PYTHON.exists():
        raise RuntimeError("the test SMTP server's venv is missing: run `make install-test` (creates .venv-smtp)")
    Path(folder).mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.Popen([str(SMTP_PYTHON), "-I", str(SMTP_SCRIPT), str(folder), str(port)],
                            cwd=str(folder), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"the test SMTP server did not start: {line}{proc.stdout.read()}")
        yield Mailbox(folder, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


class Gateway:
    """What the webhook receiver saw, and how it answers next (``mode``)."""

    def __init__(self, secret):
        self.secret = secret
        self.requests = []          # dicts: body (parsed), raw, headers, signature_ok, path
        self.mode = "ok"            # ok | down (503) | reject (400) | redirect_other | redirect_same | slow
        self.redirect_to = None
        self.delay = 0
        self.lock = threading.Lock()
        self.port = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/notify"

    def received(self):
        with self.lock:
            return list(self.requests)

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received()) < count:
            time.sleep(0.05)
        return self.received()


def _handler(gateway):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            mode = gateway.mode
            if mode == "slow":
                time.sleep(gateway.delay)
            if mode in ("redirect_other", "redirect_same") and self.path == "/notify":
                self.send_response(307)
                self.send_header("Location", gateway.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            expected = "sha256=" + hmac.new(gateway.secret.encode(), raw, hashlib.sha256).hexdigest()
            with gateway.lock:
                gateway.requests.append({
                    "path": self.path, "raw": raw, "headers": dict(self.headers),
                    "body": json.loads(raw.decode("utf-8")),
                    "signature_ok": hmac.compare_digest(expected, self.headers.get("X-Hongshiliu-Signature", "")),
                })
            code = {"down": 503, "reject": 400}.get(mode, 200)
            body = b'{"ok": true}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return Handler


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that gave up (the worker's timeout) is expected here, not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def webhook_gateway(secret):
    gateway = Gateway(secret)
    server = QuietServer(("127.0.0.1", 0), _handler(gateway))
    server.daemon_threads = True
    gateway.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
