"""Telling people what concerns them: one Notice per recipient per happening.

``notify`` is called by the service that makes the change, inside its transaction, so
a notice exists exactly when the change does. Accounts see theirs in the bell and at
``/notices``; residents without an account are named by phone (their tracking page
shows them, and the webhook channel reaches them).

Beside each notice, in the same transaction, ``notify`` writes its outbox rows: one
``NoticeDelivery`` per channel that is configured and has an address for the recipient
(an e-mail address, a mobile number). ``flask deliver-notices`` sends them
(services/delivery.py); a notice is never sent from inside the request that caused it.

Reading and marking read (the bell, ``/notices``, the admin's 我的通知, the API) is here
too, so that every surface counts and lists the same way.
"""
from flask import current_app, has_app_context
from peewee import JOIN, fn

from models import MemberUnit, Notice, NoticeDelivery, Role, User, Volunteer, now
from models.fields import MOBILE_RE

from .common import get_or_404, write_transaction

TITLE_MAX = 100


def _channels():
    """The delivery channels configured for this app (empty outside an app)."""
    if not has_app_context():
        return []
    from . import delivery

    return delivery.enabled_channels(current_app.config)


def _mobile(value):
    value = (value or "").strip()
    return value if MOBILE_RE.fullmatch(value) else None


def contacts(user_ids):
    """{user id: {"email": …, "phone": …}}: where notices reach each account beyond the
    site. The phone is the account's own, else its volunteer's, else its unit's mobile."""
    if not user_ids:
        return {}
    rows = (User.select(User.id, User.email, User.phone, User.active, Volunteer.phone.alias("v_phone"),
                        MemberUnit.phone.alias("u_phone"))
            .join(Volunteer, JOIN.LEFT_OUTER, on=(User.volunteer == Volunteer.id))
            .switch(User).join(MemberUnit, JOIN.LEFT_OUTER, on=(User.unit == MemberUnit.id))
            .where(User.id.in_(list(user_ids))).dicts())
    out = {}
    for row in rows:
        if not row["active"]:
            continue  # a deactivated account keeps its notices on the site only
        out[row["id"]] = {"email": (row["email"] or "").strip() or None,
                          "phone": _mobile(row["phone"]) or _mobile(row["v_phone"]) or _mobile(row["u_phone"])}
    return out


def notify(kind, *, title, body, users=(), phones=(), link=None, subject=None):
    """Write one Notice for each user and each phone (duplicates dropped), and its outbox
    rows; returns the notices.

    ``subject`` is the record the notice is about (a model instance), so that a page
    about that record can list its notices.
    """
    entity = type(subject).__name__ if subject is not None else None
    entity_id = subject._pk if subject is not None else None  # not get_id(): a User gives a str
    recipients, seen = [], set()
    for kind_of, who in ([("user", getattr(u, "id", u)) for u in users if u is not None]
                         + [("phone", p) for p in phones if p]):
        if (kind_of, who) not in seen:
            seen.add((kind_of, who))
            recipients.append((kind_of, who))
    if not recipients:
        return []
    channels = _channels()
    reach = contacts([who for kind_of, who in recipients if kind_of == "user"]) if channels else {}
    notices, deliveries = [], []
    for kind_of, who in recipients:
        notice = Notice.create(
            recipient=who if kind_of == "user" else None,
            recipient_phone=who if kind_of == "phone" else None,
            kind=kind, title=title[:TITLE_MAX], body=body, link=link,
            subject=entity, subject_id=entity_id)
        notices.append(notice)
        address_book = reach.get(who, {}) if kind_of == "user" else {"email": None, "phone": _mobile(who)}
        for channel in channels:
            address = address_book.get(channel.address_kind)
            if address:
                deliveries.append({"notice": notice.id, "channel": channel.name, "address": address[:200],
                                   "next_attempt_at": notice.created_at, "created_at": notice.created_at})
    if deliveries:
        NoticeDelivery.insert_many(deliveries).execute()
    return notices


def people_by_phone(phones):
    """Split phone numbers into (accounts, phones): a volunteer with an account is told
    through the account (bell, e-mail, webhook to the same phone), anyone else by phone."""
    phones = [p for p in dict.fromkeys(phones) if p]
    if not phones:
        return [], []
    accounts = dict(User.select(Volunteer.phone, User.id).join(Volunteer, on=(User.volunteer == Volunteer.id))
                    .where(Volunteer.phone.in_(phones), User.role == Role.VOLUNTEER,
                           User.active == True).tuples())  # noqa: E712
    return list(accounts.values()), [p for p in phones if p not in accounts]


def staff_ids():
    """Every active clerk and admin: who hears about what needs the office."""
    return [pk for (pk,) in User.select(User.id).where(
        User.role.in_((Role.ADMIN, Role.CLERK)), User.active == True).tuples()]  # noqa: E712


def unit_user_ids(unit_id):
    """The active accounts of a member unit."""
    if not unit_id:
        return []
    return [pk for (pk,) in User.select(User.id).where(
        User.unit == unit_id, User.role == Role.UNIT, User.active == True).tuples()]  # noqa: E712


def volunteer_user_ids(volunteer_id):
    if not volunteer_id:
        return []
    return [pk for (pk,) in User.select(User.id).where(
        User.volunteer == volunteer_id, User.role == Role.VOLUNTEER, User.active == True).tuples()]  # noqa: E712


# --- reading and marking read -------------------------------------------------------------

def unread(user):
    """The account's unread notices (a query on the index (recipient, read_at))."""
    return Notice.select(Notice.id).where(Notice.recipient == user.id, Notice.read_at.is_null())


def unread_count(user):
    """The bell's number: one indexed COUNT."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return unread(user).count()


def of_user(user, *, unread_only=False):
    """The account's notices, newest first (a query: the caller pages it)."""
    query = Notice.select().where(Notice.recipient == user.id)
    if unread_only:
        query = query.where(Notice.read_at.is_null())
    return query.order_by(Notice.created_at.desc(), Notice.id.desc())


def get_own(notice_id, user):
    """The account's own notice, or 404 (another's notice is never revealed)."""
    return get_or_404(Notice, notice_id, "通知不存在",
                      query=Notice.select().where(Notice.recipient == user.id))


def mark_read(notice_id, user):
    notice = get_own(notice_id, user)
    if notice.read_at is None:
        with write_transaction():
            Notice.update(read_at=now()).where(Notice.id == notice.id, Notice.read_at.is_null()).execute()
        notice = Notice.get_by_id(notice.id)
    return notice


def mark_all_read(user):
    """Returns how many were unread."""
    with write_transaction():
        return Notice.update(read_at=now()).where(Notice.recipient == user.id,
                                                  Notice.read_at.is_null()).execute()


def of_phone(phone, *, subject=None, subject_id=None):
    """A resident's notices by phone (their tracking page), optionally about one record."""
    query = Notice.select().where(Notice.recipient_phone == phone)
    if subject is not None:
        query = query.where(Notice.subject == subject, Notice.subject_id == subject_id)
    return query.order_by(Notice.created_at, Notice.id)
