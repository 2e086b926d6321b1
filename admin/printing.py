"""A printable page for any filtered list: the list's columns, search, filters and sort, every
matching row (up to ``PRINT_MAX_ROWS``), without the admin's menus, laid out for A4."""
from flask import request
from flask_admin import expose

from models import now

PRINT_MAX_ROWS = 2000


class PrintMixin:
    """``/admin/<entity>/print/`` beside every list."""

    @expose("/print/")
    def print_view(self):
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        count, rows = self.get_list(0, sort[0] if sort else None, view_args.sort_desc, view_args.search,
                                    view_args.filters, page_size=PRINT_MAX_ROWS)
        columns = [(name, label) for name, label in self._list_columns if name in self.printable_columns()]
        table = [[self.get_list_value(None, row, name) for name, _ in columns] for row in rows]
        return self.render("admin/print_list.html", columns=columns, table=table, count=count,
                           truncated=count is not None and count > len(rows), printed_at=now(),
                           conditions=self.print_conditions(view_args), limit=PRINT_MAX_ROWS)

    def printable_columns(self):
        """List columns worth paper (counts with links stay on screen)."""
        return [name for name, _ in self._list_columns if name not in ("signup_counts",)]

    def print_conditions(self, view_args):
        """The list's search and filters in words, printed above the table."""
        out = []
        scope = self.related_scope_label()
        if scope:
            out.append(scope)
        if view_args.search:
            out.append(f"搜索“{view_args.search}”")
        for index, _name, value in view_args.filters or []:
            try:
                flt = self._filters[index]
            except (IndexError, TypeError):
                continue
            shown = dict(flt.get_options(self) or ()).get(value, value) if getattr(flt, "options", None) else value
            out.append(f"{flt.name} {flt.operation()} {shown}")
        return out

    def print_url(self):
        return self.get_url(".print_view", **request.args)
