"""Anonymous sign-ups are rate limited per address and per phone (web/ratelimit.py): a
Chinese 429 on the page, the JSON error in the API, counters in the database by default
(shared by every app server) or in Redis when RATELIMIT_STORAGE_URL says so."""
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from app import create_app
from models import RateLimitCounter, Signup, SignupStatus, db
from web.ratelimit import DatabaseStorage, rate_limited

from . import factories as f
from .conftest import ON_POSTGRES
from .live import csrf_token, live_server

REDIS_URL = "redis://127.0.0.1:6379/0"


def _sign_up(client, event, i, ip="203.0.113.7", phone=None):
    return client.post(f"/events/{event.id}/signup", data={"name": f"居民{i}", "phone": phone or f"1390000{i:04d}"},
                       environ_base={"REMOTE_ADDR": ip})


def test_ten_fake_sign_ups_from_one_address_cannot_fill_an_event(client):
    event = f.make_event(capacity=10)
    codes = [_sign_up(client, event, i).status_code for i in range(10)]
    assert codes == [303] * 5 + [429] * 5
    response = _sign_up(client, event, 99)
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "报名过于频繁：同一网络每分钟最多 5 次，请稍后再试。" in html
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert Signup.select().where(Signup.status == SignupStatus.REGISTERED).count() == 5
    # another address is not held back by this one
    assert _sign_up(client, event, 50, ip="198.51.100.2").status_code == 303


def test_one_phone_cannot_be_signed_up_everywhere(client):
    events = [f.make_event() for _ in range(6)]
    codes = [_sign_up(client, event, 1, ip=f"192.0.2.{n}", phone="+86 139 0482 9999").status_code
             for n, event in enumerate(events)]
    assert codes == [303] * 5 + [429]
    response = _sign_up(client, events[-1], 1, ip="192.0.2.99", phone="13904829999")  # the same number
    assert response.status_code == 429 and "同一手机号每 10 分钟最多 5 次" in response.get_data(as_text=True)
    # the counter holds a digest, not the number
    assert not RateLimitCounter.select().where(RateLimitCounter.key.contains("13904829999")).exists()


def test_the_api_answers_429_in_its_json_shape_and_shares_the_page_counters(client):
    event = f.make_event(capacity=50)
    for i in range(3):
        assert _sign_up(client, event, i).status_code == 303
    url = f"/api/v1/events/{event.id}/signups"
    for i in range(3, 5):
        response = client.post(url, json={"name": f"居民{i}", "phone": f"1390000{i:04d}"},
                               environ_base={"REMOTE_ADDR": "203.0.113.7"})
        assert response.status_code == 201
    response = client.post(url, json={"name": "居民9", "phone": "13900000009"},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 429
    assert response.get_json() == {"error": {"code": 429,
                                             "message": "报名过于频繁：同一网络每分钟最多 5 次，请稍后再试。"}}
    assert int(response.headers["Retry-After"]) > 0
    assert Signup.select().count() == 5


def _counts():
    return {key.split("/", 2)[2]: count for key, count in
            RateLimitCounter.select(RateLimitCounter.key, RateLimitCounter.count).tuples()}


def test_a_sign_up_moves_its_four_counters_in_one_statement(client):
    """Two rules × two windows: one multi-row upsert, not four write statements."""
    from .querycount import count_queries

    event = f.make_event(capacity=10)
    assert _sign_up(client, event, 0).status_code == 303
    with count_queries() as executed:
        assert _sign_up(client, event, 1).status_code == 303
    assert len([sql for sql in executed if '"rate_limit"' in sql]) == 1
    counts = _counts()
    assert {k: v for k, v in counts.items() if "signup:ip" in k} == {
        "203.0.113.7/signup:ip/5/1/minute": 2, "203.0.113.7/signup:ip/30/1/hour": 2}
    assert sorted(v for k, v in counts.items() if "signup:phone" in k) == [1, 1, 1, 1]


def test_counters_past_the_exceeded_limit_are_not_counted(client):
    """The limiter stops at the first limit exceeded: the hits made in advance on the
    other counters are given back (a refused request counts as before: in the windows up
    to the one it exceeded), and a counter back at zero is gone."""
    event = f.make_event(capacity=20)
    assert [_sign_up(client, event, i).status_code for i in range(6)] == [303] * 5 + [429]
    counts = _counts()
    assert counts["203.0.113.7/signup:ip/5/1/minute"] == 6
    assert counts["203.0.113.7/signup:ip/30/1/hour"] == 5
    assert len([k for k in counts if "signup:phone" in k]) == 10  # the refused phone's are gone


def test_guessing_check_in_codes_is_limited_too(client):
    event = f.make_event()
    for _ in range(10):
        response = client.post(f"/events/{event.id}/cancel", data={"cancel-phone": "13912345678",
                                                                   "cancel-code": "ABCDEF"})
        assert response.status_code == 404
    response = client.post(f"/events/{event.id}/cancel", data={"cancel-phone": "13912345678", "cancel-code": "ABCDEF"})
    assert response.status_code == 429 and "查询过于频繁" in response.get_data(as_text=True)


def test_a_phone_that_is_refused_anyway_is_not_counted_per_phone(client):
    event = f.make_event()
    for n in range(6):
        response = _sign_up(client, event, 1, ip=f"192.0.2.{n}", phone="12345")
        assert response.status_code == 400
    assert not RateLimitCounter.select().where(RateLimitCounter.key.contains("signup:phone")).exists()


def test_limits_come_from_the_configuration(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNUP_LIMIT_PER_IP", "2 per hour")
    event = f.make_event()
    assert [_sign_up(client, event, i).status_code for i in range(3)] == [303, 303, 429]
    assert "同一网络每小时最多 2 次" in _sign_up(client, event, 9).get_data(as_text=True)


def test_a_limit_that_does_not_parse_stops_the_start(database_url):
    previous = db.obj
    try:
        with pytest.raises(ValueError):
            create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x",
                        "SIGNUP_LIMIT_PER_IP": "five a minute"})
    finally:
        db.initialize(previous)


