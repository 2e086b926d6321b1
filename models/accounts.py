"""Accounts, their login sessions, login throttling, API tokens and the audit log."""
from flask_login import UserMixin
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField
from werkzeug.security import check_password_hash, generate_password_hash

from .alliance import MemberUnit
from .base import BaseModel, Choices, TimestampedModel, now
from .fields import MobileField
from .volunteers import Volunteer


# How new passwords are hashed (werkzeug's scrypt). Each stored hash names its own
# method, so changing this never locks anyone out; the test suite lowers the cost.
PASSWORD_METHOD = "scrypt"


class Role(Choices):
    ADMIN = ("admin", "管理员")
    CLERK = ("clerk", "工作人员")
    UNIT = ("unit", "成员单位")
    VOLUNTEER = ("volunteer", "志愿者")


class User(UserMixin, TimestampedModel):
    username = CharField(max_length=50, unique=True, verbose_name="用户名")
    display_name = CharField(max_length=50, null=True, verbose_name="姓名")
    password_hash = CharField(max_length=255, verbose_name="密码哈希")
    role = CharField(max_length=10, choices=Role.choices, index=True, verbose_name="角色")
    unit = ForeignKeyField(MemberUnit, null=True, on_delete="RESTRICT", backref="users", verbose_name="所属单位")
    active = BooleanField(default=True, verbose_name="启用")
    last_login_at = DateTimeField(null=True, verbose_name="最近登录")
    # a volunteer's account is tied to one Volunteer (their hours, points, sign-ups)
    volunteer = ForeignKeyField(Volunteer, null=True, unique=True, on_delete="RESTRICT", backref="accounts",
                                verbose_name="志愿者")
    # where notices reach the account beyond the site (services/delivery.py)
    email = CharField(max_length=120, null=True, verbose_name="通知邮箱")
    phone = MobileField(null=True, verbose_name="通知手机号")

    class Meta:
        verbose_name = "账号"
        table_name = "account"  # "user" is reserved in PostgreSQL

    # flask-login
    @property
    def is_active(self):
        return bool(self.active)

    # The token of the login session this object was loaded for (services.sessions); it is
    # what the session and remember cookies carry instead of the account id, so that ending
    # the LoginSession row ends both cookies (flask-login's alternative-id pattern).
    session_token = None

    def get_session_id(self):
        return self.session_token

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def is_staff(self):
        """Admins and clerks: the people who use /admin."""
        return self.role in (Role.ADMIN, Role.CLERK)

    def clean(self):
        errors = {}
        if self.role == Role.UNIT and not self.unit_id:
            errors["unit"] = "成员单位账号必须选择所属单位"
        if self.role == Role.VOLUNTEER and not self.volunteer_id:
            errors["volunteer"] = "志愿者账号必须选择对应的志愿者"
        return errors


class SessionEnd(Choices):
    LOGOUT = ("logout", "退出登录")
    PASSWORD = ("password", "密码已修改")
    DEACTIVATED = ("deactivated", "账号已停用")
    ADMIN = ("admin", "管理员结束")


class LoginSession(BaseModel):
    """One login. The session cookie and the remember cookie carry its token (only the
    SHA-256 digest is stored); the row ending ends both cookies on every app server."""

    user = ForeignKeyField(User, on_delete="RESTRICT", backref="login_sessions", verbose_name="账号")
    digest = CharField(max_length=64, unique=True, verbose_name="会话摘要")
    remember = BooleanField(default=False, verbose_name="记住我")
    ip = CharField(max_length=64, null=True, verbose_name="IP 地址")
    user_agent = CharField(max_length=200, null=True, verbose_name="浏览器")
    created_at = DateTimeField(default=now, index=True, verbose_name="登录时间")
    last_seen_at = DateTimeField(default=now, verbose_name="最近活动")
    expires_at = DateTimeField(verbose_name="到期时间")
    ended_at = DateTimeField(null=True, verbose_name="结束时间")
    end_reason = CharField(max_length=20, null=True, choices=SessionEnd.choices, verbose_name="结束原因")

    class Meta:
        verbose_name = "登录会话"

    def __str__(self):
        return f"登录会话 #{self.id}"


