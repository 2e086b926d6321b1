"""微心愿 in the admin: the list (quick views by status), the moves of the wish machine
(审核发布, 下架 with a reason) through ``services.wishes.move``, approving the photos, and
wishes typed in by a clerk (工作人员录入) through ``services.wishes.publish``.

A wish is never deleted (下架 keeps it with the reason); its claimer and status are the
machine's, never the form's.
"""
from flask import flash
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup

from services import photos, wishes
from services.errors import ServiceError

from .base import SecureModelView
from .listing import parse_ids
from .transitions import MachineMovesMixin

def _photo_strip(record):
    shots = photos.photos_of(wishes.SUBJECT, [record.id])[record.id]
    if not shots:
        return None
    role_label = {wishes.REQUEST: "心愿照片", wishes.RESULT: "圆梦照片"}
    return Markup('<div class="result-photos">{}</div>').format(Markup("").join(
        Markup('<figure class="d-inline-block mr-2"><a href="{}"><img src="{}" alt="{}" class="result-thumb"></a>'
               '<figcaption class="small">{} · {}</figcaption></figure>').format(
            photos.photo_url(p), photos.photo_url(p, thumb=True), role_label.get(p.role, p.role),
            role_label.get(p.role, p.role), "已公开" if p.approved else "待审核") for p in shots))

class WishAdminMixin(MachineMovesMixin):
    machine = wishes.WISHES
    move_service = wishes.move
    can_delete = False

    def create_model(self, form):
        """工作人员录入: through the service (published at once: the clerk's entry is the approval)."""
        grid = form.grid.data
        wish = self.write_via(lambda: wishes.publish(
            text=form.text.data, grid=grid.id if grid else None, requester_name=form.requester_name.data,
            requester_phone=form.requester_phone.data, user=current_user._get_current_object(),
            source="staff"), "微心愿未保存：")
        if wish is None:
            return False
        self.after_model_change(form, wish, True)
        return wish

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        model.display_name = wishes.mask_name(model.requester_name)

    def detail_panels(self, record):
        panels = list(super().detail_panels(record))
        strip = _photo_strip(record)
        if strip:
            panels.append(("照片", strip))
        return panels

    @action("approve_photos", "审核通过照片", "确定公开选中微心愿的全部照片（心愿照片和圆梦照片）吗？")
    def action_approve_photos(self, ids):
        total, failures = 0, []
        for pk in parse_ids(ids):
            try:
                total += wishes.approve_photos(pk, user=current_user._get_current_object())
            except ServiceError as exc:
                failures.append(exc.message)
        flash(f"已公开 {total} 张照片。" if total else "选中的微心愿没有待审核的照片。", "success" if total else "info")
        for message in failures[:5]:
            flash(message, "error")

class WishView(WishAdminMixin, SecureModelView):
    column_list = ("text", "grid", "display_name", "status", "source", "claimer", "created_at", "claimed_at",
                   "fulfilled_at")
    column_searchable_list = ("text", "requester_name")
    column_filters = ("status", "grid", "source", "claimer", "created_at", "fulfilled_at")
    column_default_sort = ("created_at", True)
    form_columns = ("text", "grid", "requester_name", "requester_phone")
