"""URL map of the public site: every rule listed here, pointing at a controller."""
from flask import Blueprint

bp = Blueprint("public", __name__)

# Rules are added below as bp.add_url_rule(path, endpoint, view_func, methods=[...]),
# grouped by controller module (events/calendar/home: public/events.py and
# public/home.py; projects/claims: public/projects.py).

# --- home, activity calendar, events, sign-ups, iCalendar (public/home.py, public/events.py)
from . import events, home  # noqa: E402 (rules follow the blueprint object)

bp.add_url_rule("/", "home", home.home)
bp.add_url_rule("/calendar", "calendar", events.calendar)
bp.add_url_rule("/calendar.ics", "calendar_ics", events.calendar_ics)
bp.add_url_rule("/calendar/<category>.ics", "category_ics", events.category_ics)
bp.add_url_rule("/events/<int:event_id>", "event_detail", events.event_detail)
bp.add_url_rule("/events/<int:event_id>.ics", "event_ics", events.event_ics)
bp.add_url_rule("/events/<int:event_id>/signup", "event_signup", events.event_signup, methods=["POST"])
bp.add_url_rule("/events/<int:event_id>/signups/<int:signup_id>", "signup_done", events.signup_done)
bp.add_url_rule("/events/<int:event_id>/cancel", "signup_cancel", events.signup_cancel, methods=["POST"])

# --- the check-in QR code on a sign-up confirmation (public/checkin_qr.py)
from . import checkin_qr  # noqa: E402

bp.add_url_rule("/signups/<code>/qr.svg", "signup_qr", checkin_qr.signup_qr_svg)

# --- open projects, claiming, 我的认领 (public/projects.py)
from . import projects  # noqa: E402

bp.add_url_rule("/projects", "projects", projects.project_list)
bp.add_url_rule("/projects/<int:project_id>", "project_detail", projects.project_detail)
bp.add_url_rule("/projects/<int:project_id>/claim", "claim_project", projects.claim_project, methods=["POST"])
bp.add_url_rule("/my/claims", "my_claims", projects.my_claims)
bp.add_url_rule("/my/claims/<int:claim_id>", "my_claim", projects.my_claim)
bp.add_url_rule("/my/claims/<int:claim_id>/withdraw", "withdraw_claim", projects.withdraw_claim,
                methods=["GET", "POST"])
bp.add_url_rule("/my/claims/<int:claim_id>/progress", "report_progress", projects.report_progress, methods=["POST"])

# --- stored photos (public/photos.py): approved ones, or staff, or a signed link
from . import photos  # noqa: E402

bp.add_url_rule("/photos/<int:photo_id>", "photo", photos.photo)
