"""Delivering notices beyond the site: the outbox worker and its pluggable channels.

``services.notices.notify`` writes, with each notice and in the same transaction, one
``NoticeDelivery`` row per configured channel that has an address for the recipient.
``flask deliver-notices`` (one pass, or ``--loop``) sends what is due:

1. **claim** a batch in a short write transaction: rows that are due (待发送 and
   ``next_attempt_at`` passed, or 发送中 whose worker's lease ran out) become 发送中 with
   this worker's name and a lease. PostgreSQL: ``FOR UPDATE SKIP LOCKED`` (two workers
   take disjoint rows without waiting); SQLite: ``BEGIN IMMEDIATE`` (claims queue). The
   UPDATE repeats the "due" condition and returns the rows it really took, so a row is
   only ever sent by the one worker that claimed it: at most once per channel.
2. **send** outside any transaction, one connection per channel per batch;
3. **record** each result with ``… WHERE id = ? AND worker = ? AND status = 'sending'``:
   已发送 with the response code, or back to 待发送 with the error and the next attempt
   ``NOTICE_RETRY_BASE_SECONDS × 2^(attempts−1)`` later (capped at
   ``NOTICE_RETRY_MAX_SECONDS``); after ``NOTICE_MAX_ATTEMPTS`` attempts, or at once for
   an answer that retrying cannot change (a refused address, a 4xx, a redirect to another
   host), 发送失败 — kept, shown in the admin, and sent again from there. Nothing is lost
   while a gateway is down: the rows wait and are retried.

A worker that dies between sending and recording leaves its rows 发送中 until the lease
ends; they are then sent again with the same delivery id (the webhook's
``X-Hongshiliu-Delivery`` header, the e-mail's ``Message-ID``), so the receiver can drop
that one repeat.

Channels are classes registered in ``CHANNELS`` and switched on by the environment:

- ``email``: SMTP (``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_SECURITY`` = starttls | ssl | none,
  ``SMTP_USERNAME``, ``SMTP_PASSWORD``, ``NOTICE_EMAIL_FROM``, ``SMTP_TIMEOUT``), to the
  account's 通知邮箱;
- ``webhook``: a signed JSON POST for the community's SMS / WeChat template-message
  gateway (``NOTICE_WEBHOOK_URL``, ``NOTICE_WEBHOOK_SECRET``, ``NOTICE_WEBHOOK_TIMEOUT``),
  to a mobile number: the account's, its volunteer's or its unit's — or a resident's who
  has no account. The body is signed with HMAC-SHA256 (``X-Hongshiliu-Signature:
  sha256=<hex>``); redirects are followed only to the same host (307/308), never to
  another; every answer's status code is recorded.

``NOTICE_CHANNELS`` (e.g. ``webhook``) limits which configured channels are used.
"""
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from urllib.parse import urljoin, urlsplit

from flask import current_app

from models import DeliveryStatus, Notice, NoticeDelivery, db, now

from .common import write_transaction
from .stats import on_postgres

SIGNATURE_HEADER = "X-Hongshiliu-Signature"
DELIVERY_HEADER = "X-Hongshiliu-Delivery"
MAX_REDIRECTS = 3
ERROR_MAX = 2000

DEFAULTS = {
    "NOTICE_CHANNELS": None,           # None: every configured channel
    "NOTICE_MAX_ATTEMPTS": 12,
    "NOTICE_RETRY_BASE_SECONDS": 30,
    "NOTICE_RETRY_MAX_SECONDS": 3600,
    "NOTICE_BATCH": 50,
    "NOTICE_LEASE_SECONDS": 600,
    "NOTICE_POLL_SECONDS": 5,
    "SMTP_HOST": None, "SMTP_PORT": None, "SMTP_SECURITY": None, "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None, "NOTICE_EMAIL_FROM": None, "SMTP_TIMEOUT": 10,
    "NOTICE_WEBHOOK_URL": None, "NOTICE_WEBHOOK_SECRET": None, "NOTICE_WEBHOOK_TIMEOUT": 5,
}
INTEGER_SETTINGS = ("NOTICE_MAX_ATTEMPTS", "NOTICE_RETRY_BASE_SECONDS", "NOTICE_RETRY_MAX_SECONDS",
                    "NOTICE_BATCH", "NOTICE_LEASE_SECONDS", "NOTICE_POLL_SECONDS", "SMTP_PORT", "SMTP_TIMEOUT",
                    "NOTICE_WEBHOOK_TIMEOUT")
