"""Login sessions that end on the server.

A login creates a ``LoginSession`` row and a random token. The token, not the account id,
is what flask-login keeps in the session cookie and writes into the remember cookie
(``LoginManager.id_attribute = "get_session_id"``: the alternative-id pattern), and only
its SHA-256 digest is stored. The user loader accepts a token only while its row is live:
not ended, not expired, its account active. So

- logging out ends that one row: the old session cookie and the remember cookie open
  nothing afterwards, whoever kept a copy;
- a password change or reset and a deactivation end every row of the account;
- the state is in the database, so every app server agrees at once.

The check costs the one indexed query the loader made anyway; ``last_seen_at`` is written
at most every ``TOUCH_EVERY``. The same statement reads the account's member unit (a left
join: ``user.unit`` is None for an account without one), which every page of a unit
account reads (the nav, the claim rules), so it costs no statement of its own, and the
records' version (migration 062), which keys the admin lists' per-account cache.
"""
import datetime as dt
import hashlib
import secrets

from flask import current_app, has_request_context, request

from peewee import JOIN

from models import LoginSession, MemberUnit, SessionEnd, User, now, statements
from models.dataversion import records_version_column

TOKEN_BYTES = 32
TOUCH_EVERY = dt.timedelta(minutes=5)
TOKEN_MAX = 100


def digest_of(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(remember):
    cfg = current_app.config
    if remember:
        return cfg["REMEMBER_COOKIE_DURATION"]
    return dt.timedelta(hours=cfg["LOGIN_SESSION_HOURS"])


def start(user, *, remember=False):
    """A new live session for ``user`` (in the caller's transaction); returns its token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    stamp = now()
    ip = user_agent = None
    if has_request_context():
        ip = (request.remote_addr or "")[:64] or None
        user_agent = (request.user_agent.string or "")[:200] or None
    LoginSession.create(user=user.id, digest=digest_of(token), remember=bool(remember), ip=ip,
                        user_agent=user_agent, created_at=stamp, last_seen_at=stamp,
                        expires_at=stamp + _lifetime(remember))
    user.session_token = token
    return token


def user_for(token):
    """The active account of a live session token, or None (the flask-login user loader)."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return None
    stamp, digest = now(), digest_of(token)
    query = (LoginSession.select(LoginSession.id, LoginSession.last_seen_at, User, MemberUnit,
                                 records_version_column())
             .join(User).join(MemberUnit, JOIN.LEFT_OUTER)
             .where(LoginSession.digest == digest, LoginSession.ended_at.is_null(),
                    LoginSession.expires_at > stamp, User.active == True)  # noqa: E712
             .limit(1))
    # every logged-in request runs it: its text is generated once (models/statements.py)
    row = next(iter(statements.rows("live_session", query, [digest, stamp, True, 1])), None)
    if row is None:
        return None
    if stamp - row.last_seen_at >= TOUCH_EVERY:
        LoginSession.update(last_seen_at=stamp).where(LoginSession.id == row.id).execute()
    user = row.user
    user.session_token = token
    user.records_version = row.records_version  # read with the session: web/pagecache.admin_cached
    return user


def end(token, reason=SessionEnd.LOGOUT):
    """End the one session ``token`` belongs to; True when it was live."""
    if not isinstance(token, str) or not token:
        return False
    return bool(LoginSession.update(ended_at=now(), end_reason=reason)
                .where(LoginSession.digest == digest_of(token), LoginSession.ended_at.is_null())
                .execute())


def end_all(user, reason, *, keep_token=None):
    """End every live session of ``user`` (but ``keep_token``'s); returns how many ended."""
    query = LoginSession.update(ended_at=now(), end_reason=reason).where(
        LoginSession.user == user.id, LoginSession.ended_at.is_null())
    if keep_token:
        query = query.where(LoginSession.digest != digest_of(keep_token))
    return query.execute()


def end_by_ids(ids, reason=SessionEnd.ADMIN):
    """End the listed sessions (the admin's 结束会话 action); returns how many ended."""
    return (LoginSession.update(ended_at=now(), end_reason=reason)
            .where(LoginSession.id.in_(list(ids)), LoginSession.ended_at.is_null()).execute())


def live_count(user):
    return (LoginSession.select()
            .where(LoginSession.user == user.id, LoginSession.ended_at.is_null(),
                   LoginSession.expires_at > now())
            .count())
