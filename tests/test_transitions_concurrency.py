"""Clerks closing a project while its units withdraw, all at the same instant, against a
real 4-worker gunicorn server: exactly one close wins, every claim ends either withdrawn
by its unit or rejected by the closing — never both — the slot counter stays exact, and
nobody gets a 500 (one lock order: project before claims)."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from models import AuditLog, Claim, ClaimStatus, Project, ProjectStatus, Role, User, db
from services import claims

from . import factories as f
from .live import csrf_token, live_server, login_session

pytestmark = pytest.mark.server

CLERKS, UNITS = 6, 4
PASSWORD = "concurrent-moves-7"


def test_clerks_close_while_units_withdraw(app, database_url, tmp_path):
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    tag = uuid.uuid4().hex[:6]
    project = f.make_project(title="并发关闭测试项目", slots=UNITS)
    clerks = [User.create(username=f"k{tag}{i}", password_hash=digest, role=Role.CLERK) for i in range(CLERKS)]
    units = [User.create(username=f"u{tag}{i}", password_hash=digest, role=Role.UNIT,
                         unit=f.make_unit(name=f"并发单位{tag}{i}")) for i in range(UNITS)]
    made = [claims.claim_project(project.id, u.unit, "并发计划") for u in units]
    assert Project.get_by_id(project.id).status == ProjectStatus.CLAIMED
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        with ThreadPoolExecutor(max_workers=8) as pool:
            sessions = list(pool.map(lambda u: login_session(base, u.username, PASSWORD), clerks + units))
        pages = [s.get(f"{base}/admin/project/move/{project.id}?action=close", timeout=20) for s in sessions[:CLERKS]]
        pages += [s.get(f"{base}/my/claims", timeout=20) for s in sessions[CLERKS:]]
        tokens = [csrf_token(p.text) for p in pages]
        barrier = threading.Barrier(len(sessions))

        def act(i):
            barrier.wait(timeout=30)
            if i < CLERKS:
                # no "from": a unit's withdrawal may move the project to 待认领 first, and
                # closing is allowed from either; the race is between the closes
                url, data = f"{base}/admin/project/move/{project.id}", {
                    "action": "close", "reason": f"工作人员{i}关闭"}
            else:
                url, data = f"{base}/my/claims/{made[i - CLERKS].id}/withdraw", {}
            response = sessions[i].post(url, data={**data, "csrf_token": tokens[i]},
                                        allow_redirects=False, timeout=60)
            return response.status_code, response.text

        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            results = list(pool.map(act, range(len(sessions))))

    statuses = [status for status, _ in results]
    assert not [s for s in statuses if s >= 500], statuses
    closes = statuses[:CLERKS]
    assert closes.count(303) == 1 and closes.count(409) == CLERKS - 1, closes
    assert all("刚被他人处理" in body or "已关闭" in body for status, body in results[:CLERKS] if status == 409)

    db.connect(reuse_if_open=True)
    project = Project.get_by_id(project.id)
    assert project.status == ProjectStatus.CLOSED
    final = {c.id: Claim.get_by_id(c.id) for c in made}
    for (status, _body), claim in zip(results[CLERKS:], made):
        expected = ClaimStatus.WITHDRAWN if status == 303 else ClaimStatus.REJECTED
        assert final[claim.id].status == expected, (status, final[claim.id].status)
    live = sum(1 for c in final.values() if c.status in ClaimStatus.LIVE)
    assert project.live_claims == live == 0
    assert AuditLog.select().where(AuditLog.entity == "Project", AuditLog.action == "close").count() == 1
    for claim in made:  # one final move per claim, never both
        moves = AuditLog.select().where(AuditLog.entity == "Claim", AuditLog.entity_id == str(claim.id),
                                        AuditLog.action.in_([ClaimStatus.WITHDRAWN, ClaimStatus.REJECTED]))
        assert moves.count() == 1
