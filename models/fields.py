"""Field types that carry their own validation, so the database CHECK and the form
validator come from one declaration."""
import re
import unicodedata

from peewee import Check, CharField, IntegerField

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
SERVICE_NUMBER_RE = re.compile(r"[48]00\d{7}")  # 400/800 numbers of companies
# What people write between digits: spaces, hyphens and dashes, brackets, dots.
SEPARATORS = re.compile(r"[\s\-‐‑‒–—().·]")
EXTENSION_RE = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.I)
MOBILE_MESSAGE = "请输入有效的手机号（11 位，可带 +86，可用空格或短横线分隔）"
PHONE_MESSAGE = "请输入有效的手机号（11 位）或座机号（区号-号码，如 0482-8234567）"


def normalise_phone(value, *, landline=False):
    """The stored form of a phone number written in any of the usual ways.

    A mainland mobile becomes its 11 digits: ``+86 139-0482-9999``, ``0086 13904829999``,
    ``139 0482 9999`` and full-width ``１３９０４８２９９９９`` are all ``13904829999``.
    Where ``landline`` is allowed, a fixed line becomes ``区号-号码`` (with ``转分机``):
    ``(0482) 823 4567`` → ``0482-8234567``, ``010 62345678 转 801`` → ``010-62345678转801``;
    400/800 numbers keep their 10 digits. Anything else raises ``ValueError`` with the
    Chinese message for the form or the API.
    """
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
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
    if digits.isascii() and digits.isdigit():
        if MOBILE_RE.fullmatch(digits) and extension is None:
            return digits
        if landline:
            if SERVICE_NUMBER_RE.fullmatch(digits) and not international and extension is None:
                return digits
            if international and not digits.startswith("0"):
                digits = "0" + digits  # +86 482 8234567: the trunk 0 is dropped abroad
            area = 3 if digits.startswith(("010", "02")) else 4  # Beijing and 02x: 3 digits
            code, number = digits[:area], digits[area:]
            if code.startswith("0") and len(number) in (7, 8) and number[0] not in "01":
                return f"{code}-{number}" + (f"转{extension}" if extension else "")
    raise ValueError(PHONE_MESSAGE if landline else MOBILE_MESSAGE)


class PhoneField(CharField):
    """A phone number where an office or home line is legitimate (a unit's phone, a
    grid office, a resident calling in): a mainland mobile or a landline, stored
    normalised by ``normalise``. Existing values in other formats still load and show."""

    landline = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)

    def normalise(self, value):
        """The value to store, or ``ValueError`` with a Chinese message."""
        return normalise_phone(value, landline=self.landline)


class MobileField(PhoneField):
    """A phone that must reach a person's mobile (sign-ups, volunteers): the number
    sign-ups are matched to volunteers by, and a check-in code is looked up with."""

    landline = False


class BoundedIntegerField(IntegerField):
    """An integer with an inclusive range, enforced by a CHECK constraint too."""

    def __init__(self, *args, min_value=None, max_value=None, **kwargs):
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(*args, **kwargs)

    def bind(self, model, name, set_attribute=True):
        super().bind(model, name, set_attribute)
        column = self.column_name
        checks = []
        if self.min_value is not None:
            checks.append(f"{column} >= {int(self.min_value)}")
        if self.max_value is not None:
            checks.append(f"{column} <= {int(self.max_value)}")
        if checks:
            self.constraints = [Check(" AND ".join(checks))]


class VocabularyField(CharField):
    """Text chosen from a list clerks keep (a model with a unique ``name``), not free text.

    ``vocabulary`` names that model; forms offer its active names, imports accept only them.
    The column keeps the name itself, so lists, filters and the API read it as before.
    """

    def __init__(self, *args, vocabulary=None, **kwargs):
        self.vocabulary = vocabulary
        super().__init__(*args, **kwargs)

    def vocabulary_model(self):
        from . import ALL_MODELS

        return next(m for m in ALL_MODELS if m.__name__ == self.vocabulary)
