"""Admin forms: CSRF, Chinese messages, a parse error kept over "required", field-type
validators (phone, integer ranges), unique clashes and model rules as field errors."""
import decimal

from flask import flash
from flask_admin.form import BaseForm
from flask_wtf import FlaskForm
from peewee import AutoField, DateField, DateTimeField, DecimalField, IntegerField
from wtforms import validators

from models.bounds import INT_MAX, INT_MIN, date_in_range, date_range_message
from models.fields import BoundedIntegerField, PhoneField
from services.transitions import MACHINES

from .fields import AdminModelConverter


class AdminForm(FlaskForm):
    """Flask-WTF CSRF (the same token the app-wide CSRFProtect checks) with
    Flask-Admin's form behaviour and WTForms' Chinese messages."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return BaseForm.Meta._translations

    def __init__(self, formdata=None, obj=None, prefix="", **kwargs):
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


# --- what a column's type carries into every form ------------------------------------------

class InDateRange:
    """A date or date-time inside the platform's supported range (models.bounds)."""

    def __call__(self, form, field):
        if field.data is not None and not date_in_range(field.data):
            raise validators.ValidationError(date_range_message())


class DecimalRange:
    """A finite number that fits the column (``max_digits`` / ``decimal_places``)."""

    def __init__(self, column):
        self.limit = decimal.Decimal(10) ** (column.max_digits - column.decimal_places)
        self.message = f"请输入绝对值小于 {self.limit} 的数字（最多 {column.decimal_places} 位小数）"

    def __call__(self, form, field):
        value = field.data
        if value is not None and (not value.is_finite() or abs(value) >= self.limit):
            raise validators.ValidationError(self.message)


def _phone_normaliser(column):
    def normalise(value):
        if value is None or isinstance(value, str) and not value.strip():
            return value
        return column.normalise(value)  # ValueError(中文) → the field's error
    return normalise


def field_rules(column):
    """(validators, filters) a model field's type brings to any form built from it:
    phones are normalised (or refused), integers and decimals fit their column, dates
    fall in the supported range."""
    rules, filters = [], []
    if isinstance(column, PhoneField):
        filters.append(_phone_normaliser(column))
    if isinstance(column, BoundedIntegerField):
        lo = INT_MIN if column.min_value is None else column.min_value
        hi = INT_MAX if column.max_value is None else column.max_value
        # the declared bounds in the message; the column's own limits still apply
        rules.append(validators.NumberRange(min=lo, max=hi, message=_range_message(
            column.min_value, column.max_value)))
    elif isinstance(column, IntegerField) and not isinstance(column, AutoField):
        rules.append(validators.NumberRange(min=INT_MIN, max=INT_MAX, message=_range_message(INT_MIN, INT_MAX)))
    elif isinstance(column, DecimalField):
        rules.append(DecimalRange(column))
    if isinstance(column, (DateField, DateTimeField)):
        rules.append(InDateRange())
    return rules, filters


class Required:
    """A value is needed; a value that did not parse keeps its own message."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        if field.process_errors:
            raise validators.StopValidation()
        if field.data is None or isinstance(field.data, str) and not field.data.strip():
            field.errors[:] = []
            raise validators.StopValidation("此项为必填项")


class StopOnParseError:
    """After "不是有效的整数", range and length checks add nothing."""

    def __call__(self, form, field):
        if field.process_errors:
            raise validators.StopValidation()


def read_only_fields(model):
    """Columns no admin form may write: the timestamps, counters services keep (declared
    once on the model as ``Meta.read_only``) and what a state machine owns — its status
    column and the timestamps its moves set (services/transitions.py)."""
    names = {name for name in ("created_at", "updated_at") if name in model._meta.fields}
    names.update(getattr(model._meta, "read_only", ()))
    machine = MACHINES.get(model.__name__)
    if machine is not None:
        names.add(machine.field)
        names.update(t.stamp for t in machine if t.stamp)
    return names


class FormsMixin:
    """Form building and validation of ``SecureModelView``."""

    model_form_converter = AdminModelConverter

    # -- forms -----------------------------------------------------------------

    def scaffold_form(self):
        form_class = super().scaffold_form()
        for field in self.model._meta.sorted_fields:
            unbound = getattr(form_class, field.name, None)
            if unbound is None or not hasattr(unbound, "kwargs"):
                continue
            # wtf-peewee's ValueRequired wipes a parse error ("不是有效的日期时间值") and says
            # "required" instead; keep the real reason and stop at it
            chain = [Required() if type(v).__name__ == "ValueRequired" else v
                     for v in unbound.kwargs.get("validators") or []]
            gate = next((i + 1 for i, v in enumerate(chain)
                         if isinstance(v, (Required, validators.Optional))), 0)
            chain.insert(gate, StopOnParseError())
            unbound.kwargs["validators"] = chain
            rules, filters = field_rules(field)
            if rules:
                unbound.kwargs["validators"] = list(unbound.kwargs.get("validators") or []) + rules
            if filters:
                unbound.kwargs["filters"] = list(unbound.kwargs.get("filters") or []) + filters
        return form_class

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form._obj = None
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._obj = obj
        return form

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "_obj"):
            return ok
        current = getattr(form, "_obj", None)
        # unique columns: a Chinese error next to the field, not a database error
        for field in self.model._meta.sorted_fields:
            if not field.unique or field.name not in form:
                continue
            value = form[field.name].data
            if value in (None, ""):
                continue
            query = self.model.select().where(field == value)
            if current is not None:
                query = query.where(self.model._meta.primary_key != current.get_id())
            if query.exists():
                form[field.name].errors = list(form[field.name].errors) + [f"{field.verbose_name}“{value}”已存在"]
                ok = False
        # cross-field rules declared on the model (Model.clean)
        if ok:
            probe = self.model()
            if current is not None:
                probe.__data__.update(current.__data__)
            form.populate_obj(probe)
            for name, message in probe.clean().items():
                if name in form:
                    form[name].errors = list(form[name].errors) + [message]
                else:
                    flash(message, "error")
                ok = False
        return ok


def _range_message(lo, hi):
    if lo is None and hi is None:
        return _range_message(INT_MIN, INT_MAX)
    if lo is not None and hi is not None:
        return f"请输入 {lo} 到 {hi} 之间的整数"
    if lo is not None:
        return f"请输入不小于 {lo} 的整数"
    return f"请输入不大于 {hi} 的整数"
