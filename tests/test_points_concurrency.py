"""Two clerks (here: twelve) exchanging for one volunteer at the same instant, through a
real multi-worker gunicorn: the balance never goes below zero and exactly the
affordable number of exchanges succeed, on SQLite and PostgreSQL."""
import threading

import pytest

from models import EntryKind, PointsEntry, Role
from services import points

from . import factories
from .live import csrf_token, live_server, login_session
from .records_helpers import cached_balance, funded_volunteer, ledger_sum

pytestmark = pytest.mark.server

ATTEMPTS = 12
PRICE = 10
FUNDS = 55  # affords 5 exchanges of 10


def test_concurrent_exchanges_never_overdraw(app, database_url):
    clerks = [factories.make_user(role=Role.CLERK) for _ in range(3)]
    volunteer = funded_volunteer(FUNDS)
    url = f"/admin/points-bank/volunteer/{volunteer.id}"
    with live_server(database_url, workers=4) as base:
        sessions = []
        for i in range(ATTEMPTS):
            session = login_session(base, clerks[i % len(clerks)].username, factories.PASSWORD)
            token = csrf_token(session.get(base + url, timeout=10).text)
            sessions.append((session, token))
        barrier = threading.Barrier(ATTEMPTS)
        results = [None] * ATTEMPTS

        def fire(i):
            session, token = sessions[i]
            barrier.wait()
            response = session.post(base + url + "/exchange", allow_redirects=False, timeout=30,
                                    data={"csrf_token": token, "points": str(PRICE), "item": f"大米一袋 #{i}"})
            results[i] = response.status_code

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(ATTEMPTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [302] * (FUNDS // PRICE) + [409] * (ATTEMPTS - FUNDS // PRICE), results
    exchanged = PointsEntry.select().where(PointsEntry.kind == EntryKind.EXCHANGED).count()
    assert exchanged == FUNDS // PRICE
    assert cached_balance(volunteer.id) == FUNDS % PRICE == ledger_sum(volunteer.id) == points.balance(volunteer.id)
    assert points.verify_balances() == []
