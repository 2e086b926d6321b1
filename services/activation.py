"""Opening accounts for partner units and volunteers without handing out passwords.

A clerk opens accounts — for every member unit that has none, in one action; for one
volunteer, or for a whole 志愿服务队 at once — and each new account gets a one-time
activation link instead of a password: valid ``ACTIVATION_DAYS`` (7) days, used once, its
token stored only as a SHA-256 digest. The links come out as an XLSX for handing out
(the clerk prints it or sends each line on); the holder opens the link, chooses their own
password (the strength rule of every self-chosen password) and is logged in.

Issuing a new link for an account voids its older unused ones. An account whose holder
has not activated it yet has no password at all (no login is possible with one).
"""
import datetime as dt
import hashlib
import io
import secrets

from flask import current_app, has_app_context
from peewee import JOIN, IntegrityError, fn

from models import (AccountActivation, MemberUnit, Role, UnitStatus, User, Volunteer, VolunteerStatus,
                    VolunteerTeam, now)

from . import accounts, audit, links, notices
from .common import get_or_404, write_transaction
from .errors import Conflict, NotFound, ServiceError

TOKEN_BYTES = 24
TOKEN_MAX = 100
EXPIRED = "该激活链接已失效（已使用、已过期或已被新的链接取代），请联系社区工作人员重新获取。"


def _days():
    return int(current_app.config.get("ACTIVATION_DAYS", 7)) if has_app_context() else 7


