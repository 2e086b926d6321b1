"""One transition primitive for every state machine (claims, sign-ups, work orders,
projects, events; later resident needs and 微心愿).

A machine is a table. Each ``Transition`` names the move, the states it may start from,
the state it leads to, its Chinese label (buttons and messages), who may make it (a named
predicate of ``auth/permissions.py``, asked with the record, or ``SYSTEM`` for moves only
services make), the timestamp column it sets and an optional guard::

    ORDERS = Machine(WorkOrder, OrderStatus, [
        Transition("dispatch", (ACCEPTED, REDO), DISPATCHED, "派单", "records.manage",
                   stamp="dispatched_at"),
        Transition("redo", (RATED,), REDO, "二次办理", "records.manage", stamp="reopened_at",
                   guard=lambda order: None if order.rating == "unsatisfied" else "只有…"),
    ], closed=(RATED, REVOKED))

``Machine.move(obj, name, user=…, values=…, changes=…)`` is the only way a status changes:

- it checks the move — unknown (400), not this user's to make (403), not from this state
  or refused by the guard (409) — with one Chinese message shape:
  "<实体>当前为“<状态>”，不能<动作>[：<原因>]";
- inside one write transaction it re-reads (on PostgreSQL: locks) the row, so the guard
  judges current data, then ``UPDATE … SET status = <to>, <stamp> = now, updated_at = now,
  <values> WHERE id = ? AND status = <from>``: a record moved since the caller read it, or
  0 rows, is "刚被他人处理" (409), so two people clicking at once never both succeed;
- it writes the audit row and runs the ``after`` hooks (the transition's, then the
  machine's) in the same transaction: side effects (slot counters, promotions, cascades;
  later work-order steps and notices) commit or roll back with the move.

``Machine.allowed(obj, user)`` lists the moves ``user`` may make now: admin and public
buttons come from it.

Who moves: ``user`` is the acting account, checked against ``who``. ``user=None`` is
trusted code that established its authority itself (the command line, a resident proven
by phone number and check-in code). ``system=True`` marks a consequence a service makes
(a waiting-list promotion, a project filling up, a cascade): ``who`` is not asked and
``user`` is recorded in the audit row as the person whose action caused it.
"""
from dataclasses import dataclass, field as dc_field
from typing import Callable, Optional

from peewee import Node

from auth.permissions import PERMISSIONS, can
from models import now
from models.exposure import DeclarationError

from . import audit
from .common import write_transaction
from .errors import Conflict, Forbidden, ServiceError
from .stats import on_postgres

SYSTEM = "system"
REFUSAL = "{noun}当前为“{state}”，不能{label}"
CLOSED_REFUSAL = "{noun}已关闭（{state}），不能{label}"
RACE = "该{noun}刚被他人处理，请刷新后重试"

# every machine, by model name: declarations are checked when they are built, and a
# later cross-cutting piece (notices) may subscribe to all of them with ``add_after``
MACHINES = {}


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple
    target: str
    label: str                          # Chinese, for buttons and messages
    who: str                            # a permission name, or SYSTEM
    stamp: Optional[str] = None         # the timestamp column the move sets
    guard: Optional[Callable] = None    # guard(obj) -> Chinese reason to refuse, or None
    after: Optional[Callable] = None    # after(moved), inside the move's transaction
    audit: Optional[str] = None         # the audit action; the transition's name if None
    ask: Optional[str] = None           # the label of the text a person must give (原因);
                                        # forms show it, the service checks it
    confirm: Optional[str] = None       # what a button warns before the move

    @property
    def action(self):
        return self.audit or self.name


@dataclass
class Moved:
    """What an ``after`` hook receives: the record already carries its new state."""

    machine: "Machine"
    transition: Transition
    obj: object
    source: str
    user: object
    at: object
    changes: dict = dc_field(default_factory=dict)


