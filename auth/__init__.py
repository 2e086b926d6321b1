"""One Chinese login page for every role, with throttling, safe ``next`` redirects and
sessions that end on the server (services/sessions.py)."""
from flask_login import LoginManager

from services import accounts, sessions

from .views import bp

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"
# the cookies carry the login session's token, never the account id (User.get_session_id)
login_manager.id_attribute = "get_session_id"


@login_manager.user_loader
def load_user(token):
    return sessions.user_for(token)


def init_app(app):
    accounts.prepare()
    login_manager.init_app(app)
    app.register_blueprint(bp)
