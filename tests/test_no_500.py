"""No input gives a 500: the route crawler (tests/crawler.py) walks every rule of the URL
map as admin, partner unit and anonymous visitor, with the fixed hostile values in every
path variable, query parameter, form field and API JSON field the route reads."""
import logging
from types import SimpleNamespace

from flask import Flask, abort, render_template_string, request
from werkzeug.exceptions import HTTPException

from models import Claim, ClaimStatus, EventCategory, Role, Signup, User, Volunteer, WorkOrder

from . import factories as f
from .adminkit import populate
from .crawler import Crawler


def _clients(app, client, auth):
    auth.as_role(Role.ADMIN)
    unit_user = User.get(User.role == Role.UNIT)
    unit_client = app.test_client()
    response = unit_client.post("/login", data={"username": unit_user.username, "password": f.PASSWORD})
    assert response.status_code == 302
    volunteer_user = f.make_user(role=Role.VOLUNTEER, volunteer=Volunteer.get_by_id(1))
    volunteer_client = app.test_client()
    response = volunteer_client.post("/login", data={"username": volunteer_user.username, "password": f.PASSWORD})
    assert response.status_code == 302
    return {"admin": client, "unit": unit_client, "volunteer": volunteer_client, "anon": app.test_client()}


def test_no_route_answers_5xx_to_hostile_input(app, client, auth):
    # account 1 is the one the admin screens edit (new passwords end its sessions): not
    # one the crawl is logged in with
    f.make_user(role=Role.CLERK, username="edited-by-the-crawl")
    populate(copies=1)  # one linked record of every entity: id 1 everywhere
    Claim.update(status=ClaimStatus.CONFIRMED).where(Claim.id == 1).execute()
    # the unit's order 1 dispatched to it (its moves reach the service); the volunteer's
    # order 2 opened to volunteers instead (党员接单)
    WorkOrder.update(status="dispatched").where(WorkOrder.id == 1).execute()
    WorkOrder.update(assignee_volunteer=None, open_to_volunteers=True).where(WorkOrder.id == 2).execute()
    baseline = {"export_type": "csv", "category": EventCategory.NEIGHBOURHOOD,
                "code": Signup.get_by_id(1).code}
    crawler = Crawler(app, _clients(app, client, auth), baseline, openapi="/api/v1/openapi.json")
    failures = crawler.run()
    print(f"\ncrawled {crawler.requests} requests in {crawler.seconds:.1f} s")
    assert not failures, crawler.report()
    crawled = {key[1] for key in crawler.singled}
    assert crawled >= {"/admin/volunteer/new/", "/admin/points-bank/volunteer/<int:volunteer_id>/statement",
                       "/events/<int:event_id>/signup", "/api/v1/events/<int:pk>/signups", "/projects",
                       "/my/claims/<int:claim_id>/progress", "/login", "/my/orders/<int:order_id>/report",
                       "/my/events/<int:event_id>/close", "/my/profile", "/me/orders/<int:order_id>/take",
                       "/volunteers/register", "/api/v1/orders/<int:pk>/result", "/notices/read-all",
                       "/admin/accounts-issue/team"}
    assert crawler.requests > 1000


# --- the crawler finds what it is meant to find -----------------------------------------------------

def _planted_app():
    """A small app with one 500 of each kind the crawler must reach."""
    app = Flask(__name__)
    app.logger.setLevel(logging.ERROR)

    @app.errorhandler(Exception)
    def _logged(exc):
        if isinstance(exc, HTTPException):
            return exc
        app.logger.error("unhandled", exc_info=exc)
        return "error", 500

    @app.route("/items/<int:item_id>")
    def item(item_id):  # an unbounded id straight into a "database"
        if item_id > 2**63:
            raise OverflowError("id too large")
        return "item"

    @app.route("/list")
    def listing():  # a query parameter parsed without care
        return str(int(request.args.get("page") or 0) * 20)

    @app.route("/form")
    def form_page():
        return render_template_string(
            '<form method="post" action="/submit"><input name="kind" value="ok">'
            '<input name="count" value="1"><textarea name="note">x</textarea></form>')

    @app.route("/submit", methods=["POST"])
    def submit():  # count is read only when kind is valid: an early refusal hides it
        if request.form.get("kind") != "ok":
            abort(400)
        if "\n" in request.form.get("note", ""):
            raise ValueError("a line break in a header")
        return str(int(request.form["count"]))

    app.extensions["alliance_admin"] = SimpleNamespace(_views=[])
    return app


def test_the_crawler_finds_a_planted_500_of_each_kind():
    app = _planted_app()
    crawler = Crawler(app, {"anon": app.test_client()})
    failures = crawler.run()
    found = {(f.target.split()[-1], f.where) for f in failures}
    assert ("/items/<int:item_id>", "path:item_id") in found
    assert ("/list", "query:page") in found
    assert ("/submit", "form:count") in found and ("/submit", "form:note") in found
    errors = {f.error.split(":")[0] for f in failures}
    assert {"OverflowError", "ValueError"} <= errors
