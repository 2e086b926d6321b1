"""Field types that carry their own validation, so the database CHECK and the form
validator come from one declaration."""
import re

from peewee import Check, CharField, IntegerField

PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|12345)$")


class PhoneField(CharField):
    """A mainland mobile (11 digits) or landline number (区号-号码)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)


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
