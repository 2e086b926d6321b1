"""The public pages' per-worker cache (web/pagecache.py) and the data version it is keyed by
(models/dataversion.py, migration 058): a change is visible on the next request — also when
another app server made it — per-user parts never leak, hits cost one statement whatever
the data size, feeds answer 304 on their ETag."""
import re

import pytest
import requests

from models import Event, Role, Signup, db
from models.dataversion import current_version
from services import signups
from tests.live import live_server

from . import factories as f
from .querycount import count_queries

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def get(client, url, status=200, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:300])
    return response


# --- the version ---------------------------------------------------------------------------

def test_every_write_to_a_public_table_bumps_the_version_once_it_commits(app):
    f.make_unit()
    first = current_version()
    assert first is not None
    event = f.make_event()
    second = current_version()
    assert second != first
    with db.atomic():  # several writes, one transaction
        Event.update(location="新地点").where(Event.id == event.id).execute()
        signups.register(event.id, "张三", "13800000001")
    third = current_version()
    assert third != second
    f.make_user(role=Role.CLERK)  # accounts are not on any public page: no bump
    assert current_version() == third


# --- invalidation ----------------------------------------------------------------------------

def test_an_admin_edit_shows_on_the_next_request(client):
    event = f.make_event(title="原来的标题", location="老地点")
    staff = f.make_user(role=Role.CLERK)
    other = client.application.test_client()  # a resident browsing meanwhile
    assert "老地点" in get(other, f"/events/{event.id}").get_data(as_text=True)
    assert "老地点" in get(other, f"/events/{event.id}").get_data(as_text=True)  # a hit
    assert "原来的标题" in get(other, "/calendar?view=list").get_data(as_text=True)
    assert client.post("/login", data={"username": staff.username, "password": f.PASSWORD}).status_code == 302
    form = {"title": "新的标题", "category": event.category, "location": "新地点",
            "starts_at": event.starts_at.strftime("%Y-%m-%d %H:%M:%S"),
            "ends_at": event.ends_at.strftime("%Y-%m-%d %H:%M:%S"), "capacity": 30,
            "published": "y", "points": 0}
    assert client.post(f"/admin/event/edit/?id={event.id}", data=form).status_code == 302
    assert "新地点" in get(other, f"/events/{event.id}").get_data(as_text=True)
    assert "新的标题" in get(other, "/calendar?view=list").get_data(as_text=True)
    assert get(other, "/api/v1/events").get_json()["items"][0]["title"] == "新的标题"


def test_an_api_sign_up_shows_on_the_event_page_at_once(client):
    event = f.make_event(capacity=5)
    assert "剩余 5 个名额" in get(client, f"/events/{event.id}").get_data(as_text=True)
    response = client.post(f"/api/v1/events/{event.id}/signups", json={"name": "李四", "phone": "13800000002"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "剩余 4 个名额" in get(client, f"/events/{event.id}").get_data(as_text=True)


def test_a_write_through_another_app_server_invalidates_this_one(client, database_url):
    """Two servers on one database: the in-process app and a real gunicorn. Each caches
    pages; a write through either shows on the other's next request."""
    event = f.make_event(capacity=5, title="邻里节")
    with live_server(database_url, workers=1) as base:
        there = requests.Session()
        url = f"{base}/events/{event.id}"
        assert "剩余 5 个名额" in there.get(url, timeout=60).text
        assert "剩余 5 个名额" in get(client, f"/events/{event.id}").get_data(as_text=True)
        # written over there: seen here
        response = there.post(f"{base}/api/v1/events/{event.id}/signups",
                              json={"name": "王五", "phone": "13800000003"}, timeout=60)
        assert response.status_code == 201, response.text
        assert "剩余 4 个名额" in get(client, f"/events/{event.id}").get_data(as_text=True)
        # written here: seen over there (its cache now holds the page with 4 places)
        assert "剩余 4 个名额" in there.get(url, timeout=60).text
        signups.register(event.id, "赵六", "13800000004")
        assert "剩余 3 个名额" in there.get(url, timeout=60).text
        assert Signup.select().where(Signup.event == event.id).count() == 2


# --- per-request parts -------------------------------------------------------------------------

def test_csrf_tokens_and_logged_in_nav_never_leak(csrf_app):
    event = f.make_event()
    first, second = csrf_app.test_client(), csrf_app.test_client()
    tokens = []
    for visitor in (first, second, first):
        html = get(visitor, f"/events/{event.id}").get_data(as_text=True)
        tokens.append(CSRF.findall(html))
        assert "退出" not in html
    assert tokens[0] and len(set(tokens[0])) == 1
    assert tokens[1][0] != tokens[0][0]  # the second visitor's own token, not the cached one
    # each token is valid for its own session: signing up with it works
    for visitor, token in ((second, tokens[1][0]), (first, tokens[2][0])):
        response = visitor.post(f"/events/{event.id}/signup", data={
            "csrf_token": token, "name": "访客", "phone": f"1390000000{len(token) % 10}" if visitor is first
            else "13900000011"})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
    unit_user = f.make_user(role=Role.UNIT)
    member = csrf_app.test_client()
    login_page = get(member, "/login").get_data(as_text=True)
    assert member.post("/login", data={"username": unit_user.username, "password": f.PASSWORD,
                                       "csrf_token": CSRF.search(login_page).group(1)}).status_code == 302
    for url in ("/projects", f"/events/{event.id}", "/"):
        anonymous = get(first, url).get_data(as_text=True)
        logged_in = get(member, url).get_data(as_text=True)
        assert "退出" in logged_in and "我的认领" in logged_in
        assert "退出" not in get(second, url).get_data(as_text=True) and "我的认领" not in anonymous


def test_a_flash_message_is_not_cached(client):
    f.make_project()
    get(client, "/projects")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "已提交认领")]
    assert "已提交认领" in get(client, "/projects").get_data(as_text=True)
    assert "已提交认领" not in get(client, "/projects").get_data(as_text=True)


