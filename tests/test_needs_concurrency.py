"""Two (and eight) clerks press 受理 on the same need at the same instant, against a real
4-worker gunicorn server: exactly one work order is made and linked, the others are told
it was handled already (409), nobody gets a 500 — on SQLite and PostgreSQL."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from models import Need, NeedStatus, Role, User, WorkOrder, WorkOrderStep, db

from . import factories as f
from .live import csrf_token, live_server, login_session

pytestmark = pytest.mark.server

PASSWORD = "concurrent-needs-7"


def _clerks(count):
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    tag = uuid.uuid4().hex[:6]
    return [User.create(username=f"n{tag}{i:02d}", password_hash=digest, role=Role.CLERK) for i in range(count)]


def _hand_over_database():
    if not db.is_closed():
        if db.in_transaction():
            db.commit()
        db.close()


@pytest.mark.parametrize("clerks", [2, 8])
def test_clerks_accepting_one_need_at_once_make_one_order(app, database_url, tmp_path, clerks):
    need = f.make_need(text="3号楼单元门门禁坏了，老人进出不便")
    users = _clerks(clerks)
    _hand_over_database()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        with ThreadPoolExecutor(max_workers=8) as pool:
            sessions = list(pool.map(lambda u: login_session(base, u.username, PASSWORD), users))
        tokens = [csrf_token(s.get(f"{base}/admin/need/queue/", timeout=20).text) for s in sessions]
        barrier = threading.Barrier(len(sessions))

        def accept(i):
            barrier.wait(timeout=30)
            response = sessions[i].post(f"{base}/admin/need/handle/{need.id}",
                                        data={"action": "accept", "category": "property", "csrf_token": tokens[i]},
                                        allow_redirects=False, timeout=60)
            return response.status_code, response.text

        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            results = list(pool.map(accept, range(len(sessions))))

    statuses = sorted(status for status, _ in results)
    assert 500 not in statuses
    assert statuses.count(303) == 1, statuses
    assert statuses.count(409) == clerks - 1, statuses
    assert all(("已受理" in body or "刚被他人处理" in body) for status, body in results if status == 409)

    db.connect(reuse_if_open=True)
    need = Need.get_by_id(need.id)
    assert need.status == NeedStatus.ACCEPTED
    assert WorkOrder.select().count() == 1
    order = WorkOrder.get()
    assert need.work_order_id == order.id and order.channel == "online"
    assert WorkOrderStep.select().where(WorkOrderStep.order == order.id).count() == 1  # one 受理 step