TEXT_SETTINGS = ("NOTICE_CHANNELS", "SMTP_HOST", "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD",
                 "NOTICE_EMAIL_FROM", "NOTICE_WEBHOOK_URL", "NOTICE_WEBHOOK_SECRET")


class ConfigError(ValueError):
    """A delivery setting that cannot work; raised when the app is built."""


def from_environ(environ):
    """The delivery settings the environment gives (secrets come only from here)."""
    out = {}
    for key in TEXT_SETTINGS:
        if environ.get(key, "").strip():
            out[key] = environ[key].strip()
    for key in INTEGER_SETTINGS:
        value = environ.get(key, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"{key} 应为正整数（当前为 {environ[key]!r}）")
            out[key] = int(value)
    return out


def check_config(config):
    """Refuse a channel that is half configured (called by the app factory)."""
    for cls in CHANNELS.values():
        cls.check(config)
    names = config.get("NOTICE_CHANNELS")
    if names:
        unknown = [n for n in _names(names) if n not in CHANNELS]
        if unknown:
            raise ConfigError(f"NOTICE_CHANNELS 中有未知的渠道：{', '.join(unknown)}（可用：{', '.join(CHANNELS)}）")


def _names(value):
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    return list(value or [])


class DeliveryError(Exception):
    """A failed attempt: ``retry`` says whether trying again could help."""

    def __init__(self, message, *, code=None, retry=True):
        super().__init__(message)
        self.code = code
        self.retry = retry


@dataclass
class Item:
    """What a channel sends: the outbox row and its notice."""

    delivery_id: int
    address: str
    notice: Notice
    link: str


# --- channels ---------------------------------------------------------------------------

class Channel:
    """A way to reach people beyond the site. Subclasses set ``name`` (stored on the
    outbox row), ``label`` (Chinese), ``address_kind`` ("email" or "phone": which
    contact of the recipient it needs), and implement ``configured``, ``check``, ``open``,
    ``send`` and ``close``."""

    name = None
    label = None
    address_kind = None

    def __init__(self, config):
        self.config = config

    @classmethod
    def configured(cls, config):
        raise NotImplementedError

    @classmethod
    def check(cls, config):
        """Raise ConfigError when the settings are incomplete."""

    def open(self):
        """Prepare for a batch (a connection)."""

    def send(self, item):
        """Send one item; return the response code (or None); raise DeliveryError."""
        raise NotImplementedError

    def close(self):
        """End the batch."""


