"""Running totals: the dashboard's and the home page's figures in constant time.

The points ledger and the sign-ups only grow (a district reaches a million rows of each
within a few years); summing them on every page view grows with them. So each write
also moves a running total in its own transaction, on a row it already holds:

=========================  ===========================================  ========================
total                      is, by definition                            moved by
=========================  ===========================================  ========================
``Volunteer.points_balance``  SUM(points) of the volunteer's entries       services.points ``_post``
``Volunteer.hours_total``     SUM(hours) of its service entries             the same UPDATE
                              (earned, honour, corrected)
``Volunteer.entry_count``     COUNT of its entries                          the same UPDATE
``Event.signup_count``        COUNT of the event's sign-ups                 services.signups ``register``
``Event.taken_count``         COUNT of its sign-ups holding a place         ``register`` and every
                              (已报名, 已签到)                               move of the sign-up
``Event.waiting_count``       COUNT of its sign-ups waiting (候补)           machine (an after-hook)
=========================  ===========================================  ========================

Figures then sum per volunteer or per event — hundreds of rows, not millions — and
per team through the volunteer's current team, exactly as a join of the ledger would.
The ledger and the sign-ups stay the truth: ``differences()`` compares every total with
them (``flask verify-balances``), ``rebuild()`` recomputes the totals (after a bulk
import, or to repair what ``verify-balances`` found).
"""
import dataclasses
from decimal import Decimal

from peewee import fn

from models import Event, PointsEntry, Signup, SignupStatus, Volunteer, VolunteerTeam

from .common import write_transaction
from .stats import HOUR_KINDS

CENT = Decimal("0.01")


def hours(value):
    """Hours to two decimals (SQLite sums them as floating point; the exact value is the
    nearest hundredth, since every entry has two decimals)."""
    return Decimal(str(value or 0)).quantize(CENT)


# --- what each total is, declared once: used by differences() and rebuild() --------------

@dataclasses.dataclass(frozen=True)
class Total:
    model: type
    field: str
    label: str         # what a clerk reads in verify-balances' report
    truth: object      # a correlated sub-select: the total's value from the ledger / sign-ups
    normalise: object = int


def _ledger(expression, *where):
    return (PointsEntry.select(expression)
            .where(PointsEntry.volunteer == Volunteer.id, *where))


TOTALS = (
    Total(Volunteer, "points_balance", "积分余额",
          _ledger(fn.COALESCE(fn.SUM(PointsEntry.points), 0))),
    Total(Volunteer, "hours_total", "累计服务时长",
          _ledger(fn.COALESCE(fn.SUM(PointsEntry.hours), 0), PointsEntry.kind.in_(HOUR_KINDS)), hours),
    Total(Volunteer, "entry_count", "积分流水条数", _ledger(fn.COUNT(PointsEntry.id))),
    Total(Event, "signup_count", "报名人次",
          Signup.select(fn.COUNT(Signup.id)).where(Signup.event == Event.id)),
    Total(Event, "taken_count", "已占名额",
          Signup.select(fn.COUNT(Signup.id)).where(Signup.event == Event.id,
                                                   Signup.status.in_((SignupStatus.REGISTERED, SignupStatus.CHECKED_IN)))),
    Total(Event, "waiting_count", "候补人数",
          Signup.select(fn.COUNT(Signup.id)).where(Signup.event == Event.id, Signup.status == SignupStatus.WAITLISTED)),
)


@dataclasses.dataclass(frozen=True)
class Difference:
    model: type
    record_id: int
    name: str
    label: str
    cached: object
    actual: object

    def __str__(self):
        return (f"{self.model._meta.verbose_name}#{self.record_id}（{self.name}）{self.label}："
                f"记录为 {self.cached}，按明细应为 {self.actual}")


def differences():
    """Every total that disagrees with the rows it counts, as ``Difference`` objects.

    One pass per total: the cached column beside its correlated sub-select (an index
    scan per row), compared here after normalising (hours to the hundredth)."""
    out = []
    for total in TOTALS:
        model = total.model
        cached = getattr(model, total.field)
        rows = (model.select(model.id, model._meta.fields[_name_field(model)], cached, total.truth)
                .order_by(model.id).tuples().iterator())
        for record_id, name, have, truth in rows:
            have, truth = total.normalise(have), total.normalise(truth)
            if have != truth:
                out.append(Difference(model, record_id, name, total.label, have, truth))
    return out


def _name_field(model):
    return "name" if "name" in model._meta.fields else "title"


def rebuild(models=(Volunteer, Event)):
    """Set every total of ``models`` to what the rows say, in one transaction; returns
    the number of records updated."""
    done = 0
    with write_transaction():
        for model in models:
            values = {getattr(model, t.field): t.truth for t in TOTALS if t.model is model}
            if values:
                done += model.update(values).execute()
    return done


# --- the figures ----------------------------------------------------------------------

def ledger_totals():
    """(entries, service hours) of the whole ledger, from the volunteers' totals."""
    count, total = Volunteer.select(fn.COALESCE(fn.SUM(Volunteer.entry_count), 0),
                                    fn.COALESCE(fn.SUM(Volunteer.hours_total), 0)).tuples().get()
    return int(count), hours(total)


def signup_total():
    """Sign-ups ever made, from the events' counts."""
    return int(Event.select(fn.COALESCE(fn.SUM(Event.signup_count), 0)).scalar() or 0)


def hours_by_team():
    """[(team name, hours)] for every team with service hours (未分队 for volunteers
    without one), most hours first; each volunteer counts with their current team."""
    total = fn.SUM(Volunteer.hours_total)
    rows = (Volunteer.select(Volunteer.team, total)
            .where(Volunteer.hours_total != 0)
            .group_by(Volunteer.team).tuples())
    names = dict(VolunteerTeam.select(VolunteerTeam.id, VolunteerTeam.name).tuples())
    pairs = [(names.get(team, "未分队"), hours(value)) for team, value in rows if hours(value)]
    return sorted(pairs, key=lambda pair: -pair[1])
