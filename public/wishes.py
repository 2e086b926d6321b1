"""The 微心愿 wall (``/wishes``, no login) and a partner unit's side of a wish: claim it,
withdraw, report it 已圆梦 with photos and a note. The rules live in services/wishes.py;
these handlers translate forms and pages.

The wall shows only public wishes (``wishes.public_wishes``), the grid and the masked
name (王**), never a phone; photos only once a clerk approved them. 已圆梦 wishes are
shown as 晒成效 with the fulfilment photo and note.
"""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from auth.permissions import can
from models import Grid, MemberUnit, Wish, WishStatus
from services import photos, wishes
from services.errors import ServiceError

from .access import requires
from .projects import Pager, PostForm, _parse_page, fail
from .workspace import Section, register_section

PAGE_SIZE = 12
claimers_only = requires("wishes.claim", "只有成员单位账号可以认领微心愿。", "请先以成员单位账号登录。")


class WishFilterForm(FlaskForm):
    class Meta:
        csrf = False

    grid = SelectField("所在网格", validators=[Optional()], validate_choice=True)
    status = SelectField("状态", validators=[Optional()], validate_choice=True)


class FulfilForm(FlaskForm):
    note = TextAreaField("圆梦说明", validators=[
        DataRequired("请填写圆梦说明"),
        Length(max=wishes.NOTE_MAX, message=f"圆梦说明不能超过 {wishes.NOTE_MAX} 字")],
        description="写明为居民做了什么、何时送达。照片经社区审核后在心愿墙“晒成效”。")


def _user():
    return current_user._get_current_object()


def _unit():
    return current_user.unit if can(current_user, "wishes.claim") else None


def _filters(form):
    everything = [("", "全部")]
    grids = Grid.select(Grid.id, Grid.name).order_by(Grid.number).tuples()
    form.grid.choices = everything + [(str(pk), name) for pk, name in grids]
    form.status.choices = everything + [(s, WishStatus.label(s)) for s in WishStatus.PUBLIC]


def wall():
    form = WishFilterForm(request.args)
    _filters(form)
    problems = []
    if not form.validate():
        for name in form.errors:
            problems.append(f"筛选条件“{form[name].label.text}”无效，已忽略。")
            form[name].data = ""
            form[name].errors = []
    page, problem = _parse_page(request.args.get("page"))
    if problem:
        problems.append(problem)
    query = wishes.public_wishes()
    if form.grid.data:
        query = query.where(Wish.grid == int(form.grid.data))
    if form.status.data:
        query = query.where(Wish.status == form.status.data)
    pager = Pager(page, query.count(), per_page=PAGE_SIZE)
    rows = list(query.select(Wish.id, Wish.text, Wish.display_name, Wish.status, Wish.grid, Wish.claimer,
                             Wish.approved_at, Wish.claimed_at, Wish.fulfilled_at, Wish.fulfil_note,
                             Grid.id, Grid.name, MemberUnit.id, MemberUnit.name)
                .join(Grid).switch(Wish).join(MemberUnit, JOIN.LEFT_OUTER)
                .order_by(Wish.id.desc()).limit(pager.per_page).offset(pager.offset))
    args = {k: v for k, v in (("grid", form.grid.data), ("status", form.status.data)) if v}
    body = render_template("public/wishes/list.html", form=form, wishes=rows, pager=pager, args=args,
                           problems=problems, pictures=wishes.public_photos([w.id for w in rows]),
                           photo_url=photos.photo_url, unit=_unit(), post_form=PostForm(),
                           counts=_wall_counts(), WishStatus=WishStatus)
    return body, 400 if problems else 200


def _wall_counts():
    from peewee import fn

    counts = dict(wishes.public_wishes().select(Wish.status, fn.COUNT(Wish.id)).group_by(Wish.status).tuples())
    return {s: counts.get(s, 0) for s in WishStatus.PUBLIC}


