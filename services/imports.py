"""Bringing a clerk's spreadsheet in: upload → check (the preview) → confirm (the import).

- ``upload`` stores the file in ``ImportJob.data``: the preview and the confirmation may be
  answered by different app servers.
- ``check`` reads the file as a stream (services/spreadsheets.py), converts every cell by its
  column's declaration (models/sheets.py), matches each row to a record by the entity's
  natural key, and counts what would be created, changed or left alone. It writes nothing
  but the job's report: every problem as row + column + Chinese message.
- ``confirm`` runs the same pass again inside one transaction that holds the entity's import
  lock, this time writing: all or nothing, one audit row per record. Re-reading under the lock
  is what makes two clerks importing the same file at once create each record once — the
  second import finds the first one's rows and leaves them unchanged.

Both passes hold one batch of rows (``BATCH``) and the keys seen so far, never the file's rows,
so a 50,000-row file is checked and imported in bounded memory. Large files run in a
background thread (``start``) and report progress through the job row, which any server can
read; a job whose worker died is taken over by the next page that looks at it.
"""
import datetime as dt
import decimal
import hashlib
import json
import re
import threading
import zlib
from dataclasses import dataclass, field as dc_field
from pathlib import PurePath

from flask import current_app, has_app_context

from models import ALL_MODELS, AuditLog, ImportJob, ImportStatus, db, now
from models.base import display_field
from models.bounds import DATE_RANGE_TEXT, date_in_range
from models.sheets import normalise_header, sheet_of

from . import audit
from .common import get_or_404, write_transaction
from .dates import format_datetime, parse_date, parse_datetime
from .errors import Conflict, ServiceError
from .spreadsheets import EXCEL_CELL_MAX, Formula, SpreadsheetError, read_rows
from .stats import on_postgres

BATCH = 500
MAX_PROBLEMS_KEPT = 500  # the report keeps this many; the count is always exact
MAX_CHANGES_KEPT = 100
PROGRESS_EVERY = 1000
STALE_CHECK_SECONDS = 120
STALE_APPLY_SECONDS = 1800
LOCK_BASE = 0x1D9A0000  # PostgreSQL advisory-lock namespace of imports

DEFAULTS = {
    "IMPORT_MAX_BYTES": 10 * 1024 * 1024,
    "IMPORT_MAX_ROWS": 100_000,
    "IMPORT_INLINE_BYTES": 256 * 1024,  # bigger files are checked and imported in the background
}

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓", "对"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "✗", "不是"}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def setting(name):
    if has_app_context():
        return current_app.config.get(name, DEFAULTS[name])
    return DEFAULTS[name]


def model_for(entity):
    model = next((m for m in ALL_MODELS if m._meta.table_name == entity), None)
    if model is None or not sheet_of(model).importable:
        raise ServiceError("不支持导入这类记录", status=404)
    return model


# --- cells ----------------------------------------------------------------------------

class CellError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _short(value, limit=20):
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _text(raw):
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, dt.datetime):
        return format_datetime(raw)
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = str(raw).replace("\r\n", "\n").replace("\r", "\n").strip()
    # the export makes formula-like text inert with a leading quote; take it off again
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        text = text[1:]
    return text


@dataclass
class Lookups:
    """Names of related records (and vocabularies), loaded once per pass."""

    by_name: dict = dc_field(default_factory=dict)  # model -> {name: id}
    by_id: dict = dc_field(default_factory=dict)  # model -> {id: name}
    vocab: dict = dc_field(default_factory=dict)  # model -> [names]

    def names(self, model):
        if model not in self.by_name:
            label = display_field(model)
            pairs = list(model.select(model._meta.primary_key, label).tuples())
            self.by_name[model] = {str(name).strip(): pk for pk, name in pairs if name is not None}
            self.by_id[model] = {pk: name for pk, name in pairs}
        return self.by_name[model]

    def vocabulary(self, column):
        model = column.field.vocabulary_model()
        if model not in self.vocab:
            self.vocab[model] = [n for (n,) in model.select(model.name).order_by(model.sort_order, model.name).tuples()]
        return self.vocab[model]


