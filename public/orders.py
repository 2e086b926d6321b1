"""Work orders on the assignee's side (a partner unit — 吹哨报到/部门领办 — or a volunteer):
签收, report the result with text and photos (→ 已办结), hand back with a reason; and
党员接单, a volunteer taking an order a clerk opened to volunteers. Every move is a row
of the work-order machine (services/workorders.py); these handlers translate forms.
"""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from models import OrderCategory, OrderStatus, Rating, WorkOrder, now
from services import photos, workorders
from services.errors import ServiceError

from .access import assignee_only, volunteer_only
from .projects import Pager, PostForm, _parse_page, fail


class ResultForm(FlaskForm):
    result = TextAreaField("办理结果", validators=[
        DataRequired("请填写办理结果"),
        Length(max=workorders.RESULT_MAX, message=f"办理结果不能超过 {workorders.RESULT_MAX} 字")],
        description="写明如何处理、处理到什么程度、是否已告知居民。可附 1–3 张现场照片。")


class HandBackForm(FlaskForm):
    reason = TextAreaField("退回原因", validators=[
        DataRequired("请填写退回原因"),
        Length(max=workorders.REASON_MAX, message=f"退回原因不能超过 {workorders.REASON_MAX} 字")],
        description="例如：不属于本单位职责、需其他部门协同。工作人员会看到。")


def _user():
    return current_user._get_current_object()


def _order_or_404(order_id):
    try:
        return workorders.get_assigned(order_id, _user())
    except ServiceError as exc:
        fail(404, exc.message)


def _render(order, *, result_form=None, back_form=None, error=None, status=200):
    moves = [t.name for t in workorders.ORDERS.allowed(order, _user())]
    result_photos = photos.photos_of("WorkOrder", [order.id], role="result")[order.id]
    return render_template(
        "public/orders/detail.html", order=order, moves=moves, result_form=result_form or ResultForm(),
        back_form=back_form or HandBackForm(), post_form=PostForm(), error=error, OrderStatus=OrderStatus,
        OrderCategory=OrderCategory, Rating=Rating, photos=result_photos, photo_url=photos.photo_url, at=now(),
        max_photos=photos.MAX_PHOTOS, home=_home()), status


def _home():
    return url_for("public.me_orders") if _user().role == "volunteer" else url_for("public.my")


@assignee_only
def my_orders():
    page, problem = _parse_page(request.args.get("page"))
    query = workorders.handled_by(_user())
    pager = Pager(page, query.count())
    orders = list(query.order_by(WorkOrder.updated_at.desc(), WorkOrder.id.desc())
                  .limit(pager.per_page).offset(pager.offset))
    return render_template("public/orders/list.html", orders=orders, pager=pager, error=problem,
                           OrderStatus=OrderStatus, OrderCategory=OrderCategory, at=now(), home=_home())


@assignee_only
def my_order(order_id):
    return _render(_order_or_404(order_id))


def _refused(order, exc, **forms):
    if exc.status == 404:
        fail(404, exc.message)
    return _render(workorders.get_assigned(order.id, _user()), error=exc.message, status=exc.status, **forms)


@assignee_only
def accept_order(order_id):
    order = _order_or_404(order_id)
    if not PostForm().validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    try:
        order = workorders.accept(order.id, user=_user())
    except ServiceError as exc:
        return _refused(order, exc)
    flash(f"已签收工单 {order.number}，请尽快办理。", "success")
    return redirect(url_for("public.my_order", order_id=order.id), 303)


@assignee_only
def report_order(order_id):
    order = _order_or_404(order_id)
    form = ResultForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
        return _render(order, result_form=form, status=400)
    try:
        prepared = photos.prepare_all(request.files.getlist("photos"))  # before any write
        order = workorders.report_result(order.id, user=_user(), result=form.result.data, photos=prepared)
    except ServiceError as exc:
        if exc.field == "result":
            form.result.errors = list(form.result.errors) + [exc.message]
            return _render(order, result_form=form, status=exc.status)
        if exc.field == "photos":
            return _render(order, result_form=form, error=exc.message, status=exc.status)
        return _refused(order, exc, result_form=form)
    flash(f"工单 {order.number} 已上报办理结果，状态为“已办结”，等待社区回访和居民评价。", "success")
    return redirect(url_for("public.my_order", order_id=order.id), 303)


photos.accepts_uploads(report_order)


@assignee_only
def hand_back_order(order_id):
    order = _order_or_404(order_id)
    form = HandBackForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
        return _render(order, back_form=form, status=400)
    try:
        order = workorders.hand_back(order.id, user=_user(), reason=form.reason.data)
    except ServiceError as exc:
        if exc.field == "reason":
            form.reason.errors = list(form.reason.errors) + [exc.message]
            return _render(order, back_form=form, status=exc.status)
        return _refused(order, exc, back_form=form)
    flash(f"工单 {order.number} 已退回社区，工作人员会重新派单。", "success")
    return redirect(_home(), 303)


# --- 党员接单 (volunteers) -------------------------------------------------------------------------

@volunteer_only
def me_orders():
    """Orders opened to volunteers, and the ones this volunteer holds."""
    open_orders = list(workorders.open_for_volunteers().order_by(WorkOrder.accepted_at, WorkOrder.id).limit(50))
    mine = list(workorders.assigned_to(_user()).order_by(WorkOrder.due_at.asc(nulls="LAST"), WorkOrder.id))
    return render_template("public/orders/volunteer.html", open_orders=open_orders, mine=mine,
                           post_form=PostForm(), OrderStatus=OrderStatus, OrderCategory=OrderCategory, at=now())


@volunteer_only
def take_order(order_id):
    if not PostForm().validate_on_submit():
        fail(400, "表单已过期或缺少安全令牌，请刷新页面后重试。")
    try:
        order = workorders.take(order_id, user=_user())
    except ServiceError as exc:
        if exc.status == 404:
            fail(404, exc.message)
        open_orders = list(workorders.open_for_volunteers().order_by(WorkOrder.accepted_at, WorkOrder.id).limit(50))
        mine = list(workorders.assigned_to(_user()).order_by(WorkOrder.id))
        return render_template("public/orders/volunteer.html", open_orders=open_orders, mine=mine,
                               post_form=PostForm(), OrderStatus=OrderStatus, OrderCategory=OrderCategory,
                               at=now(), error=exc.message), exc.status
    flash(f"接单成功：工单 {order.number} 由您办理。", "success")
    return redirect(url_for("public.my_order", order_id=order.id), 303)
