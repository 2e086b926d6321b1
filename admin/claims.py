"""Claim review in the admin: the 待审核认领 queue, bulk and per-row confirm/reject.

A claim's status, project and unit move only through ``services.claims`` (the slot
counter ``Project.live_claims`` moves with them): the generic edit form holds the
review note alone, a claim created here goes through ``claim_project``, and claims
are never deleted (a unit withdraws, a clerk rejects).
"""
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user
from wtforms import DateField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models import Claim, ClaimStatus, MemberUnit, ProgressReport, Project, ProjectStatus
from services import claims, projects
from services.errors import ServiceError

from .base import AdminForm, parse_ids
from .transitions import MachineMovesMixin

MAX_BATCH = 200


class ClaimNoteForm(AdminForm):
    """What the generic edit form may change on a claim: the note, nothing else."""

    note = TextAreaField("审核意见", validators=[
        Optional(), Length(max=claims.NOTE_MAX, message=f"审核意见不能超过 {claims.NOTE_MAX} 字")])


class ReviewForm(AdminForm):
    note = TextAreaField("审核意见 / 驳回原因", validators=[
        Length(max=claims.NOTE_MAX, message=f"不能超过 {claims.NOTE_MAX} 字")],
        description="确认时可选填；驳回时必须填写原因，成员单位会在“我的认领”中看到。")


def _ids(raw):
    return parse_ids(raw, MAX_BATCH)


class ClaimReviewMixin:
    can_delete = False
    form_columns = ("project", "unit", "plan")  # the create form; edit uses ClaimNoteForm
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-gavel", ".review_view", title="审核", id_arg="ids")]

    def get_edit_form(self):
        return ClaimNoteForm

    # -- writes go through the service ------------------------------------------------

    def create_model(self, form):
        project, unit = form.project.data, form.unit.data
        claim = self.write_via(lambda: claims.claim_project(
            project.id if project else None, unit, form.plan.data, user=current_user), "认领未创建：")
        if claim is None:
            return False
        self.after_model_change(form, claim, True)
        return claim

    def update_model(self, form, model):
        return self.write_via(lambda: claims.annotate_claim(model.id, form.note.data, user=current_user)) is not None

    # -- review: bulk actions and the review page -------------------------------------

    @action("confirm", "确认认领", "确定确认所选的认领吗？")
    def action_confirm(self, ids):
        done, failures = claims.review_claims(_ids(ids), "confirm", user=current_user)
        self._flash_review("确认", done, failures)

    @action("reject", "驳回认领（填写原因）")
    def action_reject(self, ids):
        return redirect(url_for(".review_view", ids=",".join(str(i) for i in _ids(ids)),
                                next=self._safe_next()))

    def _flash_review(self, verb, done, failures):
        if done:
            flash(f"已{verb} {len(done)} 条认领。", "success")
        for claim_id, message in failures[:5]:
            flash(f"认领 #{claim_id} 未{verb}：{message}", "error")
        if len(failures) > 5:
            flash(f"另有 {len(failures) - 5} 条认领未{verb}。", "error")
        if not done and not failures:
            flash("没有选择任何认领。", "error")

    def _safe_next(self):
        target = request.values.get("next") or request.referrer or ""
        parts = urlsplit(target)
        if parts.path.startswith("/admin/") and (not parts.netloc or parts.netloc == request.host):
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return url_for(".index_view")

    @expose("/review/", methods=("GET", "POST"))
    def review_view(self):
        """One page to confirm or reject one or many claims, with a note or reason."""
        ids = _ids(request.values.getlist("ids"))
        if not ids:
            abort(404)
        rows = list(Claim.select(Claim, Project, MemberUnit).join(Project).switch(Claim).join(MemberUnit)
                    .where(Claim.id.in_(ids)).order_by(Claim.created_at, Claim.id))
        if not rows:
            abort(404)
        form = ReviewForm(request.form if request.method == "POST" else None)
        status = 200
        if request.method == "POST":
            decision = request.form.get("decision")
            if form.validate_on_submit() and decision in ("confirm", "reject"):
                pending = [c.id for c in rows if c.status == ClaimStatus.PENDING]
                try:
                    done, failures = claims.review_claims(pending, decision, user=current_user,
                                                          note=form.note.data)
                except ServiceError as exc:
                    form.note.errors = list(form.note.errors) + [exc.message]
                    status = exc.status
                else:
                    self._flash_review("确认" if decision == "confirm" else "驳回", done, failures)
                    return redirect(self._safe_next(), 303)
            else:
                if decision not in ("confirm", "reject"):
                    flash("请选择“确认”或“驳回”。", "error")
                status = 400
        reports = {}
        for report in ProgressReport.select().where(ProgressReport.claim.in_([c.id for c in rows])):
            reports.setdefault(report.claim_id, []).append(report)
        return self.render("admin/claim_review.html", rows=rows, form=form, reports=reports,
                           pending=[c for c in rows if c.status == ClaimStatus.PENDING],
                           next=self._safe_next(), ids=",".join(str(c.id) for c in rows),
                           ClaimStatus=ClaimStatus, ProjectStatus=ProjectStatus), status


class PendingQueueMixin:
    """待审核认领: only pending claims, oldest first."""

    can_create = False
    column_default_sort = ("created_at", False)

    def __init__(self, model, **kwargs):
        kwargs.setdefault("name", "待审核认领")
        kwargs.setdefault("endpoint", "pending_claim")
        super().__init__(model, **kwargs)

    def get_query(self):
        return super().get_query().where(Claim.status == ClaimStatus.PENDING)


