"""Two real delivery workers (``flask deliver-notices --loop``, separate processes) on one
database, a real SMTP server and a real HTTP gateway: a claim rejection reaches the unit
in the bell, by e-mail and by webhook exactly once each, and so does every other notice of
a burst written while both workers run — on SQLite and on PostgreSQL."""
import collections
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from models import DeliveryStatus, NoticeDelivery, Role, db
from services import claims, notices

from . import factories as f
from .live import ROOT
from .sinks import smtp_server, webhook_gateway

pytestmark = pytest.mark.server

FLASK = Path(sys.executable).parent / "flask"
BURST = 120


def worker_env(database_url, gateway, mailbox, clock):
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "SECRET_KEY": "live-" + uuid.uuid4().hex,
        "ALLIANCE_CLOCK": clock.now().isoformat(),
        "NOTICE_WEBHOOK_URL": gateway.url, "NOTICE_WEBHOOK_SECRET": gateway.secret,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port), "SMTP_SECURITY": "none",
        "NOTICE_EMAIL_FROM": "noreply@hongpu.example.org", "PUBLIC_BASE_URL": "https://hongpu.example.org",
        "NOTICE_BATCH": "7", "NOTICE_POLL_SECONDS": "1",
    })
    return env


@contextlib.contextmanager
def workers(count, env, log_dir):
    procs, logs = [], []
    for i in range(count):
        log = open(Path(log_dir) / f"worker-{i}.log", "w")
        logs.append(log)
        procs.append(subprocess.Popen([str(FLASK), "--app", "app", "deliver-notices", "--loop"], cwd=ROOT, env=env,
                                      stdout=log, stderr=subprocess.STDOUT))
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


def hand_over():
    if not db.is_closed():
        if db.in_transaction():
            db.commit()
        db.close()


def wait_until_sent(expected, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.connect(reuse_if_open=True)
        sent = NoticeDelivery.select().where(NoticeDelivery.status == DeliveryStatus.SENT).count()
        db.close()
        if sent >= expected:
            return sent
        time.sleep(0.3)
    return sent


def test_a_claim_rejection_reaches_the_unit_once_per_channel_with_two_workers(app, client, auth, database_url,
                                                                              tmp_path, clock):
    hook_secret = "whsec-" + uuid.uuid4().hex
    with webhook_gateway(hook_secret) as gateway, smtp_server(tmp_path / "mail") as mailbox:
        app.config.update(NOTICE_WEBHOOK_URL=gateway.url, NOTICE_WEBHOOK_SECRET=gateway.secret,
                          SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port, SMTP_SECURITY="none",
                          NOTICE_EMAIL_FROM="noreply@hongpu.example.org")
        unit = f.make_unit(name="兴安盟红十字会", phone="13904821111")
        unit_user = f.make_user(role=Role.UNIT, unit=unit, email="hongshizi@example.org")
        clerk = f.make_user(role=Role.CLERK)
        project = f.make_project(title="银发关爱·助餐与探访", slots=2)
        claim = claims.claim_project(project.id, unit, "每周两次上门探访")
        hand_over()

        with workers(2, worker_env(database_url, gateway, mailbox, clock), tmp_path):
            with app.app_context():
                db.connect(reuse_if_open=True)
                claims.reject_claim(claim.id, user=clerk, reason="该项目需具备医疗资质")
                # a burst written while both workers run: residents by phone, accounts by both channels
                others = [f.make_user(role=Role.UNIT, unit=f.make_unit(phone=f"1390482{i:04d}"),
                                      email=f"unit{i}@example.org") for i in range(BURST // 2)]
                for i, other in enumerate(others):
                    notices.notify("order_dispatched", title=f"新派工单 {i}", body="请签收办理", users=[other])
                    notices.notify("order_resolved_resident", title=f"诉求已办结 {i}", body="…",
                                   phones=[f"1370482{i:04d}"])
                hand_over()
            expected = 2 + len(others) * 2 + len(others)
            assert wait_until_sent(expected) == expected
            time.sleep(1.5)  # a pass more: nothing is sent twice afterwards either

        hooks = gateway.received()
        mails = mailbox.messages()

    assert all(h["signature_ok"] for h in hooks)
    by_delivery = collections.Counter(h["headers"]["X-Hongshiliu-Delivery"] for h in hooks)
    assert len(by_delivery) == 1 + BURST // 2 * 2 and set(by_delivery.values()) == {1}, by_delivery.most_common(3)
    mail_ids = collections.Counter(m["X-Hongshiliu-Delivery"] for m in mails)
    assert len(mail_ids) == 1 + BURST // 2 and set(mail_ids.values()) == {1}, mail_ids.most_common(3)

    db.connect(reuse_if_open=True)
    rows = list(NoticeDelivery.select())
    assert {r.status for r in rows} == {DeliveryStatus.SENT} and {r.attempts for r in rows} == {1}
    assert len({r.worker for r in rows}) == 2, "both workers took part"

    # the rejection itself, on each channel, once
    [rejection_hook] = [h for h in hooks if h["body"]["kind"] == "claim_rejected"]
    assert rejection_hook["body"]["phone"] == "13904821111"
    assert "该项目需具备医疗资质" in rejection_hook["body"]["body"]
    [rejection_mail] = [m for m in mails if m["To"] == "hongshizi@example.org"]
    assert rejection_mail["Subject"] == "认领未通过：银发关爱·助餐与探访"
    assert "原因：该项目需具备医疗资质" in rejection_mail.get_content()
    # and in the bell
    auth.login(unit_user.username)
    page = client.get("/notices").get_data(as_text=True)
    assert "认领未通过：银发关爱·助餐与探访" in page and "原因：该项目需具备医疗资质" in page
    assert 'aria-label="通知，1 条未读"' in client.get("/my").get_data(as_text=True)
