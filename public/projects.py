"""Controllers for the open-project list, project pages and partner-unit claiming.

Anonymous visitors browse published projects; a partner unit (role ``unit``) claims
them, follows its own claims in 我的认领, withdraws them and reports progress. Every
rule about slots and claim states lives in ``services.claims``.
"""
import functools
import math
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN, fn
from werkzeug.exceptions import default_exceptions
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from auth.permissions import can
from models import Claim, ClaimStatus, Grid, Line, MemberUnit, ProgressReport, Project, ProjectStatus
from services import claims
from services.errors import ServiceError

PAGE_SIZE = 20
CATEGORY_TTL = 60
MAX_PAGE_DIGITS = 6


# --- forms ---------------------------------------------------------------------

class ProjectFilterForm(FlaskForm):
    """The list filters, read from the query string (GET: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("关键词", validators=[Optional(), Length(max=50, message="关键词不能超过 50 字")])
    line = SelectField("联治类别", validators=[Optional()], validate_choice=True)
    category = SelectField("项目分类", validators=[Optional()], validate_choice=True)
    grid = SelectField("所在网格", validators=[Optional()], validate_choice=True)
    status = SelectField("项目状态", validators=[Optional()], validate_choice=True)


class ClaimForm(FlaskForm):
    plan = TextAreaField("认领说明", validators=[
        DataRequired("请填写认领说明"),
        Length(max=claims.PLAN_MAX, message=f"认领说明不能超过 {claims.PLAN_MAX} 字")],
        description="请说明贵单位计划如何实施该项目：投入的人员、资源和时间安排。")


class ProgressForm(FlaskForm):
    text = TextAreaField("进展内容", validators=[
        DataRequired("请填写进展内容"),
        Length(max=claims.REPORT_MAX, message=f"进展内容不能超过 {claims.REPORT_MAX} 字")])
    percent = IntegerField("完成进度(%)", validators=[
        InputRequired("请填写完成进度"), NumberRange(min=0, max=100, message="完成进度必须是 0 到 100 的整数")])


class PostForm(FlaskForm):
    """A button that posts: only the CSRF token."""


class WithdrawForm(FlaskForm):
    """撤回认领: one tap for a pending claim (no reason needed); the confirmation page
    with a required reason for a confirmed one (the service insists on it)."""

    reason = TextAreaField("撤回原因", validators=[
        Optional(), Length(max=claims.NOTE_MAX, message=f"撤回原因不能超过 {claims.NOTE_MAX} 字")],
        description="请说明撤回的原因，工作人员会看到。")


# --- helpers ---------------------------------------------------------------------

def fail(status, message):
    """Abort with the app's Chinese error page and ``message`` on it."""
    exc = default_exceptions[status]()
    exc.chinese = message
    raise exc


def unit_required(view):
    """Partner-unit pages: anonymous → the login page, other roles → 403."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            flash("请先以成员单位账号登录。", "warning")
            return redirect(url_for("auth.login", next=_back_path()))
        if not can(current_user, "claims.own"):
            fail(403, "该页面仅供成员单位账号使用。")
        if current_user.unit is None:
            fail(403, "该账号尚未关联成员单位，请联系社区工作人员。")
        return view(*args, **kwargs)
    return wrapped


def _back_path():
    """Where to return after logging in: this page, or for a POST the page it came from."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path
    return None


def _parse_page(raw):
    """(page, error message or None): page numbers start at 1."""
    if raw is None or raw == "":
        return 1, None
    if not raw.isdigit() or len(raw) > MAX_PAGE_DIGITS or int(raw) < 1:
        return 1, "页码无效，已显示第 1 页。"
    return int(raw), None


class Pager:
    def __init__(self, page, total, per_page=PAGE_SIZE):
        self.total = total
        self.per_page = per_page
        self.pages = max(math.ceil(total / per_page), 1)
        self.page = min(page, self.pages)

    @property
    def offset(self):
        return (self.page - 1) * self.per_page

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages


def _current_unit():
    if can(current_user, "claims.own"):
        return current_user.unit
    return None


def _public_project_or_404(project_id):
    try:
        return claims.get_public_project(project_id)
    except ServiceError as exc:
        fail(404, exc.message)


# --- the open-project list ----------------------------------------------------------

def _public_categories():
    """The categories of public projects, kept per app for CATEGORY_TTL seconds while the
    public data's version stays the same: the DISTINCT scan is the dearest query of the
    page once there are many projects."""
    from models.dataversion import current_version

    version = current_version()  # a new category shows at once, on every app server
    cached = current_app.extensions.get("public_project_categories")
    if cached and cached[0] > time.monotonic() and cached[2] == version and version is not None:
        return cached[1]
    categories = [c for (c,) in claims.public_projects().select(Project.category).distinct()
                  .order_by(Project.category).tuples() if c]
    current_app.extensions["public_project_categories"] = (time.monotonic() + CATEGORY_TTL, categories, version)
    return categories


