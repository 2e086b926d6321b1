"""The iCalendar feeds, parsed back with the icalendar package, property by property."""
import datetime as dt
from zoneinfo import ZoneInfo

import icalendar

from models import Event, EventCategory, EventStatus, now
from services import ical

from . import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return response, icalendar.Calendar.from_ical(response.data)


def vevents(cal):
    return {str(ve["UID"]): ve for ve in cal.walk("VEVENT")}


def test_feed_properties_follow_rfc5545(client):
    unit = f.make_unit(name="红浦社区居委会")
    start = (now() + dt.timedelta(days=3)).replace(hour=9, minute=30, second=0)
    event = f.make_event(title="邻里节·百家宴", starts_at=start, ends_at=start + dt.timedelta(hours=3),
                         location="红浦广场", organiser=unit, description="自带一道拿手菜",
                         category=EventCategory.NEIGHBOURHOOD)
    response, cal = fetch(client, "/calendar.ics")
    assert cal["VERSION"] == "2.0" and "红石榴" in str(cal["PRODID"])
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    ve = vevents(cal)[f"event-{event.id}@hongshiliu.local"]
    assert str(ve["SUMMARY"]) == "邻里节·百家宴"
    assert str(ve["LOCATION"]) == "红浦广场"
    assert "红浦社区居委会" in str(ve["DESCRIPTION"]) and "自带一道拿手菜" in str(ve["DESCRIPTION"])
    assert str(ve["URL"]).endswith(f"/events/{event.id}")
    assert [str(c) for c in ve["CATEGORIES"].cats] == ["邻里节"]
    assert str(ve["STATUS"]) == "CONFIRMED" and int(ve["SEQUENCE"]) == 0
    # times are zoned (TZID=Asia/Shanghai), never floating, and mean the stored wall time
    dtstart, dtend = ve.decoded("DTSTART"), ve.decoded("DTEND")
    assert ve["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert dtstart.tzinfo is not None and dtstart.utcoffset() == dt.timedelta(hours=8)
    assert dtstart.replace(tzinfo=None) == start and dtend.replace(tzinfo=None) == start + dt.timedelta(hours=3)
    # DTSTAMP is the record's last change, in UTC
    stored = Event.get_by_id(event.id)
    stamp = ve.decoded("DTSTAMP")
    assert stamp.utcoffset() == dt.timedelta(0)
    assert stamp == stored.updated_at.replace(tzinfo=SHANGHAI)
    assert b"DTSTAMP:" in response.data and b"Z\r\n" in response.data
    assert b"\r\n" in response.data and b"\n" not in response.data.replace(b"\r\n", b"")


def test_uid_stable_and_sequence_rises_with_calendar_changes(client):
    event = f.make_event(title="政策宣讲")
    _, before = fetch(client, "/calendar.ics")
    uid = f"event-{event.id}@hongshiliu.local"
    assert int(vevents(before)[uid]["SEQUENCE"]) == 0
    event = Event.get_by_id(event.id)
    event.title = "政策宣讲（改期）"
    event.starts_at = event.starts_at + dt.timedelta(hours=1)
    event.ends_at = event.ends_at + dt.timedelta(hours=1)
    event.save()
    event = Event.get_by_id(event.id)
    event.capacity = 50  # not shown by a calendar: SEQUENCE stays
    event.save()
    _, after = fetch(client, "/calendar.ics")
    ve = vevents(after)[uid]
    assert list(vevents(after)) == [uid]
    assert str(ve["SUMMARY"]) == "政策宣讲（改期）" and int(ve["SEQUENCE"]) == 1
    assert Event.get_by_id(event.id).sequence == 1


def test_cancelled_events_are_in_the_feed_as_cancelled(client):
    event = f.make_event(title="健康义诊")
    event = Event.get_by_id(event.id)
    event.status = EventStatus.CANCELLED
    event.save()
    _, cal = fetch(client, "/calendar.ics")
    ve = vevents(cal)[f"event-{event.id}@hongshiliu.local"]
    assert str(ve["STATUS"]) == "CANCELLED" and int(ve["SEQUENCE"]) == 1
    assert "已取消" in str(ve["SUMMARY"])


def test_no_title_can_inject_a_line(client):
    evil = f.make_event(title="正常标题\r\nBEGIN:VEVENT\r\nUID:evil@x\r\nSUMMARY:伪造",
                        location="A;B,C\\D\rEND:VCALENDAR", description="第一行\n第二行")
    response, cal = fetch(client, "/calendar.ics")
    lines = response.data.split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == 1 and lines.count(b"END:VCALENDAR") == 1
    assert not [line for line in lines if line.startswith((b"UID:evil", b"SUMMARY:\xe4\xbc\xaa"))]
    events = cal.walk("VEVENT")
    assert len(events) == 1 and str(events[0]["UID"]) == f"event-{evil.id}@hongshiliu.local"
    assert str(events[0]["SUMMARY"]) == "正常标题\nBEGIN:VEVENT\nUID:evil@x\nSUMMARY:伪造"
    assert str(events[0]["LOCATION"]) == "A;B,C\\D\nEND:VCALENDAR"


def test_only_published_events_in_the_window(client):
    shown = f.make_event(title="发布的")
    f.make_event(title="草稿", published=False)
    recent = f.make_event(title="上个月的", starts_at=now() - dt.timedelta(days=30))
    f.make_event(title="太久以前", starts_at=now() - dt.timedelta(days=ical.FEED_PAST_DAYS + 5))
    f.make_event(title="太远以后", starts_at=now() + dt.timedelta(days=ical.FEED_FUTURE_DAYS + 5))
    _, cal = fetch(client, "/calendar.ics")
    assert sorted(vevents(cal)) == sorted(f"event-{e.id}@hongshiliu.local" for e in (shown, recent))


def test_feed_is_capped_upcoming_first(client, monkeypatch):
    monkeypatch.setattr(ical, "FEED_MAX_EVENTS", 3)

    def uids(cal):
        return [str(ve["UID"]) for ve in cal.walk("VEVENT")]

    def uid(e):
        return f"event-{e.id}@hongshiliu.local"

    older = f.make_event(starts_at=now() - dt.timedelta(days=50))
    recent = f.make_event(starts_at=now() - dt.timedelta(days=2))
    soon = [f.make_event(starts_at=now() + dt.timedelta(days=d)) for d in (1, 2)]
    # two upcoming: the most recent past event fills the third slot
    _, cal = fetch(client, "/calendar.ics")
    assert uids(cal) == [uid(recent)] + [uid(e) for e in soon]
    later = f.make_event(starts_at=now() + dt.timedelta(days=20))
    _, cal = fetch(client, "/calendar.ics")
    assert uids(cal) == [uid(e) for e in soon + [later]]
    assert uid(older) not in uids(cal)


def test_category_feed_and_event_download(client):
    health = f.make_event(title="义诊", category=EventCategory.HEALTH)
    f.make_event(title="邻里节", category=EventCategory.NEIGHBOURHOOD)
    response, cal = fetch(client, "/calendar/health.ics")
    assert list(vevents(cal)) == [f"event-{health.id}@hongshiliu.local"]
    assert "健康义诊" in str(cal["X-WR-CALNAME"])
    response, one = fetch(client, f"/events/{health.id}.ics")
    assert list(vevents(one)) == [f"event-{health.id}@hongshiliu.local"]
    assert one.walk("VTIMEZONE") and f'event-{health.id}.ics' in response.headers["Content-Disposition"]


def test_empty_feed_is_still_a_valid_calendar(client):
    _, cal = fetch(client, "/calendar/party.ics")
    assert cal.walk("VEVENT") == [] and cal.walk("VTIMEZONE")


def test_conditional_get_and_refresh_after_an_edit(client):
    event = f.make_event(title="文体活动")
    first = client.get("/calendar.ics")
    etag = first.headers["ETag"]
    assert client.get("/calendar.ics", headers={"If-None-Match": etag}).status_code == 304
    event = Event.get_by_id(event.id)
    event.location = "新的地点"
    event.save()
    second = client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    assert "新的地点" in second.get_data(as_text=True)


def test_uid_domain_comes_from_config(app, client):
    app.config["ICAL_UID_DOMAIN"] = "hongpu.example.cn"
    event = f.make_event()
    _, cal = fetch(client, f"/events/{event.id}.ics")
    assert list(vevents(cal)) == [f"event-{event.id}@hongpu.example.cn"]


def test_calendar_page_offers_webcal_subscription(client):
    html = client.get("/calendar").get_data(as_text=True)
    assert "webcal://localhost/calendar.ics" in html and "webcal://localhost/calendar/health.ics" in html
    assert "iPhone" in html and "安卓" in html
