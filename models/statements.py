"""Statements of a fixed shape, whose SQL text peewee generates once.

peewee generates a statement's text by walking its expression tree on every call, which
can cost more than running the statement: the session look-up every logged-in request
makes (services/sessions.py) spends 0.28 of its 0.41 ms there. For a statement whose
shape never changes — no branches, no lists of varying length, only its parameters
differ — ``sql_once`` generates the text once per kind of database and the caller runs
it with ``db.execute_sql(text, params)``. The first generation checks that the query's
own parameters are exactly the ones the caller passes, in that order, so a query edited
into another shape fails loudly at once instead of running with misplaced parameters.
(web/ratelimit.py's counter upsert does the same for itself.)

A plain one-row insert — every ``Model.create`` and ``save`` of a new row — keeps its text
per model and set of columns the same way (``OnceInsert``, which ``BaseModel.insert`` makes).

A statement whose shape follows a few values — which sections an account's nav counts, say
— goes through ``shaped``: the caller names the values it depends on (ids, one instant),
the text and where each value lands among the parameters are learnt once per shape, and
later calls only fill the values in (see ``shaped``).

On PostgreSQL the server then also parses and plans such a statement once per connection:
``execute`` sends ``PREPARE`` the first time a pooled connection runs it and ``EXECUTE``
afterwards (the session look-up: 0.22 → 0.10 ms a request). A prepared statement lives
as long as its connection (it survives a rolled-back transaction); the ``PREPARE`` goes
straight to the driver, so statement counts (tests/querycount.py) see one statement.
"""
import datetime as dt
import re
import weakref

from peewee import Insert, ModelInsert, Node

from .base import db

_texts = {}
# PostgreSQL connection → the names prepared on it
_prepared = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%[s%]")


def sql_once(name, query, params):
    """The SQL text of ``query`` (generated on the first call per ``name`` and kind of
    database); ``params``: the parameters the caller will run it with, which must be
    the query's own. ``query`` may be a function returning it, called only then."""
    key = (name, type(db.obj))
    text = _texts.get(key)
    if text is None:
        if callable(query) and not isinstance(query, Node):  # built only when its text is made
            query = query()
        text, own = db.get_sql_context().sql(query).query()
        if list(own) != list(params):
            raise RuntimeError(f"statement {name!r}: its parameters are {own!r}, not {list(params)!r}")
        _texts[key] = text
    return text


def _numbered(text):
    """psycopg2's ``%s`` placeholders as PostgreSQL's ``$1, $2 …`` (``%%`` is a literal %)."""
    count = [0]

    def number(match):
        if match.group() == "%%":
            return "%"
        count[0] += 1
        return f"${count[0]}"

    return _PLACEHOLDER.sub(number, text), count[0]


def execute(name, query, params):
    """A cursor of ``query`` run with ``params``: its text generated once, and on
    PostgreSQL prepared once per connection."""
    return _run(name, sql_once(name, query, params), params)


def _run(name, text, params):
    """Run ``text`` (known as ``name``) with ``params``; on PostgreSQL prepared once per
    connection."""
    database = db.obj
    from peewee import PostgresqlDatabase

    if not isinstance(database, PostgresqlDatabase):
        return database.execute_sql(text, tuple(params))
    connection = getattr(database, "unstarted_connection", database.connection)()
    done = _prepared.get(connection)
    if done is None or name not in done:
        body, count = _numbered(text)
        if count != len(params):
            raise RuntimeError(f"statement {name!r}: {count} placeholders for {len(params)} parameters")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'PREPARE "hsl_{name}" AS {body}')
        except Exception:  # noqa: BLE001 - a dropped connection: run it plainly (the pool retries)
            return database.execute_sql(text, tuple(params))
        _prepared.setdefault(connection, set()).add(name)
    placeholders = ", ".join(["%s"] * len(params))
    return database.execute_sql(f'EXECUTE "hsl_{name}" ({placeholders})', tuple(params))


_EXECUTE = re.compile(r'EXECUTE "hsl_(\w+)" \(')


def text_of(sql):
    """The SQL an ``EXECUTE`` of ours runs (for statement logs and counts), else ``sql``."""
    match = _EXECUTE.match(sql)
    if match:
        for (name, _kind), text in _texts.items():
            if name == match.group(1):
                return text
    return sql


def rows(name, query, params):
    """The model rows of ``query`` (joined models attached, as iterating it gives),
    run with the text ``sql_once`` keeps for ``name`` (prepared on PostgreSQL)."""
    return query._get_cursor_wrapper(execute(name, query, params))


# --- statements built from a few values ----------------------------------------------------

_shapes = {}
_UNSAFE = "unsafe"
# values no row holds and no clock shows, one set per probe
_PROBES = ((-7_340_001, dt.datetime(1901, 1, 1)), (-7_350_001, dt.datetime(1902, 3, 4, 5, 6, 7)))


def _generate(query):
    text, params = db.get_sql_context().sql(query).query()
    return text, list(params)


def _probe(slots, number):
    first_id, instant = _PROBES[number]
    probe = {}
    for i, (name, value) in enumerate(slots.items()):
        if value is None:
            probe[name] = None
        elif isinstance(value, dt.datetime):
            probe[name] = instant + dt.timedelta(hours=i)
        elif isinstance(value, int) and not isinstance(value, bool):
            probe[name] = first_id - i
        else:
            return None  # only ids and instants are told apart
    return probe


