"""Photos residents, units and clerks attach (a need, a fulfilled wish, an order's result).

The bytes live in the database (BLOB / bytea), so every app server on one PostgreSQL
serves the same photos with no shared disk. Every photo was decoded and re-encoded by
``services.photos`` (EXIF and GPS gone, bombs and non-images refused) before it was
stored; the public sees a photo only once a clerk approved it.
"""
from peewee import BlobField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField

from .accounts import User
from .base import TimestampedModel


class Photo(TimestampedModel):
    # What the photo belongs to, by entity name and id (like the audit log): a Need,
    # a Wish, a WorkOrderStep … ``role`` tells a request's photos from a result's.
    subject = CharField(max_length=30, verbose_name="所属对象类型")
    subject_id = IntegerField(verbose_name="所属对象编号")
    role = CharField(max_length=20, default="attachment", verbose_name="用途")
    position = IntegerField(default=0, verbose_name="顺序")
    content = BlobField(verbose_name="图片")
    thumb = BlobField(verbose_name="缩略图")
    content_type = CharField(max_length=20, verbose_name="格式")
    width = IntegerField(verbose_name="宽(像素)")
    height = IntegerField(verbose_name="高(像素)")
    size = IntegerField(verbose_name="大小(字节)")
    digest = CharField(max_length=64, verbose_name="SHA-256")
    approved = BooleanField(default=False, index=True, verbose_name="已审核公开")
    approved_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="approved_photos", verbose_name="审核人")
    approved_at = DateTimeField(null=True, verbose_name="审核时间")
    uploaded_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="uploaded_photos", verbose_name="上传账号")

    class Meta:
        verbose_name = "照片"

    def __str__(self):
        return f"照片 #{self.id}"


Photo.add_index(Photo.subject, Photo.subject_id, Photo.role)
