"""Sessions end on every app server at once: a real gunicorn with several workers, real
cookies, a "stolen" copy replayed until every worker has answered it."""
import re

import pytest

from models import LoginSession, Role, SessionEnd, db

from . import factories as f
from .live import csrf_token, live_server, login_session

pytestmark = pytest.mark.server

WORKERS = 3
TRIES = 3 * WORKERS  # enough requests that each worker answers some of them


def opens(session, base, path="/admin/"):
    """How many of TRIES requests with these cookies were let in."""
    return sum(session.get(base + path, allow_redirects=False, timeout=10).status_code == 200
               for _ in range(TRIES))


def thief_with(cookies):
    import requests

    thief = requests.Session()
    for name, value in cookies.items():
        thief.cookies.set(name, value)
    return thief


def remembered_login(base, username):
    import requests

    session = requests.Session()
    page = session.get(base + "/login", timeout=10)
    response = session.post(base + "/login", data={
        "username": username, "password": f.PASSWORD, "remember": "y", "csrf_token": csrf_token(page.text)},
        allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert "remember_token" in session.cookies.get_dict()
    return session


def test_logout_and_a_password_reset_end_sessions_on_every_worker(app, database_url, tmp_path):
    clerk = f.make_user(role=Role.CLERK)
    admin = f.make_user(role=Role.ADMIN)
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=WORKERS, log_dir=tmp_path) as base:
        leaving = remembered_login(base, clerk.username)
        stolen = leaving.cookies.get_dict()
        staying = remembered_login(base, clerk.username)
        assert opens(leaving, base) == TRIES and opens(staying, base) == TRIES

        page = leaving.get(base + "/admin/", timeout=10)
        response = leaving.post(base + "/logout", data={"csrf_token": csrf_token(page.text)},
                                allow_redirects=False, timeout=10)
        assert response.status_code == 302
        assert opens(leaving, base) == 0
        assert opens(thief_with(stolen), base) == 0
        assert opens(thief_with({"remember_token": stolen["remember_token"]}), base) == 0
        assert opens(staying, base) == TRIES  # the other device is not affected

        kept = staying.cookies.get_dict()
        boss = login_session(base, admin.username, f.PASSWORD)
        edit = boss.get(f"{base}/admin/account/edit/?id={clerk.id}", timeout=10)
        assert edit.status_code == 200
        response = boss.post(f"{base}/admin/account/edit/?id={clerk.id}", data={
            "csrf_token": csrf_token(edit.text), "username": clerk.username, "role": Role.CLERK,
            "unit": "__None", "active": "y", "password": "reset-by-admin-1"}, allow_redirects=False, timeout=10)
        assert response.status_code == 302, re.sub(r"\s+", " ", response.text)[:500]
        assert opens(staying, base) == 0
        assert opens(thief_with(kept), base) == 0
        assert opens(thief_with({"remember_token": kept["remember_token"]}), base) == 0
        assert opens(boss, base) == TRIES

    db.connect(reuse_if_open=True)
    reasons = [s.end_reason for s in LoginSession.select().where(LoginSession.user == clerk.id)
               .order_by(LoginSession.id)]
    assert reasons == [SessionEnd.LOGOUT, SessionEnd.PASSWORD]
