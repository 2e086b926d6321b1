"""Who may do what: named predicates, the one place roles are decided.

Every surface (admin views, public pages, API) asks ``can(user, permission)``.
"""
from models import Role


def _role_in(*roles):
    def predicate(user):
        return bool(user and user.is_authenticated and user.is_active and user.role in roles)
    return predicate


PERMISSIONS = {
    # the generated admin and every record in it
    "admin.access": _role_in(Role.ADMIN, Role.CLERK),
    # accounts, API tokens, the audit log and settings
    "accounts.manage": _role_in(Role.ADMIN),
    # claiming projects and reporting progress for one's own unit
    "claims.own": _role_in(Role.UNIT),
    # reviewing claims, running events, points and work orders
    "records.manage": _role_in(Role.ADMIN, Role.CLERK),
    # reading the audit log (nobody edits or deletes it)
    "audit.read": _role_in(Role.ADMIN, Role.CLERK),
}


def can(user, permission):
    return PERMISSIONS[permission](user)
