"""Helpers shared by the service-records tests (points, attendance, work orders)."""
import datetime as dt
import re

from models import AuditLog, PointsEntry, Volunteer, now
from services import points

from . import factories


def past_event(**kw):
    """An event under way: started an hour ago, two hours long. Check-in is open and
    attendance may be closed at any pinned time (an event that ended before midnight is
    past its check-in window once the day is over)."""
    start = now().replace(second=0) - dt.timedelta(hours=1)
    kw.setdefault("ends_at", start + dt.timedelta(hours=2))
    return factories.make_event(starts_at=start, **kw)


def funded_volunteer(balance=0, **kw):
    volunteer = factories.make_volunteer(**kw)
    if balance:
        points.earn(volunteer.id, balance, 0, description="测试初始积分")
    return Volunteer.get_by_id(volunteer.id)


def ledger_sum(volunteer_id):
    return sum(e.points for e in PointsEntry.select().where(PointsEntry.volunteer == volunteer_id))


def cached_balance(volunteer_id):
    return Volunteer.get_by_id(volunteer_id).points_balance


def audit_actions(entity):
    return [a.action for a in AuditLog.select().where(AuditLog.entity == entity).order_by(AuditLog.id)]


def text(response):
    return response.get_data(as_text=True)


def alert(response):
    """The Chinese error message a page shows."""
    match = re.search(r'role="alert"[^>]*>([^<]+)<', text(response))
    return match.group(1).strip() if match else ""
