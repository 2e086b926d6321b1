from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from models import Role, User, now
from services import accounts, audit, lockout, sessions
from services.common import write_transaction

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=50, message="用户名过长")])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200, message="密码过长")])
    remember = BooleanField("记住我")


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码"), Length(max=200, message="密码过长")])
    new = PasswordField("新密码", validators=[
        DataRequired("请输入新密码"),
        Length(min=accounts.MIN_PASSWORD, max=accounts.MAX_PASSWORD,
               message=f"密码长度需为 {accounts.MIN_PASSWORD} 到 {accounts.MAX_PASSWORD} 位")])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码"),
                                                   EqualTo("new", message="两次输入的新密码不一致")])


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
    """Where an account starts: staff in the admin, a unit in its workspace /my, a
    volunteer on /me (each when the site has it)."""
    if user.role in (Role.ADMIN, Role.CLERK):
        return url_for("admin.index")
    home = {Role.UNIT: "public.my", Role.VOLUNTEER: "public.me"}.get(user.role)
    if home and home in current_app.view_functions:
        return url_for(home)
    return url_for("auth.account")


def _client_ip():
    return (request.remote_addr or "?")[:64]


def _renew_session(keep_visitor_state):
    """A login or a logout starts a new session: the CSRF token is renewed (Flask-WTF makes
    a new one for the next form) and flask-login's keys go. At login a visitor's own state
    (the sign-ups remembered on this browser) stays; a logout leaves nothing behind."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    kept = {k: v for k, v in session.items()
            if keep_visitor_state and k != field and not k.startswith("_")}
    session.clear()
    session.update(kept)
    g.pop(field, None)


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or landing_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        ip = _client_ip()
        refusal = lockout.refusal(username, ip)
        if refusal:
            flash(refusal, "error")
            return render_template("auth/login.html", form=form, next=next_url), 429
        user, refusal = accounts.check_login(username, form.password.data)
        if user is not None:
            remember = bool(form.remember.data)
            _renew_session(keep_visitor_state=True)
            with write_transaction():
                lockout.clear_pair(username, ip)
                User.update(last_login_at=now()).where(User.id == user.id).execute()
                sessions.start(user, remember=remember)
                audit.record("login", user, user=user)
            login_user(user, remember=remember)
            return redirect(next_url or landing_for(user))
        if refusal == accounts.WRONG:
            lockout.record_failure(username, ip)
            status = 401
        else:  # the right password of an account that may not log in (yet)
            status = 403
        flash(refusal, "error")
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, next=next_url), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        with write_transaction():
            if sessions.end(current_user.session_token):
                audit.record("logout", current_user._get_current_object())
    _renew_session(keep_visitor_state=False)
    logout_user()
    flash("已退出登录。", "success")
    return redirect(url_for("auth.login"))


class ContactForm(FlaskForm):
    email = StringField("通知邮箱", validators=[Optional(), Length(max=120, message="邮箱地址过长"),
                                            Email("请输入有效的邮箱地址", check_deliverability=False)],
                        description="通知（如认领审核结果、派单、积分计入）会同时发送到这个邮箱；留空则不发邮件。")
    phone = StringField("通知手机号", validators=[Optional(), Length(max=30, message="手机号过长")],
                        description="短信/微信通知发到这个号码；留空时使用单位或志愿者档案中的手机号。")


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """我的账号: where notices reach the account beyond the site, and the password."""
    user = current_user._get_current_object()
    form = ContactForm(obj=user) if request.method == "GET" else ContactForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changes = accounts.update_contact(user, email=form.email.data, phone=form.phone.data)
            except accounts.AccountError as exc:
                target = form[exc.field] if exc.field in ("email", "phone") else form.email
                target.errors = list(target.errors) + [str(exc)]
                status = 400
            else:
                flash("通知方式已保存。" if changes else "通知方式没有变化。", "success")
                return redirect(url_for("auth.account"), 303)
        else:
            status = 400
    return render_template("auth/account.html", form=form, home=landing_for(user)), status


class ActivateForm(FlaskForm):
    new = PasswordField("设置密码", validators=[
        DataRequired("请设置密码"),
        Length(min=accounts.MIN_PASSWORD, max=accounts.MAX_PASSWORD,
               message=f"密码长度需为 {accounts.MIN_PASSWORD} 到 {accounts.MAX_PASSWORD} 位")])
    confirm = PasswordField("再次输入密码", validators=[DataRequired("请再次输入密码"),
                                                  EqualTo("new", message="两次输入的密码不一致")])


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token):
    """A one-time activation link: the holder sets a password and is logged in."""
    from services import activation
    from services.errors import ServiceError

    try:
        row = activation.find(token)
    except ServiceError as exc:
        return render_template("auth/activate.html", form=None, error=exc.message), 404
    form = ActivateForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = activation.activate(token, form.new.data)
        except ServiceError as exc:
            if exc.status == 404:
                return render_template("auth/activate.html", form=None, error=exc.message), 404
            form.new.errors = list(form.new.errors) + [exc.message]
            status = exc.status
        else:
            if current_user.is_authenticated:
                logout_user()
            _renew_session(keep_visitor_state=False)
            with write_transaction():
                User.update(last_login_at=now()).where(User.id == user.id).execute()
                sessions.start(user)
                audit.record("login", user, user=user)
            login_user(user)
            flash("密码已设置，账号已激活。", "success")
            return redirect(landing_for(user), 303)
    elif request.method == "POST":
        status = 400
    return render_template("auth/activate.html", form=form, account=row.user, error=None), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Every account changes its own password here; its other sessions end."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            ended = accounts.change_own_password(user, form.current.data, form.new.data,
                                                 keep_token=user.session_token)
        except accounts.AccountError as exc:
            field = form[exc.field] if exc.field in ("current", "new") else form.new
            field.errors = list(field.errors) + [str(exc)]
            status = 400
        else:
            flash("密码已修改。" + (f"其他 {ended} 处登录已退出。" if ended else ""), "success")
            return redirect(landing_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status