def test_two_app_servers_on_one_database_share_the_counters(app, database_url):
    """Two apps in one process stand for two servers: nothing is kept in app memory."""
    previous = db.obj
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "y",
                        "WTF_CSRF_ENABLED": False})
    try:
        event = f.make_event(capacity=20)
        clients = [app.test_client(), other.test_client()]
        codes = [_sign_up(clients[i % 2], event, i).status_code for i in range(8)]
        assert codes == [303] * 5 + [429] * 3
    finally:
        db.initialize(previous)


def test_database_storage_windows(app):
    storage = DatabaseStorage()
    assert storage.check()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get("other") == 0
    RateLimitCounter.update(expires_at=1.0).where(RateLimitCounter.key == "k").execute()
    assert storage.get("k") == 0  # the window is over
    assert storage.incr("k", 60) == 1  # and the next hit opens a new one
    assert storage.get_expiry("k") > storage.get_expiry("missing") - 1
    storage.clear("k")
    assert storage.get("k") == 0
    storage.incr("a", 60)
    assert storage.reset() >= 1 and RateLimitCounter.select().count() == 0


def test_long_expired_counters_are_pruned(app, monkeypatch):
    storage = DatabaseStorage()
    storage.incr("old", 60)
    RateLimitCounter.update(expires_at=1.0).where(RateLimitCounter.key == "old").execute()
    monkeypatch.setattr("web.ratelimit.PRUNE_EVERY", 1)  # prune on this hit
    storage.incr("new", 60)
    assert [c.key for c in RateLimitCounter.select()] == ["new"]


def test_rules_are_named():
    with pytest.raises(KeyError):
        rate_limited("no-such-rule")


def test_limits_can_be_switched_off(app, client, monkeypatch):
    monkeypatch.setattr(app.extensions["rate_limiter"], "enabled", False)  # RATELIMIT_ENABLED=false
    event = f.make_event(capacity=20)
    assert all(_sign_up(client, event, i).status_code == 303 for i in range(8))


# --- Redis when configured ---------------------------------------------------------------------------

@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:  # pragma: no cover - make test starts it
        pytest.fail(f"Redis is not answering at {REDIS_URL} ({exc}); `make redis` starts it")
    yield client
    client.close()


def test_redis_storage_when_configured(database_url, redis_client):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    previous = db.obj
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "z",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix})
    try:
        client = app.test_client()
        event = f.make_event(capacity=20)
        assert [_sign_up(client, event, i).status_code for i in range(7)] == [303] * 5 + [429] * 2
        keys = redis_client.keys(f"*{prefix}*")
        assert keys, "no counters in Redis"
        assert RateLimitCounter.select().count() == 0  # nothing in the database
    finally:
        for key in redis_client.keys(f"*{prefix}*"):
            redis_client.delete(key)
        db.initialize(previous)


# --- real servers: two gunicorn workers share the limit ------------------------------------------------

def _fire(jobs):
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait(timeout=30)
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def _prepared_sign_up(base, event, i):
    session = requests.Session()
    page = session.get(f"{base}/events/{event.id}", timeout=30)
    data = {"name": f"居民{i}", "phone": f"1370000{i:04d}", "csrf_token": csrf_token(page.text)}

    def post():
        return session.post(f"{base}/events/{event.id}/signup", data=data, allow_redirects=False,
                            timeout=60).status_code
    return post


@pytest.mark.server
@pytest.mark.parametrize("storage", ["database", "redis"])
def test_two_gunicorn_workers_share_the_limit(app, database_url, artifacts, storage, request):
    env = {"GUNICORN_CMD_ARGS": "--access-logfile - --access-logformat '%(p)s %(m)s %(U)s %(s)s'"}
    if storage == "redis":
        redis_client = request.getfixturevalue("redis_client")
        prefix = f"live-{uuid.uuid4().hex[:8]}"
        env.update(RATELIMIT_STORAGE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
    event = f.make_event(title="限流测试", capacity=30)
    try:
        with live_server(database_url, workers=2, log_dir=artifacts, extra_env=env) as base:
            port = base.rsplit(":", 1)[1]
            codes = _fire([_prepared_sign_up(base, event, i) for i in range(12)])
        assert sorted(codes) == [303] * 5 + [429] * 7, codes
        log = (Path(artifacts) / f"gunicorn-{port}.log").read_text()
        pids = set(re.findall(rf"^<(\d+)> POST /events/{event.id}/signup \d+$", log, re.M))
        assert len(pids) == 2, f"the sign-ups did not reach both workers: {pids}"
        assert Signup.select().where(Signup.event == event.id).count() == 5
    finally:
        if storage == "redis":
            for key in redis_client.keys(f"*{prefix}*"):
                redis_client.delete(key)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's unlogged tables")
def test_the_counters_skip_the_write_ahead_log_on_postgresql(app):
    """Migration 051: soft state, so a counter's commit waits for no WAL flush."""
    persistence = db.obj.execute_sql("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit'").fetchone()[0]
    assert persistence == "u"
    storage = DatabaseStorage()
    assert [storage.incr("051-check", 60) for _ in range(3)] == [1, 2, 3]  # the reused statement counts
