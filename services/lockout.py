"""Login throttling that a stranger cannot aim at a real account.

Failed logins are rows in ``LoginAttempt`` (shared by every app server). Within the last
``LOGIN_WINDOW_MINUTES``:

- an address with ``LOGIN_MAX_FAILURES_PER_IP`` failures (any usernames, API token
  failures included) may not try again at all;
- an address with ``LOGIN_MAX_FAILURES`` failures for one username may not try that
  username again.

There is deliberately no lock on a username as such: if failures from anywhere locked an
account, anyone could lock the administrator out by typing a wrong password five times.
A correct password from an address that has not been failing always gets in. Guessing
from many addresses is bounded by ``LOGIN_MAX_FAILURES`` per address per window, and the
admin's 登录锁定 screen shows every username being tried, from how many addresses.

Nobody waits: a delay would hold a worker of a small server while an attacker's requests
pile up, which is a cheaper attack than the one it slows.

A correct password clears that (username, address) pair's failures; an admin can clear a
pair or an address. Rows are marked ``cleared_at``, never deleted.
"""
import datetime as dt

from flask import current_app
from peewee import fn

from models import LoginAttempt, now

from . import audit
from .common import write_transaction


def _since(at=None):
    return (at or now()) - dt.timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def _recent(at=None):
    return LoginAttempt.select().where(LoginAttempt.created_at >= _since(at),
                                       LoginAttempt.cleared_at.is_null())


def refusal(username, ip):
    """A Chinese message when this address may not try this username now, else None."""
    cfg = current_app.config
    minutes = cfg["LOGIN_WINDOW_MINUTES"]
    if _recent().where(LoginAttempt.ip == ip).count() >= cfg["LOGIN_MAX_FAILURES_PER_IP"]:
        return f"此网络地址登录失败次数过多，请 {minutes} 分钟后再试，或联系管理员解除锁定。"
    pair = _recent().where(LoginAttempt.ip == ip, LoginAttempt.username == username).count()
    if pair >= cfg["LOGIN_MAX_FAILURES"]:
        return f"登录失败次数过多，请 {minutes} 分钟后再试，或联系管理员解除锁定。"
    return None


def record_failure(username, ip):
    LoginAttempt.create(username=username[:50], ip=ip[:64])


def clear_pair(username, ip):
    """A correct password: this address's failures for this username no longer count."""
    return (LoginAttempt.update(cleared_at=now())
            .where(LoginAttempt.username == username, LoginAttempt.ip == ip,
                   LoginAttempt.cleared_at.is_null())
            .execute())


def overview(at=None):
    """What the admin's 登录锁定 screen shows, from the live window only:

    ``pairs``: (username, ip, failures, last) for every pair with failures, locked first;
    ``ips``: (ip, failures, usernames, last) for every address with failures;
    ``usernames``: (username, failures, addresses, last): accounts being tried.
    Each list is sorted by failures, largest first (at most 200 rows each)."""
    cfg = current_app.config
    recent = _recent(at)
    pairs = (recent.select(LoginAttempt.username, LoginAttempt.ip, fn.COUNT(LoginAttempt.id),
                           fn.MAX(LoginAttempt.created_at))
             .group_by(LoginAttempt.username, LoginAttempt.ip)
             .order_by(fn.COUNT(LoginAttempt.id).desc(), LoginAttempt.username).limit(200).tuples())
    ips = (recent.select(LoginAttempt.ip, fn.COUNT(LoginAttempt.id),
                         fn.COUNT(LoginAttempt.username.distinct()), fn.MAX(LoginAttempt.created_at))
           .group_by(LoginAttempt.ip)
           .order_by(fn.COUNT(LoginAttempt.id).desc(), LoginAttempt.ip).limit(200).tuples())
    usernames = (recent.select(LoginAttempt.username, fn.COUNT(LoginAttempt.id),
                               fn.COUNT(LoginAttempt.ip.distinct()), fn.MAX(LoginAttempt.created_at))
                 .group_by(LoginAttempt.username)
                 .order_by(fn.COUNT(LoginAttempt.id).desc(), LoginAttempt.username).limit(200).tuples())
    return {
        "pairs": [(u, ip, n, last, n >= cfg["LOGIN_MAX_FAILURES"]) for u, ip, n, last in pairs],
        "ips": [(ip, n, users, last, n >= cfg["LOGIN_MAX_FAILURES_PER_IP"]) for ip, n, users, last in ips],
        "usernames": list(usernames),
        "window": cfg["LOGIN_WINDOW_MINUTES"],
    }


def unlock(*, ip, username=None, by=None):
    """Clear the live failures of an address (for one username, or all of them); audited.
    Returns how many failure rows were cleared."""
    ip = (ip or "")[:64]
    if not ip:
        return 0
    with write_transaction():
        query = LoginAttempt.update(cleared_at=now()).where(
            LoginAttempt.ip == ip, LoginAttempt.cleared_at.is_null())
        if username:
            query = query.where(LoginAttempt.username == username[:50])
        cleared = query.execute()
        target = f"{username} @ {ip}" if username else f"地址 {ip}"
        audit.record("unlock_login", entity="LoginAttempt", entity_id=ip, user=by,
                     changes=f"解除登录锁定：{target}（{cleared} 条失败记录）")
    return cleared
