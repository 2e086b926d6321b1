"""Sign-ups and cancellations racing through a real multi-worker gunicorn server."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from models import Signup, SignupStatus

from . import factories as f
from .live import csrf_token, live_server

CAPACITY = 5
PEOPLE = 36


def _fire(jobs):
    """Run every job at the same instant (a barrier), return their results."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait(timeout=30)
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def _prepared_post(base, page_url, post_url, data):
    """A session that already holds the form's CSRF token; calling it posts."""
    session = requests.Session()
    page = session.get(base + page_url, timeout=30)
    assert page.status_code == 200
    payload = dict(data, csrf_token=csrf_token(page.text))

    def post():
        response = session.post(base + post_url, data=payload, allow_redirects=False, timeout=60)
        return response.status_code, response.text

    return post


@pytest.mark.server
def test_concurrent_sign_ups_never_overbook(app, database_url, artifacts):
    event = f.make_event(title="并发报名测试", capacity=CAPACITY)
    # 39 sign-ups from one address at once: the overbooking rule is under test here, the
    # per-address limit (tests/test_ratelimit.py) would refuse most of them
    with live_server(database_url, workers=4, threads=2, log_dir=artifacts,
                     extra_env={"RATELIMIT_ENABLED": "false"}) as base:
        page, action = f"/events/{event.id}", f"/events/{event.id}/signup"
        jobs = [_prepared_post(base, page, action, {"name": f"居民{i}", "phone": f"1390000{i:04d}"})
                for i in range(PEOPLE)]
        # the same phone three more times at once: only one may stay live
        jobs += [_prepared_post(base, page, action, {"name": "重复", "phone": "13900000000"})
                 for _ in range(3)]
        results = _fire(jobs)
        codes = [code for code, _ in results]
        assert 500 not in codes
        assert codes.count(303) == PEOPLE and codes.count(409) == 3, codes
        assert all("请勿重复报名" in text for code, text in results if code == 409)

        rows = list(Signup.select().where(Signup.event == event.id))
        statuses = [s.status for s in rows]
        assert statuses.count(SignupStatus.REGISTERED) == CAPACITY
        assert statuses.count(SignupStatus.WAITLISTED) == PEOPLE - CAPACITY
        assert len({s.phone for s in rows}) == len(rows) == PEOPLE
        assert len({s.code for s in rows}) == PEOPLE

        # now the registered cancel, each twice at once: each frees exactly one place
        registered = [s for s in rows if s.status == SignupStatus.REGISTERED][:3]
        cancel = f"/events/{event.id}/cancel"
        jobs = [_prepared_post(base, page, cancel, {"cancel-phone": s.phone, "cancel-code": s.code})
                for s in registered for _ in range(2)]
        codes = [code for code, _ in _fire(jobs)]
        assert 500 not in codes and codes.count(200) == 3, codes
        assert set(codes) <= {200, 404, 409}

    after = {s.id: s.status for s in Signup.select().where(Signup.event == event.id)}
    assert list(after.values()).count(SignupStatus.REGISTERED) == CAPACITY
    assert list(after.values()).count(SignupStatus.CANCELLED) == 3
    assert list(after.values()).count(SignupStatus.WAITLISTED) == PEOPLE - CAPACITY - 3
    # the promoted are the three earliest of the waiting list
    waiting_before = sorted((s for s in rows if s.status == SignupStatus.WAITLISTED),
                            key=lambda s: (s.created_at, s.id))
    assert {s.id for s in waiting_before[:3]} == {
        sid for sid, st in after.items() if st == SignupStatus.REGISTERED} - {s.id for s in rows if s.status == SignupStatus.REGISTERED}
