"""Accounts: creating them (CLI and admin share this), checking a password, and what a
password change, a role change or a deactivation does to the account's sessions and the
audit log."""
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from models import MemberUnit, Role, SessionEnd, User, accounts as account_models, now

from . import audit, sessions
from .common import write_transaction


class AccountError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field  # the form field the message belongs to, when there is one


MIN_PASSWORD = 8
MAX_PASSWORD = 200
_dummy_hashes = {}


def create_user(username, password, role, *, unit_name=None, display_name=None, actor=None):
    username = (username or "").strip()
    if not username or len(username) > 50:
        raise AccountError("用户名不能为空，且不超过 50 个字符")
    if role not in Role.codes():
        raise AccountError("角色必须是 admin、clerk 或 unit 之一")
    check_new_password(password)
    unit = None
    if role == Role.UNIT:
        if not unit_name:
            raise AccountError("成员单位账号必须用 --unit 指定所属单位")
        unit = MemberUnit.get_or_none(MemberUnit.name == unit_name)
        if unit is None:
            raise AccountError(f"找不到成员单位：{unit_name}")
    with write_transaction():
        if User.select().where(User.username == username).exists():
            raise AccountError(f"用户名 {username} 已存在")
        user = User(username=username, role=role, unit=unit, display_name=display_name)
        user.set_password(password)
        user.save(force_insert=True)
        audit.record("create", user, changes={"username": username, "role": role}, user=actor)
    return user


MIN_STRENGTH = 2  # zxcvbn's score (0–4): 2 is "somewhat guessable", below is refused
STRENGTH_INPUT = 100  # zxcvbn's cost grows with length; what it judges of a long password


def check_new_password(password, *, strength=False, user_inputs=()):
    """Length always; with ``strength``, a minimum strength as well (the account holder
    choosing their own password: a change, an activation, a registration)."""
    if not password or len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 位", "new")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码不超过 {MAX_PASSWORD} 位", "new")
    if strength:
        check_strength(password, user_inputs)


def check_strength(password, user_inputs=()):
    """Refuse a password that is easy to guess (zxcvbn: common passwords, keyboard rows,
    dates, repeats, the user's own name or number), with a Chinese hint."""
    from zxcvbn import zxcvbn

    inputs = [str(i) for i in user_inputs if i]
    result = zxcvbn(password[:STRENGTH_INPUT], user_inputs=inputs)
    if result["score"] >= MIN_STRENGTH:
        return result["score"]
    lowered = password.lower()
    if any(i and str(i).lower() in lowered for i in inputs):
        hint = "不要包含用户名、姓名或手机号"
    elif password.isdigit():
        hint = "不要只用数字，可加入字母和符号"
    else:
        hint = "避免常见密码、键盘顺序、重复字符和日期，可用几个词加数字和符号组合"
    raise AccountError(f"密码太容易被猜到：{hint}", "new")


# --- logging in ---------------------------------------------------------------------------

def _dummy_hash():
    """A hash of a random secret made with today's PASSWORD_METHOD (same method and cost
    as every new password), so an unknown username costs one hash check too. Made when
    the app is built (``prepare``), so not even the first unknown username costs more."""
    method = account_models.PASSWORD_METHOD
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(24), method=method)
    return _dummy_hashes[method]


def prepare():
    _dummy_hash()


def personal_words(user):
    """What a password must not be built from: the account's own name and numbers."""
    words = [user.username, user.display_name, user.phone, user.email]
    if user.unit_id:
        words += [user.unit.name, user.unit.phone]
    if user.volunteer_id:
        words += [user.volunteer.name, user.volunteer.phone]
    return [w for w in words if w]


DEACTIVATED = "该账号已停用，不能登录。如有疑问，请联系社区工作人员。"
AWAITING_REVIEW = "您的志愿者注册申请正在等待社区工作人员审核，审核通过后即可登录。"


def check_login(username, password):
    """(account, None) for a good login, else (None, the Chinese refusal).

    One password hash is checked whatever the username. A deactivated account whose
    password is right is told so (its holder needs to know why, and the right password
    proves they are the holder); a self-registered volunteer whose application waits for
    review is told that. Anything else is the one message that reveals nothing."""
    user = User.get_or_none(User.username == username)
    if user is not None and user.password_hash:
        if check_password_hash(user.password_hash, password):
            return (user, None) if user.active else (None, DEACTIVATED)
        return None, WRONG
    from models import ApplicationStatus, VolunteerApplication

    pending = None if user is not None else (
        VolunteerApplication.select().where(VolunteerApplication.phone == username,
                                            VolunteerApplication.status == ApplicationStatus.PENDING).first())
    stored = pending.password_hash if pending is not None else _dummy_hash()
    if check_password_hash(stored, password) and pending is not None:
        return None, AWAITING_REVIEW
    return None, WRONG


