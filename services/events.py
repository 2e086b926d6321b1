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
    phones = []
    for signup in live.order_by(Signup.created_at, Signup.id):
        signups.SIGNUPS.move(signup, "cancel", user=moved.user, system=True, changes={"event_cancelled": True})
        phones.append(signup.phone)
    _tell(moved.obj, phones, "event_cancelled", f"活动取消：{moved.obj.title}",
          f"很抱歉，您报名的“{moved.obj.title}”（{moved.obj.starts_at:%m月%d日 %H:%M}，{moved.obj.location}）"
          "已取消，您的报名随之取消。")


def _tell(event, phones, kind, title, body):
    """Everyone signed up hears of it: through their account, else by phone."""
    from . import notices

    users, others = notices.people_by_phone(phones)
    notices.notify(kind, title=title[:100], body=body, users=users, phones=others, subject=event,
                   link=f"/events/{event.id}")


# what people signed up for need to know when it changes
ANNOUNCED = {"title": "名称", "starts_at": "开始时间", "ends_at": "结束时间", "location": "地点"}


def _shown(value):
    return f"{value:%m月%d日 %H:%M}" if hasattr(value, "strftime") else str(value or "")


def announce_change(event, before):
    """After an edit of a scheduled, published event that has not ended: tell the people
    signed up (已报名, 候补) what changed (inside the edit's transaction)."""
    changed = [(label, before.get(name), getattr(event, name)) for name, label in ANNOUNCED.items()
               if name in before and before.get(name) != getattr(event, name)]
    if not changed or not event.published or event.status != EventStatus.SCHEDULED or event.ends_at <= now():
        return []
    phones = [p for (p,) in Signup.select(Signup.phone).where(
        Signup.event == event.id, Signup.status.in_((SignupStatus.REGISTERED, SignupStatus.WAITLISTED))).tuples()]
    if not phones:
        return []
    lines = "；".join(f"{label}：{_shown(old)} → {_shown(new)}" for label, old, new in changed)
    _tell(event, phones, "event_changed", f"活动信息变更：{event.title}",
          f"您报名的“{event.title}”信息有变更（{lines}）。现在的安排：{event.starts_at:%m月%d日 %H:%M}，{event.location}。")
    return phones


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
