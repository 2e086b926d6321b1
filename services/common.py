"""Small helpers every service uses: the write transaction, record look-up, text input."""
from models import db
from models.bounds import parse_id

from .errors import NotFound, ServiceError
from .stats import on_postgres


def write_transaction():
    """One transaction that takes the write lock up front.

    SQLite in WAL mode fails a deferred transaction that read first and writes later
    once another connection has committed in between (SQLITE_BUSY_SNAPSHOT, which the
    busy timeout does not retry); ``BEGIN IMMEDIATE`` queues writers instead. Nested in
    a caller's transaction, the caller's lock mode applies. PostgreSQL serialises on the
    row locks the services take (conditional UPDATEs, ``SELECT … FOR UPDATE``).
    """
    if not on_postgres() and db.transaction_depth() == 0:
        return db.atomic(lock_type="IMMEDIATE")
    return db.atomic()


def get_or_404(model, record_id, message, query=None):
    """The record with this id (from a URL or form: any type), else ``NotFound(message)``."""
    record_id = parse_id(record_id)
    if record_id is None:
        raise NotFound(message)
    query = query if query is not None else model.select()
    record = query.where(model.id == record_id).first()
    if record is None:
        raise NotFound(message)
    return record


def clean_text(value, label, *, required=True, max_length=200, field=None):
    """Stripped text; a Chinese error when required and empty or when too long."""
    text = (value or "").strip()
    if required and not text:
        raise ServiceError(f"请填写{label}", field=field)
    if len(text) > max_length:
        raise ServiceError(f"{label}不能超过 {max_length} 字", field=field)
    return text or None
