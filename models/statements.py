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
"""
from .base import db

_texts = {}


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


def rows(name, query, params):
    """The model rows of ``query`` (joined models attached, as iterating it gives),
    run with the text ``sql_once`` keeps for ``name``."""
    cursor = db.execute_sql(sql_once(name, query, params), tuple(params))
    return query._get_cursor_wrapper(cursor)
