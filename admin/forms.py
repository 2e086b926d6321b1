"""Admin forms: CSRF, Chinese messages, a parse error kept over "required", field-type
validators (phone, integer ranges), unique clashes and model rules as field errors."""
from flask import flash
from flask_admin.form import BaseForm
from flask_wtf import FlaskForm
from wtforms import validators

from models.fields import PHONE_RE, BoundedIntegerField, PhoneField
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
            extra = []
            if isinstance(field, PhoneField):
                extra.append(validators.Regexp(PHONE_RE, message="请输入有效的手机号（11位）或座机号（区号-号码）"))
            if isinstance(field, BoundedIntegerField):
                extra.append(validators.NumberRange(
                    min=field.min_value, max=field.max_value,
                    message=_range_message(field.min_value, field.max_value)))
            if extra:
                unbound.kwargs["validators"] = list(unbound.kwargs.get("validators") or []) + extra
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
    if lo is not None and hi is not None:
        return f"请输入 {lo} 到 {hi} 之间的整数"
    if lo is not None:
        return f"请输入不小于 {lo} 的整数"
    return f"请输入不大于 {hi} 的整数"