def convert(column, raw, lookups):
    """The value a cell means for ``column``; CellError with a Chinese message otherwise."""
    header = column.header
    if isinstance(raw, Formula):
        raise CellError(f"「{header}」是公式「{_short(raw, 30)}」。平台不计算公式，按文字看待；"
                        "请改为直接填写的值后再导入")
    if isinstance(raw, str) and len(raw) > EXCEL_CELL_MAX:
        raise CellError(f"「{header}」内容过长（{len(raw):,} 个字），超过表格单元格上限 {EXCEL_CELL_MAX:,} 个字")
    text = _text(raw) if raw is not None else ""
    if text == "":
        if column.key or column.required:
            raise CellError(f"缺少必填值：「{header}」不能为空")
        return None if column.field.null else column.default
    if CONTROL.search(text):
        raise CellError(f"「{header}」含有不可见的控制字符，请删除后再导入")
    kind = column.kind
    if kind in ("text", "phone") and column.max_length and len(text) > column.max_length:
        raise CellError(f"「{header}」最多 {column.max_length:,} 个字，这里有 {len(text):,} 个字")
    if kind == "text":
        return text
    if kind == "phone":  # the one normal form of models/fields.py (+86, spaces, full-width digits …)
        try:
            return column.field.normalise(text)
        except ValueError as exc:
            raise CellError(f"「{header}」不是有效的电话号码：「{_short(text)}」（{exc}）")
    if kind == "choice":
        for code, label in column.choices:
            if text == label or text.lower() == str(code).lower():
                return code
        allowed = "、".join(label for _, label in column.choices)
        raise CellError(f"「{header}」的值「{_short(text)}」不在可选列表中（可选：{allowed}）")
    if kind == "vocabulary":
        names = lookups.vocabulary(column)
        if text not in names:
            raise CellError(f"「{header}」的值「{_short(text)}」不在{column.field.vocabulary_model()._meta.verbose_name}"
                            f"列表中；可先在系统中添加这个分类")
        return text
    if kind == "bool":
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise CellError(f"「{header}」应填写“是”或“否”，这里是「{_short(text)}」")
    if kind == "integer":
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if value is None:
            cleaned = text.replace(",", "").replace("，", "")
            if re.fullmatch(r"[+-]?\d{1,12}(\.0+)?", cleaned):
                value = int(float(cleaned)) if "." in cleaned else int(cleaned)
        if value is None:
            raise CellError(f"「{header}」应为整数，这里是「{_short(text)}」")
        lo, hi = getattr(column.field, "min_value", None), getattr(column.field, "max_value", None)
        if lo is None:
            lo = -2**31
        if hi is None:
            hi = 2**31 - 1
        if not lo <= value <= hi:
            raise CellError(f"「{header}」应在 {lo} 到 {hi} 之间，这里是 {value}")
        return value
    if kind == "decimal":
        try:
            value = decimal.Decimal(text.replace(",", ""))
        except decimal.InvalidOperation:
            raise CellError(f"「{header}」应为数字，这里是「{_short(text)}」")
        if not value.is_finite() or abs(value) >= 10**6:
            raise CellError(f"「{header}」的数值超出范围")
        return value
    if kind == "date":
        value = raw.date() if isinstance(raw, dt.datetime) else raw if isinstance(raw, dt.date) else parse_date(text)
        if value is None:
            raise CellError(f"「{header}」不是有效日期：「{_short(text)}」（格式如 2026-12-01）")
        if not date_in_range(value):
            raise CellError(f"「{header}」须在 {DATE_RANGE_TEXT} 之间，这里是 {value.isoformat()}")
        return value
    if kind == "datetime":
        if isinstance(raw, dt.datetime):
            value = raw.replace(microsecond=0)
        elif isinstance(raw, dt.date):
            value = dt.datetime.combine(raw, dt.time())
        else:
            value = parse_datetime(text)
        if value is None:
            raise CellError(f"「{header}」不是有效的日期时间：「{_short(text)}」（格式如 2026-12-01 09:00）")
        if not date_in_range(value):
            raise CellError(f"「{header}」须在 {DATE_RANGE_TEXT} 之间，这里是 {format_datetime(value)}")
        return value
    if kind == "relation":
        model = column.related
        pk = lookups.names(model).get(text)
        if pk is None:
            raise CellError(f"「{header}」中的「{_short(text)}」在系统中不存在"
                            f"（请先添加这个{model._meta.verbose_name}，或检查名称是否写错）")
        return pk
    raise CellError(f"「{header}」无法识别")  # pragma: no cover - every kind is handled above


def shown(column, value, lookups):
    """A value as the preview shows it."""
    if value is None or value == "":
        return "（空）"
    kind = column.kind
    if kind == "choice":
        return dict(column.choices).get(value, value)
    if kind == "bool":
        return "是" if value else "否"
    if kind == "relation":
        lookups.names(column.related)
        return str(lookups.by_id[column.related].get(value, value))
    if kind == "datetime" and isinstance(value, dt.datetime):
        return format_datetime(value)
    return _short(value, 60)


def _same(column, current, new):
    if column.kind == "text" or column.kind == "vocabulary":
        norm = lambda v: ("" if v is None else str(v).replace("\r\n", "\n").strip())  # noqa: E731
        return norm(current) == norm(new)
    if column.kind == "decimal" and current is not None and new is not None:
        return decimal.Decimal(str(current)) == decimal.Decimal(str(new))
    if column.kind == "datetime" and isinstance(current, dt.datetime):
        current = current.replace(microsecond=0)
    if column.kind == "bool" and current is not None:
        current = bool(current)
    return current == new


