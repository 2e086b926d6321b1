"""Creating accounts (CLI and admin share this)."""
from models import MemberUnit, Role, User, db

from . import audit


class AccountError(Exception):
    pass


MIN_PASSWORD = 8


def create_user(username, password, role, *, unit_name=None, display_name=None, actor=None):
    username = (username or "").strip()
    if not username or len(username) > 50:
        raise AccountError("用户名不能为空，且不超过 50 个字符")
    if role not in Role.codes():
        raise AccountError("角色必须是 admin、clerk 或 unit 之一")
    if not password or len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 位")
    unit = None
    if role == Role.UNIT:
        if not unit_name:
            raise AccountError("成员单位账号必须用 --unit 指定所属单位")
        unit = MemberUnit.get_or_none(MemberUnit.name == unit_name)
        if unit is None:
            raise AccountError(f"找不到成员单位：{unit_name}")
    with db.atomic():
        if User.select().where(User.username == username).exists():
            raise AccountError(f"用户名 {username} 已存在")
        user = User(username=username, role=role, unit=unit, display_name=display_name)
        user.set_password(password)
        user.save(force_insert=True)
        audit.record("create", user, changes={"username": username, "role": role}, user=actor)
    return user
