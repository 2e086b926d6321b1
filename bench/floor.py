"""The bare-page floor: the cheapest page Flask + Jinja can serve from our database.

Bench only: production's ``app.create_app()`` never registers this blueprint. The
benchmark serves ``bench.floor:create_bench_app()`` — the production app plus this
blueprint — with the very gunicorn settings the public pages get, so the floor carries
exactly the per-request cost every page carries (the connection or pool check-out, the
app's request hooks, the security headers) and nothing else:

- ``/_bench/floor`` — one indexed query of 20 published events rendered by a small
  standalone Jinja template (``bench/templates/bench/floor.html``: a loop of 20 rows,
  no base layout, no macros). Issue 12: every public page and API list should
  reach at least 0.8 of its rate.
- ``/_bench/db`` — the same 20-row query answered as plain text (no template): the
  database's share of a request, for comparing PostgreSQL with SQLite beside
  ``/healthz`` (which opens/checks out a connection but runs no query).
- ``/_bench/admin_floor`` — the floor of a clerk's list page: the logged-in account
  loaded (its session checked, as on every admin page), the ledger's newest 20 entries
  with their volunteer's name and the bounded count the admin lists show (a COUNT over a
  LIMITed walk of 10,001), rendered by a standalone template of 20 rows × 6 columns. No
  layout, menu, filters or row actions: what any counted list page must pay at the least.
"""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from models import Event, PointsEntry, Volunteer

bp = Blueprint("bench_floor", __name__, url_prefix="/_bench", template_folder="templates")

ROWS = 20


def twenty_rows():
    """20 published events in calendar order: a LIMITed walk of the
    ``event (published, starts_at, status)`` index, whatever the table size."""
    return list(Event.select(Event.id, Event.title, Event.starts_at, Event.location)
                .where(Event.published == True)  # noqa: E712
                .order_by(Event.starts_at, Event.id).limit(ROWS).tuples())


@bp.route("/floor")
def floor():
    return render_template("bench/floor.html", rows=twenty_rows())


@bp.route("/db")
def db_probe():
    rows = twenty_rows()
    return f"{len(rows)} rows\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/admin_floor")
def admin_floor():
    if not current_user.is_authenticated:
        abort(403)
    rows = list(PointsEntry.select(PointsEntry.id, PointsEntry.created_at, Volunteer.name, PointsEntry.kind,
                                   PointsEntry.points, PointsEntry.description)
                .join(Volunteer).order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(ROWS).tuples())
    count = PointsEntry.select(PointsEntry.id).limit(10_001).count()
    return render_template("bench/admin_floor.html", rows=rows, count=count)


def create_bench_app(config=None):
    """The production app plus the floor routes (gunicorn 'bench.floor:create_bench_app()')."""
    from app import create_app

    app = create_app(config)
    app.register_blueprint(bp)
    return app