# --- entity rules an import keeps (the same as the admin forms and services) -------------

class Rules:
    """Per-entity hooks: what a new record starts as, extra checks, what follows a write."""

    def prepare_create(self, values):
        return values

    def problems(self, record, values, changes):
        return []

    def after_update(self, record, changes, user):
        pass


class ProjectRules(Rules):
    def prepare_create(self, values):
        from models import ProjectStatus

        if values.get("published"):  # as the machine's 发布并开放认领 would leave it
            values.setdefault("status", ProjectStatus.OPEN)
            values.setdefault("opened_at", now())
        else:
            values.setdefault("status", ProjectStatus.DRAFT)
        return values

    def problems(self, record, values, changes):
        if record is None or "slots" not in changes:
            return []
        slots = changes["slots"][1]
        if slots < record.live_claims:
            return [("slots", f"已有 {record.live_claims} 个单位认领（含待审核），认领名额不能少于 {record.live_claims}")]
        return []

    def after_update(self, record, changes, user):
        from . import projects

        if "slots" in changes:  # 待认领 ⇄ 已认领 follows the slots, through the project machine
            projects.sync_status(record.id, user=user)


class EventRules(Rules):
    def after_update(self, record, changes, user):
        from . import signups

        old, new = changes.get("capacity", (0, 0))
        if "capacity" in changes and (new == 0 or (old and new > old)):
            signups.fill_free_places(record.id, user=user)


RULES = {"Project": ProjectRules(), "Event": EventRules()}


# --- the pass over a file ---------------------------------------------------------------

@dataclass
class Report:
    headers: list = dc_field(default_factory=list)
    ignored: list = dc_field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problem_count: int = 0
    problems: list = dc_field(default_factory=list)
    changes: list = dc_field(default_factory=list)

    def problem(self, row, column, message):
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append([row, column, message])

    def wants_changes(self):
        return len(self.changes) < MAX_CHANGES_KEPT

    def change(self, row, action, label, fields):
        if self.wants_changes():
            self.changes.append({"row": row, "action": action, "label": label, "fields": fields})

    def as_json(self):
        self.problems.sort(key=lambda p: p[0])  # by row; within a row in column order (a stable sort)
        return json.dumps({"headers": self.headers, "ignored": self.ignored, "problems": self.problems,
                           "changes": self.changes}, ensure_ascii=False)


def _blank(cells):
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def map_headers(sheet, cells):
    """{cell index: Column} from the header row; SpreadsheetError for wrong or missing headers."""
    by_header = {normalise_header(c.header): c for c in sheet.columns}
    mapping, unknown, seen = {}, [], {}
    for index, cell in enumerate(cells):
        if cell is None or not str(cell).strip():
            continue
        header = normalise_header(_text(cell))
        column = by_header.get(header)
        if column is None:
            unknown.append(_short(str(cell).strip(), 30))
            continue
        if column.name in seen:
            raise SpreadsheetError(f"表头中「{column.header}」出现了两次（第 {seen[column.name]} 列和第 {index + 1} 列），请只保留一列。")
        seen[column.name] = index + 1
        mapping[index] = column
    expected = "、".join(c.header for c in sheet.columns)
    if not mapping:
        raise SpreadsheetError(f"第一行不是{sheet.model._meta.verbose_name}表的表头。"
                               f"第一行应为这些列名：{expected}。请下载导入模板，按模板填写。")
    if unknown:
        raise SpreadsheetError(f"表头中有无法识别的列：{'、'.join(unknown)}。可用的列名：{expected}。"
                               "请删除或改正这些列（列名须与导入模板一致）。")
    present = {c.name for c in mapping.values()}
    missing = [c.header for c in sheet.writable if (c.key or c.required) and c.name not in present]
    if missing:
        raise SpreadsheetError(f"缺少必填列：{'、'.join(missing)}。请使用导入模板，保留这些列。")
    return mapping


