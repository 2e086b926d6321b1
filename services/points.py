"""The points bank (积分银行): an append-only ledger and the rules on it, in one place.

Every entry goes through ``_post``, which in one transaction moves the cached
``Volunteer.points_balance`` with a conditional UPDATE (``… WHERE points_balance >= n``
for a debit) and appends the ledger row. The CHECK (points_balance >= 0) backs the
condition, so two clerks exchanging for one volunteer at the same instant can never
overdraw on SQLite (BEGIN IMMEDIATE) or PostgreSQL (the UPDATE's row lock). The ledger
remains the source of truth: ``balance()`` is its sum and ``verify_balances()`` checks
the cache against it.

Service hours follow the volunteer-service record rules (谁组织谁记录, true and
complete): hours come from attendance recorded by the organiser, and honour hours
(荣誉时长) back-filled by a clerk are their own entry kind and earn no points.
"""
import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import current_app, has_app_context
from peewee import JOIN, IntegrityError, fn

from models import EntryKind, Event, MemberUnit, PointsEntry, Volunteer, now

from . import audit
from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict, NotFound, ServiceError
from .stats import month_of

MAX_POINTS = 100000
MAX_HOURS = Decimal("1000")
SERVICE_KINDS = (EntryKind.EARNED, EntryKind.HONOUR, EntryKind.CORRECTED)


def _config(key, default):
    return current_app.config.get(key, default) if has_app_context() else default


# --- parsing ---------------------------------------------------------------------

def parse_points(value, *, label="积分", allow_negative=False):
    """A whole number of points from a form or API value; Chinese errors otherwise."""
    text = str(value if value is not None else "").strip()
    wanted = "非零整数" if allow_negative else "正整数"
    try:
        number = int(text)
    except ValueError:
        raise ServiceError(f"{label}必须是{wanted}", field="points")
    if (number == 0) or (number < 0 and not allow_negative):
        raise ServiceError(f"{label}必须是{wanted}", field="points")
    if abs(number) > MAX_POINTS:
        raise ServiceError(f"{label}不能超过 {MAX_POINTS}", field="points")
    return number


def parse_hours(value, *, label="服务时长", allow_negative=False, allow_zero=False):
    text = str(value if value is not None else "").strip()
    try:
        hours = Decimal(text)
    except InvalidOperation:
        raise ServiceError(f"{label}必须是数字（小时，最多两位小数）", field="hours")
    if not hours.is_finite():
        raise ServiceError(f"{label}必须是数字（小时，最多两位小数）", field="hours")
    if abs(hours) > MAX_HOURS:  # before quantize, which overflows past 28 digits
        raise ServiceError(f"{label}不能超过 {MAX_HOURS} 小时", field="hours")
    if hours != hours.quantize(Decimal("0.01")):
        raise ServiceError(f"{label}必须是数字（小时，最多两位小数）", field="hours")
    if hours < 0 and not allow_negative:
        raise ServiceError(f"{label}不能为负数", field="hours")
    if hours == 0 and not allow_zero:
        raise ServiceError(f"{label}必须大于零", field="hours")
    if abs(hours) > MAX_HOURS:
        raise ServiceError(f"{label}不能超过 {MAX_HOURS} 小时", field="hours")
    return hours.quantize(Decimal("0.01"))


def get_volunteer(volunteer_id):
    return get_or_404(Volunteer, volunteer_id, "志愿者不存在")


# --- the one write path -------------------------------------------------------------

def _post(volunteer_id, kind, points, *, description, user=None, **fields):
    """Move the cached balance by ``points`` and append the entry, in one transaction."""
    with write_transaction():
        query = Volunteer.update(points_balance=Volunteer.points_balance + points, updated_at=now())
        query = query.where(Volunteer.id == volunteer_id)
        if points < 0:
            query = query.where(Volunteer.points_balance >= -points)
        try:
            moved = query.execute()
        except IntegrityError:
            moved = 0
        if not moved:
            if not Volunteer.select().where(Volunteer.id == volunteer_id).exists():
                raise NotFound("志愿者不存在")
            have = Volunteer.select(Volunteer.points_balance).where(Volunteer.id == volunteer_id).scalar()
            raise Conflict(f"积分余额不足：当前余额 {have} 分，本次需扣减 {-points} 分")
        entry = PointsEntry.create(volunteer=volunteer_id, kind=kind, points=points,
                                   description=description, recorded_by=user.id if user else None,
                                   **fields)
        audit.record(kind, entry, user=user, changes={
            "volunteer": volunteer_id, "points": points, "hours": fields.get("hours", 0),
            "description": description, **({"item": fields["item"]} if fields.get("item") else {}),
            **({"corrects": fields["corrects"]} if fields.get("corrects") else {})})
    return entry


