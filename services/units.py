"""A partner unit keeps its own profile (contact person, phone, address, intro); every
edit is one transaction with an audit row of what changed."""
from models import MemberUnit, now

from . import audit
from .common import clean_text, get_or_404, write_transaction
from .errors import ServiceError

PROFILE_FIELDS = ("contact", "phone", "address", "intro")
INTRO_MAX = 2000


def update_profile(unit_id, *, user, contact, phone, address, intro):
    unit = get_or_404(MemberUnit, unit_id, "成员单位不存在")
    values = {
        "contact": clean_text(contact, "联系人", required=False, max_length=30, field="contact"),
        "address": clean_text(address, "地址", required=False, max_length=200, field="address"),
        "intro": clean_text(intro, "简介", required=False, max_length=INTRO_MAX, field="intro"),
    }
    phone = (phone or "").strip()
    if phone:
        try:
            phone = MemberUnit.phone.normalise(phone)
        except ValueError as exc:
            raise ServiceError(str(exc), field="phone")
    values["phone"] = phone or None
    changes = {k: [getattr(unit, k), v] for k, v in values.items() if (getattr(unit, k) or None) != v}
    if not changes:
        return unit, {}
    with write_transaction():
        MemberUnit.update(updated_at=now(), **values).where(MemberUnit.id == unit.id).execute()
        audit.record("update_profile", unit, user=user, changes=changes)
    return MemberUnit.get_by_id(unit.id), changes