class Pass:
    """One reading of the file: checking only, or checking and writing (``writer``)."""

    def __init__(self, model, data, *, progress=None, writer=None):
        self.model = model
        self.sheet = sheet_of(model)
        self.data = data
        self.progress = progress
        self.writer = writer
        self.rules = RULES.get(model.__name__, Rules())
        self.lookups = Lookups()
        self.report = Report()
        self.seen = {}  # key -> first row number
        self.seen_unique = {}  # (column name, value) -> first row number

    def run(self):
        rows = read_rows(self.data, max_rows=setting("IMPORT_MAX_ROWS"))
        mapping = None
        batch = []
        for number, cells in rows:
            if _blank(cells):
                continue
            if mapping is None:
                mapping = map_headers(self.sheet, cells)
                self.mapping = {i: c for i, c in mapping.items() if not c.readonly}
                self.report.headers = [c.header for c in mapping.values() if not c.readonly]
                self.report.ignored = [c.header for c in mapping.values() if c.readonly]
                continue
            batch.append((number, cells))
            if len(batch) >= BATCH:
                self._batch(batch)
                batch = []
        if mapping is None:
            raise SpreadsheetError("表格是空的：没有找到表头和数据。请下载导入模板，按模板填写。")
        if batch:
            self._batch(batch)
        if self.report.rows == 0:
            raise SpreadsheetError("表格中只有表头，没有数据行。")
        if self.writer:
            self.writer.flush()
        if self.progress:
            self.progress(self.report.rows, final=True)
        return self.report

    # -- one batch ------------------------------------------------------------------------

    def _batch(self, batch):
        report, sheet = self.report, self.sheet
        parsed = []
        for number, cells in batch:
            report.rows += 1
            values, ok = {}, True
            for index, column in self.mapping.items():
                raw = cells[index] if index < len(cells) else None
                try:
                    values[column.name] = convert(column, raw, self.lookups)
                except CellError as exc:
                    report.problem(number, column.header, exc.message)
                    ok = False
            key = tuple(values[n] for n in sheet.key) if all(n in values for n in sheet.key) else None
            if key is not None and None not in key:
                first = self.seen.get(key)
                if first is not None:
                    report.problem(number, sheet.key_label,
                                   f"与第 {first} 行重复（{sheet.key_label}：{self._key_text(key)}），同一条记录只能出现一次")
                    ok = False
                else:
                    self.seen[key] = number
            for column in self._unique_columns():
                value = values.get(column.name)
                if value is None:
                    continue
                first = self.seen_unique.setdefault((column.name, value), number)
                if first != number:
                    report.problem(number, column.header, f"「{column.header}」{shown(column, value, self.lookups)} 与第 {first} 行重复")
                    ok = False
            parsed.append((number, key, values, ok))
        existing = self._existing([key for _, key, _, ok in parsed if ok])
        taken = self._unique_taken(parsed)
        for number, key, values, ok in parsed:
            if ok:
                self._row(number, key, values, existing.get(key, []), taken)
        if self.progress and (report.rows // PROGRESS_EVERY) != ((report.rows - len(batch)) // PROGRESS_EVERY):
            self.progress(report.rows)

    def _unique_columns(self):
        return [c for c in self.mapping.values() if c.field.unique and not c.key]

    def _key_text(self, key):
        return " + ".join(shown(self.sheet.column(n), v, self.lookups) for n, v in zip(self.sheet.key, key))

    def _existing(self, keys):
        """{key: [records]} for the batch, one query."""
        if not keys:
            return {}
        model, names = self.model, self.sheet.key
        query = model.select()
        for i, name in enumerate(names):
            query = query.where(getattr(model, name).in_(list({k[i] for k in keys})))
        out = {}
        wanted = set(keys)
        for record in query:
            key = tuple(record.__data__.get(n) for n in names)
            key = tuple(v.replace(microsecond=0) if isinstance(v, dt.datetime) else v for v in key)
            if key in wanted:
                out.setdefault(key, []).append(record)
        return out

    def _unique_taken(self, parsed):
        """{(column, value): key of the record holding it} for the batch's unique values."""
        out = {}
        for column in self._unique_columns():
            values = list({v[column.name] for _, _, v, ok in parsed if ok and v.get(column.name) is not None})
            if not values:
                continue
            field = getattr(self.model, column.name)
            for record in self.model.select().where(field.in_(values)):
                out[(column.name, record.__data__[column.name])] = tuple(record.__data__.get(n) for n in self.sheet.key)
        return out

    def _row(self, number, key, values, matches, taken):
        report, sheet, model = self.report, self.sheet, self.model
        if len(matches) > 1:
            report.problem(number, sheet.key_label, f"系统中有 {len(matches)} 条{model._meta.verbose_name}的"
                           f"{sheet.key_label}都是「{self._key_text(key)}」，无法确定更新哪一条；请先在系统中处理重复记录")
            return
        record = matches[0] if matches else None
        for column in self._unique_columns():
            value = values.get(column.name)
            holder = taken.get((column.name, value))
            if value is not None and holder is not None and holder != key:
                report.problem(number, column.header, f"「{column.header}」{shown(column, value, self.lookups)} "
                               f"已被其他{model._meta.verbose_name}使用")
                return
        if record is None:
            values = self.rules.prepare_create(dict(values))
            probe = model(**{k: v for k, v in values.items()})
            for column in sheet.writable:
                if column.name not in values and not column.field.null and column.default is not None:
                    setattr(probe, column.name, column.default)
            if not self._clean(number, probe):
                return
            for name, message in self.rules.problems(None, values, {}):
                report.problem(number, sheet.column(name).header, message)
                return
            report.created += 1
            if report.wants_changes():
                report.change(number, "create", self._key_text(key),
                              [[sheet.column(n).header, "", shown(sheet.column(n), v, self.lookups)]
                               for n, v in values.items() if v not in (None, "")])
            if self.writer:
                self.writer.create(values, key)
            return
        changes = {}
        for column in self.mapping.values():
            current = record.__data__.get(column.name)
            if not _same(column, current, values[column.name]):
                changes[column.name] = [current, values[column.name]]
        if not changes:
            report.unchanged += 1
            return
        probe = model(**record.__data__)
        for name, (_, new) in changes.items():
            setattr(probe, name, new)
        if not self._clean(number, probe):
            return
        for name, message in self.rules.problems(record, values, changes):
            report.problem(number, sheet.column(name).header, message)
            return
        report.updated += 1
        if report.wants_changes():
            report.change(number, "update", self._key_text(key),
                          [[self._header(n), shown(self._column(n), old, self.lookups),
                            shown(self._column(n), new, self.lookups)] for n, (old, new) in changes.items()])
        if self.writer:
            self.writer.update(record, changes, self.rules)

    def _column(self, name):
        return self.sheet.column(name)

    def _header(self, name):
        return self._column(name).header

    def _clean(self, number, probe):
        errors = probe.clean()
        for name, message in errors.items():
            header = self._header(name) if name in {c.name for c in self.sheet.columns} else self.sheet.key_label
            self.report.problem(number, header, message)
        return not errors


# --- writing ---------------------------------------------------------------------------

class Writer:
    """Creates in batches (insert_many), updates one by one through ``save`` (so the models'
    own rules run: updated_at, a calendar's sequence), an audit row for every record."""

    def __init__(self, model, *, user, ip):
        self.model = model
        self.sheet = sheet_of(model)
        self.user = user._get_current_object() if hasattr(user, "_get_current_object") else user
        self.user_id = self.user.id if self.user else None
        self.username = self.user.username if self.user else None
        self.ip = ip
        self.stamp = now()
        self.pending = []  # (values, key)
        self.audit_rows = []

    def create(self, values, key):
        self.pending.append((values, key))
        if len(self.pending) >= BATCH:
            self.flush_creates()

    def update(self, record, changes, rules):
        for name, (_, new) in changes.items():
            setattr(record, name, new)
        kept = [n for n in ("updated_at", "sequence") if n in self.model._meta.fields]  # the models' own rules
        record.save(only=[self.model._meta.fields[n] for n in list(changes) + kept])
        rules.after_update(record, changes, self.user)
        self._audit("import_update", record.id, {n: [_plain(o), _plain(v)] for n, (o, v) in changes.items()})

    def flush_creates(self):
        if not self.pending:
            return
        model, names = self.model, self.sheet.key
        bulk_insert(model, [{"created_at": self.stamp, "updated_at": self.stamp, **values} for values, _ in self.pending])
        keys = [key for _, key in self.pending]
        query = model.select(model._meta.primary_key, *[getattr(model, n) for n in names])
        for i, name in enumerate(names):
            query = query.where(getattr(model, name).in_(list({k[i] for k in keys})))
        ids = {}
        for row in query.tuples():
            key = tuple(v.replace(microsecond=0) if isinstance(v, dt.datetime) else v for v in row[1:])
            ids[key] = row[0]
        for values, key in self.pending:
            self._audit("import_create", ids.get(key), {k: _plain(v) for k, v in values.items()})
        self.pending = []

    def _audit(self, action, entity_id, changes):
        self.audit_rows.append({
            "user": self.user_id, "username": self.username,
            "action": action, "entity": self.model.__name__, "entity_id": str(entity_id),
            "changes": json.dumps(changes, ensure_ascii=False, default=str), "ip": self.ip, "created_at": self.stamp,
        })
        if len(self.audit_rows) >= BATCH:
            self.flush_audit()

    def flush_audit(self):
        if self.audit_rows:
            bulk_insert(AuditLog, self.audit_rows)
            self.audit_rows = []

    def flush(self):
        self.flush_creates()
        self.flush_audit()


def bulk_insert(model, rows):
    """INSERT many rows with one prepared statement (peewee's insert_many renders every value
    into the SQL text, which costs more than the insert itself at 50,000 rows). Fields a row
    leaves out get their defaults, as peewee would give them."""
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if not f.primary_key]
    defaults = {}
    for f in fields:
        if f.default is not None:
            defaults[f.name] = f.default
    params = []
    for row in rows:
        values = []
        for f in fields:
            if f.name in row:
                value = row[f.name]
            elif f.name in defaults:
                value = defaults[f.name]() if callable(defaults[f.name]) else defaults[f.name]
            else:
                value = None
            values.append(f.db_value(value))
        params.append(tuple(values))
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    cursor = db.cursor()
    if on_postgres():
        from psycopg2.extras import execute_values

        execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s', params, page_size=BATCH)
    else:
        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" for _ in fields)})', params)


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime, decimal.Decimal)):
        return str(value)
    return value


