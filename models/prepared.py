"""Queries whose SQL is built once per kind of database and then only run with new values.

peewee builds a query's SQL text anew on every execution: for a wide join (the session
check selects an account's every column) that walk of the expression tree costs more than
the database's answer. ``Prepared`` builds the query once with marker values, remembers
the SQL text and where each marker landed among its parameters, and afterwards runs that
text with the request's values, turning rows into model instances with the very query
object peewee built (its cursor wrapper), so the rows are what ``query.first()`` gives.

Only for a few hot, fixed-shape queries; values must already be what the driver takes
(``field.db_value(value)``).
"""
import threading

from .base import db


class Prepared:
    def __init__(self, build, *names):
        """``build(*markers)`` returns the query, given one marker value per name."""
        self._build = build
        self._names = names
        self._compiled = {}
        self._lock = threading.Lock()

    def _compile(self, database):
        markers = [f"\x00prepared:{name}\x00" for name in self._names]
        query = self._build(*markers)
        sql, params = query.sql()
        slots = [markers.index(p) if isinstance(p, str) and p in markers else None for p in params]
        found = {i for i in slots if i is not None}
        if found != set(range(len(markers))):
            raise ValueError(f"prepared query: a value did not reach the SQL as given ({self._names})")
        return query, sql, list(params), slots

    def execute(self, *values):
        """The rows of the query for these values (an iterable of model instances)."""
        database = db.obj
        key = type(database)
        entry = self._compiled.get(key)
        if entry is None:
            with self._lock:
                entry = self._compiled.setdefault(key, self._compile(database))
        query, sql, params, slots = entry
        cursor = database.execute_sql(sql, [p if i is None else values[i] for p, i in zip(params, slots)])
        return query._get_cursor_wrapper(cursor)

    def first(self, *values):
        for row in self.execute(*values):
            return row
        return None
