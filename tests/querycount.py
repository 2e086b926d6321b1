"""Counting the SQL statements a block runs (tests of "constant queries per page", benchmarks)."""
import contextlib

from models import db
from models.statements import text_of


@contextlib.contextmanager
def count_queries():
    """Yields a list that collects the SQL of every statement the bound database runs."""
    database, statements = db.obj, []
    original = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        statements.append(text_of(sql))  # a prepared statement's EXECUTE as the SQL it runs
        return original(sql, params, *args, **kwargs)

    database.execute_sql = execute_sql
    try:
        yield statements
    finally:
        del database.execute_sql
