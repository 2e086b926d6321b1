"""URL map of the public site: every rule listed here, pointing at a controller."""
from flask import Blueprint

bp = Blueprint("public", __name__)

# Rules are added below as bp.add_url_rule(path, endpoint, view_func, methods=[...]),
# grouped by controller module (events/calendar/home: public/events.py and
# public/home.py; projects/claims: public/projects.py).
