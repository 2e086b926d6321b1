"""What the databases can hold, in one place: record ids, integers and dates.

Every surface that turns text into a number or a date for a query checks it against
these bounds first (the URL converter, admin forms and filters, the API, services),
so a 30-digit id or the year 0001 is a Chinese 4xx, never an ``OverflowError`` from
SQLite or ``integer out of range`` from PostgreSQL.
"""
import datetime as dt

# Primary keys are PostgreSQL serial / SQLite INTEGER: 1 … 2**31 - 1.
ID_MAX = 2**31 - 1
ID_DIGITS = len(str(ID_MAX))
# IntegerField columns are PostgreSQL INTEGER.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# Dates the platform accepts anywhere: wide enough for a unit founded in 1949 or an
# event planned decades ahead, narrow enough that date arithmetic (a day's end, a
# month's start, a statement period) never leaves Python's or the databases' range.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
DATE_RANGE_TEXT = f"{DATE_MIN:%Y-%m-%d} 至 {DATE_MAX:%Y-%m-%d}"


def parse_id(value):
    """A record id from a URL, form, query string or JSON value; None when the value
    cannot be the id of any record (not a plain positive number, or out of range)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > ID_DIGITS:
            return None
        number = int(text)
    return number if 0 < number <= ID_MAX else None


def is_id(value):
    return parse_id(value) is not None


def date_in_range(value):
    """True for a date or datetime the platform supports (see DATE_MIN/DATE_MAX)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return DATE_MIN <= value <= DATE_MAX


def date_range_message(label="日期"):
    return f"{label}须在 {DATE_RANGE_TEXT} 之间"
