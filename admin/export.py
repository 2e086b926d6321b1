"""Admin exports: CSV and XLSX streamed from a server-side iterator in bounded memory,
with Chinese headers and labels, and formula-like cells made inert."""
import csv
import datetime as dt
import decimal
import io
import tempfile
import uuid
from urllib.parse import quote

from flask import Response, abort, stream_with_context
from flask_admin import expose
from markupsafe import Markup
from peewee import ForeignKeyField, PostgresqlDatabase

from models import db, now
from models.sheets import sheet_of

from .listing import has_display_name, record_label

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
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _count, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc,
                                      view_args.search, view_args.filters,
                                      execute=False, page_size=self.export_max_rows or 0,
                                      join_paths=self._export_joins(columns))
        getters = [self._export_getter(name) for name, _ in columns]
        yield [str(label) for _, label in columns]
        chunk = []
        for row in stream_rows(query):
            chunk.append(row)
            if len(chunk) == EXPORT_CHUNK:
                self.prepare_export_rows(chunk)
                yield from ([_export_cell(get(r)) for get in getters] for r in chunk)
                chunk = []
        self.prepare_export_rows(chunk)
        yield from ([_export_cell(get(r)) for get in getters] for r in chunk)

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
        return Response(_xlsx_stream(self._export_rows(columns), self.model._meta.verbose_name),
                        headers={"Content-Disposition": disposition},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _export_cell(value):
    """A CSV/XLSX cell: plain text or a number, never a live formula."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):  # seconds only when there are some: they round-trip
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
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


def _csv_stream(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # BOM so that Excel opens the Chinese text as UTF-8
    for i, row in enumerate(rows):
        writer.writerow(row)
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_stream(rows, sheet_name):
    """XlsxWriter in constant-memory mode into a temp file, then streamed out in chunks."""
    import xlsxwriter

    tmp = tempfile.TemporaryFile()
    workbook = xlsxwriter.Workbook(tmp, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet(str(sheet_name)[:31])
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    workbook.close()
    tmp.seek(0)

    def chunks():
        try:
            while True:
                data = tmp.read(64 * 1024)
                if not data:
                    break
                yield data
        finally:
            tmp.close()

    return chunks()
