"""The headless JSON API at /api/v1, derived from the models' declarations."""
from flask_cors import CORS

from .blueprint import bp


def init_app(app):
    # Token calls carry no cookie to forge; session writes are checked in api.auth.
    app.extensions["csrf"].exempt(bp)
    app.register_blueprint(bp)
    origins = list(app.config.get("CORS_ORIGINS") or [])
    if origins:
        CORS(app, resources={r"/api/v1/*": {"origins": origins}},
             allow_headers=["Authorization", "Content-Type", "X-CSRFToken"],
             expose_headers=["Retry-After"], max_age=600)
