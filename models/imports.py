"""Spreadsheet imports (导入): the uploaded file and what checking it found, kept in the
database so that the preview and the confirmation may be served by different app servers."""
from peewee import BlobField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .accounts import User
from .base import Choices, TimestampedModel


class ImportStatus(Choices):
    UPLOADED = ("uploaded", "已上传")
    CHECKING = ("checking", "正在检查")
    READY = ("ready", "待确认")
    PROBLEMS = ("problems", "有问题")
    APPLYING = ("applying", "正在导入")
    APPLIED = ("applied", "已导入")
    FAILED = ("failed", "导入失败")
    CANCELLED = ("cancelled", "已取消")


# a job some worker is busy with: its heartbeat tells whether that worker is still alive
ImportStatus.RUNNING = (ImportStatus.CHECKING, ImportStatus.APPLYING)


class ImportJob(TimestampedModel):
    entity = CharField(max_length=50, index=True, verbose_name="导入对象")
    filename = CharField(max_length=200, verbose_name="文件名")
    size = IntegerField(default=0, verbose_name="文件大小(字节)")
    digest = CharField(max_length=64, verbose_name="文件摘要(SHA-256)")
    data = BlobField(verbose_name="文件内容")
    status = CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED, index=True,
                       verbose_name="状态")
    total_rows = IntegerField(default=0, verbose_name="数据行数")
    processed_rows = IntegerField(default=0, verbose_name="已处理行数")
    created_count = IntegerField(default=0, verbose_name="新增")
    updated_count = IntegerField(default=0, verbose_name="修改")
    unchanged_count = IntegerField(default=0, verbose_name="未变")
    problem_count = IntegerField(default=0, verbose_name="问题数")
    report = TextField(null=True, verbose_name="检查结果")
    message = TextField(null=True, verbose_name="说明")
    created_by = ForeignKeyField(User, on_delete="RESTRICT", backref="import_jobs", verbose_name="上传人")
    applied_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="applied_imports",
                                 verbose_name="确认导入人")
    applied_at = DateTimeField(null=True, verbose_name="导入时间")
    heartbeat_at = DateTimeField(null=True, verbose_name="最近进度时间")
    attempt = IntegerField(default=0, verbose_name="处理次数")

    class Meta:
        verbose_name = "导入记录"

    def __str__(self):
        return f"{self.filename}（{ImportStatus.label(self.status)}）"
