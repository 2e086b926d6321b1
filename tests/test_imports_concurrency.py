"""Two clerks import the same spreadsheet at the same instant, against a real 4-worker
gunicorn server (on SQLite and PostgreSQL): every record is created once.

Projects are the hard case: nothing in the schema makes (title, line) unique, so only the
import's own rule — the confirmation re-reads the file under the entity's lock, in one
transaction — keeps the second import from creating the rows again. 1,500 rows make each
import's transaction long enough that the two always overlap (without the lock this test
finds 2,500 projects on PostgreSQL).
"""
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from models import AuditLog, ImportJob, ImportStatus, Project, Role, User, Volunteer, db

from . import factories as f
from .live import csrf_token, live_server, login_session
from .sheetkit import xlsx

pytestmark = pytest.mark.server

PASSWORD = "concurrent-imports-7"


def _clerks(count):
    digest = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    tag = uuid.uuid4().hex[:6]
    return [User.create(username=f"i{tag}{i}", password_hash=digest, role=Role.CLERK) for i in range(count)]


def _hand_over_database():
    if not db.is_closed():
        if db.in_transaction():
            db.commit()
        db.close()


def _together(sessions, work):
    barrier = threading.Barrier(len(sessions))

    def run(i):
        barrier.wait(timeout=30)
        return work(i, sessions[i])

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        return list(pool.map(run, range(len(sessions))))


def _rows(entity):
    if entity == "volunteer":
        return [["姓名", "手机号", "服务队"]] + [[f"志愿者{i}", f"139{i:08d}", "红石榴志愿服务队"] for i in range(300)]
    return [["项目名称", "联治类别", "项目分类", "已发布"]] + [[f"敲门行动{i}", "民生联帮", "银发关爱", "是"] for i in range(1500)]


@pytest.mark.parametrize("entity, model, rows", [("volunteer", Volunteer, 300), ("project", Project, 1500)])
def test_two_clerks_importing_the_same_file_at_once_create_each_record_once(app, database_url, tmp_path,
                                                                            entity, model, rows):
    f.make_team(name="红石榴志愿服务队")
    f.make_category(name="银发关爱")
    clerks = _clerks(2)
    data = xlsx(_rows(entity))
    _hand_over_database()

    with live_server(database_url, workers=4, log_dir=tmp_path) as base:
        sessions = [login_session(base, c.username, PASSWORD) for c in clerks]
        tokens = [csrf_token(s.get(f"{base}/admin/{entity}/import/", timeout=20).text) for s in sessions]

        def upload(i, session):
            return session.post(f"{base}/admin/{entity}/import/", data={"csrf_token": tokens[i]},
                                files={"file": ("名册.xlsx", data)}, allow_redirects=False, timeout=60)

        uploads = _together(sessions, upload)
        assert [r.status_code for r in uploads] == [303, 303], [r.text[:300] for r in uploads]
        pages = [s.get(base + r.headers["Location"], timeout=60) for s, r in zip(sessions, uploads)]
        assert all(f"{rows} 新增" in p.text for p in pages), "both previews expect to create every row"
        job_ids = [int(re.search(r"/import/(\d+)/", r.headers["Location"]).group(1)) for r in uploads]
        confirm_tokens = [csrf_token(p.text) for p in pages]

        def confirm(i, session):
            return session.post(f"{base}/admin/{entity}/import/{job_ids[i]}/confirm",
                                data={"csrf_token": confirm_tokens[i]}, allow_redirects=False, timeout=120)

        confirms = _together(sessions, confirm)
        assert [r.status_code for r in confirms] == [303, 303]

    db.connect(reuse_if_open=True)
    assert model.select().count() == rows
    jobs = list(ImportJob.select().where(ImportJob.id.in_(job_ids)))
    assert {j.status for j in jobs} == {ImportStatus.APPLIED}, [(j.status, j.message) for j in jobs]
    assert sorted(j.created_count for j in jobs) == [0, rows]
    assert sorted(j.unchanged_count for j in jobs) == [0, rows]
    assert AuditLog.select().where(AuditLog.action == "import_create").count() == rows
