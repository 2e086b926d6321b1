"""The public home page, activity calendar, event pages and sign-up forms, through the app."""
import datetime as dt
import re

import pytest

from models import (EntryKind, EventCategory, EventStatus, ProjectStatus, Signup, SignupStatus,
                    UnitStatus, VolunteerStatus, now)
from services import signups

from . import factories as f
from .querycount import count_queries





def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def day_cell(html, day):
    """The month-grid cell (an <li class="cal-day…">) of one day of the shown month."""
    cells = re.findall(r'<li class="cal-day[^"]*"[^>]*>.*?(?=<li class="cal-day|</ol>)', html, re.S)
    for cell in cells:
        if re.search(rf'<span class="num">{day}</span>', cell):
            return cell
    raise AssertionError(f"no cell for day {day}")


# --- home ------------------------------------------------------------------------------

def test_home_shows_live_figures_in_one_query(app, client):
    app.config["HOME_FIGURES_TTL"] = 0  # every request computes them
    with count_queries() as few:
        page(client, "/")
    f.make_unit(); f.make_unit(); f.make_unit(status=UnitStatus.WITHDRAWN)
    f.make_project(status=ProjectStatus.OPEN); f.make_project(status=ProjectStatus.OPEN)
    f.make_project(status=ProjectStatus.CLAIMED); f.make_project(status=ProjectStatus.IN_PROGRESS)
    f.make_project(status=ProjectStatus.DONE)
    f.make_project(status=ProjectStatus.OPEN, published=False)
    f.make_event(); f.make_event(); f.make_event(published=False)
    f.make_event(status=EventStatus.CANCELLED)
    f.make_event(starts_at=now() - dt.timedelta(days=3))
    volunteer = f.make_volunteer()
    f.make_volunteer(status=VolunteerStatus.LEFT)
    for kind, hours, points in ((EntryKind.EARNED, 2.5, 2), (EntryKind.HONOUR, 10, 0),
                                (EntryKind.CORRECTED, -0.5, 0), (EntryKind.EXCHANGED, 0, -1)):
        f.make_points_entry(volunteer=volunteer, kind=kind, hours=hours, points=points, description="测试")
    with count_queries() as many:
        html = page(client, "/")
    assert len(many) == len(few) <= 4
    pairs = re.findall(r'<span class="value">(\d+)</span><span class="label">([^<]+)</span>', html)
    figures = {label: int(value) for value, label in pairs}
    assert figures == {"成员单位": 2, "待认领项目": 2, "已认领项目": 2, "已完成项目": 1,
                       "即将举办的活动": 2, "志愿者": 1, "累计服务时长（小时）": 12,
                       "本月圆梦微心愿": 0}


def test_home_figures_are_reused_until_the_data_changes(app, client):
    f.make_unit()
    page(client, "/")
    app.config["PAGE_CACHE_BYTES"] = 0  # the figures' own cache, not the page cache
    with count_queries() as cached:
        html = page(client, "/")
    assert '<span class="value">1</span><span class="label">成员单位' in html
    assert not [q for q in cached if "member_unit" in q]
    f.make_unit()  # a write bumps the public data's version: the next request counts again
    assert '<span class="value">2</span><span class="label">成员单位' in page(client, "/")


def test_home_lists_only_published_upcoming_events(client):
    shown = f.make_event(title="邻里节百家宴")
    f.make_event(title="草稿活动", published=False)
    f.make_event(title="去年的活动", starts_at=now() - dt.timedelta(days=300))
    html = page(client, "/")
    assert "邻里节百家宴" in html and f"/events/{shown.id}" in html
    assert "草稿活动" not in html and "去年的活动" not in html


# --- calendar ----------------------------------------------------------------------------

def test_month_view_places_events_on_their_days_and_marks_today(client):
    today = now().date()
    start = dt.datetime.combine(today.replace(day=1), dt.time(9, 30))
    first = f.make_event(title="月初健康义诊", category=EventCategory.HEALTH, starts_at=start)
    spanning = f.make_event(title="民族文化市集", category=EventCategory.ETHNIC_MARKET,
                            starts_at=start + dt.timedelta(days=1), ends_at=start + dt.timedelta(days=2, hours=5))
    f.make_event(title="未发布的活动", starts_at=start)
    f.make_event(title="草稿", starts_at=start, published=False)
    cancelled = f.make_event(title="被取消的宣讲", starts_at=start + dt.timedelta(hours=3),
                             status=EventStatus.CANCELLED)
    html = page(client, "/calendar")
    assert f"{today.year}年{today.month}月" in html
    cell = day_cell(html, 1)
    assert "月初健康义诊" in cell and "09:30" in cell and f"/events/{first.id}" in cell
    assert "被取消的宣讲" in cell and "已取消" in cell and f"/events/{cancelled.id}" in cell
    assert "民族文化市集" in day_cell(html, 2) and "民族文化市集" in day_cell(html, 3)
    assert "民族文化市集" not in cell and f"/events/{spanning.id}" in html
    assert "草稿" not in html
    today_cell = day_cell(html, today.day)
    assert 'aria-current="date"' in today_cell and "今天" in today_cell
    assert html.count('aria-current="date"') == 1


