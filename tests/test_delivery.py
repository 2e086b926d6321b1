"""Notices beyond the site: the outbox rows written with each notice, and the worker that
sends them — to a real SMTP server (aiosmtpd, in its own venv and process) and a real HTTP
server standing in for the SMS / WeChat gateway — with signatures, retries, back-off, no
redirect to another host, timeouts and recorded response codes."""
import datetime as dt
import importlib.util
import json
import subprocess
import sys
import uuid

import pytest

import public
from app import create_app
from models import DeliveryStatus, Notice, NoticeDelivery, Role
from services import delivery, notices
from services.delivery import ConfigError

from . import factories as f
from .live import ROOT
from .sinks import smtp_server, webhook_gateway


@pytest.fixture(autouse=True)
def context(app):
    """Services called straight from a test run in the app's context, as in a request."""
    with app.app_context():
        yield


def secret():
    return "whsec-" + uuid.uuid4().hex


@pytest.fixture
def gateway():
    with webhook_gateway(secret()) as gw:
        yield gw


@pytest.fixture
def mailbox(tmp_path):
    with smtp_server(tmp_path / "mail") as box:
        yield box


def channels(app, gateway=None, mailbox=None, **more):
    if gateway is not None:
        app.config.update(NOTICE_WEBHOOK_URL=gateway.url, NOTICE_WEBHOOK_SECRET=gateway.secret,
                          NOTICE_WEBHOOK_TIMEOUT=2)
    if mailbox is not None:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port, SMTP_SECURITY="none",
                          NOTICE_EMAIL_FROM="noreply@hongpu.example.org")
    app.config.update(PUBLIC_BASE_URL="https://hongpu.example.org", **more)


def unit_account(**kw):
    unit = f.make_unit(phone="13904821111")
    return f.make_user(role=Role.UNIT, unit=unit, email="lianluo@example.org", **kw)


# --- imports: the SMTP server's package never shadows ours ------------------------------------

