"""Every generated admin screen renders, in Chinese, with related records shown by name."""
import re

import pytest
from peewee import ForeignKeyField

from admin.views import REGISTRY, ClaimView

from .adminkit import details_rows, english_ui_words, populate, related_name, role_for, visible_text

VIEWS = pytest.mark.parametrize("model, view_class", [(m, v) for m, v, _ in REGISTRY],
                                ids=[m._meta.table_name for m, _, _ in REGISTRY])


def _fk_columns(model, view_class):
    """The list columns that follow a foreign key (``unit``, ``claim.project``)."""
    out = []
    for column in view_class.column_list or ():
        target, field = model, None
        for part in column.split("."):
            field = target._meta.fields.get(part)
            if isinstance(field, ForeignKeyField):
                target = field.rel_model
        if isinstance(field, ForeignKeyField) or "." in column:
            out.append(column)
    return out


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.headers.get("Location"))
    html = response.get_data(as_text=True)
    assert english_ui_words(html) == [], (url, english_ui_words(html))
    return html


@VIEWS
def test_every_admin_page_renders_in_chinese(client, auth, model, view_class):
    records = populate(copies=2)
    auth.as_role(role_for(view_class))
    endpoint = model._meta.table_name
    record = records[endpoint][-1]
    labels = [field.verbose_name for field in model._meta.sorted_fields
              if field.name in (view_class.column_list or ())]
    assert labels, f"{endpoint}: no Chinese column labels declared"

    listing = _get(client, f"/admin/{endpoint}/")
    text = visible_text(listing)
    assert model._meta.verbose_name in text
    for label in labels:
        assert label in text, (endpoint, label)
    for column in _fk_columns(model, view_class):
        for each in records[endpoint]:
            name = related_name(each, column)
            if name:
                assert name in text, (endpoint, column, name)

    details = _get(client, f"/admin/{endpoint}/details/?id={record.id}")
    rows = details_rows(details)
    for field in model._meta.sorted_fields:
        if isinstance(field, ForeignKeyField) and getattr(record, field.name + "_id", None):
            assert rows[field.verbose_name] == related_name(record, field.name), (endpoint, field.name)
        elif field.choices and field.verbose_name in rows and getattr(record, field.name):
            assert rows[field.verbose_name] == dict(field.choices)[getattr(record, field.name)]

    if view_class.can_create:
        form = _get(client, f"/admin/{endpoint}/new/")
        assert "保存" in visible_text(form)
        assert model._meta.verbose_name in visible_text(form)

    if view_class.can_edit:
        edit = _get(client, f"/admin/{endpoint}/edit/?id={record.id}")
        edit_text = visible_text(edit)
        assert "保存" in edit_text
        form_fields = [f for f in model._meta.sorted_fields if f'name="{f.name}"' in edit]
        assert form_fields, endpoint
        for field in form_fields:
            assert field.verbose_name in edit_text, (endpoint, field.name)
        for field in form_fields:
            if isinstance(field, ForeignKeyField) and getattr(record, field.name + "_id", None):
                # a <select> option or the search-as-you-type picker's preset value
                name = related_name(record, field.name)
                assert name in edit_text or name.encode("unicode_escape").decode() in edit, (endpoint, field.name)


def test_admin_home_and_menu_are_chinese(client, auth):
    populate(copies=1)
    auth.as_role("clerk")
    html = _get(client, "/admin/")
    text = visible_text(html)
    assert "联盟概览" in text
    for model, view_class, category in REGISTRY:
        if view_class.permission == "admin.access":
            assert model._meta.verbose_name in text
            assert category in text
    assert "操作日志" in text, "clerks read the audit log"
    assert "API 令牌" not in text, "clerks must not see admin-only menus"


def test_list_page_size_menu_reads_in_chinese(client, auth):
    auth.as_role("clerk")
    text = visible_text(_get(client, "/admin/grid/?page_size=50"))
    assert "每页 50 条" in text
    assert "项目" not in (text.replace("治理项目", "").replace("项目认领", "").replace("项目进展", "")
                        .replace("项目分类", ""))


def test_filters_and_choices_are_labelled_in_chinese(client, auth):
    records = populate(copies=1)
    auth.as_role("clerk")
    html = _get(client, "/admin/claim/")
    text = visible_text(html)
    assert "待审核" in text  # the status label, never the code
    assert ">pending<" not in html
    assert "添加筛选器" in text
    unit = records["member_unit"][0]
    # the filter drop-down offers units by name
    assert unit.name.encode("unicode_escape").decode() in html or unit.name in html


def test_sorting_by_a_related_column_orders_by_its_name(client, auth):
    from . import factories as f

    for name in ("乙单位", "甲单位", "丙单位"):
        f.make_claim(unit=f.make_unit(name=name))
    auth.as_role("clerk")
    column = list(ClaimView.column_list).index("unit")
    for desc, expected in (("0", sorted), ("1", lambda xs: sorted(xs, reverse=True))):
        html = _get(client, f"/admin/claim/?sort={column}&desc={desc}")
        shown = [n for n in re.findall(r"(甲单位|乙单位|丙单位)", visible_text(html).split("审核时间", 1)[1])]
        assert shown == expected(shown) and len(shown) == 3, shown
