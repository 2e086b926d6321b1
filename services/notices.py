"""Telling people what concerns them: one Notice per recipient per happening.

``notify`` is called by the service that makes the change, inside its transaction, so
a notice exists exactly when the change does. Accounts see theirs in the bell and at
``/notices``; residents without an account are named by phone (their tracking page
shows them, and the webhook channel reaches them).
"""
from models import Notice

TITLE_MAX = 100


def notify(kind, *, title, body, users=(), phones=(), link=None, subject=None):
    """Write one Notice for each user and each phone (duplicates dropped); returns them.

    ``subject`` is the record the notice is about (a model instance), so that a page
    about that record can list its notices.
    """
    entity = type(subject).__name__ if subject is not None else None
    entity_id = subject._pk if subject is not None else None  # not get_id(): a User gives a str
    notices, seen = [], set()
    recipients = [("user", getattr(u, "id", u)) for u in users if u is not None]
    recipients += [("phone", p) for p in phones if p]
    for kind_of, who in recipients:
        if (kind_of, who) in seen:
            continue
        seen.add((kind_of, who))
        notices.append(Notice.create(
            recipient=who if kind_of == "user" else None,
            recipient_phone=who if kind_of == "phone" else None,
            kind=kind, title=title[:TITLE_MAX], body=body, link=link,
            subject=entity, subject_id=entity_id))
    return notices