class EmailChannel(Channel):
    name = "email"
    label = "邮件"
    address_kind = "email"

    @classmethod
    def configured(cls, config):
        return bool(config.get("SMTP_HOST"))

    @classmethod
    def check(cls, config):
        if not cls.configured(config):
            return
        if not config.get("NOTICE_EMAIL_FROM"):
            raise ConfigError("已设置 SMTP_HOST，还需设置发件地址 NOTICE_EMAIL_FROM")
        if (config.get("SMTP_SECURITY") or "").lower() not in ("", "starttls", "ssl", "none"):
            raise ConfigError("SMTP_SECURITY 应为 starttls、ssl 或 none")
        if bool(config.get("SMTP_USERNAME")) != bool(config.get("SMTP_PASSWORD")):
            raise ConfigError("SMTP_USERNAME 与 SMTP_PASSWORD 需同时设置")

    def _security(self):
        value = (self.config.get("SMTP_SECURITY") or "").lower()
        if value:
            return value
        return {465: "ssl", 587: "starttls"}.get(self.config.get("SMTP_PORT"), "none")

    def open(self):
        self.smtp = None

    def _connect(self):
        cfg = self.config
        security = self._security()
        port = cfg.get("SMTP_PORT") or (465 if security == "ssl" else 587 if security == "starttls" else 25)
        timeout = cfg.get("SMTP_TIMEOUT") or 10
        try:
            if security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg["SMTP_HOST"], port, timeout=timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(cfg["SMTP_HOST"], port, timeout=timeout)
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if cfg.get("SMTP_USERNAME"):
                smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"邮件服务器拒绝登录（{exc.smtp_code}）", code=exc.smtp_code)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"无法连接邮件服务器：{type(exc).__name__}: {exc}")
        self.smtp = smtp

    def message(self, item):
        cfg = self.config
        site = cfg.get("SITE_NAME", "")
        msg = EmailMessage()
        msg["Subject"] = item.notice.title
        msg["From"] = formataddr((site, cfg["NOTICE_EMAIL_FROM"])) if site else cfg["NOTICE_EMAIL_FROM"]
        msg["To"] = item.address
        # stable per delivery: a resend after a crashed worker carries the same id
        domain = cfg["NOTICE_EMAIL_FROM"].rpartition("@")[2] or "localhost"
        msg["Message-ID"] = f"<notice-delivery-{item.delivery_id}@{domain}>"
        msg[DELIVERY_HEADER] = str(item.delivery_id)
        text = item.notice.body
        if item.link:
            text += f"\n\n查看详情：{item.link}"
        text += f"\n\n——\n此邮件由{site}自动发送，请勿直接回复。"
        msg.set_content(text, charset="utf-8")
        return msg

    def send(self, item):
        for attempt in (1, 2):
            if self.smtp is None:
                self._connect()
            try:
                refused = self.smtp.send_message(self.message(item))
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()))[0] if exc.recipients else None
                raise DeliveryError(f"收件地址被拒绝（{code}）", code=code, retry=bool(code and code < 500))
            except smtplib.SMTPServerDisconnected:
                self.smtp = None
                if attempt == 2:
                    raise DeliveryError("邮件服务器断开了连接")
                continue
            except smtplib.SMTPResponseException as exc:
                raise DeliveryError(f"邮件服务器拒绝（{exc.smtp_code}）", code=exc.smtp_code,
                                    retry=exc.smtp_code < 500)
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise DeliveryError(f"发送邮件失败：{type(exc).__name__}: {exc}")
            if refused:
                raise DeliveryError("收件地址被拒绝", retry=False)
            return 250
        return None  # pragma: no cover

    def _drop(self):
        smtp, self.smtp = getattr(self, "smtp", None), None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def close(self):
        self._drop()


class WebhookChannel(Channel):
    name = "webhook"
    label = "短信/微信网关"
    address_kind = "phone"
    MIN_SECRET = 16

    @classmethod
    def configured(cls, config):
        return bool(config.get("NOTICE_WEBHOOK_URL"))

    @classmethod
    def check(cls, config):
        url = config.get("NOTICE_WEBHOOK_URL")
        if not url:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"NOTICE_WEBHOOK_URL 应为 http(s):// 开头的地址（当前为 {url!r}）")
        secret = config.get("NOTICE_WEBHOOK_SECRET") or ""
        if len(secret) < cls.MIN_SECRET:
            raise ConfigError(f"使用 NOTICE_WEBHOOK_URL 时必须设置至少 {cls.MIN_SECRET} 个字符的 "
                              "NOTICE_WEBHOOK_SECRET（只能来自环境变量）")

    def open(self):
        import requests

        self.session = requests.Session()
        self.session.trust_env = False  # the gateway is named explicitly: no proxy from the environment
        self.session.headers["User-Agent"] = "hongshiliu-alliance-notices/1"

    def close(self):
        self.session.close()

    def payload(self, item):
        notice = item.notice
        body = {
            "delivery_id": item.delivery_id,
            "notice_id": notice.id,
            "kind": notice.kind,
            "phone": item.address,
            "title": notice.title,
            "body": notice.body,
            "link": item.link,
            "created_at": notice.created_at.isoformat() + "+08:00",
            "site": self.config.get("SITE_NAME"),
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @staticmethod
    def signature(secret, body):
        return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()

    def send(self, item):
        import requests

        body = self.payload(item)
        headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: str(item.delivery_id),
                   SIGNATURE_HEADER: self.signature(self.config["NOTICE_WEBHOOK_SECRET"], body)}
        url = self.config["NOTICE_WEBHOOK_URL"]
        origin = urlsplit(url)
        timeout = (min(5, self.config.get("NOTICE_WEBHOOK_TIMEOUT") or 5), self.config.get("NOTICE_WEBHOOK_TIMEOUT") or 5)
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = self.session.post(url, data=body, headers=headers, timeout=timeout,
                                             allow_redirects=False)
            except requests.Timeout:
                raise DeliveryError("网关响应超时")
            except requests.RequestException as exc:
                raise DeliveryError(f"无法连接网关：{type(exc).__name__}")
            code = response.status_code
            response.close()
            if 300 <= code < 400:
                target = urljoin(url, response.headers.get("Location", ""))
                there = urlsplit(target)
                if (there.scheme, there.hostname, there.port) != (origin.scheme, origin.hostname, origin.port):
                    raise DeliveryError(f"网关要求重定向到其他主机（{there.hostname or '未知'}），已拒绝跟随",
                                        code=code, retry=False)
                if code not in (307, 308):
                    raise DeliveryError(f"网关返回重定向 {code}（只跟随保留请求方式的 307/308）", code=code,
                                        retry=False)
                url = target
                continue
            if 200 <= code < 300:
                return code
            retry = code >= 500 or code in (408, 425, 429)
            raise DeliveryError(f"网关返回 {code}", code=code, retry=retry)
        raise DeliveryError("网关重定向次数过多", retry=False)