def _learn(params, probes, slots):
    """Where each slot lands among ``params``, from the parameters of the same query built
    with the real slots and with two probes: a constant, ``("slot", name)`` or ``("after",
    name, offset)`` (an instant a fixed time from the slot's). None when a parameter follows
    the slots in any other way."""
    template = []
    for i, value in enumerate(params):
        seen = [p[1][i] for p in probes]
        if all(v == value for v in seen):
            template.append(("const", value))
            continue
        found = None
        for name in slots:
            if all(probe[name] is not None and v == probe[name] for (probe, _), v in zip(probes, seen)):
                found = ("slot", name)
                break
            if isinstance(slots[name], dt.datetime) and all(isinstance(v, dt.datetime) for v in seen):
                offsets = {v - probe[name] for (probe, _), v in zip(probes, seen)}
                if len(offsets) == 1:
                    found = ("after", name, offsets.pop())
                    break
        if found is None:
            return None
        template.append(found)
    return template


def _fill(template, slots):
    out = []
    for entry in template:
        if entry[0] == "const":
            out.append(entry[1])
        elif entry[0] == "slot":
            out.append(slots[entry[1]])
        else:
            out.append(slots[entry[1]] + entry[2])
    return out


def execute_shaped(name, build, slots, shape=()):
    """A cursor of ``shaped(…)``'s statement; on PostgreSQL, a shape that was learnt is also
    prepared once per connection (the nav's counts: parsing and planning its sub-selects
    took most of its 0.9 ms on the server)."""
    text, params, known = _shaped(name, build, slots, shape)
    if known is None:
        return db.execute_sql(text, params)
    return _run(known, text, params)


def shaped(name, build, slots, shape=()):
    """(SQL text, parameters) of ``build(**slots)``, peewee's work done once per shape.

    ``slots``: the ids (or None) and instants the statement depends on; ``shape``: whatever
    else decides its form (a role, the sections that count). The first call per shape builds
    the query three times — with the real slots and with two sets of probe values no row
    holds — and learns from the three parameter lists which are constants and where each
    slot lands (an instant may land shifted by a fixed time: ``at - 1 day``). It keeps that
    only if the texts agree and the learnt parameters reproduce the real ones; a shape that
    cannot be learnt is generated on every call, as before. A later call fills the slots in:
    about 0.02 ms instead of 0.5 for the nav's counts."""
    return _shaped(name, build, slots, shape)[:2]


def _shaped(name, build, slots, shape):
    """``shaped``'s (text, parameters) and, for a learnt shape, the name it is known by."""
    key = (name, type(db.obj), shape, tuple(v is None for v in slots.values()))
    entry = _shapes.get(key)
    if entry is not None and entry != _UNSAFE:
        text, template, known = entry
        return text, _fill(template, slots), known
    text, params = _generate(build(**slots))
    if entry is None:
        learnt = None
        probes = [_probe(slots, n) for n in range(len(_PROBES))]
        if None not in probes:
            built = [(probe, _generate(build(**probe))) for probe in probes]
            if all(t == text for _, (t, _p) in built):
                learnt = _learn(params, [(probe, p) for probe, (_t, p) in built], slots)
        if learnt is not None and _fill(learnt, slots) != params:
            learnt = None
        if learnt is None:
            _shapes[key] = _UNSAFE
        else:
            known = f"{name}_{len(_shapes)}"
            _texts[(known, key[1])] = text  # text_of tells what its EXECUTE runs
            _shapes[key] = (text, learnt, known)
    return text, params, None


# --- one-row inserts ------------------------------------------------------------------------

_inserts = {}


class OnceInsert(ModelInsert):
    """A one-row ``INSERT`` whose text is generated once per model, set of columns, kind of
    database and RETURNING clause; later rows only convert their values (``field.db_value``),
    in the order peewee put the columns. The first generation checks that order and those
    values against peewee's own parameters; a kind that does not match, and a row holding an
    SQL expression, are generated by peewee as usual. Saves ~0.15 ms a row (a sign-up writes
    two: the sign-up and its audit row)."""

    def _once_key(self, ctx):
        if (self._query_type != Insert.SIMPLE or not isinstance(self._insert, dict) or self._columns
                or self._on_conflict is not None or self._cte_list or ctx.state.value_literals
                or ctx.state.converter is not None or len(ctx._sql) or len(ctx._values)):
            return None
        return (self.model, frozenset(self._insert), self._returning, ctx.state.param, type(db.obj))

    def _once_params(self, columns):
        row, defaults = self._insert, self.model._meta.defaults
        params = []
        for column in columns:
            if column in row:
                value = row[column]
            elif column in defaults:
                value = defaults[column]() if callable(defaults[column]) else defaults[column]
            else:
                value = None
            if isinstance(value, Node) and not (getattr(column, "rel_model", None) and hasattr(value, "_pk")):
                return None
            value = column.db_value(value)
            if isinstance(value, Node):
                return None
            params.append(value)
        return params

    def __sql__(self, ctx):
        key = self._once_key(ctx)
        known = _inserts.get(key) if key is not None else None
        if known:
            text, columns = known
            params = self._once_params(columns)
            if params is not None:
                ctx._sql.append(text)
                ctx._values.extend(params)
                return ctx
        super().__sql__(ctx)
        if key is not None and known is None:
            columns = sorted(set(self._insert) | set(self.model._meta.defaults), key=lambda f: f.get_sort_key(ctx))
            text = "".join(ctx._sql)
            _inserts[key] = (text, columns) if self._once_params(columns) == list(ctx._values) else False
        return ctx