def _public_or_404(wish_id):
    try:
        return wishes.get_public_wish(wish_id)
    except ServiceError as exc:
        fail(404, exc.message)


def _render(wish, *, form=None, error=None, status=200):
    unit = _unit()
    mine = unit is not None and wish.claimer_id == unit.id
    items = photos.photos_of(wishes.SUBJECT, [wish.id])[wish.id]
    # the public sees approved photos; the claiming unit also its own result photos
    shown = [p for p in items if p.approved or (mine and p.role == wishes.RESULT)]
    refusal = wishes.claim_refusal(wish, unit) if unit is not None else None
    moves = [t.name for t in wishes.WISHES.allowed(wish, _user())] if unit is not None else []
    return render_template(
        "public/wishes/detail.html", wish=wish, unit=unit, mine=mine, refusal=refusal, moves=moves,
        request_photos=[p for p in shown if p.role == wishes.REQUEST],
        result_photos=[p for p in shown if p.role == wishes.RESULT],
        photo_url=photos.photo_url, form=form or FulfilForm(), post_form=PostForm(), error=error,
        max_photos=photos.MAX_PHOTOS, is_staff=can(current_user, "records.manage"),
        withdraw=wishes.WISHES["withdraw"], WishStatus=WishStatus), status


def wish_detail(wish_id):
    return _render(_public_or_404(wish_id))


def _refused(wish_id, exc, form=None):
    if exc.status == 404:
        fail(404, exc.message)
    return _render(_public_or_404(wish_id), form=form, error=exc.message, status=exc.status)


def _check_csrf(form=None):
    form = form or PostForm()
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    return form


@claimers_only
def claim_wish(wish_id):
    _check_csrf()
    try:
        wish = wishes.claim(wish_id, current_user.unit, user=_user())
    except ServiceError as exc:
        return _refused(wish_id, exc)
    flash("认领成功！请尽快与社区联系，帮居民圆梦后在此上传照片、标记“已圆梦”。", "success")
    return redirect(url_for("public.wish_detail", wish_id=wish.id), 303)


@claimers_only
def withdraw_wish(wish_id):
    _check_csrf()
    try:
        wishes.withdraw(wish_id, current_user.unit, user=_user())
    except ServiceError as exc:
        return _refused(wish_id, exc)
    flash("已撤回认领，该微心愿重新开放，其他单位可以认领。", "success")
    return redirect(url_for("public.wish_detail", wish_id=wish_id), 303)


@claimers_only
def fulfil_wish(wish_id):
    form = FulfilForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
        wish = _public_or_404(wish_id)
        if wish.claimer_id != current_user.unit_id:
            fail(403, wishes.NOT_YOURS)
        return _render(wish, form=form, status=400)
    try:
        wishes.fulfil(wish_id, current_user.unit, note=form.note.data,
                      photos=request.files.getlist("photos"), user=_user())
    except ServiceError as exc:
        if exc.field == "note":
            form.note.errors = list(form.note.errors) + [exc.message]
        return _refused(wish_id, exc, form=form)
    flash("已标记“已圆梦”，感谢贵单位的爱心！照片经社区审核后在心愿墙展示。", "success")
    return redirect(url_for("public.wish_detail", wish_id=wish_id), 303)


photos.accepts_uploads(fulfil_wish)


# --- /my: 我认领的微心愿 -------------------------------------------------------------------

def _section_context(user):
    rows = list(wishes.claimed_by(user.unit_id).select(Wish, Grid).join(Grid)
                .order_by(Wish.status, Wish.claimed_at.desc(), Wish.id.desc()).limit(10))
    return {"wishes": rows, "WishStatus": WishStatus}


def _section_todo(user, at):
    return wishes.claimed_open(user.unit_id)


register_section(Section("wishes", "我认领的微心愿", "public/wishes/_section.html", _section_context,
                         todo=_section_todo, order=25))
