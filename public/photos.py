"""Serving stored photos: approved ones to everyone, the rest only to staff or through
a signed link (the uploader's own tracking page). Anything else is a plain 404 — an
unapproved photo's existence is never revealed."""
from flask import Response, abort, request
from flask_login import current_user

from auth.permissions import can
from models import Photo
from services.photos import signature_allows


def photo(photo_id):
    size = request.args.get("size")
    column = Photo.thumb if size == "thumb" else Photo.content
    row = (Photo.select(Photo.id, Photo.approved, Photo.content_type, Photo.digest, column)
           .where(Photo.id == photo_id).first())
    if row is None:
        abort(404)
    public = bool(row.approved)
    if not (public or can(current_user, "records.manage")
            or signature_allows(row.id, request.args.get("sig"))):
        abort(404)
    etag = f"{row.digest[:32]}-{'t' if size == 'thumb' else 'f'}"
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        body = bytes(getattr(row, column.name))
        response = Response(body, mimetype=row.content_type)
    response.set_etag(etag)
    # approved photos may be cached by anyone; the rest only by the viewer's browser
    response.headers["Cache-Control"] = "public, max-age=86400" if public else "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex" if not public else "all"
    return response
