"""Admin exports: CSV and XLSX streamed from a server-side iterator in bounded memory,
with Chinese headers and labels, and formula-like cells made inert."""
import csv
import datetime as dt
import decimal
import io
import uuid
from urllib.parse import quote

from flask import Response, abort, stream_with_context
from flask_admin import expose
from markupsafe import Markup
from peewee import ForeignKeyField, PostgresqlDatabase

from models import db, now
from models.sheets import sheet_of

from .listing import display_field, has_display_name, record_label

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 500

def neutralise(value):
    """Make a spreadsheet cell inert: text starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class ExportMixin:
    """The export route of ``SecureModelView``."""

    # -- export: streamed, bounded memory, inert cells -------------------------------------

    def get_export_name(self, export_type="csv"):
        stamp = now().strftime("%Y%m%d_%H%M%S")
        return f"{self.model._meta.table_name}_{stamp}.{export_type}"

    def get_export_columns(self):
        """Every field a clerk keeps, in the order of the import template (models/sheets.py),
        unless a view declares ``column_export_list``."""
        if self.column_export_list:
            return super().get_export_columns()
        return [(c.name, c.header) for c in sheet_of(self.model).columns]

    def _export_joins(self, columns):
        """Foreign-key paths to join so that no exported cell needs a query of its own: each
        related record, and for one named by ``__str__`` (a claim) the records that name it."""
        paths = []
        for name, _ in columns:
            field = self._field_for_path(name) if isinstance(name, str) else None
            if not isinstance(field, ForeignKeyField):
                continue
            paths.append(name)
            if not has_display_name(field.rel_model):
                paths += [f"{name}.{sub.name}" for sub in field.rel_model._meta.sorted_fields
                          if isinstance(sub, ForeignKeyField) and has_display_name(sub.rel_model)]
        return paths

    def _export_rows(self, columns):
        """Lists of cell rows, a batch at a time: the header alone, then the records."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc,
                                      view_args.search, view_args.filters,
                                      execute=False, page_size=self.export_max_rows or 0,
                                      join_paths=self._export_joins(columns)
                                      + [n for n, _ in columns if isinstance(n, str) and "." in n])
        yield [[str(label) for _, label in columns]]
        plan = self._tuple_plan(columns)
        if plan is not None:  # the fast path: the driver's rows, one cell function per column
            expressions, cells = plan
            for rows in stream_raw(query.select(*expressions), EXPORT_CHUNK):
                # column by column: map() calls each cell function with no Python loop around it
                converted = [list(map(cell, column)) for cell, column in zip(cells, zip(*rows))]
                yield list(zip(*converted))
            return
        getters = [self._export_getter(name) for name, _ in columns]
        chunk = []
        for row in stream_rows(query):
            chunk.append(row)
            if len(chunk) == EXPORT_CHUNK:
                self.prepare_export_rows(chunk)
                yield [[_export_cell(get(r)) for get in getters] for r in chunk]
                chunk = []
        self.prepare_export_rows(chunk)
        yield [[_export_cell(get(r)) for get in getters] for r in chunk]

    def _tuple_plan(self, columns):
        """(select expressions, a cell function per column) when every column is a plain
        field, a choice or a related record named by a column of its own; None when one
        needs the model instance (a formatter, a record named by ``__str__``). The cell
        functions take what the driver returns (SQLite: text dates, 0/1; psycopg2: objects)
        and give what ``_export_cell`` would, without building a model per row."""
        formatters = {**(self.column_formatters or {}), **(self.column_formatters_export or {})}
        if type(self).prepare_export_rows is not ExportMixin.prepare_export_rows:
            return None
        expressions, converters = [], []
        for name, _ in columns:
            field = self._field_for_path(name) if isinstance(name, str) else None
            if field is None or name in formatters:
                return None
            parent_path = name.rpartition(".")[0]
            source = self._alias_for(parent_path) if parent_path else self.model
            if isinstance(field, ForeignKeyField):
                if not has_display_name(field.rel_model):
                    return None
                expressions.append(getattr(self._alias_for(name), display_field(field.rel_model).name))
                converters.append(_text_cell)
            else:
                expressions.append(getattr(source, field.name))
                converters.append(_raw_cell(field))
        return expressions, converters

    def prepare_export_rows(self, rows):
        """Hook: load what a chunk of exported rows needs in one go (the audit log's names)."""

    def _export_getter(self, name):
        """``row -> value`` for one export column, resolved once per export, not per cell."""
        formatters = {**(self.column_formatters or {}), **(self.column_formatters_export or {})}
        field = self._field_for_path(name) if isinstance(name, str) else None
        if field is None or name in formatters:
            return lambda row: self.get_export_value(row, name)
        parts = name.split(".")

        def value_of(row):
            for part in parts:
                if row is None:
                    return None
                row = getattr(row, part)
            return row

        if field.choices:
            labels = dict(field.choices)
            return lambda row: labels.get(value_of(row), value_of(row))
        if isinstance(field, ForeignKeyField):
            return lambda row: record_label(value_of(row))
        return value_of

    def get_export_value(self, model, name):
        if name in (self.column_formatters_export or {}):
            return self.column_formatters_export[name](self, None, model, name)
        field = self._field_for_path(name) if isinstance(name, str) else None
        if field is not None and (field.choices or isinstance(field, ForeignKeyField)):
            return self._get_list_value(None, model, name, {}, {})
        if field is None:
            return super().get_export_value(model, name)
        return self._path_value(model, name)

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        columns = self.get_export_columns()
        filename = self.get_export_name(export_type)
        title = f"{self.model._meta.verbose_name}_{now():%Y%m%d}.{export_type}"
        disposition = f"attachment; filename={filename}; filename*=UTF-8''{quote(title)}"
        if export_type == "csv":
            return Response(stream_with_context(_csv_stream(self._export_rows(columns))),
                            headers={"Content-Disposition": disposition},
                            mimetype="text/csv", content_type="text/csv; charset=utf-8")
        return Response(stream_with_context(_xlsx_stream(self._export_rows(columns), self.model._meta.verbose_name)),
                        headers={"Content-Disposition": disposition},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _text_cell(value):
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _bool_cell(value):
    return "" if value is None else ("是" if value else "否")


def _date_cell(value):
    if value is None:
        return ""
    return value[:10] if isinstance(value, str) else value.isoformat()


def _datetime_cell(value):
    """SQLite's stored text ("2026-01-02 10:00:00[.ffffff]") or a datetime, as _export_cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:16] if value[17:19] in ("00", "") else value[:19]
    return value.isoformat(" ", "seconds" if value.second else "minutes")


def _number_cell(value):
    if value is None:
        return ""
    return float(value) if isinstance(value, decimal.Decimal) else value


def _raw_cell(field):
    from peewee import BooleanField, DateField, DateTimeField, DecimalField, FloatField, IntegerField

    if field.choices:
        labels = {code: _text_cell(label) for code, label in field.choices}
        return lambda value: labels.get(value, _text_cell(value))
    if isinstance(field, BooleanField):
        return _bool_cell
    if isinstance(field, DateTimeField):
        return _datetime_cell
    if isinstance(field, DateField):
        return _date_cell
    if isinstance(field, DecimalField):
        return lambda value: "" if value is None else float(value)
    if isinstance(field, (IntegerField, FloatField)):
        return _number_cell
    return _text_cell


def _export_cell(value):
    """A CSV/XLSX cell: plain text or a number, never a live formula."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):  # seconds only when there are some: they round-trip
        return value.isoformat(" ", "seconds" if value.second else "minutes")  # strftime: 3× slower
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if value is None:
        return ""
    if not isinstance(value, (int, float, str)) or isinstance(value, Markup):
        value = str(value)
    return neutralise(value)


def stream_rows(query, batch=1000):
    """The query's model rows, never all in memory at once.

    SQLite's cursor is lazy already. psycopg2's ordinary cursor copies the whole result
    into the client, so on PostgreSQL a named (server-side) cursor fetches ``batch`` rows at
    a time. peewee runs psycopg2 in autocommit, where a named cursor must be WITH HOLD (the
    server keeps the result; the app holds one batch).
    """
    database = db.obj
    if not isinstance(database, PostgresqlDatabase):
        yield from query.iterator()
        return
    from playhouse.postgres_ext import FetchManyCursor

    sql, params = query.sql()
    cursor = database.connection().cursor(name=f"export_{uuid.uuid4().hex}", withhold=True)
    try:
        cursor.execute(sql, params)
        yield from query._get_cursor_wrapper(FetchManyCursor(cursor, batch)).iterator()
    finally:
        cursor.close()


def stream_raw(query, batch=1000):
    """Lists of the driver's row tuples for ``query`` (no conversion per value), ``batch``
    at a time: SQLite's cursor, or on PostgreSQL a server-side cursor (see stream_rows)."""
    database = db.obj
    sql, params = query.sql()
    if isinstance(database, PostgresqlDatabase):
        cursor = database.connection().cursor(name=f"export_{uuid.uuid4().hex}", withhold=True)
        cursor.itersize = batch
        cursor.execute(sql, params)
    else:
        cursor = database.execute_sql(sql, params)
    try:
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                break
            yield rows
    finally:
        cursor.close()


def _csv_stream(batches):
    """The CSV text of ``batches`` (lists of rows), one chunk a batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # BOM so that Excel opens the Chinese text as UTF-8
    for rows in batches:
        writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


# --- XLSX: the sheet's XML written directly, zipped as it goes ------------------------------
# XlsxWriter spends ~4 µs a cell (a cell object, its checks, a regex per string); a list
# export is only rows of text and numbers, so the sheet is written here as inline strings,
# and the zip streams out while rows are still being read (the first byte comes at once,
# memory holds one batch). The parts are the smallest workbook Excel, WPS and openpyxl open.

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"
# XML 1.0 has no place for these control characters: dropped (XlsxWriter writes _xHHHH_)
_XML_TEXT = str.maketrans({**{c: None for c in range(32) if c not in (9, 10, 13)},
                           ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"})
XLSX_CELL_MAX = 32767  # Excel's limit on the characters of a cell


def _column_letters(n):
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


class _Drain(io.RawIOBase):
    """A write-only stream the zip writes into and the response takes from."""

    def __init__(self):
        self.parts = []

    def writable(self):
        return True

    def write(self, data):
        self.parts.append(bytes(data))
        return len(data)

    def take(self):
        data, self.parts = b"".join(self.parts), []
        return data


def _xlsx_stream(batches, sheet_name):
    """The workbook of ``batches`` (lists of rows of text and numbers), zipped and yielded
    as it is written."""
    import zipfile

    drain = _Drain()
    with zipfile.ZipFile(drain, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in _XLSX_PARTS.items():
            book.writestr(name, text)
        title = str(sheet_name)[:31].translate(_XML_TEXT).replace('"', "&quot;") or "Sheet1"
        book.writestr("xl/workbook.xml", _WORKBOOK.format(name=title))
        yield drain.take()
        letters = []
        r = 0
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_HEAD.encode())
            for rows in batches:
                lines = []
                for row in rows:
                    r += 1
                    while len(letters) < len(row):
                        letters.append(_column_letters(len(letters) + 1))
                    cells = []
                    for letter, value in zip(letters, row):
                        if isinstance(value, str):
                            if not value:
                                continue  # an empty cell, as XlsxWriter leaves it
                            cells.append(f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">'
                                         f'{value[:XLSX_CELL_MAX].translate(_XML_TEXT)}</t></is></c>')
                        else:
                            cells.append(f'<c r="{letter}{r}"><v>{value!r}</v></c>')
                    lines.append(f'<row r="{r}">{"".join(cells)}</row>')
                sheet.write("".join(lines).encode())
                data = drain.take()
                if data:
                    yield data
            sheet.write(_SHEET_TAIL.encode())
    yield drain.take()