# --- jobs -------------------------------------------------------------------------------

def upload(model, filename, data, *, user):
    """Store an uploaded file as a new job (status 已上传). Refuses what is no spreadsheet at all."""
    from .spreadsheets import kind_of

    limit = setting("IMPORT_MAX_BYTES")
    if len(data) > limit:
        raise SpreadsheetError(f"文件太大（{len(data) / 1024 / 1024:.1f} MB），单个文件不能超过 "
                               f"{limit / 1024 / 1024:.0f} MB。请分成几个文件导入。", status=413)
    kind_of(data)
    name = PurePath(str(filename or "").replace("\\", "/")).name.strip() or "未命名表格"
    name = CONTROL.sub("", name)[:200]
    return ImportJob.create(entity=model._meta.table_name, filename=name, size=len(data),
                            digest=hashlib.sha256(data).hexdigest(), data=data, status=ImportStatus.UPLOADED,
                            created_by=user.id, heartbeat_at=now())


def get_job(job_id, model=None):
    query = ImportJob.select(*[f for f in ImportJob._meta.sorted_fields if f.name != "data"])
    job = get_or_404(ImportJob, job_id, "导入记录不存在", query=query)
    if model is not None and job.entity != model._meta.table_name:
        raise ServiceError("导入记录不存在", status=404)
    return job