def digest_of(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(user, *, actor=None):
    """A new link for ``user`` (in the caller's transaction); older unused links are
    voided. Returns (token, expires_at)."""
    at = now()
    AccountActivation.update(revoked_at=at).where(
        AccountActivation.user == user.id, AccountActivation.used_at.is_null(),
        AccountActivation.revoked_at.is_null()).execute()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = at + dt.timedelta(days=_days())
    AccountActivation.create(user=user.id, digest=digest_of(token), created_at=at, expires_at=expires,
                             created_by=getattr(actor, "id", None))
    return token, expires


def link_for(token):
    return links.external_url("auth.activate", token=token)


def _free_username(base):
    name, n = base, 1
    while User.select().where(User.username == name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _new_account(*, username, role, display_name, actor, unit=None, volunteer=None):
    user = User.create(username=_free_username(username), role=role, display_name=display_name,
                       unit=unit, volunteer=volunteer, password_hash="", active=True)
    audit.record("create", user, user=actor, changes={"username": user.username, "role": role,
                                                      "how": "激活链接开通"})
    return user


def _row(user, name, token, expires, kind):
    return {"kind": kind, "name": name, "username": user.username, "link": link_for(token),
            "expires_at": expires, "user_id": user.id}


def _tell_opened(user, name):
    notices.notify("account_created", title="您的账号已开通", users=[user], link="/account",
                   body=f"{name}，您在{current_app.config.get('SITE_NAME', '红石榴联盟平台')}的账号"
                        f"（用户名 {user.username}）已开通。请用社区工作人员提供的激活链接设置密码后登录。")


def units_without_accounts():
    has_account = User.select(User.unit).where(User.role == Role.UNIT, User.unit.is_null(False))
    return (MemberUnit.select().where(MemberUnit.status == UnitStatus.ACTIVE, MemberUnit.id.not_in(has_account))
            .order_by(MemberUnit.name))


def open_unit_accounts(*, actor):
    """One account with an activation link for every active member unit that has none,
    in one transaction. Returns the rows of the hand-out sheet."""
    rows = []
    with write_transaction():
        for unit in units_without_accounts():
            user = _new_account(username=f"unit{unit.id:04d}", role=Role.UNIT, display_name=unit.contact,
                                unit=unit.id, actor=actor)
            token, expires = issue_link(user, actor=actor)
            _tell_opened(user, unit.name)
            rows.append(_row(user, unit.name, token, expires, "成员单位"))
        audit.record("open_accounts", entity="MemberUnit", user=actor,
                     changes=f"为 {len(rows)} 家成员单位开通账号（激活链接 {_days()} 天内有效）")
    return rows


def _volunteer_without_account(volunteer_id):
    volunteer = get_or_404(Volunteer, volunteer_id, "志愿者不存在")
    if volunteer.status != VolunteerStatus.ACTIVE:
        raise Conflict(f"{volunteer.name} 已退出服务队，不能开通账号")
    if User.select().where(User.volunteer == volunteer.id).exists():
        raise Conflict(f"{volunteer.name} 已有账号；如需重新激活，请在账号列表中为其生成新的激活链接")
    return volunteer


def _open_volunteer(volunteer, actor):
    user = _new_account(username=volunteer.phone, role=Role.VOLUNTEER, display_name=volunteer.name,
                        volunteer=volunteer.id, actor=actor)
    token, expires = issue_link(user, actor=actor)
    _tell_opened(user, volunteer.name)
    return _row(user, volunteer.name, token, expires, "志愿者")


def open_volunteer_account(volunteer_id, *, actor):
    """One volunteer's account (username: their mobile number) with an activation link."""
    volunteer = _volunteer_without_account(volunteer_id)
    try:
        with write_transaction():
            return _open_volunteer(volunteer, actor)
    except IntegrityError:  # two clerks at once: the unique volunteer column decides
        raise Conflict(f"{volunteer.name} 已有账号")


def team_members_without_accounts(team_id):
    has_account = User.select(User.volunteer).where(User.volunteer.is_null(False))
    return (Volunteer.select().where(Volunteer.team == team_id, Volunteer.status == VolunteerStatus.ACTIVE,
                                     Volunteer.id.not_in(has_account)).order_by(Volunteer.name))


def open_team_accounts(team_id, *, actor):
    """Accounts for every active member of a 志愿服务队 who has none, in one transaction."""
    team = get_or_404(VolunteerTeam, team_id, "志愿服务队不存在")
    rows = []
    try:
        with write_transaction():
            for volunteer in team_members_without_accounts(team.id):
                rows.append(_open_volunteer(volunteer, actor))
            audit.record("open_accounts", team, user=actor, changes=f"为 {team.name} 的 {len(rows)} 名志愿者开通账号")
    except IntegrityError:
        raise Conflict("有队员刚被他人开通了账号，请重试")
    return team, rows


def reissue(user_id, *, actor):
    """A new activation link for an account (the old one lost or expired): its older
    links are voided; a password already set stays until the new link is used."""
    user = get_or_404(User, user_id, "账号不存在")
    if user.role not in (Role.UNIT, Role.VOLUNTEER):
        raise ServiceError("只能为成员单位和志愿者账号生成激活链接")
    with write_transaction():
        token, expires = issue_link(user, actor=actor)
        audit.record("activation_link", user, user=actor, changes="生成新的激活链接")
    name = user.unit.name if user.unit_id else user.volunteer.name if user.volunteer_id else user.username
    return _row(user, name, token, expires, Role.label(user.role))


# --- the holder's side -------------------------------------------------------------------------

def find(token):
    """The live activation of ``token`` with its account, else NotFound(EXPIRED)."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        raise NotFound(EXPIRED)
    row = (AccountActivation.select(AccountActivation, User).join(User, on=(AccountActivation.user == User.id))
           .where(AccountActivation.digest == digest_of(token), AccountActivation.used_at.is_null(),
                  AccountActivation.revoked_at.is_null(), AccountActivation.expires_at > now(),
                  User.active == True).first())  # noqa: E712
    if row is None:
        raise NotFound(EXPIRED)
    return row


def activate(token, password):
    """The holder sets their password: the link is used up (a conditional UPDATE: two
    tabs submitting at once use it once). Returns the account."""
    activation = find(token)
    user = activation.user
    try:
        accounts.check_new_password(password, strength=True, user_inputs=accounts.personal_words(user))
    except accounts.AccountError as exc:
        raise ServiceError(str(exc), field="new")
    with write_transaction():
        used = (AccountActivation.update(used_at=now())
                .where(AccountActivation.id == activation.id, AccountActivation.used_at.is_null(),
                       AccountActivation.revoked_at.is_null(), AccountActivation.expires_at > now()).execute())
        if not used:
            raise NotFound(EXPIRED)
        user.set_password(password)
        User.update(password_hash=user.password_hash, updated_at=now()).where(User.id == user.id).execute()
        from models import SessionEnd

        from . import sessions

        sessions.end_all(user, SessionEnd.PASSWORD)
        audit.record("activate_account", user, user=user, changes="通过激活链接设置密码")
    return User.get_by_id(user.id)


# --- the hand-out sheet ---------------------------------------------------------------------

def sheet(rows, *, title="账号开通"):
    """The activation links as an XLSX (name, username, link, valid until)."""
    import xlsxwriter  # on use, not at start-up: worker memory

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    page = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True, "bg_color": "#F3F3F3", "border": 1})
    page.write_row(0, 0, ["类型", "单位/姓名", "用户名", "激活链接（一次有效）", "有效期至"], bold)
    for i, row in enumerate(rows, 1):
        page.write_row(i, 0, [row["kind"], row["name"], row["username"], row["link"],
                              f"{row['expires_at']:%Y-%m-%d %H:%M}"])
    page.set_column(0, 0, 10)
    page.set_column(1, 1, 28)
    page.set_column(2, 2, 16)
    page.set_column(3, 3, 70)
    page.set_column(4, 4, 18)
    note = len(rows) + 2
    page.write(note, 0, f"请将激活链接单独交给对应单位或志愿者；链接 {_days()} 天内有效、只能使用一次，"
                        "打开后自行设置密码。")
    book.close()
    return buffer.getvalue()


def accounts_overview():
    """Counts for the clerk's 账号开通 page."""
    units_missing = units_without_accounts().count()
    teams = list(VolunteerTeam.select().order_by(VolunteerTeam.name))
    has_account = User.select(User.volunteer).where(User.volunteer.is_null(False))
    missing = dict(Volunteer.select(Volunteer.team, fn.COUNT(Volunteer.id))
                   .where(Volunteer.status == VolunteerStatus.ACTIVE, Volunteer.id.not_in(has_account))
                   .group_by(Volunteer.team).tuples())
    pending = (AccountActivation.select(AccountActivation, User)
               .join(User, JOIN.INNER, on=(AccountActivation.user == User.id))
               .where(AccountActivation.used_at.is_null(), AccountActivation.revoked_at.is_null(),
                      AccountActivation.expires_at > now()).count())
    return {"units_missing": units_missing, "teams": [(t, missing.get(t.id, 0)) for t in teams],
            "links_open": pending}
