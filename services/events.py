"""An event's status, 正常 ⇄ 已取消, through one table (services/transitions.py).

取消活动 cancels, in the same transaction, every sign-up still 已报名 or 候补 — each a move
of the sign-up machine, audited — so nobody holds a place or waits for one at an event
that will not take place; 已签到 sign-ups stay as the record of who came. The calendar
SEQUENCE is raised so subscribed phones show the cancellation. 恢复活动 brings an event
back while it has not ended; the cancelled sign-ups stay cancelled (people sign up again).
"""
from models import Event, EventStatus, Signup, SignupStatus, now

from . import signups
from .common import get_or_404
from .errors import Conflict
from .transitions import RACE, Machine, Transition


def _cancel_signups(moved):
    live = Signup.select().where(Signup.event == moved.obj.id,
                                 Signup.status.in_((SignupStatus.REGISTERED, SignupStatus.WAITLISTED)))
    for signup in live.order_by(Signup.created_at, Signup.id):
        signups.SIGNUPS.move(signup, "cancel", user=moved.user, system=True, changes={"event_cancelled": True})


def _not_ended(event):
    if event.ends_at <= now():
        return "活动已结束"
    return None


EVENTS = Machine(Event, EventStatus, [
    Transition("cancel", (EventStatus.SCHEDULED,), EventStatus.CANCELLED, "取消活动", "records.manage",
               after=_cancel_signups,
               confirm="取消后，已报名和候补的报名将全部取消，活动页面显示“已取消”，不再接受报名和签到。"),
    Transition("reinstate", (EventStatus.CANCELLED,), EventStatus.SCHEDULED, "恢复活动", "records.manage",
               guard=_not_ended, confirm="恢复后活动重新开放报名；已取消的报名不会自动恢复。"),
])


def move(event_id, name, *, user=None, reason=None, expected=None):
    """A clerk's move from the event's buttons (``expected``: the status the clerk saw)."""
    event = get_or_404(Event, event_id, "活动不存在")
    if expected and expected != event.status:
        raise Conflict(RACE.format(noun=EVENTS.noun))
    EVENTS.check(event, name, user=user, guard=False)
    with signups.locked_event(event.id):
        EVENTS.move(event, name, user=user, values={"sequence": Event.sequence + 1})
    return Event.get_by_id(event.id)