def _file_of(job_id):
    data = ImportJob.select(ImportJob.data).where(ImportJob.id == job_id).scalar()
    return bytes(data) if data is not None else b""


class Progress:
    """Writes a running job's progress to its row, where every server's status page reads it.

    While checking, the row is updated on the thread's own connection (no transaction is
    open). While importing, the rows are written inside one transaction, so progress goes
    through a second connection — on PostgreSQL; SQLite has one writer at a time, so there
    the page shows the import as running without a row count.
    """

    def __init__(self, job_id, attempt, *, separate=False):
        self.job_id = job_id
        self.attempt = attempt
        self.database = None
        if separate and on_postgres() and has_app_context():
            from models.database import open_database

            self.database = open_database(current_app.config["DATABASE_URL"])
        self.enabled = not separate or self.database is not None

    def __call__(self, processed, final=False):
        if not self.enabled or final:
            return
        query = (ImportJob.update(processed_rows=processed, heartbeat_at=now())
                 .where(ImportJob.id == self.job_id, ImportJob.attempt == self.attempt))
        if self.database is None:
            query.execute()
        else:
            self.database.execute(query)

    def close(self):
        if self.database is not None and not self.database.is_closed():
            self.database.close()


def _claim(job_id, from_statuses, to_status):
    """Move a job to ``to_status`` if it is in one of ``from_statuses``; the new attempt or None."""
    job = ImportJob.select(ImportJob.id, ImportJob.attempt, ImportJob.status).where(ImportJob.id == job_id).first()
    if job is None or job.status not in from_statuses:
        return None
    attempt = job.attempt + 1
    moved = (ImportJob.update(status=to_status, attempt=attempt, heartbeat_at=now(), processed_rows=0,
                              updated_at=now())
             .where(ImportJob.id == job_id, ImportJob.status == job.status, ImportJob.attempt == job.attempt)
             .execute())
    return attempt if moved else None


def check(job_id):
    """The preview: read and check the whole file, store the report; writes no records."""
    attempt = _claim(job_id, (ImportStatus.UPLOADED,), ImportStatus.CHECKING)
    if attempt is None:
        return get_job(job_id)
    job = get_job(job_id)
    model = model_for(job.entity)
    progress = Progress(job_id, attempt)
    try:
        report = Pass(model, _file_of(job_id), progress=progress).run()
    except SpreadsheetError as exc:
        _finish(job_id, attempt, status=ImportStatus.FAILED, message=exc.message)
    except Exception:
        _log_failure(job_id)
        _finish(job_id, attempt, status=ImportStatus.FAILED, message="检查文件时出错，未写入任何数据。请重新上传；如仍失败请联系管理员。")
    else:
        _finish(job_id, attempt, status=ImportStatus.PROBLEMS if report.problem_count else ImportStatus.READY,
                report=report)
    return get_job(job_id)


