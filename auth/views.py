import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from models import LoginAttempt, Role, User, db, now
from services import audit

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=50, message="用户名过长")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200, message="密码过长")])
    remember = BooleanField("记住我")


def safe_next(target):
    """Only a path on this site: no scheme, no host, no protocol-relative //host."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


def landing_for(user):
    return url_for("admin.index") if user.role in (Role.ADMIN, Role.CLERK) else url_for("auth.account")


def too_many_failures(username, ip):
    cfg = current_app.config
    since = now() - dt.timedelta(minutes=cfg["LOGIN_WINDOW_MINUTES"])
    recent = LoginAttempt.select().where(
        LoginAttempt.created_at >= since,
        (LoginAttempt.username == username) | (LoginAttempt.ip == ip),
    )
    by_user = recent.where(LoginAttempt.username == username).count()
    by_ip = recent.where(LoginAttempt.ip == ip).count()
    return by_user >= cfg["LOGIN_MAX_FAILURES"] or by_ip >= cfg["LOGIN_MAX_FAILURES"] * 4


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or landing_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        ip = request.remote_addr or "?"
        if too_many_failures(username, ip):
            flash(f"登录失败次数过多，请 {current_app.config['LOGIN_WINDOW_MINUTES']} 分钟后再试。", "error")
            return render_template("auth/login.html", form=form, next=next_url), 429
        user = User.get_or_none(User.username == username)
        if user and user.active and user.check_password(form.password.data):
            with db.atomic():
                LoginAttempt.delete().where(LoginAttempt.username == username).execute()
                User.update(last_login_at=now()).where(User.id == user.id).execute()
                audit.record("login", user, user=user)
            login_user(user, remember=form.remember.data)
            return redirect(next_url or landing_for(user))
        LoginAttempt.create(username=username[:50], ip=ip[:64])
        flash("用户名或密码错误。", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, next=next_url), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("已退出登录。", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@login_required
def account():
    """Where a partner unit lands; the public site replaces this with 我的认领."""
    if "public.my_claims" in current_app.view_functions:
        return redirect(url_for("public.my_claims"))
    if current_user.role in (Role.ADMIN, Role.CLERK):
        return redirect(url_for("admin.index"))
    return render_template("auth/account.html")