def _filter_choices(form):
    everything = [("", "全部")]
    form.line.choices = everything + list(Line.choices)
    form.category.choices = everything + [(c, c) for c in _public_categories()]
    grids = Grid.select(Grid.id, Grid.name).order_by(Grid.number).tuples()
    form.grid.choices = everything + [(str(pk), name) for pk, name in grids]
    form.status.choices = everything + [(s, ProjectStatus.label(s)) for s in claims.PUBLIC_STATUSES]


def project_list():
    form = ProjectFilterForm(request.args)
    _filter_choices(form)
    problems = []
    if not form.validate():
        for name, errors in form.errors.items():
            field = form[name]
            problems.append(f"筛选条件“{field.label.text}”无效，已忽略。")
            field.data = ""
            field.errors = []
    page, page_problem = _parse_page(request.args.get("page"))
    if page_problem:
        problems.append(page_problem)

    query = claims.public_projects()
    if form.q.data:
        query = query.where(Project.title.contains(form.q.data.strip()))
    if form.line.data:
        query = query.where(Project.line == form.line.data)
    if form.category.data:
        query = query.where(Project.category == form.category.data)
    if form.grid.data:
        query = query.where(Project.grid == int(form.grid.data))
    if form.status.data:
        query = query.where(Project.status == form.status.data)

    pager = Pager(page, query.count())
    # newest first, along the primary key: no sort of the whole table per page
    rows = (query.select(Project.id, Project.title, Project.line, Project.category,
                         Project.slots, Project.live_claims, Project.deadline, Project.status,
                         Project.progress, Grid.id, Grid.name)
            .join(Grid, JOIN.LEFT_OUTER)
            .order_by(Project.id.desc())
            .limit(pager.per_page).offset(pager.offset))
    args = {k: v for k, v in (("q", form.q.data), ("line", form.line.data),
                              ("category", form.category.data), ("grid", form.grid.data),
                              ("status", form.status.data)) if v}
    body = render_template("public/projects/list.html", form=form, projects=list(rows),
                           pager=pager, args=args, problems=problems,
                           Line=Line, ProjectStatus=ProjectStatus)
    return body, 400 if problems else 200


# --- the project page and the claim form --------------------------------------------------

_UNREAD = object()


def _render_project(project, form=None, error=None, own_claim=_UNREAD):
    """The project page; ``own_claim``: the unit's live claim when the caller has just
    read it (a refused claim has), else it is read here."""
    unit = _current_unit()
    claimants = (MemberUnit.select(MemberUnit.name).join(Claim)
                 .where(Claim.project == project.id, Claim.status == ClaimStatus.CONFIRMED)
                 .order_by(Claim.reviewed_at, Claim.id).tuples())
    if unit is None:
        own_claim = None
    elif own_claim is _UNREAD:
        own_claim = claims.live_claim_of(project, unit)
    refusal = None
    if unit is not None and own_claim is None:
        refusal = claims.claim_refusal(project, unit)
    return render_template(
        "public/projects/detail.html", project=project, claimants=[name for (name,) in claimants],
        unit=unit, own_claim=own_claim, refusal=refusal, form=form or ClaimForm(), error=error,
        is_staff=can(current_user, "records.manage"), Line=Line, ProjectStatus=ProjectStatus,
        ClaimStatus=ClaimStatus)


def project_detail(project_id):
    project = _public_project_or_404(project_id)
    return _render_project(project)


@unit_required
def claim_project(project_id):
    # The project is read here only to show the page again; ``claims.claim_project``
    # reads it (or refuses: 404) itself.
    form = ClaimForm()
    if not form.validate_on_submit():
        return _render_project(_public_project_or_404(project_id), form=form), 400
    try:
        # the unit as the session loader read it in this request: not read again
        claim = claims.claim_project(project_id, current_user.unit, form.plan.data, user=current_user,
                                     unit_fresh=True)
    except ServiceError as exc:
        if exc.status == 404:
            fail(404, exc.message)
        # the project as the refusal read it (a fresh slot count), else read it now
        project = getattr(exc, "record", None) or _public_project_or_404(project_id)
        if exc.field and exc.field in form:
            form[exc.field].errors = list(form[exc.field].errors) + [exc.message]
            return _render_project(project, form=form), exc.status
        return _render_project(project, form=form, error=exc.message,
                               own_claim=getattr(exc, "own_claim", _UNREAD)), exc.status
    title = Project.select(Project.title).where(Project.id == claim.project_id).scalar()
    flash(f"已提交对“{title}”的认领，名额已为贵单位保留，请等待工作人员审核。", "success")
    return redirect(url_for("public.my_claims"), 303)


