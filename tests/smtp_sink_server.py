"""A real SMTP server for the tests (aiosmtpd), run by the venv of its own (.venv-smtp) in
isolated mode (``python -I``): aiosmtpd's dependency atpublic installs a top-level module
named ``public`` that would shadow the project's package, so it never enters the
project's venv or sys.path. Each message received is written to DIR as one .eml file
(with the envelope recipients in an X-Envelope-To header).

    .venv-smtp/bin/python -I tests/smtp_sink_server.py DIR PORT
"""
import os
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = f"{time.time_ns()}-{self.count:06d}.eml"
        head = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        path = os.path.join(self.folder, name)
        with open(path + ".tmp", "wb") as fh:
            fh.write(head + envelope.original_content)
        os.replace(path + ".tmp", path)
        return "250 Message accepted"


def main():
    folder, port = sys.argv[1], int(sys.argv[2])
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