CHANNELS = {cls.name: cls for cls in (EmailChannel, WebhookChannel)}


def register(channel_class):
    """Add a channel (a Channel subclass); its settings decide whether it is used."""
    CHANNELS[channel_class.name] = channel_class
    return channel_class


def enabled_channels(config):
    """Instances of the channels this configuration switches on (cached per config)."""
    wanted = _names(config.get("NOTICE_CHANNELS")) or list(CHANNELS)
    return [CHANNELS[name](config) for name in wanted if name in CHANNELS and CHANNELS[name].configured(config)]


def channel_label(name):
    cls = CHANNELS.get(name)
    return cls.label if cls else name


# --- the worker --------------------------------------------------------------------------

def worker_name():
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


def _due(at):
    d = NoticeDelivery
    return (((d.status == DeliveryStatus.PENDING) & (d.next_attempt_at <= at))
            | ((d.status == DeliveryStatus.SENDING) & (d.lease_until < at)))


def claim(worker, batch, *, channels=None, at=None):
    """Take up to ``batch`` due rows for ``worker``; returns their ids."""
    cfg = current_app.config
    d = NoticeDelivery
    with write_transaction():
        at = at or now()
        query = d.select(d.id).where(_due(at))
        if channels is not None:
            query = query.where(d.channel.in_(list(channels)))
        query = query.order_by(d.next_attempt_at, d.id).limit(batch)
        if on_postgres():
            query = query.for_update(skip_locked=True)
        ids = [pk for (pk,) in query.tuples()]
        if not ids:
            return []
        taken = (d.update(status=DeliveryStatus.SENDING, worker=worker, attempts=d.attempts + 1,
                          lease_until=at + dt.timedelta(seconds=cfg["NOTICE_LEASE_SECONDS"]))
                 .where(d.id.in_(ids), _due(at))
                 .returning(d.id).execute())
        return sorted(row.id for row in taken)


def backoff(attempts, config):
    base = config["NOTICE_RETRY_BASE_SECONDS"]
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), config["NOTICE_RETRY_MAX_SECONDS"]))


def _link(notice):
    if not notice.link:
        return None
    if notice.link.startswith(("http://", "https://")):
        return notice.link
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base + notice.link if base and notice.link.startswith("/") else None