# --- 我的认领 ---------------------------------------------------------------------------

def _own_claims(unit):
    latest = (ProgressReport.select(fn.MAX(ProgressReport.id))
              .where(ProgressReport.claim == Claim.id))
    return (Claim.select(Claim.id, Claim.project, Claim.unit, Claim.status, Claim.note, Claim.created_at,
                         Claim.reviewed_at, Claim.withdraw_reason,
                         Project.id, Project.title, Project.status, Project.published,
                         ProgressReport.percent)
            .join(Project)
            .switch(Claim)
            .join(ProgressReport, JOIN.LEFT_OUTER, on=(ProgressReport.id == latest), attr="latest_report")
            .where(Claim.unit == unit.id)
            .order_by(Claim.created_at.desc(), Claim.id.desc()))


def _render_my_claims(error=None):
    unit = current_user.unit
    page, problem = _parse_page(request.args.get("page"))
    query = _own_claims(unit)
    pager = Pager(page, Claim.select().where(Claim.unit == unit.id).count())
    rows = list(query.limit(pager.per_page).offset(pager.offset))
    return render_template("public/projects/my_claims.html", unit=unit, claims=rows, pager=pager,
                           error=error or problem, post_form=PostForm(), ClaimStatus=ClaimStatus,
                           ProjectStatus=ProjectStatus, public_statuses=claims.PUBLIC_STATUSES,
                           moves=_moves)


@unit_required
def my_claims():
    return _render_my_claims()


def _own_claim_or_404(claim_id):
    try:
        return claims.get_own_claim(claim_id, current_user.unit)
    except ServiceError as exc:
        fail(404, exc.message)


def _moves(claim):
    """The claim's moves this unit may make now (its buttons): names of CLAIMS.allowed."""
    return [t.name for t in claims.CLAIMS.allowed(claim, current_user)]


def _render_claim(claim, progress_form=None, error=None):
    reports = (ProgressReport.select().where(ProgressReport.claim == claim.id)
               .order_by(ProgressReport.created_at.desc(), ProgressReport.id.desc()))
    return render_template("public/projects/claim.html", claim=claim, project=claim.project,
                           reports=list(reports), progress_form=progress_form or ProgressForm(),
                           post_form=PostForm(), error=error, ClaimStatus=ClaimStatus,
                           ProjectStatus=ProjectStatus, public_statuses=claims.PUBLIC_STATUSES,
                           moves=_moves(claim))


@unit_required
def my_claim(claim_id):
    return _render_claim(_own_claim_or_404(claim_id))


def _render_withdraw(claim, form, error=None):
    transition = claims.CLAIMS[claims.withdraw_move(claim)]
    return render_template("public/projects/withdraw.html", claim=claim, project=claim.project, form=form,
                           transition=transition, error=error, ClaimStatus=ClaimStatus,
                           ProjectStatus=ProjectStatus)


@unit_required
def withdraw_claim(claim_id):
    """GET: the confirmation page. POST: withdraw — a pending claim straight away, a
    confirmed one only with a reason (else the confirmation page again, 400)."""
    claim = _own_claim_or_404(claim_id)
    form = WithdrawForm()
    if request.method == "GET":
        return _render_withdraw(claim, form)
    if not form.validate_on_submit():
        if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
        return _render_withdraw(claim, form), 400
    try:
        claim = claims.withdraw_claim(claim.id, current_user.unit, user=current_user, reason=form.reason.data)
    except ServiceError as exc:
        if exc.status == 404:
            fail(404, exc.message)
        if exc.field == "reason":
            form.reason.errors = list(form.reason.errors) + [exc.message]
            return _render_withdraw(_own_claim_or_404(claim_id), form), exc.status
        return _render_my_claims(error=exc.message), exc.status
    if claim.needs_ack:
        flash(f"已撤回对“{claim.project.title}”的认领，名额已释放；工作人员已收到撤回提醒。", "success")
    else:
        flash(f"已撤回对“{claim.project.title}”的认领，名额已释放。", "success")
    return redirect(url_for("public.my_claims"), 303)


@unit_required
def report_progress(claim_id):
    claim = _own_claim_or_404(claim_id)
    form = ProgressForm()
    if not form.validate_on_submit():
        return _render_claim(claim, progress_form=form), 400
    try:
        claims.report_progress(claim.id, current_user.unit, form.text.data, form.percent.data,
                               user=current_user)
    except ServiceError as exc:
        if exc.status == 404:
            fail(404, exc.message)
        if exc.field and exc.field in form:
            form[exc.field].errors = list(form[exc.field].errors) + [exc.message]
            return _render_claim(claim, progress_form=form), exc.status
        return _render_claim(claim, progress_form=form, error=exc.message), exc.status
    flash("进展已提交。", "success")
    return redirect(url_for("public.my_claim", claim_id=claim.id), 303)