def confirm(job_id, *, user, ip=None):
    """The import: all rows in one transaction under the entity's lock, or none."""
    job = get_job(job_id)
    if job.status == ImportStatus.PROBLEMS:
        raise Conflict(f"表格中还有 {job.problem_count} 个问题，不能导入。请改正后重新上传。")
    attempt = _claim(job_id, (ImportStatus.READY,), ImportStatus.APPLYING)
    if attempt is None:
        current = get_job(job_id)
        raise Conflict(f"这份导入当前为“{ImportStatus.label(current.status)}”，不能再次确认。")
    model = model_for(job.entity)
    progress = Progress(job_id, attempt, separate=True)
    try:
        with write_transaction():
            lock_entity(model)
            writer = Writer(model, user=user, ip=ip)
            report = Pass(model, _file_of(job_id), progress=progress, writer=writer).run()
            if report.problem_count:
                raise _Changed(report)
            stamp = now()
            updated = (ImportJob.update(status=ImportStatus.APPLIED, applied_by=user.id, applied_at=stamp,
                                        processed_rows=report.rows, total_rows=report.rows,
                                        created_count=report.created, updated_count=report.updated,
                                        unchanged_count=report.unchanged, problem_count=0, updated_at=stamp,
                                        heartbeat_at=stamp, report=report.as_json(), message=None)
                       .where(ImportJob.id == job_id, ImportJob.attempt == attempt,
                              ImportJob.status == ImportStatus.APPLYING).execute())
            if not updated:
                raise Conflict("这份导入已被他人处理。")
            audit.record("import", entity="ImportJob", entity_id=job_id, user=user, changes={
                "entity": model.__name__, "filename": job.filename, "created": report.created,
                "updated": report.updated, "unchanged": report.unchanged})
    except _Changed as changed:
        _finish(job_id, attempt, status=ImportStatus.PROBLEMS, report=changed.report,
                message="检查之后系统中的数据有了变化，导入时发现了问题，未写入任何数据。请查看问题，改正后重新上传。")
    except SpreadsheetError as exc:
        _finish(job_id, attempt, status=ImportStatus.FAILED, message=exc.message)
    except Conflict:
        raise
    except Exception:
        _log_failure(job_id)
        _finish(job_id, attempt, status=ImportStatus.FAILED,
                message="导入时出错，已全部撤销，未写入任何数据。请稍后重试；如仍失败请联系管理员。")
    finally:
        progress.close()
    return get_job(job_id)


def cancel(job_id, *, user):
    job = get_job(job_id)
    moved = (ImportJob.update(status=ImportStatus.CANCELLED, updated_at=now())
             .where(ImportJob.id == job_id, ImportJob.status.in_(
                 (ImportStatus.UPLOADED, ImportStatus.READY, ImportStatus.PROBLEMS, ImportStatus.FAILED)))
             .execute())
    if not moved:
        raise Conflict(f"这份导入当前为“{ImportStatus.label(job.status)}”，不能取消。")
    audit.record("cancel", entity="ImportJob", entity_id=job_id, user=user, changes={"filename": job.filename})
    return get_job(job_id)


class _Changed(Exception):
    def __init__(self, report):
        super().__init__("problems found while importing")
        self.report = report


def _finish(job_id, attempt, *, status, report=None, message=None):
    stamp = now()
    fields = {"status": status, "message": message, "updated_at": stamp, "heartbeat_at": stamp}
    if report is not None:
        fields.update(total_rows=report.rows, processed_rows=report.rows, created_count=report.created,
                      updated_count=report.updated, unchanged_count=report.unchanged,
                      problem_count=report.problem_count, report=report.as_json())
    (ImportJob.update(**fields).where(ImportJob.id == job_id, ImportJob.attempt == attempt).execute())


def _log_failure(job_id):
    if has_app_context():
        current_app.logger.exception("import job %s failed", job_id)


def lock_entity(model):
    """Imports of one entity run one at a time (SQLite: the write lock already does this)."""
    if on_postgres():
        key = LOCK_BASE + zlib.crc32(model._meta.table_name.encode()) % 0xFFFF
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def report_of(job):
    try:
        return json.loads(job.report) if job.report else {}
    except ValueError:
        return {}


# --- running in the background ----------------------------------------------------------------

_threads = set()
_threads_lock = threading.Lock()


def runs_in_background(job):
    return job.size > setting("IMPORT_INLINE_BYTES")


def start(app, func, job_id, **kwargs):
    """Run ``func(job_id, **kwargs)`` in a thread of this process with its own connection."""
    def target():
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                func(job_id, **kwargs)
            except ServiceError:
                pass
            except Exception:
                app.logger.exception("background import job %s failed", job_id)
            finally:
                if not db.is_closed():
                    db.close()
                with _threads_lock:
                    _threads.discard(threading.current_thread())

    thread = threading.Thread(target=target, name=f"import-{job_id}", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return thread


def wait_for_background(timeout=120):
    """Join every running import thread (tests, and a clean shutdown)."""
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)