class LoginAttempt(BaseModel):
    """One failed login; recent rows throttle further attempts (shared by all workers).
    An admin's unlock (or a correct password from the same address) marks rows cleared;
    rows are kept as the record of what happened."""

    username = CharField(max_length=50, index=True, verbose_name="用户名")
    ip = CharField(max_length=64, index=True, verbose_name="IP 地址")
    created_at = DateTimeField(default=now, index=True, verbose_name="时间")
    cleared_at = DateTimeField(null=True, verbose_name="解除时间")

    class Meta:
        verbose_name = "登录失败记录"


class ApiToken(TimestampedModel):
    """A per-account API token; only its SHA-256 digest is stored."""

    user = ForeignKeyField(User, on_delete="RESTRICT", backref="api_tokens", verbose_name="账号")
    name = CharField(max_length=50, verbose_name="用途")
    digest = CharField(max_length=64, unique=True, verbose_name="令牌摘要")
    prefix = CharField(max_length=12, verbose_name="令牌前缀")
    revoked_at = DateTimeField(null=True, verbose_name="吊销时间")
    last_used_at = DateTimeField(null=True, verbose_name="最近使用")

    class Meta:
        verbose_name = "API 令牌"

    def __str__(self):
        return f"{self.name}（{self.prefix}…）"


class AuditLog(BaseModel):
    # every write writes a row here: its columns are indexed once each, by the admin list's
    # (column, created_at, id) indexes below, not also alone (migration 063)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="audit_entries", index=False,
                           verbose_name="操作人")
    username = CharField(max_length=50, null=True, verbose_name="操作人账号")
    action = CharField(max_length=30, verbose_name="操作")
    entity = CharField(max_length=50, verbose_name="对象类型")
    entity_id = CharField(max_length=50, null=True, verbose_name="对象编号")
    changes = TextField(null=True, verbose_name="变更内容")
    ip = CharField(max_length=64, null=True, verbose_name="IP 地址")
    created_at = DateTimeField(default=now, verbose_name="时间")

    class Meta:
        verbose_name = "操作日志"

    def __str__(self):
        return f"{self.username or '系统'} {self.action} {self.entity}#{self.entity_id}"

    # read-only for everyone: a row is written once and never changed or deleted
    def save(self, *args, **kwargs):
        if self._pk is not None and not kwargs.get("force_insert"):
            from .points import AppendOnlyError

            raise AppendOnlyError("操作日志只能追加，不能修改")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        from .points import AppendOnlyError

        raise AppendOnlyError("操作日志不能删除")


class AccountActivation(BaseModel):
    """A one-time activation link: the account holder sets their own password through it
    (services/activation.py). Only the SHA-256 digest of the token is stored; a link is
    single use (``used_at``) and expires (``expires_at``, 7 days by default)."""

    user = ForeignKeyField(User, on_delete="RESTRICT", backref="activations", verbose_name="账号")
    digest = CharField(max_length=64, unique=True, verbose_name="链接摘要")
    created_at = DateTimeField(default=now, index=True, verbose_name="生成时间")
    created_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+", verbose_name="生成人")
    expires_at = DateTimeField(verbose_name="有效期至")
    used_at = DateTimeField(null=True, verbose_name="使用时间")
    revoked_at = DateTimeField(null=True, verbose_name="作废时间")

    class Meta:
        verbose_name = "激活链接"

    def __str__(self):
        return f"激活链接 #{self.id}"


# Issue 12: the admin list's sorts, filters and searches walk these in order, the list's
# default order and the id after the column (admin/listing.py ``index_plan``; migration 055).
AuditLog.add_index(AuditLog.created_at, AuditLog.id)
AuditLog.add_index(AuditLog.username, AuditLog.created_at, AuditLog.id)
AuditLog.add_index(AuditLog.action, AuditLog.created_at, AuditLog.id)
AuditLog.add_index(AuditLog.entity, AuditLog.created_at, AuditLog.id)
AuditLog.add_index(AuditLog.entity_id, AuditLog.created_at, AuditLog.id)
AuditLog.add_index(AuditLog.user, AuditLog.created_at, AuditLog.id)
