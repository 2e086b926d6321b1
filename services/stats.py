"""SQL expressions that differ between SQLite and PostgreSQL, for GROUP BY reports."""
from peewee import SQL, NodeList, PostgresqlDatabase, fn

from models import db


def on_postgres():
    return isinstance(db.obj, PostgresqlDatabase)


def month_of(column):
    """'YYYY-MM' of a naive datetime column."""
    if on_postgres():
        return fn.to_char(column, "YYYY-MM")
    return fn.strftime("%Y-%m", column)


def seconds_between(start, end):
    """``end - start`` in seconds, as a number."""
    if on_postgres():
        return fn.EXTRACT(NodeList((SQL("EPOCH FROM"), NodeList((end, SQL("-"), start)))))
    return (fn.julianday(end) - fn.julianday(start)) * 86400
