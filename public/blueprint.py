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

# --- the unit's workspace /my: sections, its events (roster, check-in, attendance), profile
#     (public/workspace.py); orders on the assignee's side (public/orders.py)
from . import orders, workspace  # noqa: E402

bp.add_url_rule("/my", "my", workspace.my)
bp.add_url_rule("/my/events", "my_events", workspace.my_events)
bp.add_url_rule("/my/events/<int:event_id>", "my_event", workspace.my_event)
bp.add_url_rule("/my/events/<int:event_id>/checkin", "my_event_checkin", workspace.my_event_checkin,
                methods=["POST"])
bp.add_url_rule("/my/events/<int:event_id>/close", "my_event_close", workspace.my_event_close, methods=["POST"])
bp.add_url_rule("/my/profile", "my_profile", workspace.my_profile, methods=["GET", "POST"])
bp.add_url_rule("/my/orders", "my_orders", orders.my_orders)
bp.add_url_rule("/my/orders/<int:order_id>", "my_order", orders.my_order)
bp.add_url_rule("/my/orders/<int:order_id>/accept", "accept_order", orders.accept_order, methods=["POST"])
bp.add_url_rule("/my/orders/<int:order_id>/report", "report_order", orders.report_order, methods=["POST"])
bp.add_url_rule("/my/orders/<int:order_id>/hand-back", "hand_back_order", orders.hand_back_order,
                methods=["POST"])

# --- a volunteer's page /me: hours, points, the statement, sign-ups, 党员接单 (public/me.py)
from . import me as me_pages  # noqa: E402

bp.add_url_rule("/me", "me", me_pages.me)
bp.add_url_rule("/me/ledger", "me_ledger", me_pages.me_ledger)
bp.add_url_rule("/me/statement.pdf", "me_statement", me_pages.me_statement)
bp.add_url_rule("/me/orders", "me_orders", orders.me_orders)
bp.add_url_rule("/me/orders/<int:order_id>/take", "take_order", orders.take_order, methods=["POST"])

# --- volunteers registering themselves (public/registrations.py)
from . import registrations as registration_pages  # noqa: E402

bp.add_url_rule("/volunteers/register", "volunteer_register_form", registration_pages.register_form)
bp.add_url_rule("/volunteers/register", "volunteer_register", registration_pages.register, methods=["POST"])

# --- the caller's notices (public/notices.py)
from . import notices as notice_pages  # noqa: E402

bp.add_url_rule("/notices", "notice_list", notice_pages.notice_list)
bp.add_url_rule("/notices/<int:notice_id>/open", "open_notice", notice_pages.open_notice, methods=["POST"])
bp.add_url_rule("/notices/<int:notice_id>/read", "read_notice", notice_pages.read_notice, methods=["POST"])
bp.add_url_rule("/notices/read-all", "read_all_notices", notice_pages.read_all_notices, methods=["POST"])

# --- 群众点单: the form, the grid posters (public/needs.py); tracking and 评单 (public/track.py)
from . import needs as need_pages, track  # noqa: E402

bp.add_url_rule("/needs/new", "need_form", need_pages.need_form)
bp.add_url_rule("/needs/new", "need_submit", need_pages.need_submit, methods=["POST"])
bp.add_url_rule("/grids/<int:grid_id>/poster", "grid_poster", need_pages.grid_poster)
bp.add_url_rule("/track", "track_form", track.track_form)
bp.add_url_rule("/track", "track_lookup", track.track_lookup, methods=["POST"])
bp.add_url_rule("/track/<code>", "track_need", track.track_need)
bp.add_url_rule("/track/<code>/rate", "rate_need", track.rate_need, methods=["POST"])
bp.add_app_template_global(need_pages.home_figures, "needs_home_figures")

# --- the 微心愿 wall and a unit's claimed wishes (public/wishes.py; /my section registered there)
from . import wishes as wish_pages  # noqa: E402

bp.add_url_rule("/wishes", "wishes", wish_pages.wall)
bp.add_url_rule("/wishes/<int:wish_id>", "wish_detail", wish_pages.wish_detail)
bp.add_url_rule("/wishes/<int:wish_id>/claim", "claim_wish", wish_pages.claim_wish, methods=["POST"])
bp.add_url_rule("/wishes/<int:wish_id>/withdraw", "withdraw_wish", wish_pages.withdraw_wish, methods=["POST"])
bp.add_url_rule("/wishes/<int:wish_id>/fulfil", "fulfil_wish", wish_pages.fulfil_wish, methods=["POST"])
