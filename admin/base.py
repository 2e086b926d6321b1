"""The one secure base view every admin screen inherits.

Stock Flask-Admin on peewee has measured defects; each is closed here, once:
- open to everyone by default            → ``is_accessible`` asks ``auth.permissions``
- ``delete_instance(recursive=True)``    → dependents are counted and the delete refused
- no transactions, raw DB errors shown   → every write is one ``db.atomic()``; clashes
                                            become Chinese field errors
- one query per foreign key per row      → list queries join the related rows once
- exports load every row in memory and   → CSV and XLSX stream from a server-side
  write formulas verbatim                   iterator; formula cells are neutralised
- ``page=-1`` or a bad id gives a 500    → parameters are clamped and checked
- every column is a form field, so        → timestamps, service-kept counters
  ``created_at`` or a status is editable    (``Meta.read_only``) and what a state machine
                                            owns (status, stamps) leave every form here;
                                            a save writes only the fields it changed

The pieces live along their seams: ``access`` (who may open a screen), ``listing`` (lists,
joins, filters, sorting), ``forms`` (with ``fields``), ``writes`` and ``export``; beside them
what clerks need to keep their records: ``details`` (every field, related records, history),
``imports`` (spreadsheets in), ``printing`` (a printable list) and ``bulk`` (批量修改).
This module composes them.
"""
from flask_admin import expose
from flask_admin.contrib.peewee import ModelView
from peewee import ForeignKeyField

from models.dataversion import UNVERSIONED_TABLES
from web.pagecache import admin_cached

from .access import SecureViewMixin
from .bulk import BulkEditMixin
from .details import DetailsMixin
from .export import (FORMULA_PREFIXES, ExportMixin, _csv_stream, _export_cell, _xlsx_stream,
                     neutralise, stream_rows)
from .fields import AllianceModelConverter, IdSelectField
from .forms import (AdminForm, DecimalRange, FormsMixin, InDateRange, Required, StopOnParseError, _range_message,
                    field_rules, read_only_fields)
from .listing import (LIST_PAGE_MAX, SMALL_RELATED, ChoiceEqualFilter, IdEqualFilter, LazyOptions,
                      ListingMixin, OutOfRange, RelatedEqualFilter, RelatedLikeFilter, SafeAjaxLoader,
                      bounded_filter, has_display_name, parse_ids, record_label, search_fields_of)
from .imports import ImportMixin
from .printing import PrintMixin
from .writes import WritesMixin, _changes

# what other modules import from here, as before the split
__all__ = ["FORMULA_PREFIXES", "LIST_PAGE_MAX", "SMALL_RELATED", "AdminForm", "AllianceModelConverter",
           "ChoiceEqualFilter", "DecimalRange", "ExportMixin", "FormsMixin", "IdEqualFilter", "IdSelectField",
           "InDateRange", "LazyOptions", "ListingMixin", "OutOfRange", "RelatedEqualFilter", "RelatedLikeFilter",
           "Required", "SafeAjaxLoader", "SecureModelView", "SecureViewMixin", "StopOnParseError", "WritesMixin",
           "_changes", "_csv_stream", "_export_cell", "_range_message", "_xlsx_stream", "bounded_filter",
           "field_rules", "has_display_name", "neutralise", "parse_ids", "read_only_fields", "record_label",
           "search_fields_of", "stream_rows"]

class SecureModelView(SecureViewMixin, ListingMixin, FormsMixin, WritesMixin, ExportMixin,
                      DetailsMixin, ImportMixin, PrintMixin, BulkEditMixin, ModelView):
    """Declarations in subclasses; behaviour lives in the hooks below."""

    list_template = "admin/record_list.html"

    page_size = 20
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    can_view_details = True
    can_export = True
    export_types = ["csv", "xlsx"]
    form_base_class = AdminForm
    column_display_all_relations = False
    # columns shown as "a.b" paths follow foreign keys; filled from the model when None
    column_list = None
    column_default_sort = None
    # audit trail: which fields are never written to the log (hashes, tokens)
    audit_exclude = ()

    def __init__(self, model, **kwargs):
        # its list pages are cached per account, keyed by the records' version (web/pagecache.py)
        self.page_cacheable = model._meta.table_name not in UNVERSIONED_TABLES
        kwargs.setdefault("name", model._meta.verbose_name)
        kwargs.setdefault("endpoint", model._meta.table_name)
        declared = tuple(self.form_excluded_columns or ())
        self.form_excluded_columns = declared + tuple(sorted(read_only_fields(model) - set(declared)))
        self._joins = {}
        if self.form_ajax_refs is None:
            # large related tables get a search-as-you-type picker instead of a huge <select>
            self.form_ajax_refs = {
                f.name: {"fields": search_fields_of(f.rel_model), "page_size": 20}
                for f in model._meta.sorted_fields
                if isinstance(f, ForeignKeyField) and f.rel_model._meta.table_name not in SMALL_RELATED
                and f.rel_model is not model
            }
        super().__init__(model, **kwargs)

    def _create_ajax_loader(self, name, options):
        return SafeAjaxLoader(name, getattr(self.model, name).rel_model, **options)

    @expose("/")
    def index_view(self):
        # Flask-Admin's list, behind the account's page cache (the access check ran before)
        return admin_cached(self, lambda: ModelView.index_view.__wrapped__(self))
