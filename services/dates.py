"""Dates and times as clerks type them: ``2026-12-01 09:00`` and its usual variants.

One parser for the admin's date fields and for spreadsheet imports, so a value typed in a
form and the same value in a spreadsheet cell mean the same thing.
"""
import datetime as dt

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H时%M分", "%H点%M分", "%H:%M:%S.%f")


def parse_date(text):
    """A date from ``2026-12-01``, ``2026/12/1``, ``2026.12.1``, ``2026年12月1日``, ``20261201``; else None."""
    text = "".join(str(text or "").split())
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_datetime(text):
    """A datetime from a date, a space or ``T``, and a time (``9:00``, ``09:00:30``); a date
    alone is midnight. None when it is none of these."""
    text = " ".join(str(text or "").replace("T", " ").split())
    if not text:
        return None
    day, _, clock = text.partition(" ")
    date = parse_date(day)
    if date is None:
        return None
    clock = clock.replace(" ", "")
    if not clock:
        return dt.datetime.combine(date, dt.time())
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.combine(date, dt.datetime.strptime(clock, fmt).time()).replace(microsecond=0)
        except ValueError:
            continue
    return None


def format_datetime(value):
    """``2026-12-01 09:00`` (seconds only when there are some)."""
    return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