def test_month_navigation_and_category_filter(client):
    today = now().date()
    nxt = (today.replace(day=28) + dt.timedelta(days=7)).replace(day=1)
    f.make_event(title="下月邻里节", category=EventCategory.NEIGHBOURHOOD,
                 starts_at=dt.datetime.combine(nxt.replace(day=10), dt.time(14)))
    f.make_event(title="下月义诊", category=EventCategory.HEALTH,
                 starts_at=dt.datetime.combine(nxt.replace(day=12), dt.time(9)))
    html = page(client, "/calendar")
    link = re.search(r'<a class="button" rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert f"year={nxt.year}" in link and f"month={nxt.month}" in link
    html = page(client, link)
    assert f"{nxt.year}年{nxt.month}月" in html
    assert "下月邻里节" in day_cell(html, 10) and "下月义诊" in day_cell(html, 12)
    # today is marked only where the grid shows it: a leading day of next month's grid at
    # the end of a month (30 November in December's first week), never a day of next month
    marked = re.findall(r'<li class="cal-day([^"]*)"[^>]*aria-current="date"', html, re.S)
    assert all(" out" in classes for classes in marked)
    html = page(client, link + "&category=health")
    assert "下月义诊" in html and "下月邻里节" not in html
    prev = re.search(r'rel="prev" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "category=health" in prev and f"month={today.month}" in prev


def test_busy_day_links_to_the_day_list(client):
    start = dt.datetime.combine(now().date().replace(day=15), dt.time(8))
    for i in range(5):
        f.make_event(title=f"同日活动{i}", starts_at=start + dt.timedelta(minutes=i))
    html = page(client, "/calendar")
    assert "另有 2 项" in day_cell(html, 15)
    day = start.date().isoformat()
    listing = page(client, f"/calendar?view=list&day={day}")
    assert all(f"同日活动{i}" in listing for i in range(5))


def test_list_view_upcoming_and_past_with_paging(client):
    base = now().replace(microsecond=0)
    for i in range(23):
        f.make_event(title=f"近期活动{i:02d}", starts_at=base + dt.timedelta(days=1 + i))
    f.make_event(title="上月邻里节", starts_at=base - dt.timedelta(days=10))
    f.make_event(title="未发布往期", starts_at=base - dt.timedelta(days=10), published=False)
    html = page(client, "/calendar?view=list")
    assert "近期活动00" in html and "近期活动19" in html and "近期活动20" not in html
    assert "上月邻里节" not in html and 'rel="next"' in html
    html = page(client, "/calendar?view=list&page=2")
    assert "近期活动20" in html and "近期活动22" in html and 'rel="next"' not in html
    html = page(client, "/calendar?view=list&when=past")
    assert "上月邻里节" in html and "近期活动0" not in html and "未发布往期" not in html


@pytest.mark.parametrize("query, notice", [
    ("month=13", "超出范围"), ("year=abc", "无效"), ("year=99999&month=1", "超出范围"),
    ("month=-1", "超出范围"), ("category=unknown", "未知的活动类别"), ("view=grid", "未知的显示方式"),
    ("view=list&page=-1", "页码超出范围"), ("view=list&page=abc", "页码无效"),
    ("view=list&when=later", "未知的时间范围"), ("view=list&day=2025-02-30", "日期无效"),
    ("view=list&page=99999999999999999999", "超出范围"),
])
def test_bad_parameters_fall_back_with_a_notice(client, query, notice):
    html = page(client, "/calendar?" + query)
    assert notice in html


def test_unknown_category_feed_is_404(client):
    page(client, "/calendar/unknown.ics", status=404)


# --- event page ------------------------------------------------------------------------

def test_event_page_shows_time_place_organiser_and_places_left(client):
    unit = f.make_unit(name="红浦社区卫生服务站")
    event = f.make_event(title="健康义诊进社区", capacity=3, organiser=unit, location="党群服务中心二楼",
                         starts_at=dt.datetime(2099, 5, 3, 9, 0), ends_at=dt.datetime(2099, 5, 3, 11, 30),
                         description="测血压\n量血糖")
    signups.register(event.id, "张三", "13800000001")
    html = page(client, f"/events/{event.id}")
    assert "2099年5月3日 周日 09:00–11:30" in html and "北京时间" in html
    assert "党群服务中心二楼" in html and "红浦社区卫生服务站" in html
    assert "剩余 2 个名额" in html and "<p>测血压</p><p>量血糖</p>" in html
    assert "13800000001" not in html and 'name="phone"' in html


def test_full_event_says_so_and_offers_the_waiting_list(client):
    event = f.make_event(capacity=1)
    signups.register(event.id, "张三", "13800000001")
    html = page(client, f"/events/{event.id}")
    assert "名额已满" in html and "候补名单" in html and "报名候补" in html


def test_cancelled_event_is_visible_as_cancelled_without_form(client):
    event = f.make_event(title="取消的活动", status=EventStatus.CANCELLED)
    html = page(client, f"/events/{event.id}")
    assert "本活动已取消" in html and "已取消" in html
    assert f'action="/events/{event.id}/signup"' not in html


def test_unpublished_and_missing_events_are_404(client):
    draft = f.make_event(published=False)
    for url in (f"/events/{draft.id}", f"/events/{draft.id}.ics", "/events/999999", "/events/abc"):
        page(client, url, status=404)
    response = client.post(f"/events/{draft.id}/signup", data={"name": "张三", "phone": "13800000001"})
    assert response.status_code == 404 and Signup.select().count() == 0


def test_user_text_is_escaped_everywhere(client):
    title = '<script>alert("x")</script>'
    # later today, so that it is in this month's grid and upcoming whatever the date
    event = f.make_event(title=title, location="<b>楼下</b>", description="<img src=x onerror=alert(1)>",
                         starts_at=now() + dt.timedelta(minutes=10))
    signups.register(event.id, "<i>名</i>", "13800000001")
    for url in ("/", "/calendar", "/calendar?view=list", f"/events/{event.id}"):
        html = page(client, url)
        assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    html = page(client, f"/events/{event.id}")
    assert "<b>楼下</b>" not in html and "<img src=x" not in html


# --- sign-up through the page ---------------------------------------------------------------

def test_sign_up_shows_the_code_then_the_waiting_list(client):
    event = f.make_event(capacity=1)
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "138 1234 1234"})
    assert response.status_code == 303
    html = page(client, response.headers["Location"])
    signup = Signup.get(Signup.phone == "13812341234")
    assert "报名成功" in html and signup.code in html and "138****1234" in html
    assert "13812341234" not in html
    response = client.post(f"/events/{event.id}/signup", data={"name": "李四", "phone": "13812345678"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "候补第 1 位" in html
    assert [s.status for s in Signup.select().order_by(Signup.id)] == [
        SignupStatus.REGISTERED, SignupStatus.WAITLISTED]


def test_confirmation_is_only_for_the_browser_that_signed_up(app, client):
    event = f.make_event()
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "13812341234"})
    other = app.test_client()
    assert other.get(response.headers["Location"]).status_code == 404


