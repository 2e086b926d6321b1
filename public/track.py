"""The resident's tracking page: the tracking code and the last four digits of the phone,
nothing without both. A wrong pair says only that it is wrong (never which half) and
counts against the lookup limit (web/ratelimit.py ``"lookup"``), so codes cannot be
enumerated. Once proven, the browser's session remembers the code; the page shows the
timeline of the need and of its work order (every round) and, when the order is 已办结,
the rating form (评单: 不满意 → 二次办理).
"""
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models import Need, NeedKind, NeedStatus, OrderStatus, Rating
from models.needs import grouped
from services import needs, notices, photos
from services.errors import ServiceError
from web.ratelimit import rate_limited

from .needs import remember, remembered
from .projects import fail

WRONG = "查询码或手机号后四位不正确，请核对后重试。"


class TrackForm(FlaskForm):
    code = StringField("查询码", validators=[DataRequired("请填写查询码"), Length(max=20, message="查询码不正确")],
                       description="提交点单后得到的 8 位查询码，如 7KQ4 M9XZ（不区分大小写）。")
    tail = StringField("手机号后四位", validators=[DataRequired("请填写手机号后四位"),
                                             Length(min=4, max=4, message="请填写手机号的后四位数字")])


class RateForm(FlaskForm):
    rating = RadioField("评价", choices=[(c, Rating.label(c)) for c in needs.RESIDENT_RATINGS],
                        validators=[DataRequired("请选择评价")], validate_choice=True)
    note = TextAreaField("评价意见（选填）", validators=[Optional(), Length(max=needs.NOTE_MAX,
                                                                       message=f"不能超过 {needs.NOTE_MAX} 字")],
                         description="选择“不满意”时，社区会安排二次办理，请写明哪里还没办好。")


def track_form():
    return render_template("public/needs/track.html", form=TrackForm(formdata=None), error=None)


@rate_limited("lookup")
def track_lookup():
    form = TrackForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
        return render_template("public/needs/track.html", form=form, error="请填写查询码和手机号后四位。"), 400
    need = needs.find_for_resident(form.code.data, form.tail.data)
    if need is None:
        return render_template("public/needs/track.html", form=form, error=WRONG), 404
    remember(need.code)
    return redirect(url_for("public.track_need", code=need.code), 303)


def _proven(code):
    """The need behind ``code`` if this browser proved it, else None (the form is shown)."""
    normal = needs.normalise_code(code)
    if normal is None or not remembered(normal):
        return None
    return Need.get_or_none(Need.code == normal)


def track_need(code):
    need = _proven(code)
    if need is None:
        form = TrackForm(formdata=None)
        form.code.data = needs.normalise_code(code) or ""
        return render_template("public/needs/track.html", form=form, error=None)
    return _render(need)


def _render(need, *, rate_form=None, error=None, status=200):
    order = need.order
    own_photos = needs.photos_of(need)
    told = list(notices.of_phone(need.mobile, subject="Need", subject_id=need.id))
    if order is not None:
        told += list(notices.of_phone(need.mobile, subject="WorkOrder", subject_id=order.id))
    told.sort(key=lambda n: (n.created_at, n.id))
    return render_template(
        "public/needs/detail.html", need=need, code=grouped(need.code), order=order,
        steps=needs.timeline(need), own_photos=own_photos, photo_url=photos.photo_url, notices=told,
        can_rate=needs.can_rate(need), rate_form=rate_form or RateForm(formdata=None), error=error,
        NeedKind=NeedKind, NeedStatus=NeedStatus, OrderStatus=OrderStatus), status


def rate_need(code):
    need = _proven(code)
    if need is None:
        fail(403, "请先输入查询码和手机号后四位查看进度，再进行评价。")
    form = RateForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
        return _render(need, rate_form=form, error="请选择评价。", status=400)
    try:
        order = needs.rate(need, form.rating.data, form.note.data)
    except ServiceError as exc:
        return _render(need, rate_form=form, error=exc.message, status=exc.status)
    if order.status == OrderStatus.REDO:
        flash("感谢您的评价。您对办理结果不满意，社区已安排二次办理，请留意进度。", "success")
    else:
        flash(f"感谢您的评价：{Rating.label(form.rating.data)}。", "success")
    return redirect(url_for("public.track_need", code=need.code), 303)