WRONG = "用户名或密码错误。"


def authenticate(username, password):
    """The active account whose password this is, or None.

    Exactly one password hash is checked whatever the username: an unknown or deactivated
    account answers in the same time as a wrong password for a real one."""
    user = User.get_or_none(User.username == username)
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    matches = check_password_hash(stored, password)
    if user is None or not matches or not user.active:
        return None
    return user


# --- changes that end sessions ------------------------------------------------------------

def reset_password(user, password, *, actor=None, how="重置密码"):
    """Set a new password chosen by someone else (admin, command line): every session and
    remember cookie of the account ends. One transaction, audited without the hash."""
    check_new_password(password)
    with write_transaction():
        user.set_password(password)
        User.update(password_hash=user.password_hash, updated_at=now()).where(
            User.id == user.id).execute()
        ended = sessions.end_all(user, SessionEnd.PASSWORD)
        audit.record("password", user, user=actor, changes=f"{how}（结束 {ended} 个登录会话）")
    return ended


def change_own_password(user, current, new, *, keep_token=None):
    """The account holder changes their password: the current one must match and the new
    one be strong enough; every other session ends, the one making the change
    (``keep_token``) stays logged in."""
    if not check_password_hash(user.password_hash or _dummy_hash(), current or ""):
        raise AccountError("当前密码不正确", "current")
    check_new_password(new, strength=True, user_inputs=personal_words(user))
    if check_password_hash(user.password_hash, new):
        raise AccountError("新密码不能与当前密码相同", "new")
    with write_transaction():
        user.set_password(new)
        User.update(password_hash=user.password_hash, updated_at=now()).where(
            User.id == user.id).execute()
        ended = sessions.end_all(user, SessionEnd.PASSWORD, keep_token=keep_token)
        audit.record("password", user, user=user, changes=f"修改密码（本人，结束其他 {ended} 个登录会话）")
    return ended


def account_edited(user, changes, *, password_changed=False, actor=None, keep_token=None):
    """What an edit of an account in the admin means, inside its transaction.

    ``changes`` is the field → [old, new] diff of the edit (no hash in it). A new password
    or a deactivation ends every session of the account (but ``keep_token``'s: an admin
    changing their own password stays logged in); each of them and a role change is an
    audit row that says so in words; any other field change is one "update" row."""
    changes = dict(changes)
    changes.pop("updated_at", None)
    role = changes.pop("role", None)
    active = changes.pop("active", None)
    if password_changed:
        ended = sessions.end_all(user, SessionEnd.PASSWORD, keep_token=keep_token)
        audit.record("password", user, user=actor, changes=f"修改密码（结束 {ended} 个登录会话）")
    if role is not None:
        old, new = role
        audit.record("role", user, user=actor,
                     changes=f"修改角色: {Role.label(old)} → {Role.label(new)}")
    if active is not None:
        if active[1]:
            audit.record("activate", user, user=actor, changes="启用账号")
        else:
            ended = sessions.end_all(user, SessionEnd.DEACTIVATED)
            audit.record("deactivate", user, user=actor, changes=f"停用账号（结束 {ended} 个登录会话）")
    if changes or not (password_changed or role or active):
        audit.record("update", user, user=actor, changes=changes)


# --- where notices reach an account --------------------------------------------------------

EMAIL_MAX = 120


def update_contact(user, *, email, phone):
    """The account holder's 通知邮箱 and 通知手机号 (audited); returns what changed."""
    from email_validator import EmailNotValidError, validate_email

    email = (email or "").strip() or None
    if email:
        if len(email) > EMAIL_MAX:
            raise AccountError("邮箱地址过长", "email")
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            raise AccountError("请输入有效的邮箱地址", "email")
    phone = (phone or "").strip() or None
    if phone:
        try:
            phone = User.phone.normalise(phone)
        except ValueError as exc:
            raise AccountError(str(exc), "phone")
    changes = {k: [getattr(user, k), v] for k, v in (("email", email), ("phone", phone)) if getattr(user, k) != v}
    if changes:
        with write_transaction():
            User.update(email=email, phone=phone, updated_at=now()).where(User.id == user.id).execute()
            audit.record("contact", user, user=user, changes=changes)
    return changes
