"""Volunteers who register themselves (志愿者注册), and a clerk's review.

``register`` keeps the application (with the hash of the password the applicant chose:
the strength rule of every self-chosen password applies) and tells the clerks. The
review is a state machine, ``APPLICATIONS`` (services/transitions.py): 通过 ties the
applicant to the Volunteer with that mobile number — or a new one in the team they chose
— and opens their account (role volunteer, username = the mobile number) with their own
password, in the approval's transaction; 不通过 needs a reason, which reaches the
applicant by phone. A mobile number has at most one pending application (a partial
unique index) and at most one account.
"""
from flask import current_app, has_app_context
from peewee import IntegrityError
from werkzeug.security import generate_password_hash

from models import (ApplicationStatus, Grid, Role, User, Volunteer, VolunteerApplication, VolunteerStatus,
                    VolunteerTeam, accounts as account_models, now)

from . import accounts, audit, notices
from .common import clean_text, get_or_404, write_transaction
from .errors import Conflict, ServiceError
from .transitions import Machine, Transition

NAME_MAX = 30
SKILLS_MAX = 200
REASON_MAX = 500


def _username_taken(phone):
    return (User.select().where(User.username == phone).exists()
            or User.select().join(Volunteer, on=(User.volunteer == Volunteer.id))
            .where(Volunteer.phone == phone).exists())


def _approve_guard(application):
    if _username_taken(application.phone):
        return "该手机号已有账号"
    return None


def _open_account(moved):
    """通过: the Volunteer (found by phone, or new) and the account, in the move's transaction."""
    application = moved.obj
    volunteer = Volunteer.get_or_none(Volunteer.phone == application.phone)
    if volunteer is None:
        volunteer = Volunteer.create(name=application.name, phone=application.phone, team=application.team_id,
                                     grid=application.grid_id, party_member=application.party_member,
                                     skills=application.skills, joined_on=now().date())
        audit.record("create", volunteer, user=moved.user, changes={"from_application": application.id})
    elif volunteer.status != VolunteerStatus.ACTIVE:
        Volunteer.update(status=VolunteerStatus.ACTIVE, updated_at=now()).where(
            Volunteer.id == volunteer.id).execute()
    user = User.create(username=application.phone, role=Role.VOLUNTEER, display_name=application.name,
                       volunteer=volunteer.id, password_hash=application.password_hash, active=True)
    audit.record("create", user, user=moved.user, changes={"username": user.username, "role": Role.VOLUNTEER,
                                                           "how": "志愿者注册审核通过"})
    VolunteerApplication.update(volunteer=volunteer.id, user=user.id).where(
        VolunteerApplication.id == application.id).execute()
    site = current_app.config.get("SITE_NAME", "红石榴联盟平台") if has_app_context() else "红石榴联盟平台"
    notices.notify("account_created", title="志愿者账号已开通", users=[user], link="/me",
                   body=f"{application.name}，您的志愿者注册申请已通过，账号已开通：用户名为您的手机号，"
                        f"密码为注册时设置的密码。欢迎登录{site}查看服务时长和积分、报名活动。")


def _tell_rejected(moved):
    application = moved.obj
    notices.notify("registration_rejected", title="志愿者注册申请未通过", phones=[application.phone],
                   subject=application,
                   body=f"{application.name}，您的志愿者注册申请未通过。原因：{application.reason}。"
                        "如有疑问请联系社区工作人员。")


A = ApplicationStatus
APPLICATIONS = Machine(VolunteerApplication, ApplicationStatus, [
    Transition("approve", (A.PENDING,), A.APPROVED, "通过", "accounts.issue", stamp="reviewed_at",
               guard=_approve_guard, after=_open_account,
               confirm="通过后将开通志愿者账号（用户名为其手机号），并关联或新建志愿者档案。"),
    Transition("reject", (A.PENDING,), A.REJECTED, "不通过", "accounts.issue", stamp="reviewed_at",
               ask="未通过原因", after=_tell_rejected),
], closed=(A.APPROVED, A.REJECTED))


def register(*, name, phone, password, grid=None, team=None, party_member=False, skills=None):
    """A self-registration, pending review; returns it. Every refusal is Chinese and
    names its field; nothing is written on error."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ServiceError("请填写姓名", field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(f"姓名不能超过 {NAME_MAX} 个字", field="name")
    try:
        phone = VolunteerApplication.phone.normalise(phone)
    except ValueError as exc:
        raise ServiceError(str(exc), field="phone")
    try:
        accounts.check_new_password(password, strength=True, user_inputs=[name, phone])
    except accounts.AccountError as exc:
        raise ServiceError(str(exc), field="password")
    grid_id = _choice(Grid, grid, "网格", "grid")
    team_id = _choice(VolunteerTeam, team, "服务队", "team")
    skills = clean_text(skills, "特长技能", required=False, max_length=SKILLS_MAX, field="skills")
    if _username_taken(phone):
        raise Conflict("该手机号已开通账号，请直接登录；忘记密码请联系社区工作人员。", field="phone")
    digest = generate_password_hash(password, method=account_models.PASSWORD_METHOD)
    try:
        with write_transaction():
            if VolunteerApplication.select().where(VolunteerApplication.phone == phone,
                                                   VolunteerApplication.status == A.PENDING).exists():
                raise Conflict("该手机号已提交过注册申请，正在等待审核。", field="phone")
            application = VolunteerApplication.create(name=name, phone=phone, grid=grid_id, team=team_id,
                                                      party_member=bool(party_member), skills=skills,
                                                      password_hash=digest)
            audit.record("register", application, changes={"name": name, "phone": phone[:3] + "****" + phone[-4:]})
            notices.notify("registration_pending", title=f"新的志愿者注册申请：{name}", users=notices.staff_ids(),
                           subject=application, link="/admin/volunteer_application/",
                           body=f"{name}（{phone[:3]}****{phone[-4:]}）申请注册为志愿者，请审核。")
    except IntegrityError:  # the partial unique index: a double submit
        raise Conflict("该手机号已提交过注册申请，正在等待审核。", field="phone")
    return application


def _choice(model, value, label, field):
    if value in (None, ""):
        return None
    try:
        return get_or_404(model, value, f"所选{label}不存在").id
    except ServiceError:
        raise ServiceError(f"所选{label}不存在", field=field)


def move(application_id, name, *, user, reason=None, expected=None):
    """A clerk's 通过 / 不通过 (the admin's move page)."""
    from .transitions import RACE

    application = get_or_404(VolunteerApplication, application_id, "注册申请不存在")
    if expected and expected != application.status:
        raise Conflict(RACE.format(noun=APPLICATIONS.noun))
    APPLICATIONS.check(application, name, user=user, guard=False)
    values = {"reviewed_by": user.id if user else None}
    if name == "reject":
        values["reason"] = clean_text(reason, "未通过原因", max_length=REASON_MAX, field="reason")
    try:
        APPLICATIONS.move(application, name, user=user, values=values)
    except IntegrityError:
        raise Conflict("该手机号已有账号")
    return VolunteerApplication.get_by_id(application.id)