def _record(worker, delivery, *, code=None, error=None, retry=True):
    cfg = current_app.config
    d = NoticeDelivery
    at = now()
    if error is None:
        values = {"status": DeliveryStatus.SENT, "sent_at": at, "response_code": code, "last_error": None,
                  "lease_until": None}
    elif retry and delivery.attempts < cfg["NOTICE_MAX_ATTEMPTS"]:
        values = {"status": DeliveryStatus.PENDING, "next_attempt_at": at + backoff(delivery.attempts, cfg),
                  "response_code": code, "last_error": error[:ERROR_MAX], "lease_until": None}
    else:
        values = {"status": DeliveryStatus.FAILED, "response_code": code, "last_error": error[:ERROR_MAX],
                  "lease_until": None}
    return d.update(**values).where(d.id == delivery.id, d.worker == worker,
                                    d.status == DeliveryStatus.SENDING).execute()


def deliver_batch(worker, channels, ids):
    """Send the claimed rows ``ids``; returns {"sent", "retry", "failed"} counts."""
    stats = {"sent": 0, "retry": 0, "failed": 0}
    rows = list(NoticeDelivery.select(NoticeDelivery, Notice).join(Notice)
                .where(NoticeDelivery.id.in_(ids)).order_by(NoticeDelivery.id))
    results = []
    by_channel = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
    for name, group in by_channel.items():
        channel = channels.get(name)
        if channel is None:
            for row in group:
                results.append((row, None, f"渠道“{name}”未配置", False))
            continue
        channel.open()
        try:
            for row in group:
                item = Item(row.id, row.address, row.notice, _link(row.notice))
                try:
                    code = channel.send(item)
                except DeliveryError as exc:
                    results.append((row, exc.code, str(exc), exc.retry))
                else:
                    results.append((row, code, None, True))
        finally:
            channel.close()
    with write_transaction():
        for row, code, error, retry in results:
            if not _record(worker, row, code=code, error=error, retry=retry):
                continue  # the lease ran out and another worker took it over
            if error is None:
                stats["sent"] += 1
            elif retry and row.attempts < current_app.config["NOTICE_MAX_ATTEMPTS"]:
                stats["retry"] += 1
            else:
                stats["failed"] += 1
    return stats


def deliver_due(*, worker=None, limit=None):
    """One pass: claim and send batches until nothing is due (or ``limit`` rows were
    handled). Returns the counts."""
    cfg = current_app.config
    worker = worker or worker_name()
    channels = {c.name: c for c in enabled_channels(cfg)}
    totals = {"sent": 0, "retry": 0, "failed": 0}
    handled = 0
    while limit is None or handled < limit:
        batch = cfg["NOTICE_BATCH"] if limit is None else min(cfg["NOTICE_BATCH"], limit - handled)
        ids = claim(worker, batch)
        if not ids:
            break
        stats = deliver_batch(worker, channels, ids)
        for key in totals:
            totals[key] += stats[key]
        handled += len(ids)
    return totals


def run(*, loop=False, worker=None, on_pass=None, stop=None):
    """``flask deliver-notices``: one pass, or passes every NOTICE_POLL_SECONDS until
    ``stop()`` says so (or the process is stopped)."""
    worker = worker or worker_name()
    while True:
        from . import workorders

        workorders.notify_overdue()
        totals = deliver_due(worker=worker)
        if on_pass:
            on_pass(totals)
        if not loop or (stop and stop()):
            return totals
        if not any(totals.values()):
            if not db.is_closed() and not db.in_transaction():
                db.close()
            time.sleep(current_app.config["NOTICE_POLL_SECONDS"])


def requeue(ids, *, user=None):
    """Send failed deliveries again (the admin's 重新投递); returns how many."""
    from . import audit

    d = NoticeDelivery
    with write_transaction():
        count = (d.update(status=DeliveryStatus.PENDING, next_attempt_at=now(), attempts=0, lease_until=None)
                 .where(d.id.in_(list(ids)), d.status == DeliveryStatus.FAILED).execute())
        audit.record("requeue", entity="NoticeDelivery", entity_id=",".join(map(str, list(ids)[:20])),
                     changes=f"重新投递 {count} 条", user=user)
    return count


def outbox_counts():
    """{status: n} of the outbox (the admin's overview)."""
    from peewee import fn

    return dict(NoticeDelivery.select(NoticeDelivery.status, fn.COUNT(NoticeDelivery.id))
                .group_by(NoticeDelivery.status).tuples())
