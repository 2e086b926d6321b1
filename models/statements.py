"""Statements of a fixed shape, whose SQL text peewee generates once.

peewee generates a statement's text by walking its expression tree on every call, which
can cost more than running the statement: the session look-up every logged-in request
makes (services/sessions.py) spends 0.28 of its 0.41 ms there. For a statement whose
shape never changes — no branches, no lists of varying length, only its parameters
differ — ``sql_once`` generates the text once per kind of database and the caller runs
it with ``db.execute_sql(text, params)``. The first generation checks that the query's
own parameters are exactly the ones the caller passes, in that order, so a query edited
into another shape fails loudly at once instead of running with misplaced parameters.
(web/ratelimit.py's counter upsert does the same for itself.)

On PostgreSQL the server then also parses and plans such a statement once per connection:
``execute`` sends ``PREPARE`` the first time a pooled connection runs it and ``EXECUTE``
afterwards (the session look-up: 0.22 → 0.10 ms a request). A prepared statement lives
as long as its connection (it survives a rolled-back transaction); the ``PREPARE`` goes
straight to the driver, so statement counts (tests/querycount.py) see one statement.
"""
import re
import weakref

from .base import db

_texts = {}
# PostgreSQL connection → the names prepared on it
_prepared = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%[s%]")


def sql_once(name, query, params):
    """The SQL text of ``query`` (generated on the first call per ``name`` and kind of
    database); ``params``: the parameters the caller will run it with, which must be
    the query's own."""
    key = (name, type(db.obj))
    text = _texts.get(key)
    if text is None:
        text, own = db.get_sql_context().sql(query).query()
        if list(own) != list(params):
            raise RuntimeError(f"statement {name!r}: its parameters are {own!r}, not {list(params)!r}")
        _texts[key] = text
    return text


def _numbered(text):
    """psycopg2's ``%s`` placeholders as PostgreSQL's ``$1, $2 …`` (``%%`` is a literal %)."""
    count = [0]

    def number(match):
        if match.group() == "%%":
            return "%"
        count[0] += 1
        return f"${count[0]}"

    return _PLACEHOLDER.sub(number, text), count[0]


def execute(name, query, params):
    """A cursor of ``query`` run with ``params``: its text generated once, and on
    PostgreSQL prepared once per connection."""
    text = sql_once(name, query, params)
    database = db.obj
    from peewee import PostgresqlDatabase

    if not isinstance(database, PostgresqlDatabase):
        return database.execute_sql(text, tuple(params))
    connection = database.connection()
    done = _prepared.get(connection)
    if done is None or name not in done:
        body, count = _numbered(text)
        if count != len(params):
            raise RuntimeError(f"statement {name!r}: {count} placeholders for {len(params)} parameters")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'PREPARE "hsl_{name}" AS {body}')
        except Exception:  # noqa: BLE001 - a dropped connection: run it plainly (the pool retries)
            return database.execute_sql(text, tuple(params))
        _prepared.setdefault(connection, set()).add(name)
    placeholders = ", ".join(["%s"] * len(params))
    return database.execute_sql(f'EXECUTE "hsl_{name}" ({placeholders})', tuple(params))


_EXECUTE = re.compile(r'EXECUTE "hsl_(\w+)" \(')


def text_of(sql):
    """The SQL an ``EXECUTE`` of ours runs (for statement logs and counts), else ``sql``."""
    match = _EXECUTE.match(sql)
    if match:
        for (name, _kind), text in _texts.items():
            if name == match.group(1):
                return text
    return sql


def rows(name, query, params):
    """The model rows of ``query`` (joined models attached, as iterating it gives),
    run with the text ``sql_once`` keeps for ``name`` (prepared on PostgreSQL)."""
    return query._get_cursor_wrapper(execute(name, query, params))
