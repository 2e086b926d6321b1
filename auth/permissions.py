"""Who may do what: named predicates, the one place roles are decided.

Every surface (admin views, public pages, API) asks ``can(user, permission)``; a
predicate may also look at the record acted on (``can(user, "claims.owner", claim)``),
which is how the state machines (services/transitions.py) decide who may make a move.
"""
from werkzeug.local import LocalProxy

from models import Role


def _role_in(*roles):
    def predicate(user, obj=None):
        return bool(user and user.is_authenticated and user.is_active and user.role in roles)
    return predicate


def _own_unit_record(user, obj=None):
    """A partner unit acting on a record of its own unit (``obj.unit_id``)."""
    return bool(_role_in(Role.UNIT)(user) and obj is not None and getattr(user, "unit_id", None)
                and getattr(obj, "unit_id", None) == user.unit_id)


def _staff(user, obj=None):
    return _role_in(Role.ADMIN, Role.CLERK)(user)


def _order_assignee(user, order=None):
    """The unit or the volunteer a work order is assigned to (accept, report, hand back)."""
    if order is None:
        return False
    if _role_in(Role.UNIT)(user):
        return bool(user.unit_id) and getattr(order, "assignee_unit_id", None) == user.unit_id
    if _role_in(Role.VOLUNTEER)(user):
        return bool(user.volunteer_id) and getattr(order, "assignee_volunteer_id", None) == user.volunteer_id
    return False


def _order_taker(user, order=None):
    """党员接单: a volunteer with an account, on an order a clerk opened to volunteers."""
    return bool(_role_in(Role.VOLUNTEER)(user) and user.volunteer_id and order is not None
                and getattr(order, "open_to_volunteers", False))


def _organiser_of(obj):
    """The organising unit's id of an event, or of a sign-up's event."""
    if obj is None:
        return None
    if hasattr(obj, "organiser_id"):
        return obj.organiser_id
    event = getattr(obj, "event", None)
    return getattr(event, "organiser_id", None)


def _attendance_recorder(user, obj=None):
    """谁组织谁记录: clerks for every event; a partner unit for the events it organises."""
    if _staff(user):
        return True
    return bool(_role_in(Role.UNIT)(user) and obj is not None and user.unit_id
                and _organiser_of(obj) == user.unit_id)


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
    # the unit workspace /my: its orders, events, profile
    "workspace.unit": _role_in(Role.UNIT),
    # a volunteer's own page /me: hours, points, sign-ups
    "volunteer.self": lambda user, obj=None: bool(_role_in(Role.VOLUNTEER)(user) and user.volunteer_id),
    # work orders dispatched to the caller (a unit or a volunteer): list them (API, pages)
    "orders.own": _role_in(Role.UNIT, Role.VOLUNTEER),
    # moving one work order assigned to the caller's unit or to the caller (a volunteer)
    "orders.assignee": _order_assignee,
    # 党员接单: taking an order opened to volunteers
    "orders.take": _order_taker,
    # check-in and closing attendance (hours and points): clerks, or the organising unit
    "attendance.record": _attendance_recorder,
    # opening accounts for units and volunteers (activation links), approving registrations
    "accounts.issue": _role_in(Role.ADMIN, Role.CLERK),
    # the caller's own notices (the bell, /notices)
    "notices.own": _role_in(Role.ADMIN, Role.CLERK, Role.UNIT, Role.VOLUNTEER),
    # reading the audit log (nobody edits or deletes it)
    "audit.read": _role_in(Role.ADMIN, Role.CLERK),
}


def can(user, permission, obj=None):
    if type(user) is LocalProxy:  # current_user: looked up once here, not at every attribute
        user = user._get_current_object()
    return PERMISSIONS[permission](user, obj)


# 微心愿 (services/wishes.py): any partner unit (merchants are units) may claim a wish on
# the wall; only the claiming unit may withdraw it or report it 已圆梦.
def _wish_claimer(user, wish=None):
    return bool(_role_in(Role.UNIT)(user) and wish is not None and getattr(user, "unit_id", None)
                and getattr(wish, "claimer_id", None) == user.unit_id)


PERMISSIONS["wishes.claim"] = lambda user, obj=None: bool(_role_in(Role.UNIT)(user) and user.unit_id)
PERMISSIONS["wishes.claimer"] = _wish_claimer