def earn(volunteer_id, points, hours, *, description, event=None, signup=None, organiser=None, user=None):
    """Service credited by whoever organised it (attendance calls this)."""
    if points < 0:
        raise ServiceError("获得的积分不能为负数")
    return _post(volunteer_id, EntryKind.EARNED, points, description=description, user=user,
                 hours=hours, event=event, signup=signup, organiser=organiser)


def add_honour_hours(volunteer_id, hours, description, *, organiser=None, user=None, note=None):
    """荣誉时长: hours back-filled by a clerk, marked as such, earning no points."""
    volunteer = get_volunteer(volunteer_id)
    hours = parse_hours(hours, label="荣誉时长")
    description = clean_text(description, "荣誉时长的来由（如哪项服务、何时）")
    return _post(volunteer.id, EntryKind.HONOUR, 0, description=f"荣誉时长：{description}", user=user,
                 hours=hours, organiser=organiser, note=clean_text(note, "备注", required=False, max_length=2000))


def exchange(volunteer_id, amount, item, *, user=None, note=None):
    """积分兑换 for goods or a service; refused when the balance would go below zero."""
    volunteer = get_volunteer(volunteer_id)
    amount = parse_points(amount, label="兑换积分")
    item = clean_text(item, "兑换的物品或服务", max_length=100)
    return _post(volunteer.id, EntryKind.EXCHANGED, -amount, description=f"积分兑换：{item}",
                 item=item, user=user, note=clean_text(note, "备注", required=False, max_length=2000))


def correct(entry_id, *, points=0, hours=0, reason, user=None):
    """A correction is a new entry naming the one it corrects; nothing is edited."""
    original = get_or_404(PointsEntry, entry_id, "要更正的积分流水不存在")
    points_text = str(points if points is not None else "").strip() or "0"
    hours_text = str(hours if hours is not None else "").strip() or "0"
    try:
        points = int(points_text)
    except ValueError:
        raise ServiceError("更正积分必须是整数（可为负数）", field="points")
    if abs(points) > MAX_POINTS:
        raise ServiceError(f"更正积分不能超过 {MAX_POINTS}", field="points")
    hours = parse_hours(hours_text, label="更正时长", allow_negative=True, allow_zero=True)
    if points == 0 and hours == 0:
        raise ServiceError("更正的积分和时长不能都为零")
    reason = clean_text(reason, "更正原因")
    return _post(original.volunteer_id, EntryKind.CORRECTED, points, user=user,
                 description=f"更正第 {original.id} 条流水：{reason}", hours=hours,
                 corrects=original.id, event=original.event_id, organiser=original.organiser_id)


def expire_points(*, as_of=None, user=None):
    """Write expiry entries for points older than ``POINTS_EXPIRE_MONTHS`` (0: never).

    First in, first out: what a volunteer has spent, expired or had corrected away
    counts against the oldest points first. Returns the entries written.
    """
    months = int(_config("POINTS_EXPIRE_MONTHS", 0) or 0)
    if months <= 0:
        return []
    as_of = as_of or now()
    year, month = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    cutoff = as_of.replace(year=year, month=month + 1, day=min(as_of.day, 28))
    gained = fn.SUM(PointsEntry.points).filter((PointsEntry.points > 0) & (PointsEntry.created_at < cutoff))
    used = fn.SUM(PointsEntry.points).filter(PointsEntry.points < 0)
    rows = (PointsEntry.select(PointsEntry.volunteer, fn.COALESCE(gained, 0), fn.COALESCE(used, 0))
            .group_by(PointsEntry.volunteer).tuples())
    written = []
    for volunteer_id, old_gain, spent in rows:
        due = int(old_gain) + int(spent)  # spent is negative
        if due <= 0:
            continue
        balance_now = Volunteer.select(Volunteer.points_balance).where(Volunteer.id == volunteer_id).scalar()
        due = min(due, balance_now or 0)
        if due > 0:
            written.append(_post(volunteer_id, EntryKind.EXPIRED, -due, user=user,
                                 description=f"积分过期：{cutoff:%Y-%m-%d} 前获得的积分超过 {months} 个月未使用"))
    return written


# --- reading ------------------------------------------------------------------------

def balance(volunteer_id):
    """The ledger's sum: the balance by definition."""
    total = PointsEntry.select(fn.SUM(PointsEntry.points)).where(PointsEntry.volunteer == volunteer_id).scalar()
    return int(total or 0)


def verify_balances():
    """Volunteers whose cached balance differs from the ledger sum: [(id, cached, ledger)]."""
    ledger = (PointsEntry.select(PointsEntry.volunteer, fn.SUM(PointsEntry.points).alias("total"))
              .group_by(PointsEntry.volunteer))
    sums = {vid: int(total or 0) for vid, total in ledger.tuples()}
    out = []
    for vid, cached in Volunteer.select(Volunteer.id, Volunteer.points_balance).tuples():
        if cached != sums.get(vid, 0):
            out.append((vid, cached, sums.get(vid, 0)))
    return out


