"""Two clerks (here: twelve) exchanging for one volunteer at the same instant, through a
real multi-worker gunicorn: the balance never goes below zero and exactly the
affordable number of exchanges succeed, on SQLite and PostgreSQL; the running totals
(services/totals.py) follow every write that went through."""
import threading
from decimal import Decimal

import pytest

from models import EntryKind, PointsEntry, Role, Volunteer
from services import points, totals

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
    assert Volunteer.get_by_id(volunteer.id).entry_count == 1 + FUNDS // PRICE
    assert totals.differences() == []


def _fire_all(base, posts):
    """Each (session, url, form) posted by its own thread, all released at once."""
    barrier = threading.Barrier(len(posts))
    results = [None] * len(posts)

    def fire(i):
        session, url, form = posts[i]
        barrier.wait()
        results[i] = session.post(base + url, data=form, allow_redirects=False, timeout=30).status_code

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_mixed_writes_keep_every_total(app, database_url, runner):
    """Exchanges, honour hours and corrections for one volunteer at the same instant:
    the balance, the hours and the entry count each end where the ledger says."""
    clerks = [factories.make_user(role=Role.CLERK) for _ in range(3)]
    volunteer = funded_volunteer(FUNDS)
    funding = PointsEntry.get(PointsEntry.volunteer == volunteer.id)
    page = f"/admin/points-bank/volunteer/{volunteer.id}"
    forms = ([("/exchange", {"points": str(PRICE), "item": f"毛巾 #{i}"}) for i in range(6)]
             + [("/honour", {"hours": "1.25", "description": f"补录服务 #{i}"}) for i in range(4)]
             + [("/correct", {"entry": str(funding.id), "points": "0", "hours": "0.5", "reason": f"补记时长 #{i}"})
                for i in range(2)])
    with live_server(database_url, workers=4) as base:
        posts = []
        for i, (suffix, form) in enumerate(forms):
            session = login_session(base, clerks[i % len(clerks)].username, factories.PASSWORD)
            token = csrf_token(session.get(base + page, timeout=10).text)
            posts.append((session, page + suffix, dict(form, csrf_token=token)))
        results = _fire_all(base, posts)
    assert sorted(results[:6]) == [302] * 5 + [409], results
    assert results[6:] == [302] * 6, results
    fresh = Volunteer.get_by_id(volunteer.id)
    assert (fresh.points_balance, totals.hours(fresh.hours_total), fresh.entry_count) == (
        FUNDS - 5 * PRICE, Decimal("6.00"), 1 + 5 + 4 + 2)
    assert totals.differences() == []
    result = runner.invoke(args=["verify-balances"])
    assert result.exit_code == 0, result.output
