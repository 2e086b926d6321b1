"""Flask-Admin's wording, corrected where its zh_Hans_CN catalogue falls short.

Flask-Admin's own catalogue (through flask-babel, locale ``zh_Hans_CN``) translates the admin.
Two kinds of gaps remain:

- strings new in Flask-Admin 2.x are missing from it ("Failed to create record."): they live in
  ``admin/translations/…/admin.po``, merged under Flask-Admin's catalogue by
  ``Admin(translations_path=…)``;
- template strings no catalogue can fix: the page-size menu formats the number into the msgid
  before the lookup (``'{} items'.format(20)``), and "items" reads 项目 — which on this platform
  means a governance project. Those are corrected here, passed to every admin template as
  ``_gettext``/``_ngettext`` through the view's ``_template_args``.
"""
import re

from flask_admin import babel

TEMPLATE_WORDING = {
    "items": "条/页",
}
PAGE_SIZE_OPTION = re.compile(r"^(\d+) items?$")


def gettext(string, **variables):
    if string in TEMPLATE_WORDING:
        return TEMPLATE_WORDING[string] % variables if variables else TEMPLATE_WORDING[string]
    return babel.gettext(string, **variables)


def ngettext(singular, plural, num, **variables):
    page_size = PAGE_SIZE_OPTION.match(plural)
    if page_size:
        return f"每页 {page_size.group(1)} 条"
    return babel.ngettext(singular, plural, num, **variables)


def template_args():
    return {"_gettext": gettext, "_ngettext": ngettext}