def recover(job):
    """A job whose worker stopped answering: checking starts again; an import that never
    finished was rolled back with its transaction, so it may be confirmed again."""
    if job.status not in ImportStatus.RUNNING or job.heartbeat_at is None:
        return False
    age = (now() - job.heartbeat_at).total_seconds()
    if job.status == ImportStatus.CHECKING and age > STALE_CHECK_SECONDS:
        to_status, message = ImportStatus.UPLOADED, None
    elif job.status == ImportStatus.APPLYING and age > STALE_APPLY_SECONDS:
        to_status, message = ImportStatus.READY, "上次导入被中断，未写入任何数据；可以重新确认导入。"
    else:
        return False
    return bool(ImportJob.update(status=to_status, message=message, heartbeat_at=now())
                .where(ImportJob.id == job.id, ImportJob.status == job.status,
                       ImportJob.attempt == job.attempt).execute())


# --- the template ---------------------------------------------------------------------------

def template_xlsx(model):
    """The import template: the export's headers, a 填写说明 sheet (each column, whether it is
    required, its format and allowed values) and a 可选值 sheet the drop-downs point at."""
    import io

    import xlsxwriter

    sheet = sheet_of(model)
    lookups = Lookups()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F3F3F3", "border": 1})
    readonly = book.add_format({"bold": True, "bg_color": "#DDDDDD", "font_color": "#666666", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    text = book.add_format({"num_format": "@"})
    data = book.add_worksheet(model._meta.verbose_name[:31])
    guide = book.add_worksheet("填写说明")
    options = book.add_worksheet("可选值")

    allowed = {}
    for column in sheet.writable:
        if column.kind == "choice":
            allowed[column.name] = [label for _, label in column.choices]
        elif column.kind == "bool":
            allowed[column.name] = ["是", "否"]
        elif column.kind == "relation":
            allowed[column.name] = sorted(lookups.names(column.related))[:5000]
        elif column.kind == "vocabulary":
            allowed[column.name] = lookups.vocabulary(column)[:5000]

    option_col = 0
    for index, column in enumerate(sheet.columns):
        data.write_string(0, index, column.header, readonly if column.readonly else bold)
        width = max(10, min(40, len(column.header) * 2 + 4))
        data.set_column(index, index, width, text if column.kind in ("text", "phone") else None)
        values = allowed.get(column.name)
        if values:
            options.write_string(0, option_col, column.header, bold)
            for r, value in enumerate(values, start=1):
                options.write_string(r, option_col, str(value))
            col = xlsxwriter.utility.xl_col_to_name(option_col)
            data.data_validation(1, index, 60000, index, {
                "validate": "list", "source": f"='可选值'!${col}$2:${col}${len(values) + 1}",
                "error_type": "warning", "error_title": "不在可选值中",
                "error_message": f"「{column.header}」请从可选值中选择。"})
            options.set_column(option_col, option_col, 18)
            option_col += 1
    data.freeze_panes(1, 0)

    guide.write_row(0, 0, ["列名", "是否必填", "格式与说明", "可选值"], bold)
    for r, column in enumerate(sheet.columns, start=1):
        values = allowed.get(column.name) or []
        listed = "、".join(str(v) for v in values[:300]) + ("…（完整列表见“可选值”表）" if len(values) > 300 else "")
        guide.write_string(r, 0, column.header)
        guide.write_string(r, 1, column.blank_means())
        guide.write_string(r, 2, column.describe(), wrap)
        guide.write_string(r, 3, listed, wrap)
    notes = [
        "",
        f"说明：从第 2 行起每行一条{model._meta.verbose_name}；第一行的列名请勿修改。",
        f"按「{sheet.key_label}」匹配系统中已有的记录：相同的更新，没有的新增。",
        "关联的记录（如网格、服务队、单位）填写名称，须已在系统中。",
        "灰色列为只读：导出时提供，导入时忽略。",
        "上传后先显示检查结果（新增、修改、未变的条数和每个问题），确认后才会写入；有问题时不会写入任何数据。",
        "支持 .xlsx 和 .csv（UTF-8 或 GB18030 编码）；单元格中的公式不会被计算。",
    ]
    for offset, note in enumerate(notes):
        guide.write_string(len(sheet.columns) + 1 + offset, 0, note)
    guide.set_column(0, 0, 18)
    guide.set_column(1, 1, 26)
    guide.set_column(2, 2, 48)
    guide.set_column(3, 3, 60)
    book.close()
    return buffer.getvalue()
