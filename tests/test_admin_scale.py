"""Big admin lists (issue 12): counts estimated beyond a limit, paging correct to the last
page, only the sorts, filters and searches an index answers, and the page query of every
one of them walking an index (SQLite's EXPLAIN QUERY PLAN) instead of sorting the table."""
import re
from html import unescape

import pytest

from admin.listing import EXACT_COUNT, Estimate, leading_index_fields
from bench.admin_lists import BIG, variants
from models import Role, Volunteer, db

from . import factories as f
from .conftest import ON_POSTGRES


@pytest.fixture(autouse=True)
def _render_every_request(app):
    """These tests change settings and module limits between two requests of one list:
    each request must render (the per-account page cache is tested in test_admin_cache.py)."""
    app.config["ADMIN_PAGE_CACHE_BYTES"] = 0  # the app fixture restores its settings after the test


def _views(app):
    seen = {}
    for view in app.extensions["admin"][0]._views:
        if getattr(view, "bounded", False) and view.endpoint not in seen:
            seen[view.endpoint] = view
    return seen


def test_the_big_lists_are_the_bounded_ones(app):
    assert set(_views(app)) == set(BIG)


def _tab_count(html):
    return unescape(re.search(r'class="nav-link active">[^<(]*\(([^)]*)\)', html).group(1))


def test_a_count_beyond_the_limit_is_shown_as_an_estimate(app, client, auth, monkeypatch):
    for _ in range(8):
        f.make_volunteer()
    auth.as_role(Role.CLERK)
    assert _tab_count(client.get("/admin/volunteer/").get_data(as_text=True)) == "8"
    monkeypatch.setitem(app.config, "ADMIN_EXACT_COUNT", 5)
    html = client.get("/admin/volunteer/").get_data(as_text=True)
    assert _tab_count(html) == "约 8 条"
    # narrowed by a search: no table estimate applies, the list says "more than"
    html = client.get("/admin/volunteer/?search=志愿者").get_data(as_text=True)
    assert _tab_count(html) == "5 条以上"
    printed = client.get("/admin/volunteer/print/").get_data(as_text=True)
    assert "共 约 8 条" in printed and "条 条" not in printed


def test_the_estimate_is_a_number_the_pager_can_use():
    shown = Estimate(10_000, 1_234_567)
    assert int(shown) == 10_000 and str(shown) == "约 1,234,567 条"
    assert str(Estimate(10_000)) == "10,000 条以上"


def test_paging_is_correct_on_the_last_page(app, client, auth, monkeypatch):
    people = [f.make_volunteer(name=f"队员{i:02d}") for i in range(45)]
    auth.as_role(Role.CLERK)
    html = client.get("/admin/volunteer/?page=2").get_data(as_text=True)
    assert _tab_count(html) == "45"
    shown = re.findall(r"队员\d\d", html)
    assert sorted(shown) == sorted(p.name for p in people[:5])  # newest first: the 5 oldest last
    assert 'href="/admin/volunteer/?page=3"' not in html
    # beyond the exact limit the pager stops at the last page it can reach, and says so
    monkeypatch.setitem(app.config, "ADMIN_EXACT_COUNT", 30)
    html = client.get("/admin/volunteer/?page=40", follow_redirects=True).get_data(as_text=True)
    assert _tab_count(html) == "约 45 条"
    assert "列表只能翻到第 2 页" in html
    assert sorted(re.findall(r"队员\d\d", html)) == sorted(p.name for p in people[5:25])


def test_a_page_past_the_end_shows_the_last_page_and_says_so(app, client, auth):
    people = [f.make_volunteer(name=f"队员{i:02d}") for i in range(25)]
    f.make_unit(name="唯一单位")
    auth.as_role(Role.CLERK)
    html = client.get("/admin/volunteer/?page=9").get_data(as_text=True)
    assert "列表共 2 页（25 条），没有第 10 页；已显示第 2 页。" in html
    assert sorted(re.findall(r"队员\d\d", html)) == sorted(p.name for p in people[:5])
    # the pager marks the page shown, not the one asked for
    assert re.search(r'class="page-item active">\s*<a class="page-link" href="javascript:void\(0\)">2</a>', html)
    # a list that is not bounded, with one page
    html = client.get("/admin/member_unit/?page=3").get_data(as_text=True)
    assert "没有第 4 页" in html and "唯一单位" in html
    # the first page and a page that exists say nothing
    for url in ("/admin/volunteer/", "/admin/volunteer/?page=1"):
        assert "没有第" not in client.get(url).get_data(as_text=True)


def test_sorts_not_offered_are_refused_gracefully(app, client, auth):
    views = _views(app)
    auth.as_role(Role.CLERK)
    f.make_volunteer()
    view = views["volunteer"]
    offered = [name for name, _ in view._list_columns if name in view._sortable_columns]
    assert "team" not in offered and "grid" not in offered and "skills" not in offered  # related / unindexed
    team_idx = [name for name, _ in view._list_columns].index("team")
    assert client.get(f"/admin/volunteer/?sort={team_idx}&desc=1").status_code == 200
    assert f"sort={team_idx}" not in client.get("/admin/volunteer/").get_data(as_text=True)  # no header link
    # the ledger: related names and unindexed columns are not sortable, searching needs an index
    ledger = views["points_entry"]
    assert set(ledger._sortable_columns) == {"created_at", "kind"}
    assert not ledger._search_supported
    assert client.get("/admin/points_entry/?sort=3&search=x").status_code == 200