class Machine:
    def __init__(self, model, states, transitions, *, closed=(), refusal=REFUSAL, after=(),
                 field="status"):
        self.model = model
        self.states = states
        self.field = field
        self.closed = tuple(closed)
        self.refusal_shape = refusal
        self.transitions = {}
        self._after = list(after) if isinstance(after, (list, tuple)) else [after] if after else []
        for transition in transitions:
            self._declare(transition)
        MACHINES[model.__name__] = self

    def _declare(self, t):
        where = f"{self.model.__name__} transition {t.name!r}"
        codes = set(self.states.codes())
        if t.name in self.transitions:
            raise DeclarationError(f"{where} is declared twice")
        if not t.sources or not set(t.sources) <= codes or t.target not in codes:
            raise DeclarationError(f"{where}: unknown state in {t.sources} → {t.target}")
        if t.who != SYSTEM and t.who not in PERMISSIONS:
            raise DeclarationError(f"{where}: unknown permission {t.who!r}")
        if t.stamp and t.stamp not in self.model._meta.fields:
            raise DeclarationError(f"{where}: {self.model.__name__} has no column {t.stamp!r}")
        if self.field not in self.model._meta.fields or not set(self.closed) <= codes:
            raise DeclarationError(f"{self.model.__name__}: bad status field or closed states")
        self.transitions[t.name] = t

    # -- reading the table ------------------------------------------------------------

    @property
    def noun(self):
        return self.model._meta.verbose_name

    def __getitem__(self, name):
        return self.transitions[name]

    def __iter__(self):
        return iter(self.transitions.values())

    def add_after(self, hook):
        """Run ``hook(moved)`` after every move of this machine, in its transaction."""
        self._after.append(hook)
        return hook

    def refusal(self, obj, transition, reason=None):
        """The one Chinese message shape for a move this record cannot make."""
        state = getattr(obj, self.field)
        shape = CLOSED_REFUSAL if state in self.closed else self.refusal_shape
        text = shape.format(noun=self.noun, state=self.states.label(state), label=transition.label,
                            target=self.states.label(transition.target))
        return f"{text}：{reason}" if reason else text

    def check(self, obj, name, *, user=None, system=False, guard=True):
        """The transition ``name`` if ``user`` may make it on ``obj`` now, else the refusal
        (ServiceError 400, Forbidden 403 or Conflict 409)."""
        t = self.transitions.get(name)
        if t is None:
            raise ServiceError(f"不支持的{self.noun}操作")
        if not system:
            if t.who == SYSTEM:
                raise Forbidden(f"“{t.label}”由系统自动完成，不能手动操作")
            if user is not None and not can(user, t.who, obj):
                if not getattr(user, "is_authenticated", False):
                    raise Forbidden(f"请先登录后再{t.label}")
                raise Forbidden(f"您没有权限{t.label}")
        if getattr(obj, self.field) not in t.sources:
            raise Conflict(self.refusal(obj, t))
        if guard:
            self._guard(obj, t)
        return t

    def _guard(self, obj, t):
        reason = t.guard(obj) if t.guard else None
        if reason:
            raise Conflict(self.refusal(obj, t, reason))

    def why_not(self, obj, name, user=None):
        """The refusal ``move`` would give, or None when the move is open."""
        try:
            self.check(obj, name, user=user)
        except ServiceError as exc:
            return exc.message
        return None

    def allowed(self, obj, user=None, *, guards=True):
        """The moves ``user`` may make on ``obj`` now (never SYSTEM moves). ``guards=False``
        skips the guards (a list page: the refusal shows when the button is used)."""
        state = getattr(obj, self.field)
        out = []
        for t in self.transitions.values():
            if t.who == SYSTEM or state not in t.sources:
                continue
            if user is not None and not can(user, t.who, obj):
                continue
            if guards and t.guard and t.guard(obj):
                continue
            out.append(t)
        return out

    # -- the move -----------------------------------------------------------------------

    def move(self, obj, name, *, user=None, system=False, values=None, changes=None):
        """Make the move or refuse it; returns ``obj`` carrying its new state.

        ``values`` are more columns the same UPDATE sets (peewee expressions allowed, e.g.
        ``WorkOrder.redo_count + 1``); ``changes`` are extra facts for the audit row.
        """
        t = self.check(obj, name, user=user, system=system, guard=False)
        source = getattr(obj, self.field)
        pk = self.model._meta.primary_key
        status = self.model._meta.fields[self.field]
        with write_transaction():
            # the row as it is now, locked on PostgreSQL (SQLite's write lock is taken
            # already): the guard judges current data, and a record someone else moved
            # since the caller read it is a conflict, never a move from a state unseen.
            # Services that also touch a parent row lock the parent first (one order).
            query = self.model.select().where(pk == obj.get_id())
            if on_postgres():
                query = query.for_update()
            current = query.first()
            if current is None or getattr(current, self.field) != source:
                raise Conflict(RACE.format(noun=self.noun))
            obj.__data__.update(current.__data__)
            obj.__rel__.clear()  # related rows a guard reads are read afresh too
            self._guard(obj, t)
            at = now()
            row = {self.field: t.target}
            if "updated_at" in self.model._meta.fields:
                row["updated_at"] = at
            if t.stamp:
                row[t.stamp] = at
            row.update(values or {})
            updated = self.model.update(**row).where(pk == obj.get_id(), status == source).execute()
            if not updated:
                raise Conflict(RACE.format(noun=self.noun))
            computed = [k for k, v in row.items() if isinstance(v, Node)]
            for key, value in row.items():
                if key not in computed:
                    setattr(obj, key, value)
            if computed:  # read back what the database computed (counters)
                fields = [self.model._meta.fields[k] for k in computed]
                for key, value in zip(computed, self.model.select(*fields).where(pk == obj.get_id()).tuples().get()):
                    obj.__data__[key] = value
            logged = {self.field: [source, t.target]}
            if t.stamp:
                logged[t.stamp] = at
            logged.update({k: obj.__data__.get(k) for k in (values or {})})  # foreign keys as ids
            logged.update(changes or {})
            audit.record(t.action, obj, changes=logged, user=user)
            moved = Moved(self, t, obj, source, user, at, logged)
            if t.after:
                t.after(moved)
            for hook in self._after:
                hook(moved)
        return obj
