"""Many units clicking 认领 at the same instant, against a real 4-worker gunicorn server.

Each unit has its own logged-in ``requests.Session`` (the real login form, with CSRF);
a barrier releases every claim at once. The slot rule must hold on SQLite and PostgreSQL:
never more live claims than slots, losers get 409 "名额已满", nobody gets a 500.
"""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from models import Claim, ClaimStatus, Project, ProjectStatus, Role, User, db

from . import factories as f
from .live import csrf_token, live_server, login_session

pytestmark = pytest.mark.server

UNITS = 32
PASSWORD = "concurrent-claims-7"


def _unit_accounts(count):
    """``count`` unit accounts; a cheap hash keeps 32 logins quick (the login form
    verifies whatever hash is stored)."""
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    tag = uuid.uuid4().hex[:6]
    return [User.create(username=f"c{tag}{i:02d}", password_hash=digest, role=Role.UNIT,
                        unit=f.make_unit(name=f"并发测试单位{tag}{i:02d}"))
            for i in range(count)]


def _hand_over_database():
    """The server reads what the test wrote: nothing left open on our side."""
    if not db.is_closed():
        if db.in_transaction():
            db.commit()
        db.close()


def _fire(base, sessions, project_id):
    """Post one claim per session, all released together; returns [(status, body)]."""
    tokens = [csrf_token(s.get(f"{base}/projects/{project_id}", timeout=20).text) for s in sessions]
    barrier = threading.Barrier(len(sessions))

    def claim(i):
        barrier.wait(timeout=30)
        response = sessions[i].post(f"{base}/projects/{project_id}/claim",
                                    data={"plan": f"并发认领计划 {i}", "csrf_token": tokens[i]},
                                    allow_redirects=False, timeout=60)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        return list(pool.map(claim, range(len(sessions))))


def _login_all(base, usernames):
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda name: login_session(base, name, PASSWORD), usernames))


def test_32_units_race_for_3_slots(app, database_url, tmp_path):
    project = f.make_project(title="并发认领测试项目", slots=3)
    users = _unit_accounts(UNITS)
    _hand_over_database()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        sessions = _login_all(base, [u.username for u in users])
        results = _fire(base, sessions, project.id)

    statuses = sorted(status for status, _ in results)
    assert 500 not in statuses
    assert statuses.count(303) == 3, statuses
    assert statuses.count(409) == UNITS - 3, statuses
    assert all("名额已满" in body for status, body in results if status == 409)

    db.connect(reuse_if_open=True)
    project = Project.get_by_id(project.id)
    live = Claim.select().where(Claim.project == project.id, Claim.status.in_(ClaimStatus.LIVE))
    assert live.count() == 3
    assert Claim.select().count() == 3
    assert (project.live_claims, project.status) == (3, ProjectStatus.CLAIMED)
    assert len({c.unit_id for c in live}) == 3


def test_one_unit_double_clicking_gets_one_claim(app, database_url, tmp_path):
    project = f.make_project(title="重复点击测试项目", slots=10)
    [user] = _unit_accounts(1)
    _hand_over_database()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        sessions = _login_all(base, [user.username] * 10)
        results = _fire(base, sessions, project.id)

    statuses = sorted(status for status, _ in results)
    assert statuses == [303] + [409] * 9, statuses
    assert all("请勿重复认领" in body for status, body in results if status == 409)

    db.connect(reuse_if_open=True)
    assert Claim.select().where(Claim.project == project.id, Claim.unit == user.unit_id,
                                Claim.status.in_(ClaimStatus.LIVE)).count() == 1
    project = Project.get_by_id(project.id)
    assert (project.live_claims, project.status) == (1, ProjectStatus.OPEN)