def test_the_smtp_server_lives_outside_the_project_venv():
    assert public.__file__.startswith(str(ROOT / "public")), public.__file__
    assert importlib.util.find_spec("aiosmtpd") is None, "aiosmtpd must not be installed in the project venv"
    assert importlib.util.find_spec("atpublic") is None
    probe = subprocess.run([sys.executable, "-c", "import public; print(public.__file__)"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip().startswith(str(ROOT / "public"))


# --- the outbox ---------------------------------------------------------------------------------

def test_each_notice_gets_one_outbox_row_per_configured_channel_with_an_address(app, gateway, mailbox):
    channels(app, gateway, mailbox)
    with_both = unit_account()
    email_only = f.make_user(role=Role.CLERK, email="clerk@example.org")
    nothing = f.make_user(role=Role.CLERK)
    retired = f.make_user(role=Role.CLERK, email="old@example.org", phone="13904822222", active=False)
    written = notices.notify("claim_rejected", title="认领未通过", body="原因：需专业资质",
                             users=[with_both, email_only, nothing, retired], phones=["13904823333", "0482-8234567"])
    assert len(written) == 6
    rows = {(d.notice.recipient_id, d.notice.recipient_phone, d.channel, d.address)
            for d in NoticeDelivery.select(NoticeDelivery, Notice).join(Notice)}
    assert rows == {
        (with_both.id, None, "email", "lianluo@example.org"),
        (with_both.id, None, "webhook", "13904821111"),  # the unit's mobile
        (email_only.id, None, "email", "clerk@example.org"),
        (None, "13904823333", "webhook", "13904823333"),  # a resident without an account
    }  # no address, a landline, a deactivated account: on the site only


def test_without_channels_notices_stay_on_the_site(app):
    notices.notify("claim_confirmed", title="认领已确认", body="…", users=[unit_account()], phones=["13904823333"])
    assert Notice.select().count() == 2 and NoticeDelivery.select().count() == 0


@pytest.mark.parametrize("settings, message", [
    ({"NOTICE_WEBHOOK_URL": "https://gw.example.org/hook"}, "NOTICE_WEBHOOK_SECRET"),
    ({"NOTICE_WEBHOOK_URL": "https://gw.example.org/hook", "NOTICE_WEBHOOK_SECRET": "short"}, "至少 16 个字符"),
    ({"NOTICE_WEBHOOK_URL": "ftp://gw.example.org", "NOTICE_WEBHOOK_SECRET": "x" * 20}, r"http\(s\)://"),
    ({"SMTP_HOST": "smtp.example.org"}, "NOTICE_EMAIL_FROM"),
    ({"NOTICE_CHANNELS": "pigeon"}, "未知的渠道"),
])
def test_a_half_configured_channel_stops_the_start(settings, message):
    with pytest.raises(ConfigError, match=message):
        create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": "sqlite:///:memory:", **settings})


def test_secrets_come_from_the_environment(monkeypatch):
    value = secret()
    monkeypatch.setenv("NOTICE_WEBHOOK_URL", "https://gw.example.org/hook")
    monkeypatch.setenv("NOTICE_WEBHOOK_SECRET", value)
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-" + value)
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("NOTICE_EMAIL_FROM", "noreply@example.org")
    monkeypatch.setenv("NOTICE_MAX_ATTEMPTS", "4")
    built = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": "sqlite:///:memory:"})
    assert built.config["NOTICE_WEBHOOK_SECRET"] == value and built.config["NOTICE_MAX_ATTEMPTS"] == 4
    assert [c.name for c in delivery.enabled_channels(built.config)] == ["email", "webhook"]
    monkeypatch.setenv("NOTICE_CHANNELS", "webhook")
    built = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": "sqlite:///:memory:"})
    assert [c.name for c in delivery.enabled_channels(built.config)] == ["webhook"]


# --- sending ---------------------------------------------------------------------------------------

def test_the_worker_sends_signed_webhooks_and_real_email(app, gateway, mailbox):
    channels(app, gateway, mailbox)
    user = unit_account()
    [notice] = notices.notify("claim_rejected", title="认领未通过：银发关爱", body="原因：需专业资质",
                              users=[user], link="/my/claims/7")
    totals = delivery.deliver_due(worker="w1")
    assert totals == {"sent": 2, "retry": 0, "failed": 0}

    [hook] = gateway.received()
    assert hook["signature_ok"]
    assert hook["headers"]["X-Hongshiliu-Delivery"] == str(
        NoticeDelivery.get(NoticeDelivery.channel == "webhook").id)
    assert hook["body"]["phone"] == "13904821111" and hook["body"]["kind"] == "claim_rejected"
    assert hook["body"]["title"] == "认领未通过：银发关爱"
    assert hook["body"]["link"] == "https://hongpu.example.org/my/claims/7"
    assert json.loads(hook["raw"]) == hook["body"]

    [mail] = mailbox.wait_for(1)
    assert mail["To"] == "lianluo@example.org" and mail["Subject"] == "认领未通过：银发关爱"
    assert "noreply@hongpu.example.org" in mail["From"]
    assert "原因：需专业资质" in mail.get_content() and "https://hongpu.example.org/my/claims/7" in mail.get_content()
    assert mail["Message-ID"].startswith("<notice-delivery-")

    rows = {d.channel: d for d in NoticeDelivery.select()}
    assert rows["webhook"].status == DeliveryStatus.SENT and rows["webhook"].response_code == 200
    assert rows["email"].status == DeliveryStatus.SENT and rows["email"].response_code == 250
    assert all(d.attempts == 1 and d.sent_at is not None for d in rows.values())
    assert delivery.deliver_due(worker="w2") == {"sent": 0, "retry": 0, "failed": 0}  # nothing twice
    assert len(gateway.received()) == 1 and len(mailbox.messages()) == 1
    assert notice.id == rows["email"].notice_id


def test_nothing_is_lost_while_the_gateway_is_down(app, gateway, clock):
    channels(app, gateway, NOTICE_RETRY_BASE_SECONDS=30, NOTICE_RETRY_MAX_SECONDS=300)
    notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333", "13904824444"])
    gateway.mode = "down"
    assert delivery.deliver_due(worker="w") == {"sent": 0, "retry": 2, "failed": 0}
    row = NoticeDelivery.select().first()
    assert (row.status, row.attempts, row.response_code) == (DeliveryStatus.PENDING, 1, 503)
    assert row.last_error == "网关返回 503"
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=30)
    assert delivery.deliver_due(worker="w") == {"sent": 0, "retry": 0, "failed": 0}  # not due yet

    clock.advance(dt.timedelta(seconds=31))
    assert delivery.deliver_due(worker="w")["retry"] == 2
    assert NoticeDelivery.get_by_id(row.id).next_attempt_at == clock.now() + dt.timedelta(seconds=60)  # backed off

    gateway.mode = "ok"
    clock.advance(dt.timedelta(seconds=61))
    assert delivery.deliver_due(worker="w") == {"sent": 2, "retry": 0, "failed": 0}
    delivered = [r for r in gateway.received() if r["headers"].get("X-Hongshiliu-Signature")]
    assert len(delivered) == 6 and {r["body"]["phone"] for r in delivered} == {"13904823333", "13904824444"}
    assert {d.status for d in NoticeDelivery.select()} == {DeliveryStatus.SENT}


def test_an_unreachable_gateway_is_retried_and_a_hopeless_one_gives_up_visibly(app, client, auth, clock):
    app.config.update(NOTICE_WEBHOOK_URL="http://127.0.0.1:9/closed", NOTICE_WEBHOOK_SECRET=secret(),
                      NOTICE_MAX_ATTEMPTS=3, NOTICE_RETRY_BASE_SECONDS=10)
    notices.notify("order_overdue", title="工单已超期", body="…", phones=["13904823333"])
    for _ in range(3):
        delivery.deliver_due(worker="w")
        clock.advance(dt.timedelta(minutes=5))
    row = NoticeDelivery.select().first()
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)
    assert row.last_error.startswith("无法连接网关")

    auth.as_role(Role.CLERK)
    listing = client.get("/admin/notice_delivery/").get_data(as_text=True)
    assert "发送失败" in listing and "无法连接网关" in listing
    response = client.post("/admin/notice_delivery/action/", data={"action": "requeue", "rowid": str(row.id)})
    assert response.status_code == 302
    row = NoticeDelivery.get_by_id(row.id)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)