class WithdrawnQueueMixin:
    """撤回待知悉: confirmed claims their units withdrew (with a reason). A clerk reads the
    reason and acknowledges; the project's next step (重新开放认领, 关闭项目) is on its
    own buttons."""

    can_create = False
    can_edit = False
    column_list = ("project", "unit", "reviewed_at", "withdrawn_at", "reason")
    column_labels = {"reason": "撤回原因"}
    column_formatters = {"reason": lambda view, context, model, name: model.withdraw_reason or ""}
    column_export_exclude_list = ("reason",)
    column_default_sort = ("withdrawn_at", False)
    action_disallowed_list = ["confirm", "reject"]
    column_extra_row_actions = []  # nothing left to review here

    def __init__(self, model, **kwargs):
        kwargs.setdefault("name", "撤回待知悉")
        kwargs.setdefault("endpoint", "withdrawn_claim")
        super().__init__(model, **kwargs)

    def get_query(self):
        return claims.withdrawals_to_acknowledge()

    @action("acknowledge", "已知悉", "确认已知悉所选认领的撤回吗？")
    def action_acknowledge(self, ids):
        done, failures = claims.acknowledge_withdrawals(_ids(ids), user=current_user)
        if done:
            flash(f"已知悉 {len(done)} 条撤回。", "success")
        for claim_id, message in failures[:5]:
            flash(f"认领 #{claim_id}：{message}", "error")
        if not done and not failures:
            flash("没有选择任何认领。", "error")


class ProjectSlotsMixin(MachineMovesMixin):
    """Projects: the status moves only by the buttons of the project machine
    (services/projects.py), progress follows the units' reports and ``live_claims`` is
    the claim service's counter — the form holds none of them (the base view leaves
    machine-owned and read-only columns out and saves only what the form changed).

    Slots below the live claims give a Chinese field error; after a slots change the
    project follows its slots (待认领 ⇄ 已认领) through the machine, in the save's
    transaction.
    """

    machine = projects.PROJECTS
    move_service = projects.move
    audit_exclude = ("live_claims",)  # the claim audit rows record every change to it

    def validate_form(self, form):
        ok = super().validate_form(form)
        current = getattr(form, "_obj", None)
        if "slots" not in form:
            return ok
        live = 0
        if current is not None:
            live = Project.select(Project.live_claims).where(Project.id == current.id).scalar() or 0
        form._live_claims = live
        slots = form.slots.data
        if ok and isinstance(slots, int) and slots < live:
            form.slots.errors = list(form.slots.errors) + [
                f"已有 {live} 个单位认领（含待审核），认领名额不能少于 {live}。如需减少，请先处理相关认领。"]
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        # nothing to adjust any more (status and counters are not in the form); the hook
        # stays so that a save's steps read the same in every view
        super().on_model_change(form, model, is_created)

    def after_save_in_transaction(self, form, model, is_created):
        super().after_save_in_transaction(form, model, is_created)
        before = Project.select(Project.status).where(Project.id == model.id).scalar()
        project = projects.sync_status(model.id, user=current_user)
        if project is not None and project.status != before:
            form._status_note = f"项目状态已按认领名额调整为“{ProjectStatus.label(project.status)}”。"

    def after_model_change(self, form, model, is_created):
        fresh = Project.select(Project.live_claims, Project.status).where(Project.id == model.id).first()
        if fresh is not None:
            model.__data__.update(live_claims=fresh.live_claims, status=fresh.status)
        if getattr(form, "_status_note", None):
            flash(form._status_note, "info")
        super().after_model_change(form, model, is_created)


class ProgressEditForm(AdminForm):
    """What the edit form may change on a progress report: never the claim it hangs off."""

    text = TextAreaField("进展内容", validators=[
        DataRequired("此项为必填项"), Length(max=claims.REPORT_MAX, message=f"进展内容不能超过 {claims.REPORT_MAX} 字")])
    percent = IntegerField("完成进度(%)", validators=[
        InputRequired("此项为必填项"), NumberRange(min=0, max=100, message="请输入 0 到 100 之间的整数")])
    reported_on = DateField("报告日期", validators=[Optional()])


class ProgressReportRulesMixin:
    """Progress hangs off a confirmed claim, whoever records it; a new report goes
    through services.claims (so the project's progress follows), and a unit's report
    is corrected by a newer one, never deleted."""

    can_delete = False

    def create_model(self, form):
        claim = form.claim.data
        report = self.write_via(lambda: claims.record_progress(
            claim.id if claim else None, form.text.data, form.percent.data,
            user=current_user, reported_on=form.reported_on.data), "进展未保存：")
        if report is None:
            return False
        self.after_model_change(form, report, True)
        return report

    def get_edit_form(self):
        return ProgressEditForm

    def update_model(self, form, model):
        """A correction, through the service: the project's progress is recomputed in
        the same transaction."""
        report = self.write_via(lambda: claims.edit_report(
            model.id, form.text.data, form.percent.data, form.reported_on.data, user=current_user),
            "进展未保存：")
        if report is None:
            return False
        self.after_model_change(form, report, False)
        return True

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or "claim" not in form:
            return ok
        claim, current = form.claim.data, getattr(form, "_obj", None)
        if claim is not None and (current is None or current.claim_id != claim.id) \
                and claim.status != ClaimStatus.CONFIRMED:
            form.claim.errors = list(form.claim.errors) + ["只有已确认的认领可以汇报进展"]
            ok = False
        return ok