# --- cost ---------------------------------------------------------------------------------------

PAGES = ["/", "/calendar", "/calendar?view=list", "/calendar?view=list&when=past", "/calendar.ics",
         "/projects", "/projects?status=open", "/api/v1/events", "/api/v1/projects", "/api/v1/units",
         "/api/v1/stats"]


def _pages(event, project):
    return PAGES + [f"/events/{event.id}", f"/events/{event.id}.ics", f"/projects/{project.id}"]


def test_a_hit_is_one_statement_and_a_miss_is_bounded_whatever_the_data_size(app, client):
    import datetime as dt

    from models import ProjectStatus, now

    event = f.make_event(capacity=10)
    f.make_event(starts_at=now().replace(day=1, hour=0, minute=0, second=0))  # this month's grid shows one
    project = f.make_project(status=ProjectStatus.OPEN)

    def costs():
        misses, hits = {}, {}
        for url in _pages(event, project):
            app.config["PAGE_CACHE_BYTES"] = 0
            with count_queries() as statements:
                get(client, url)
            misses[url] = len(statements)
            app.config["PAGE_CACHE_BYTES"] = 1 << 20
            get(client, url)
            with count_queries() as statements:
                get(client, url)
            hits[url] = statements
        return misses, hits

    small, hits = costs()
    assert all(len(s) == 1 and "data_version" in s[0] for s in hits.values()), hits
    assert max(small.values()) <= 6, small
    for i in range(40):
        f.make_event(starts_at=now() + dt.timedelta(days=i % 20, hours=i % 5))
        f.make_project(status=ProjectStatus.OPEN)
        f.make_unit()
    large, hits = costs()
    assert large == small
    assert all(len(s) == 1 for s in hits.values())


# --- conditional requests ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/calendar.ics", "/calendar/neighbourhood.ics"])
def test_feeds_answer_304_on_their_etag_until_the_data_changes(client, url):
    event = f.make_event()
    first = get(client, url)
    etag = first.headers["ETag"]
    assert get(client, url).headers["ETag"] == etag  # a hit carries the same ETag
    with count_queries() as statements:
        assert get(client, url, 304, headers={"If-None-Match": etag}).data == b""
    assert len(statements) == 1
    Event.update(title="改了标题").where(Event.id == event.id).execute()
    second = get(client, url, headers={"If-None-Match": etag})
    assert second.headers["ETag"] != etag and "改了标题" in second.get_data(as_text=True)


def test_residents_tables_bump_the_version_and_reach_the_cached_wall(client):
    """Migration 060: needs, wishes, work-order steps and photos are public data too (the home
    page's 群众点单 and 微心愿 figures, the wall, the API)."""
    from models import Wish
    from services import needs

    wish = f.make_wish(text="想要一副老花镜")
    assert "想要一副老花镜" in get(client, "/wishes").get_data(as_text=True)
    assert "想要一副老花镜" in get(client, "/wishes").get_data(as_text=True)  # a hit
    Wish.update(text="想要一台收音机").where(Wish.id == wish.id).execute()
    wall = get(client, "/wishes").get_data(as_text=True)
    assert "想要一台收音机" in wall and "想要一副老花镜" not in wall
    assert get(client, f"/api/v1/wishes/{wish.id}").get_json()["text"] == "想要一台收音机"
    before = current_version()
    needs.submit(kind="help", text="楼道灯坏了需要维修", name="张三", mobile="13900000019", consent=True)
    after_need = current_version()
    assert after_need != before
    f.make_work_order_step()
    assert current_version() != after_need
