"""A forged Host header cannot put another site's address into what the platform hands out:
feeds (and the per-worker feed cache), API paging links, webcal links, QR codes.

    curl -H 'Host: evil.example' …/calendar/<category>.ics
"""
import re

import pytest

from models import EventCategory, Signup, db
from public.checkin_qr import checkin_url

from . import factories as f
from .live import live_server

EVIL = {"Host": "evil.example"}
BASE = "https://hongpu.example.org"


def unfolded(response):
    """iCalendar text with folded lines joined (RFC 5545 §3.1)."""
    return response.get_data(as_text=True).replace("\r\n ", "")


def urls_in(text):
    return set(re.findall(r"^URL:([^\r\n]*)", text, re.M))


def test_a_forged_host_no_longer_poisons_the_feed_cache(app, client):
    event = f.make_event(category=EventCategory.HEALTH)
    feeds = [f"/calendar/{EventCategory.HEALTH}.ics", "/calendar.ics"]
    for path in feeds:
        for _ in range(3):
            forged = client.get(path, headers=EVIL)
            # with PUBLIC_BASE_URL unset the attacker's own answer follows their Host …
            assert urls_in(unfolded(forged)) == {f"http://evil.example/events/{event.id}"}
        normal = client.get(path)
        # … but it is cached apart: every other subscriber gets this site's address
        assert urls_in(unfolded(normal)) == {f"http://localhost/events/{event.id}"}, path
        assert "evil.example" not in unfolded(normal)
        assert normal.headers["ETag"] != forged.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": normal.headers["ETag"]})
        assert again.status_code == 304


def test_with_a_public_base_url_every_absolute_link_uses_it(app, client):
    app.config["PUBLIC_BASE_URL"] = BASE
    event = f.make_event(category=EventCategory.HEALTH, capacity=5)
    f.make_event(), f.make_event()
    for headers in (EVIL, {}):
        for path in (f"/calendar/{EventCategory.HEALTH}.ics", "/calendar.ics", f"/events/{event.id}.ics"):
            body = unfolded(client.get(path, headers=headers))
            assert f"URL:{BASE}/events/{event.id}" in body and "evil.example" not in body, path
            assert f"详情与报名：{BASE}/events/{event.id}" in body

        page = client.get("/calendar", headers=headers).get_data(as_text=True)
        assert "webcal://hongpu.example.org/calendar.ics" in page
        assert f"webcal://hongpu.example.org/calendar/{EventCategory.HEALTH}.ics" in page
        assert "evil.example" not in page

        listing = client.get("/api/v1/events?per_page=1", headers=headers).get_json()
        assert listing["next"].startswith(f"{BASE}/api/v1/events?")
        assert "page=2" in listing["next"] and "per_page=1" in listing["next"]

    signup = f.make_signup(event=event, code="ABCD2345")
    with app.test_request_context("/", headers=EVIL):
        assert checkin_url(Signup.get_by_id(signup.id)) == f"{BASE}/admin/checkin/event/{event.id}?code=ABCD2345"


def test_a_base_url_with_a_path_prefix(app, client):
    app.config["PUBLIC_BASE_URL"] = BASE + "/alliance"
    event = f.make_event()
    body = unfolded(client.get("/calendar.ics", headers=EVIL))
    assert urls_in(body) == {f"{BASE}/alliance/events/{event.id}"}
    assert "webcal://hongpu.example.org/alliance/calendar.ics" in client.get("/calendar").get_data(as_text=True)


def test_links_need_no_request_when_the_base_url_is_set(app):
    """For e-mails and commands: the same helper, outside any request."""
    from services import links

    app.config["PUBLIC_BASE_URL"] = BASE
    with app.app_context():
        assert links.external_url("public.event_detail", event_id=7) == f"{BASE}/events/7"
        assert links.external_url("public.calendar", year=2026, month=12) == f"{BASE}/calendar?year=2026&month=12"
    app.config["PUBLIC_BASE_URL"] = None
    with app.app_context(), pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        links.external_url("public.event_detail", event_id=7)


@pytest.mark.server
def test_forged_requests_to_every_worker_leave_subscribers_unharmed(app, database_url, tmp_path):
    import requests

    event = f.make_event(category=EventCategory.HEALTH)
    if not db.is_closed():
        db.close()
    path = f"/calendar/{EventCategory.HEALTH}.ics"
    with live_server(database_url, workers=2, log_dir=tmp_path) as base:
        for _ in range(8):
            forged = requests.get(base + path, headers=EVIL, timeout=10)
            assert forged.status_code == 200
        for _ in range(8):
            normal = requests.get(base + path, timeout=10).text.replace("\r\n ", "")
            assert urls_in(normal) == {f"{base}/events/{event.id}"}
    with live_server(database_url, workers=2, log_dir=tmp_path, extra_env={"PUBLIC_BASE_URL": BASE}) as base:
        for headers in (EVIL, {}) * 4:
            body = requests.get(base + path, headers=headers, timeout=10).text.replace("\r\n ", "")
            assert urls_in(body) == {f"{BASE}/events/{event.id}"}