def test_every_offered_sort_filter_and_search_has_its_index(app):
    with app.test_request_context():
        for endpoint, view in _views(app).items():
            indexed = leading_index_fields(view.model)
            for name in view._sortable_columns:
                assert name in indexed, (endpoint, name)
            for flt in view._filters or ():
                assert flt.column.model is view.model and flt.column.name in indexed, (endpoint, flt.name)
            declared = {tuple(getattr(e, "column_name", getattr(e, "name", e)) for e in index._expressions)
                        for index in view.model._meta.indexes if hasattr(index, "_expressions")}
            for plan in view.index_plan():
                assert plan in declared, (endpoint, plan)


class _Statements:
    """SQL and parameters of every statement the bound database runs."""

    def __enter__(self):
        self.database, self.seen = db.obj, []
        original = self.database.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            self.seen.append((sql, params))
            return original(sql, params, *args, **kwargs)

        self.database.execute_sql = execute_sql
        return self.seen

    def __exit__(self, *exc):
        del self.database.execute_sql


def _page_query(seen, table):
    for sql, params in seen:
        if re.match(rf'SELECT .* FROM "{table}" AS "t1"', sql) and "ORDER BY" in sql and "LIMIT" in sql:
            return sql, params
    raise AssertionError(f"no page query for {table}: {[s for s, _ in seen]}")


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's EXPLAIN QUERY PLAN")
def test_every_offered_variant_walks_an_index(app, client, auth, monkeypatch):
    from services.demo import seed_demo

    seed_demo(force=True)
    auth.as_role(Role.CLERK)
    monkeypatch.setitem(app.config, "ADMIN_EXACT_COUNT", 5)  # the estimates' statements too
    big = {view.model._meta.table_name for view in _views(app).values()}
    checked = 0
    for endpoint, label, query in variants(app):
        table = _views(app)[endpoint].model._meta.table_name
        with _Statements() as seen:
            response = client.get(f"/admin/{endpoint}/?{query}")
        assert response.status_code == 200, (endpoint, label)
        sql, params = _page_query(seen, table)
        plan = [row[3] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]
        main = [line for line in plan if re.match(r"(SCAN|SEARCH) t1\b", line)]
        assert main, (endpoint, label, plan)
        full_scan = any(line == "SCAN t1" for line in main)
        sorts = any("TEMP B-TREE FOR ORDER BY" in line for line in plan)
        assert not (full_scan and sorts), (endpoint, label, plan)
        assert not any(line.startswith("SCAN t1") and "USING" not in line for line in main) \
            or query in ("", "page=499") or "sort=" in query, (endpoint, label, plan)  # filters: an index
        if "flt0_" in query or "sort=" in query:
            assert not sorts, (endpoint, label, plan)
        # no other statement of the page reads a big table through (the estimate's MIN/MAX,
        # the events' sign-up counts, the audit log's record names …): besides the page and
        # its capped count, each one finds its rows by an index
        for other, other_params in seen:
            if not other.startswith("SELECT") or other == sql or other.startswith("SELECT COUNT(1) FROM (SELECT"):
                continue
            for row in db.execute_sql("EXPLAIN QUERY PLAN " + other, other_params).fetchall():
                scanned = re.match(r"SCAN (\w+)", row[3])
                table = re.search(rf'"(\w+)" AS "{scanned.group(1)}"', other) if scanned else None
                assert not (table and table.group(1) in big), (endpoint, label, other, row[3])
        checked += 1
    assert checked > 60


def test_the_exact_limit_is_the_documented_one():
    assert EXACT_COUNT == 10_000
    assert Volunteer.name.name in leading_index_fields(Volunteer)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's EXPLAIN QUERY PLAN")
def test_the_events_sign_up_counts_read_the_events_running_totals(app):
    """The events list's 报名情况 for a page: the 20 events' own rows (running totals kept by
    services.signups, migration 061), never their sign-ups (a million of them)."""
    from services import signups

    with _Statements() as seen:
        signups.place_counts(list(range(1, 21)))  # a page of events
    sql, params = seen[-1]
    plan = " ".join(row[3] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert '"signup"' not in sql and "PRIMARY KEY" in plan, (sql, plan)


def test_a_deep_page_reads_its_ids_first_and_shows_the_same_rows(app, client, auth, monkeypatch):
    """From ``DEEP_OFFSET`` on, a page is found by its ids alone (a late row lookup): the same
    rows, in the same order, as the plain offset gave — sorted, filtered and not."""
    from admin import listing

    grid = f.make_grid()
    for i in range(60):
        f.make_volunteer(name=f"深页队员{i:02d}", grid=grid if i % 2 else None)
    auth.as_role(Role.CLERK)
    view = _views(app)["volunteer"]
    grid_filter = next(i for i, flt in enumerate(view._filters) if getattr(flt, "column", None) is Volunteer.grid)
    urls = ["/admin/volunteer/?page=2", "/admin/volunteer/?page=1&sort=0&desc=1",
            f"/admin/volunteer/?page=1&flt0_{view.get_filter_arg(grid_filter, view._filters[grid_filter])}={grid.id}"]

    def rows(url):
        html = client.get(url).get_data(as_text=True)
        return re.findall(r"深页队员\d\d", html)

    plain = [rows(url) for url in urls]
    monkeypatch.setattr(listing, "DEEP_OFFSET", 10)
    with _Statements() as seen:
        deep = [rows(url) for url in urls]
    assert deep == plain and all(len(page) >= 10 for page in plain)
    assert any(" IN (SELECT" in sql and "OFFSET" in sql for sql, _ in seen)
