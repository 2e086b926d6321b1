"""Who may do what: named predicates, the one place roles are decided.

Every surface (admin views, public pages, API) asks ``can(user, permission)``; a
predicate may also look at the record acted on (``can(user, "claims.owner", claim)``),
which is how the state machines (services/transitions.py) decide who may make a move.
"""
from models import Role


def _role_in(*roles):
    def predicate(user, obj=None):
        return bool(user and user.is_authenticated and user.is_active and user.role in roles)
    return predicate


def _own_unit_record(user, obj=None):
    """A partner unit acting on a record of its own unit (``obj.unit_id``)."""
    return bool(_role_in(Role.UNIT)(user) and obj is not None and getattr(user, "unit_id", None)
                and getattr(obj, "unit_id", None) == user.unit_id)


PERMISSIONS = {
    # the generated admin and every record in it
    "admin.access": _role_in(Role.ADMIN, Role.CLERK),
    # accounts, API tokens, the audit log and settings
    "accounts.manage": _role_in(Role.ADMIN),
    # claiming projects and reporting progress for one's own unit
    "claims.own": _role_in(Role.UNIT),
    # moving one claim of one's own unit (withdrawing it)
    "claims.owner": _own_unit_record,
    # reviewing claims, running events, points and work orders
    "records.manage": _role_in(Role.ADMIN, Role.CLERK),
    # reading the audit log (nobody edits or deletes it)
    "audit.read": _role_in(Role.ADMIN, Role.CLERK),
}


def can(user, permission, obj=None):
    return PERMISSIONS[permission](user, obj)
