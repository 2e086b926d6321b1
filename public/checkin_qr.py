"""The check-in QR code on a sign-up confirmation.

The QR code encodes the clerk's check-in page for the event with the code filled in,
so a clerk's phone camera opens it directly (logged-in clerks only; anyone else is
sent to the login page). The code itself is the secret: the image is served only to
whoever already holds the code, is never cached by shared caches, and an unknown code
is a plain 404.
"""
import io

from flask import Response, abort

from models import Signup, SignupStatus
from services import links
from services.attendance import CODE_MAX, normalise_code


def checkin_url(signup):
    return links.external_url("checkin.event", event_id=signup.event_id, code=signup.code)


def signup_qr_svg(code):
    code = normalise_code(code)
    if not code or len(code) > CODE_MAX or not code.isalnum():
        abort(404)
    signup = Signup.get_or_none(Signup.code == code)
    if signup is None or signup.status == SignupStatus.CANCELLED:
        abort(404)
    import qrcode.image.svg  # on use, not at start-up: worker memory

    image = qrcode.make(checkin_url(signup), image_factory=qrcode.image.svg.SvgPathImage,
                        box_size=10, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), mimetype="image/svg+xml", headers={
        "Cache-Control": "private, no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"})
