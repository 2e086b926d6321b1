"""Per-account API tokens: issued and revoked by an admin, stored only as a SHA-256 digest.

The plaintext is returned once by ``issue_token`` and never written anywhere; a lookup
hashes the presented token and compares digests.
"""
import datetime as dt
import hashlib
import secrets

from models import ApiToken, User, db, now

from . import audit
from .errors import NotFound, ServiceError

TOKEN_PREFIX = "hsl_"
NAME_MAX = 50
# last_used_at is refreshed at most this often, so reads don't each become a write
TOUCH_EVERY = dt.timedelta(minutes=5)


def digest_of(plaintext):
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def issue_token(user, name, *, by=None):
    """A new token for ``user``; returns (ApiToken, plaintext). The plaintext is not kept."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("请填写令牌用途", field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(f"令牌用途不能超过 {NAME_MAX} 字", field="name")
    user_id = getattr(user, "id", user)
    owner = User.get_or_none(User.id == user_id)
    if owner is None:
        raise NotFound("账号不存在")
    if not owner.active:
        raise ServiceError("账号已停用，不能签发令牌", field="user")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.atomic():
        token = ApiToken.create(user=owner.id, name=name, digest=digest_of(plaintext),
                                prefix=plaintext[:12])
        audit.record("issue_token", token, changes={"user": owner.username, "name": name,
                                                    "prefix": token.prefix}, user=by)
    return token, plaintext


def revoke_token(token_id, *, by=None):
    """Revoke a token (idempotent); returns True when it was live until now."""
    with db.atomic():
        token = ApiToken.get_or_none(ApiToken.id == token_id)
        if token is None:
            raise NotFound("令牌不存在")
        changed = (ApiToken.update(revoked_at=now(), updated_at=now())
                   .where(ApiToken.id == token.id, ApiToken.revoked_at.is_null()).execute())
        if changed:
            audit.record("revoke_token", token, changes={"prefix": token.prefix}, user=by)
    return bool(changed)


def authenticate(plaintext):
    """The active account a live token belongs to, or None."""
    if not plaintext or len(plaintext) > 200 or not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.select(ApiToken, User).join(User)
             .where(ApiToken.digest == digest_of(plaintext), ApiToken.revoked_at.is_null())
             .first())
    if token is None or not token.user.active:
        return None
    stamp = now()
    if token.last_used_at is None or stamp - token.last_used_at > TOUCH_EVERY:
        ApiToken.update(last_used_at=stamp).where(ApiToken.id == token.id).execute()
    return token.user
