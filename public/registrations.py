"""Volunteers register themselves (志愿者注册); a clerk approves them in the admin."""
from flask import redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from models import Grid, VolunteerTeam
from services import accounts, registrations
from services.errors import ServiceError
from web.ratelimit import rate_limited


class RegisterForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=registrations.NAME_MAX,
                                                                      message="姓名过长")])
    phone = StringField("手机号", validators=[DataRequired("请填写手机号"), Length(max=30, message="手机号过长")],
                        description="审核通过后，手机号就是您的登录用户名。")
    grid = SelectField("所在网格", validators=[Optional()], validate_choice=True)
    team = SelectField("意向服务队", validators=[Optional()], validate_choice=True)
    party_member = BooleanField("我是党员")
    skills = StringField("特长技能", validators=[Optional(), Length(max=registrations.SKILLS_MAX,
                                                                message="特长技能过长")])
    password = PasswordField("设置密码", validators=[
        DataRequired("请设置密码"),
        Length(min=accounts.MIN_PASSWORD, max=accounts.MAX_PASSWORD,
               message=f"密码长度需为 {accounts.MIN_PASSWORD} 到 {accounts.MAX_PASSWORD} 位")])
    confirm = PasswordField("再次输入密码", validators=[DataRequired("请再次输入密码"),
                                                  EqualTo("password", message="两次输入的密码不一致")])


def _choices(form):
    form.grid.choices = [("", "（不确定）")] + [(str(pk), name) for pk, name in
                                             Grid.select(Grid.id, Grid.name).order_by(Grid.number).tuples()]
    form.team.choices = [("", "（由社区安排）")] + [(str(pk), name) for pk, name in VolunteerTeam.select(
        VolunteerTeam.id, VolunteerTeam.name).order_by(VolunteerTeam.name).tuples()]


def register_form():
    form = RegisterForm()
    _choices(form)
    return render_template("public/registrations/register.html", form=form)


@rate_limited("register")
def register():
    form = RegisterForm()
    _choices(form)
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    if not form.validate_on_submit():
        return render_template("public/registrations/register.html", form=form, error="请检查填写的内容。"), 400
    try:
        application = registrations.register(
            name=form.name.data, phone=form.phone.data, password=form.password.data, grid=form.grid.data,
            team=form.team.data, party_member=form.party_member.data, skills=form.skills.data)
    except ServiceError as exc:
        field = exc.field if exc.field in form else None
        if field:
            form[field].errors = list(form[field].errors) + [exc.message]
        return render_template("public/registrations/register.html", form=form,
                               error=None if field else exc.message), exc.status
    return render_template("public/registrations/done.html", application=application), 201
