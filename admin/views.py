"""Admin screens: declarations only. The base view derives the rest from the models."""
from flask import flash
from wtforms import PasswordField
from wtforms.validators import Length, Optional

from models import (AccountActivation, ApiToken, AuditLog, Claim, ClaimStatus, Event, Grid, ImportJob, LoginAttempt,
                    LoginSession, MemberUnit, Notice, NoticeDelivery, PointsEntry, ProgressReport, Project,
                    ProjectCategory, Role, Signup, SignupStatus, User, Volunteer, VolunteerApplication, VolunteerTeam,
                    WorkOrder, WorkOrderStep)
from services import claims, signups, workorders

from models.exposure import admin_filters

from .accounts import AccountRulesMixin, LoginAttemptAdminMixin, LoginSessionAdminMixin
from .audit import AuditLogMixin
from .base import SecureModelView
from .bulk import BulkMove, Param
from .categories import ProjectCategoryRulesMixin
from .imports import ImportJobRulesMixin
from .signups import EventSignupsMixin, SignupRulesMixin, event_filter
from .claims import (ClaimReviewMixin, PendingQueueMixin, ProgressReportRulesMixin, ProjectSlotsMixin,
                     WithdrawnQueueMixin)
from .workorders import OverdueFilter, WorkOrderMovesMixin
from .needs import GridPosterMixin
from .tokens import ApiTokenIssueMixin
from .loops import (AccountActivationAdminMixin, NoticeAdminMixin, NoticeDeliveryAdminMixin, UserActivationMixin,
                    VolunteerApplicationAdminMixin, WorkOrderVolunteersMixin)


class GridView(GridPosterMixin, SecureModelView):
    column_list = ("number", "name", "party_leader", "worker", "worker_phone", "unit_leaders", "households")
    column_default_sort = "number"
    column_searchable_list = ("name", "party_leader", "worker")


class MemberUnitView(SecureModelView):
    column_list = ("name", "kind", "contact", "phone", "grid", "joined_on", "status")
    column_searchable_list = ("name", "contact", "address")
    column_filters = admin_filters(MemberUnit, "status", "joined_on")
    column_default_sort = "name"
    bulk_fields = ("grid", "status")


class ProjectView(ProjectSlotsMixin, SecureModelView):
    bounded = True  # grows to millions of rows: indexed sorts, filters and searches only
    column_list = ("title", "line", "category", "grid", "slots", "live_claims", "deadline",
                   "published", "status", "progress")
    column_searchable_list = ("title", "category")
    column_filters = admin_filters(Project, "published", "deadline")
    bulk_fields = ("grid", "published")  # status: the project machine's moves (admin/bulk.py)


class ClaimView(ClaimReviewMixin, SecureModelView):
    """Status changes only through services.claims: confirm/reject actions and the
    审核 page; the edit form changes the note alone (see admin/claims.py)."""

    column_list = ("project", "unit", "status", "created_at", "reviewed_by", "reviewed_at", "withdrawn_at")
    column_searchable_list = ("plan",)
    column_filters = ("status", "unit", "project", "created_at")
    bulk_moves = {
        "confirm": BulkMove("确认认领", lambda pk, user, p: claims.confirm_claim(pk, user=user, note=p.get("note")),
                            allowed=lambda c: c.status == ClaimStatus.PENDING,
                            params=(Param("note", "审核意见（选填）", required=False),)),
        "reject": BulkMove("驳回认领", lambda pk, user, p: claims.reject_claim(pk, user=user, reason=p.get("reason")),
                           allowed=lambda c: c.status == ClaimStatus.PENDING,
                           params=(Param("reason", "驳回原因"),)),
    }


class PendingClaimView(PendingQueueMixin, ClaimView):
    """待审核认领: the review queue."""


class WithdrawnClaimView(WithdrawnQueueMixin, ClaimView):
    """撤回待知悉: confirmed claims their units withdrew, for a clerk to acknowledge."""


class ProgressReportView(ProgressReportRulesMixin, SecureModelView):
    column_list = ("claim.project", "claim.unit", "percent", "reported_on", "created_at")
    column_searchable_list = ("text",)
    column_filters = ("claim.project", "claim.unit", "reported_on")


class EventView(EventSignupsMixin, SecureModelView):
    bounded = True  # grows to millions of rows: indexed sorts, filters and searches only
    column_list = ("title", "category", "starts_at", "ends_at", "location", "organiser",
                   "capacity", "signup_counts", "published", "status", "points")
    column_searchable_list = ("title", "location")
    column_filters = admin_filters(Event, "published")
    column_default_sort = ("starts_at", True)
    bulk_fields = ("published",)  # status: the event machine's moves (admin/bulk.py)