@pytest.mark.parametrize("data, status, message", [
    ({"name": "", "phone": "13812341234"}, 400, "请填写姓名"),
    ({"name": "张三", "phone": "abc"}, 400, "有效的手机号"),
    ({"name": "张三" * 20, "phone": "13812341234"}, 400, "姓名过长"),
    ({}, 400, "请填写"),
])
def test_bad_sign_up_form_is_400_and_writes_nothing(client, data, status, message):
    event = f.make_event()
    response = client.post(f"/events/{event.id}/signup", data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert Signup.select().count() == 0


def test_duplicate_and_closed_sign_ups_say_why(client):
    event = f.make_event()
    client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "13812341234"})
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "13812341234"})
    assert response.status_code == 409 and "请勿重复报名" in response.get_data(as_text=True)
    past = f.make_event(starts_at=now() - dt.timedelta(days=3))
    response = client.post(f"/events/{past.id}/signup", data={"name": "张三", "phone": "13812341234"})
    assert response.status_code == 409 and "已结束" in response.get_data(as_text=True)
    cancelled = f.make_event(status=EventStatus.CANCELLED)
    response = client.post(f"/events/{cancelled.id}/signup", data={"name": "张三", "phone": "13812341234"})
    assert response.status_code == 409 and "已取消" in response.get_data(as_text=True)
    assert Signup.select().count() == 1


def test_resident_cancels_with_phone_and_code_and_the_first_waiting_moves_up(client):
    event = f.make_event(capacity=1)
    mine = signups.register(event.id, "张三", "13812341234")
    waiting = signups.register(event.id, "李四", "13812345678")
    response = client.post(f"/events/{event.id}/cancel",
                           data={"cancel-phone": "13812341234", "cancel-code": "000000"})
    assert response.status_code == 404 and "未找到" in response.get_data(as_text=True)
    response = client.post(f"/events/{event.id}/cancel",
                           data={"cancel-phone": "13812341234", "cancel-code": mine.code})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "已取消报名" in html and "138****1234" in html
    assert Signup.get_by_id(mine.id).status == SignupStatus.CANCELLED
    assert Signup.get_by_id(waiting.id).status == SignupStatus.REGISTERED
    response = client.post(f"/events/{event.id}/cancel", data={"cancel-phone": "", "cancel-code": ""})
    assert response.status_code == 400


def test_forms_need_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    event = f.make_event()
    response = client.post(f"/events/{event.id}/signup", data={"name": "张三", "phone": "13812341234"})
    assert response.status_code == 400 and Signup.select().count() == 0
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(f"/events/{event.id}/signup",
                           data={"name": "张三", "phone": "13812341234", "csrf_token": token})
    assert response.status_code == 303 and Signup.select().count() == 1
