"""Import screens on every list whose model declares ``Meta.sheet`` with a natural key:
template download, upload, the check (preview) with its progress, confirm and cancel.

The rules and the file handling live in ``services/imports.py``; these routes only move
between its steps. Large files are checked and imported in a background thread; the job
page refreshes itself (``<meta http-equiv="refresh">``, no script) until the job is done,
and any app server can answer it because the job lives in the database.
"""
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from models import ImportJob, ImportStatus, Role, now
from models.sheets import sheet_of
from services import imports
from services.errors import ServiceError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportMixin:
    """Routes under ``/admin/<entity>/import/``."""

    @property
    def can_import(self):
        return sheet_of(self.model).importable and self.can_create and self.can_edit

    def _import_guard(self):
        if not self.can_import:
            abort(404)

    def _job_url(self, job):
        return url_for(".import_job_view", job_id=job.id)

    def _may_act(self, job):
        return job.created_by_id == current_user.id or current_user.role == Role.ADMIN

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self):
        self._import_guard()
        status = 200
        if request.method == "POST":
            limit = upload_limit()
            try:
                upload = request.files.get("file")
            except RequestEntityTooLarge:
                flash(too_large_message(limit), "error")
                return self._import_page(), 413
            if upload is None or not upload.filename:
                flash("请选择要导入的表格文件（.xlsx 或 .csv）。", "error")
                status = 400
            else:
                data = upload.read(limit + 1)
                try:
                    job = imports.upload(self.model, upload.filename, data, user=current_user)
                except ServiceError as exc:
                    flash(exc.message, "error")
                    status = exc.status
                else:
                    if imports.runs_in_background(job):
                        imports.start(current_app._get_current_object(), imports.check, job.id)
                    else:
                        imports.check(job.id)
                    return redirect(self._job_url(job), 303)
        return self._import_page(), status

    def _import_page(self):
        sheet = sheet_of(self.model)
        recent = (ImportJob.select(*[f for f in ImportJob._meta.sorted_fields if f.name != "data"])
                  .where(ImportJob.entity == self.model._meta.table_name)
                  .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(10))
        return self.render("admin/import_upload.html", sheet=sheet, recent=list(recent),
                           ImportStatus=ImportStatus, max_mb=upload_limit() / 1024 / 1024,
                           max_rows=current_app.config.get("IMPORT_MAX_ROWS", imports.DEFAULTS["IMPORT_MAX_ROWS"]))

    @expose("/import/template.xlsx")
    def import_template_view(self):
        self._import_guard()
        name = f"{self.model._meta.verbose_name}导入模板.xlsx"
        return Response(imports.template_xlsx(self.model), mimetype=XLSX, headers={
            "Content-Disposition": f"attachment; filename={self.model._meta.table_name}_template.xlsx; "
                                   f"filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store"})

    def _load_job(self, job_id):
        self._import_guard()
        try:
            return imports.get_job(job_id, self.model)
        except ServiceError:
            abort(404)

    @expose("/import/<int:job_id>/")
    def import_job_view(self, job_id):
        job = self._load_job(job_id)
        if imports.recover(job):
            job = imports.get_job(job_id)
            if job.status == ImportStatus.UPLOADED:
                imports.start(current_app._get_current_object(), imports.check, job.id)
                job = imports.get_job(job_id)
        if job.status == ImportStatus.UPLOADED and not imports.runs_in_background(job):
            job = imports.check(job.id)
        report = imports.report_of(job)
        running = job.status in ImportStatus.RUNNING or job.status == ImportStatus.UPLOADED
        return self.render("admin/import_job.html", job=job, report=report, running=running,
                           ImportStatus=ImportStatus, sheet=sheet_of(self.model), may_act=self._may_act(job),
                           elapsed=int((now() - job.updated_at).total_seconds()) if running else 0,
                           estimate=_estimate(job))

    @expose("/import/<int:job_id>/status.json")
    def import_status_view(self, job_id):
        job = self._load_job(job_id)
        return {"status": job.status, "label": ImportStatus.label(job.status), "processed": job.processed_rows,
                "created": job.created_count, "updated": job.updated_count, "unchanged": job.unchanged_count,
                "problems": job.problem_count}

    @expose("/import/<int:job_id>/confirm", methods=("POST",))
    def import_confirm_view(self, job_id):
        job = self._load_job(job_id)
        if not self._may_act(job):
            abort(403)
        try:
            if imports.runs_in_background(job):
                if job.status != ImportStatus.READY:
                    raise ServiceError(f"这份导入当前为“{ImportStatus.label(job.status)}”，不能确认。", status=409)
                imports.start(current_app._get_current_object(), imports.confirm, job.id,
                              user=current_user._get_current_object(), ip=request.remote_addr)
            else:
                job = imports.confirm(job.id, user=current_user, ip=request.remote_addr)
                if job.status == ImportStatus.APPLIED:
                    flash(f"导入完成：新增 {job.created_count} 条，修改 {job.updated_count} 条，"
                          f"未变 {job.unchanged_count} 条。", "success")
        except ServiceError as exc:
            flash(exc.message, "error")
        return redirect(self._job_url(job), 303)

    @expose("/import/<int:job_id>/cancel", methods=("POST",))
    def import_cancel_view(self, job_id):
        job = self._load_job(job_id)
        if not self._may_act(job):
            abort(403)
        try:
            imports.cancel(job.id, user=current_user)
            flash("已取消这次导入，未写入任何数据。", "success")
        except ServiceError as exc:
            flash(exc.message, "error")
        return redirect(url_for(".import_view"), 303)