def rebuild_balances():
    """Set every cached balance to its ledger sum (after a bulk import of entries)."""
    with write_transaction():
        total = (PointsEntry.select(fn.COALESCE(fn.SUM(PointsEntry.points), 0))
                 .where(PointsEntry.volunteer == Volunteer.id))
        return Volunteer.update(points_balance=total).execute()


def _q(hours):
    return Decimal(hours).quantize(Decimal("0.01"))


def format_hours(value):
    """Hours as people read them, the ledger's two decimals: ``50.00``, ``1.50``, ``-0.50``.

    Never ``Decimal.normalize()`` (it prints 50 as ``5E+1``) and never a bare ``str`` of a
    computed Decimal (which may carry an exponent too): fixed-point, always. The one
    formatter of pages, PDFs and the admin lists (the ``hours`` template filter).
    """
    if value is None or value == "":
        return ""
    amount = _q(Decimal(str(value)))
    return f"{amount + 0:f}"  # + 0 turns -0.00 into 0.00


def _day_range(start, end):
    start_at = dt.datetime.combine(start, dt.time.min) if start else None
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min) if end else None
    return start_at, end_at


def statement(volunteer_id, start=None, end=None):
    """志愿服务记录证明: hours and points between two dates (inclusive)."""
    volunteer = get_volunteer(volunteer_id)
    if start and end and start > end:
        raise ServiceError("开始日期不能晚于结束日期")
    start_at, end_at = _day_range(start, end)
    query = (PointsEntry.select(PointsEntry, Event, MemberUnit)
             .join(Event, join_type=JOIN.LEFT_OUTER, on=(PointsEntry.event == Event.id))
             .switch(PointsEntry)
             .join(MemberUnit, join_type=JOIN.LEFT_OUTER, on=(PointsEntry.organiser == MemberUnit.id))
             .where(PointsEntry.volunteer == volunteer.id))
    opening = 0
    if start_at:
        query = query.where(PointsEntry.created_at >= start_at)
        opening = int(PointsEntry.select(fn.SUM(PointsEntry.points)).where(
            PointsEntry.volunteer == volunteer.id, PointsEntry.created_at < start_at).scalar() or 0)
    if end_at:
        query = query.where(PointsEntry.created_at < end_at)
    entries = list(query.order_by(PointsEntry.created_at, PointsEntry.id))
    hours = _q(sum((Decimal(e.hours) for e in entries if e.kind in SERVICE_KINDS), Decimal("0")))
    honour = _q(sum((Decimal(e.hours) for e in entries if e.kind == EntryKind.HONOUR), Decimal("0")))
    by_kind = {}
    for e in entries:
        by_kind[e.kind] = by_kind.get(e.kind, 0) + e.points
    change = sum(e.points for e in entries)
    return {
        "volunteer": volunteer, "start": start, "end": end, "entries": entries,
        "hours": hours, "honour_hours": honour, "service_hours": hours - honour,
        "opening": opening, "change": change, "closing": opening + change,
        "by_kind": [(EntryKind.label(k), v) for k, v in by_kind.items()],
        "events": len({e.event_id for e in entries if e.event_id and e.kind == EntryKind.EARNED}),
    }


def team_summary(year):
    """Members, hours and points earned per team and month of ``year``."""
    from models import VolunteerTeam

    start, end = dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    month = month_of(PointsEntry.created_at)
    rows = (PointsEntry.select(Volunteer.team, month.alias("month"),
                               fn.SUM(PointsEntry.hours).filter(PointsEntry.kind.in_(SERVICE_KINDS)),
                               fn.SUM(PointsEntry.points).filter(PointsEntry.points > 0))
            .join(Volunteer, on=(PointsEntry.volunteer == Volunteer.id))
            .where(PointsEntry.created_at >= start, PointsEntry.created_at < end)
            .group_by(Volunteer.team, month).tuples())
    members = dict(Volunteer.select(Volunteer.team, fn.COUNT(Volunteer.id)).group_by(Volunteer.team).tuples())
    teams = [(t.id, t.name) for t in VolunteerTeam.select().order_by(VolunteerTeam.name)]
    if None in members or any(r[0] is None for r in rows):
        teams.append((None, "未分队"))
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    cells = {(team, m): (_q(Decimal(str(h or 0))), int(p or 0)) for team, m, h, p in rows}
    table = []
    for team_id, name in teams:
        per_month = [cells.get((team_id, m), (Decimal("0"), 0)) for m in months]
        table.append({
            "team": name, "members": members.get(team_id, 0), "months": per_month,
            "hours": sum((c[0] for c in per_month), Decimal("0")), "points": sum(c[1] for c in per_month),
        })
    return {"year": year, "months": months, "rows": table}
