"""Units clicking 认领 on one 微心愿 at the same instant, against a real 4-worker gunicorn.

Each unit has its own logged-in session (the real login form, with CSRF); a barrier
releases every claim at once. Exactly one wins (303), every other gets 409
“该微心愿已被认领”, nobody a 500, on SQLite and PostgreSQL.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from models import AuditLog, MemberUnit, Notice, UnitKind, Wish, WishStatus, db

from . import factories as f
from .live import csrf_token, live_server
from .test_claims_concurrency import _hand_over_database, _login_all, _unit_accounts
from .test_wishes import make_wish

pytestmark = pytest.mark.server


def _fire(base, sessions, wish_id):
    tokens = [csrf_token(s.get(f"{base}/wishes/{wish_id}", timeout=20).text) for s in sessions]
    barrier = threading.Barrier(len(sessions))

    def claim(i):
        barrier.wait(timeout=30)
        response = sessions[i].post(f"{base}/wishes/{wish_id}/claim", data={"csrf_token": tokens[i]},
                                    allow_redirects=False, timeout=60)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        return list(pool.map(claim, range(len(sessions))))


@pytest.mark.parametrize("units", [2, 16])
def test_units_race_for_one_wish(app, database_url, tmp_path, units):
    clerk = f.make_user(role="clerk")
    wish = make_wish(text="并发认领测试心愿", clerk=clerk)
    users = _unit_accounts(units)
    # a merchant among the units: merchants are units and claim the same way
    MemberUnit.update(kind=UnitKind.MERCHANT).where(MemberUnit.id == users[0].unit_id).execute()
    _hand_over_database()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        sessions = _login_all(base, [u.username for u in users])
        results = _fire(base, sessions, wish.id)

    statuses = sorted(status for status, _ in results)
    assert statuses == [303] + [409] * (units - 1), statuses
    assert all("该微心愿已被认领" in body for status, body in results if status == 409)

    db.connect(reuse_if_open=True)
    wish = Wish.get_by_id(wish.id)
    assert wish.status == WishStatus.CLAIMED and wish.claimer_id in {u.unit_id for u in users}
    assert AuditLog.select().where(AuditLog.entity == "Wish", AuditLog.action == "wish_claim").count() == 1
    assert Notice.select().where(Notice.kind == "wish_claimed", Notice.recipient == clerk.id).count() == 1