def upload_limit():
    return current_app.config.get("IMPORT_MAX_BYTES", imports.DEFAULTS["IMPORT_MAX_BYTES"])


def too_large_message(limit):
    return f"文件太大，单个文件不能超过 {limit / 1024 / 1024:.0f} MB。请分成几个文件导入。"


def widen_upload_limit():
    """Before every other hook (the CSRF check reads the form): an import upload may be
    ``IMPORT_MAX_BYTES`` instead of the site-wide ``MAX_CONTENT_LENGTH``; a bigger one is
    refused with a Chinese message before its body is read."""
    if request.method != "POST" or not (request.endpoint or "").endswith(".import_view"):
        return None
    limit = upload_limit() + 64 * 1024  # the form around the file
    if request.content_length and request.content_length > limit:
        exc = RequestEntityTooLarge()
        exc.chinese = too_large_message(upload_limit())
        raise exc
    request.max_content_length = limit
    return None


def _estimate(job):
    """Rows the file holds, roughly, for the progress bar while it is being read."""
    if job.total_rows:
        return job.total_rows
    return max(job.size // 60, 1)


class ImportJobRulesMixin:
    """导入记录: read-only; the stored file never leaves the database through this list."""

    can_create = False
    can_edit = False
    can_delete = False

    def get_query(self):
        return ImportJob.select(*[f for f in ImportJob._meta.sorted_fields if f.name != "data"])

    def get_one(self, id):
        if not str(id).isdigit() or not 0 < int(id) < 2**31:
            return None
        return self.get_query().where(ImportJob.id == int(id)).first()

    def details_fields(self):
        return [f for f in super().details_fields() if f.name not in ("report", "attempt", "heartbeat_at")]

    def _format_entity(view, context, model, name):
        from models import ALL_MODELS

        target = next((m for m in ALL_MODELS if m._meta.table_name == model.entity), None)
        return target._meta.verbose_name if target else model.entity

    def _format_filename(view, context, model, name):
        from markupsafe import Markup

        try:
            url = url_for(f"{model.entity}.import_job_view", job_id=model.id)
        except Exception:  # an entity no longer imported
            return model.filename
        return Markup('<a href="{}">{}</a>').format(url, model.filename)

    column_formatters = {"entity": _format_entity, "filename": _format_filename}
