"""One Chinese login page for every role, with throttling and safe ``next`` redirects."""
from flask_login import LoginManager

from models import User

from .views import bp

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(user_id):
    try:
        return User.get_or_none(User.id == int(user_id), User.active == True)  # noqa: E712
    except (TypeError, ValueError):
        return None


def init_app(app):
    login_manager.init_app(app)
    app.register_blueprint(bp)
