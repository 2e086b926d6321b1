"""党员接单 against a real 4-worker gunicorn: many volunteers tap 我来接单 on one order at the
same instant; exactly one has it, the others get 409 "该工单已被其他志愿者接单", on SQLite and
PostgreSQL (the move's conditional UPDATE, backed by the one-assignee CHECK)."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from models import OrderStatus, Role, User, WorkOrder, WorkOrderStep, db
from services import workorders

from . import factories as f
from .live import csrf_token, live_server, login_session

pytestmark = pytest.mark.server

VOLUNTEERS = 16
PASSWORD = "concurrent-take-7"


def test_16_volunteers_race_for_one_order(app, database_url, tmp_path):
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    tag = uuid.uuid4().hex[:6]
    users = [User.create(username=f"v{tag}{i:02d}", password_hash=digest, role=Role.VOLUNTEER,
                         volunteer=f.make_volunteer(name=f"党员{i}"))
             for i in range(VOLUNTEERS)]
    clerk = f.make_user(role=Role.CLERK)
    order = f.make_work_order(description="帮独居老人更换灯泡")
    with app.app_context():
        workorders.set_open_to_volunteers([order.id], True, user=clerk)
    if not db.is_closed():
        db.close()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        with ThreadPoolExecutor(max_workers=8) as pool:
            sessions = list(pool.map(lambda u: login_session(base, u.username, PASSWORD), users))
        tokens = [csrf_token(s.get(f"{base}/me/orders", timeout=20).text) for s in sessions]
        barrier = threading.Barrier(VOLUNTEERS)

        def take(i):
            barrier.wait(timeout=30)
            response = sessions[i].post(f"{base}/me/orders/{order.id}/take", data={"csrf_token": tokens[i]},
                                        allow_redirects=False, timeout=60)
            return response.status_code, response.text

        with ThreadPoolExecutor(max_workers=VOLUNTEERS) as pool:
            results = list(pool.map(take, range(VOLUNTEERS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [303] + [409] * (VOLUNTEERS - 1), statuses
    assert all("该工单已被其他志愿者接单" in body for status, body in results if status == 409)
    db.connect(reuse_if_open=True)
    order = WorkOrder.get_by_id(order.id)
    assert order.status == OrderStatus.IN_HAND and order.assignee_volunteer_id in {u.volunteer_id for u in users}
    # the winner's move, and only it, left its step (written in the move's transaction)
    takes = list(WorkOrderStep.select().where(WorkOrderStep.order == order.id, WorkOrderStep.kind == "take"))
    assert len(takes) == 1 and takes[0].actor.volunteer_id == order.assignee_volunteer_id