def test_redirects_to_another_host_are_never_followed(app, gateway):
    with webhook_gateway(gateway.secret) as elsewhere:
        channels(app, gateway)
        gateway.mode = "redirect_other"
        gateway.redirect_to = elsewhere.url.replace("127.0.0.1", "localhost")
        notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333"])
        assert delivery.deliver_due(worker="w") == {"sent": 0, "retry": 0, "failed": 1}
        assert elsewhere.received() == []
    row = NoticeDelivery.select().first()
    assert row.status == DeliveryStatus.FAILED and row.response_code == 307
    assert "重定向到其他主机（localhost）" in row.last_error


def test_a_redirect_on_the_same_host_keeps_the_signed_post(app, gateway):
    channels(app, gateway)
    gateway.mode = "redirect_same"
    gateway.redirect_to = f"http://127.0.0.1:{gateway.port}/notify/v2"
    notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333"])
    assert delivery.deliver_due(worker="w")["sent"] == 1
    [hook] = gateway.received()
    assert hook["path"] == "/notify/v2" and hook["signature_ok"]


def test_a_slow_gateway_times_out_and_is_retried(app, gateway):
    channels(app, gateway, NOTICE_WEBHOOK_TIMEOUT=1)
    gateway.mode, gateway.delay = "slow", 2.5
    notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333"])
    assert delivery.deliver_due(worker="w") == {"sent": 0, "retry": 1, "failed": 0}
    row = NoticeDelivery.select().first()
    assert row.status == DeliveryStatus.PENDING and row.last_error == "网关响应超时"


def test_a_refusal_retrying_cannot_change_fails_at_once(app, gateway):
    channels(app, gateway)
    gateway.mode = "reject"
    notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333"])
    assert delivery.deliver_due(worker="w") == {"sent": 0, "retry": 0, "failed": 1}
    row = NoticeDelivery.select().first()
    assert (row.status, row.response_code) == (DeliveryStatus.FAILED, 400)


def test_a_worker_that_died_mid_send_is_taken_over_after_its_lease(app, gateway, clock):
    channels(app, gateway, NOTICE_LEASE_SECONDS=120)
    notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333"])
    [claimed] = delivery.claim("dead-worker", 10)  # claimed, then the process died
    assert delivery.deliver_due(worker="alive") == {"sent": 0, "retry": 0, "failed": 0}  # leased
    clock.advance(dt.timedelta(seconds=121))
    assert delivery.deliver_due(worker="alive")["sent"] == 1
    row = NoticeDelivery.get_by_id(claimed)
    assert (row.status, row.worker, row.attempts) == (DeliveryStatus.SENT, "alive", 2)
    # the dead worker's late report changes nothing
    assert delivery._record("dead-worker", row, code=200) == 0


def test_the_command_runs_one_pass(app, runner, gateway):
    channels(app, gateway)
    notices.notify("order_dispatched", title="新派工单", body="…", phones=["13904823333", "13904824444"])
    result = runner.invoke(args=["deliver-notices"])
    assert result.exit_code == 0, result.output
    assert "短信/微信网关（webhook）" in result.output and "已发送 2 条" in result.output
    assert len(gateway.received()) == 2
    result = runner.invoke(args=["deliver-notices"])
    assert "没有待投递的通知" in result.output