class SignupView(SignupRulesMixin, SecureModelView):
    """Status changes only through services.signups (see admin/signups.py)."""

    bounded = True  # grows to millions of rows: indexed sorts, filters and searches only
    column_list = ("event", "name", "phone", "volunteer", "status", "code", "checked_in_at", "hours")
    column_searchable_list = ("name", "phone", "code")
    column_filters = ("status", event_filter(), "event", "volunteer", "checked_in_at")
    column_default_sort = ("created_at", False)
    bulk_moves = {
        "cancel": BulkMove("取消报名", lambda pk, user, p: signups.cancel(pk, user=user),
                           allowed=lambda s: s.status in (SignupStatus.REGISTERED, SignupStatus.WAITLISTED)),
    }


class VolunteerTeamView(SecureModelView):
    column_list = ("name", "leader", "leader_phone", "founded_on")
    column_searchable_list = ("name", "leader")


class VolunteerView(SecureModelView):
    bounded = True  # grows to millions of rows: indexed sorts, filters and searches only
    column_list = ("name", "phone", "team", "grid", "party_member", "skills", "joined_on", "status", "points_balance")
    column_searchable_list = ("name", "phone", "skills")
    column_filters = ("team", "grid", "party_member", "status", "joined_on")
    bulk_fields = ("team", "grid", "status")


class PointsEntryView(SecureModelView):
    """Append-only: entries are added, never edited or deleted."""

    can_create = False  # entries are written by services.points (积分银行 screens), which keep the balance
    can_edit = False
    can_delete = False
    bounded = True  # grows to millions of rows: indexed sorts, filters and searches only
    column_list = ("created_at", "volunteer", "kind", "points", "hours", "event", "organiser",
                   "description", "item", "corrects", "recorded_by")
    column_searchable_list = ("description",)
    column_filters = ("kind", "volunteer", "event", "organiser", "created_at")
    form_excluded_columns = ("recorded_by", "signup", "corrections")


class WorkOrderView(WorkOrderVolunteersMixin, WorkOrderMovesMixin, SecureModelView):
    """States change only through services.workorders.ORDERS (buttons on each row);
    the generic form edits the request itself, never the state or its timestamps."""

    can_delete = False  # a request is closed by 撤销 (with a reason), never erased
    list_template = "admin/workorder_list.html"
    column_list = ("number", "channel", "requester_name", "grid", "category", "status",
                   "assignee_unit", "assignee_volunteer", "assignee_worker", "due_at", "rating", "created_at",
                   "open_to_volunteers")
    column_searchable_list = ("number", "requester_name", "description")
    column_filters = ("status", OverdueFilter(WorkOrder.due_at, "超期未办结", options=(("1", "是"),)),
                      "grid", "assignee_unit", "assignee_volunteer", "assignee_worker",
                      "channel", "category", "rating", "due_at", "created_at")
    form_columns = ("channel", "requester_name", "requester_phone", "grid", "category", "description", "due_at")
    bulk_fields = ("grid",)
    bulk_moves = {
        "dispatch": BulkMove("派单给成员单位", lambda pk, user, p: workorders.move(pk, "dispatch", user=user, unit=p["unit"]),
                             allowed=lambda o: "dispatch" in workorders.allowed_actions(o),
                             params=(Param("unit", "承办单位", "unit"),)),
        "resolve": BulkMove("办结", lambda pk, user, p: workorders.move(pk, "resolve", user=user, result=p["result"]),
                            allowed=lambda o: "resolve" in workorders.allowed_actions(o),
                            params=(Param("result", "办理结果"),)),
        "revoke": BulkMove("撤销", lambda pk, user, p: workorders.move(pk, "revoke", user=user, reason=p["reason"]),
                           allowed=lambda o: "revoke" in workorders.allowed_actions(o),
                           params=(Param("reason", "撤销原因"),)),
    }


class UserView(UserActivationMixin, AccountRulesMixin, SecureModelView):
    """Accounts: admins only. The password is set through a form field, stored hashed; what
    an edit does to sessions and the audit log is in admin/accounts.py."""

    permission = "accounts.manage"
    column_list = ("username", "display_name", "role", "unit", "volunteer", "active", "last_login_at", "created_at")
    column_filters = ("role", "unit", "active")
    form_excluded_columns = ("password_hash", "last_login_at",
                             "api_tokens", "audit_entries", "reviewed_claims", "points_entries",
                             "activations", "notices", "login_sessions", "approved_photos", "uploaded_photos")
    form_extra_fields = {
        "password": PasswordField("密码", validators=[Optional(), Length(min=8, max=200, message="密码长度需为 8 到 200 位")],
                                  description="新建账号必填；编辑时留空表示不修改"),
    }
    audit_exclude = ("password_hash",)

    def validate_form(self, form):
        ok = super().validate_form(form)
        if ok and getattr(form, "_obj", None) is None and hasattr(form, "password") and not form.password.data:
            form.password.errors = list(form.password.errors) + ["新建账号必须设置密码"]
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        model._password_changed = bool(form.password.data)
        if form.password.data:
            model.set_password(form.password.data)
        if model.role != Role.UNIT:
            model.unit = None
        if model.role != Role.VOLUNTEER:
            model.volunteer = None

    def delete_model(self, model):
        from flask_login import current_user

        if model.id == current_user.id:
            flash("不能删除当前登录的账号。", "error")
            return False
        return super().delete_model(model)


