"""010 — phone numbers stored in one form.

Forms and services now store a mainland mobile as its 11 digits and a landline as
``区号-号码[转分机]`` (``models.fields.normalise_phone``). This brings the rows written
before into that form, so that a sign-up finds its volunteer and a resident's cancel
finds the sign-up whatever way the number was typed back then.

A value that is not a phone number of its column's kind is left exactly as it was (it
still shows; it must be corrected when the record is next edited), and so is one whose
normal form would clash with another row (``volunteer.phone`` is unique; one live
sign-up per phone and event). The normaliser is a frozen copy, so this file reads the
same forever. Rollback keeps the normalised values (the old spellings are not kept).
"""
import re
import unicodedata

import peewee as pw
from peewee_migrate import Migrator

# (table, column, landline allowed)
COLUMNS = [
    ("grid", "worker_phone", True),
    ("member_unit", "phone", True),
    ("work_order", "requester_phone", True),
    ("volunteer_team", "leader_phone", False),
    ("volunteer", "phone", False),
    ("signup", "phone", False),
]
MOBILE_RE = re.compile(r"1[3-9]\d{9}")
SERVICE_NUMBER_RE = re.compile(r"[48]00\d{7}")
SEPARATORS = re.compile(r"[\s\-‐‑‒–—().·]")
EXTENSION_RE = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.I)


def normalise(value, landline):
    """The normal form, or None when ``value`` is not a phone number of that kind."""
    text = unicodedata.normalize("NFKC", value).strip()
    extension = None
    if landline:
        match = EXTENSION_RE.search(text)
        if match:
            extension, text = match.group(1), text[:match.start()]
    digits = SEPARATORS.sub("", text)
    international = False
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits, international = digits[len(prefix):], True
            break
    else:
        if digits.startswith("86") and len(digits) == 13 and MOBILE_RE.fullmatch(digits[2:]):
            digits = digits[2:]
    if not (digits.isascii() and digits.isdigit()):
        return None
    if MOBILE_RE.fullmatch(digits) and extension is None:
        return digits
    if not landline:
        return None
    if SERVICE_NUMBER_RE.fullmatch(digits) and not international and extension is None:
        return digits
    if international and not digits.startswith("0"):
        digits = "0" + digits
    area = 3 if digits.startswith(("010", "02")) else 4
    code, number = digits[:area], digits[area:]
    if code.startswith("0") and len(number) in (7, 8) and number[0] not in "01":
        return f"{code}-{number}" + (f"转{extension}" if extension else "")
    return None


def normalise_all(database):
    for table, column, landline in COLUMNS:
        rows = database.execute_sql(
            f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()
        for row_id, value in rows:
            clean = normalise(value, landline)
            if clean is None or clean == value:
                continue
            try:
                with database.atomic():  # a savepoint: a clash undoes this row only
                    database.execute_sql(
                        f'UPDATE "{table}" SET "{column}" = {database.param} WHERE id = {database.param}',
                        (clean, row_id))
            except pw.IntegrityError:
                continue


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(normalise_all, database)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    pass
