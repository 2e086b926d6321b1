"""The public site: home, activity calendar, events, projects, partner-unit claiming."""
from .blueprint import bp


def init_app(app):
    app.register_blueprint(bp)