class ApiTokenView(ApiTokenIssueMixin, SecureModelView):
    """Issue (plaintext shown once) and revoke; see admin/tokens.py."""

    permission = "accounts.manage"
    column_list = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    column_filters = ("user", "revoked_at")


class NoticeView(NoticeAdminMixin, SecureModelView):
    bounded = True


class NoticeDeliveryView(NoticeDeliveryAdminMixin, SecureModelView):
    pass


class VolunteerApplicationView(VolunteerApplicationAdminMixin, SecureModelView):
    pass


class AccountActivationView(AccountActivationAdminMixin, SecureModelView):
    pass


class LoginSessionView(LoginSessionAdminMixin, SecureModelView):
    pass


class LoginAttemptView(LoginAttemptAdminMixin, SecureModelView):
    pass


class AuditLogView(AuditLogMixin, SecureModelView):
    """操作日志: read by clerks and admins, changed by no one (see admin/audit.py)."""

    bounded = True
    column_filters = AuditLogMixin.audit_filters(AuditLog)


class ProjectCategoryView(ProjectCategoryRulesMixin, SecureModelView):
    """项目分类: the list a project's category is chosen from; clerks extend it."""

    column_list = ("name", "line", "sort_order", "active", "note")
    column_searchable_list = ("name",)
    column_filters = ("line", "active")
    column_default_sort = "sort_order"


class ImportJobView(ImportJobRulesMixin, SecureModelView):
    """导入记录: every spreadsheet brought in, read-only (imports start from each list's 导入)."""

    column_list = ("created_at", "entity", "filename", "status", "total_rows", "created_count", "updated_count",
                   "unchanged_count", "problem_count", "created_by", "applied_at")
    column_filters = ("status", "created_by", "created_at")
    column_searchable_list = ("filename",)
    column_default_sort = ("created_at", True)


class WorkOrderStepView(SecureModelView):
    """工单办理记录: every step of every order, every round kept (services/workorders.py
    writes them in each move's transaction); read-only for everyone."""

    can_create = False
    can_edit = False
    can_delete = False
    column_list = ("order", "round", "kind", "at", "actor_label", "assignee_label", "rating", "by_resident")
    column_filters = ("kind", "round", "rating", "by_resident", "at")
    column_searchable_list = ("actor_label", "assignee_label", "result", "reason")
    column_default_sort = ("id", True)


# (model, view class, menu category): adding an entity is one line here.
REGISTRY = [
    (MemberUnit, MemberUnitView, "联盟"),
    (Grid, GridView, "联盟"),
    (Project, ProjectView, "项目认领"),
    (ProjectCategory, ProjectCategoryView, "项目认领"),
    (Claim, ClaimView, "项目认领"),
    (Claim, PendingClaimView, "项目认领"),
    (Claim, WithdrawnClaimView, "项目认领"),
    (ProgressReport, ProgressReportView, "项目认领"),
    (Event, EventView, "活动"),
    (Signup, SignupView, "活动"),
    (VolunteerTeam, VolunteerTeamView, "志愿服务"),
    (Volunteer, VolunteerView, "志愿服务"),
    (PointsEntry, PointsEntryView, "志愿服务"),
    (WorkOrder, WorkOrderView, "工单"),
    (VolunteerApplication, VolunteerApplicationView, "志愿服务"),
    (Notice, NoticeView, "通知"),
    (NoticeDelivery, NoticeDeliveryView, "通知"),
    (AccountActivation, AccountActivationView, "系统"),
    (User, UserView, "系统"),
    (ApiToken, ApiTokenView, "系统"),
    (LoginSession, LoginSessionView, "系统"),
    (LoginAttempt, LoginAttemptView, "系统"),
    (AuditLog, AuditLogView, "系统"),
    (ImportJob, ImportJobView, "系统"),
    (WorkOrderStep, WorkOrderStepView, "工单"),
]

# 微心愿 (issue 10; admin/wishes.py)
from models import Wish  # noqa: E402

from .wishes import WishView  # noqa: E402

REGISTRY.append((Wish, WishView, "微心愿"))
