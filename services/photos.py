"""Photos from the outside world, made safe before they are stored, in one place.

Every upload is decoded by Pillow and re-encoded from its pixels: what is stored holds
no EXIF (so no GPS position, no camera serial), no trailing data and no script; anything
that is not a real JPEG, PNG or WebP image, that is larger than ``MAX_BYTES``, or whose
pixel count could exhaust memory (a decompression bomb) is refused with a Chinese
message. ``prepare`` does all of that BEFORE the caller opens its write transaction, so
a refused photo leaves nothing half-written; ``store`` then writes the rows inside the
caller's transaction.

Photos are shown to the public only once approved by a clerk (``approve``); before
that, staff see them, and the person who uploaded them sees them through a signed link
(``photo_url(photo, signed=True)``) on their own tracking page.
"""
import hashlib
import io
import warnings
from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from models import Photo, now

from .errors import ServiceError

MAX_PHOTOS = 3
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000          # a 40-megapixel phone photo; more is refused as a bomb
MAX_SIDE = 2048                  # what is stored: long side at most this many pixels
THUMB_SIDE = 480
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# room for the photos plus the form's text in one request (see ``allow_uploads``)
REQUEST_MAX = MAX_PHOTOS * MAX_BYTES + 512 * 1024


@dataclass(frozen=True)
class Prepared:
    """A checked, re-encoded image, not yet stored."""

    content: bytes
    thumb: bytes
    content_type: str
    width: int
    height: int

    @property
    def digest(self):
        return hashlib.sha256(self.content).hexdigest()


def allow_uploads(request, limit=REQUEST_MAX):
    """Raise this request's body limit (the app's default is small) for a photo form.
    Must be called before the form is read."""
    request.max_content_length = limit


def accepts_uploads(view, limit=REQUEST_MAX):
    """Mark a view that takes photos: the input guard (web/guard.py), which parses every
    form first, raises the request's body limit to ``limit`` for it."""
    view.upload_limit = limit
    return view


def _files(files):
    """The non-empty uploads among ``files`` (werkzeug FileStorage objects)."""
    return [f for f in files if f is not None and getattr(f, "filename", None)]


def prepare_all(files, *, max_count=MAX_PHOTOS):
    """Check and re-encode every uploaded photo; all or none (ServiceError names which)."""
    files = _files(files)
    if len(files) > max_count:
        raise ServiceError(f"最多上传 {max_count} 张照片", field="photos")
    out = []
    for index, upload in enumerate(files, 1):
        try:
            out.append(prepare(upload.stream))
        except ServiceError as exc:
            label = f"第 {index} 张照片" if len(files) > 1 else "照片"
            raise ServiceError(f"{label}：{exc.message}", field="photos")
    return out


def prepare(stream):
    """One upload (a file-like object) → ``Prepared``, or ServiceError in Chinese."""
    from PIL import Image, UnidentifiedImageError  # on use, not at start-up: worker memory

    data = stream.read(MAX_BYTES + 1)
    if not data:
        raise ServiceError("文件是空的")
    if len(data) > MAX_BYTES:
        raise ServiceError(f"不能超过 {MAX_BYTES // (1024 * 1024)} MB")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data))
            kind = probe.format
            if kind not in FORMATS:
                raise ServiceError("只支持 JPEG、PNG、WebP 格式的照片")
            if probe.width * probe.height > MAX_PIXELS:
                raise ServiceError("图片尺寸过大，请压缩后再上传")
            probe.verify()  # structure and checksums, without decoding the pixels
            image = Image.open(io.BytesIO(data))
            image.load()    # decode every pixel: a truncated or corrupt file fails here
        except ServiceError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ServiceError("图片尺寸过大，请压缩后再上传")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
                Image.DecompressionBombError, MemoryError):
            raise ServiceError("无法识别为图片，文件可能已损坏")
    return _encode(image)


def _encode(image):
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)  # keep the orientation the EXIF asked for, then drop EXIF
    transparent = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if transparent else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    fmt = "PNG" if transparent else "JPEG"
    return Prepared(content=_save(image, fmt), thumb=_save(thumb, fmt), content_type=FORMATS[fmt],
                    width=image.width, height=image.height)


def _save(image, fmt):
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def store(prepared, subject, subject_id, *, role="attachment", user=None, approved=False):
    """Write the prepared photos for ``subject`` #``subject_id`` (in the caller's transaction)."""
    photos = []
    for position, item in enumerate(prepared):
        photos.append(Photo.create(
            subject=subject, subject_id=subject_id, role=role, position=position,
            content=item.content, thumb=item.thumb, content_type=item.content_type,
            width=item.width, height=item.height, size=len(item.content), digest=item.digest,
            uploaded_by=user.id if user else None, approved=approved,
            approved_at=now() if approved else None, approved_by=user.id if approved and user else None))
    return photos


def photos_of(subject, subject_ids, role=None):
    """{subject_id: [Photo, …]} without the image bytes (one query)."""
    ids = list(subject_ids)
    out = {pk: [] for pk in ids}
    if not ids:
        return out
    query = (Photo.select(Photo.id, Photo.subject_id, Photo.role, Photo.position, Photo.approved,
                          Photo.width, Photo.height, Photo.content_type, Photo.digest)
             .where(Photo.subject == subject, Photo.subject_id.in_(ids)))
    if role is not None:
        query = query.where(Photo.role == role)
    for photo in query.order_by(Photo.subject_id, Photo.position, Photo.id):
        out[photo.subject_id].append(photo)
    return out


def approve(subject, subject_id, *, user, role=None):
    """Make a subject's photos public (a clerk approved the wish or the result)."""
    query = Photo.update(approved=True, approved_at=now(), approved_by=user.id if user else None).where(
        Photo.subject == subject, Photo.subject_id == subject_id, Photo.approved == False)  # noqa: E712
    if role is not None:
        query = query.where(Photo.role == role)
    return query.execute()


# --- links -------------------------------------------------------------------------

def _signer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="photo-view")


def photo_url(photo, *, thumb=False, signed=False):
    """The photo's address; ``signed`` lets whoever holds the link see it before approval."""
    args = {"photo_id": photo.id}
    if thumb:
        args["size"] = "thumb"
    if signed:
        args["sig"] = _signer().dumps(photo.id)
    return url_for("public.photo", **args)


def signature_allows(photo_id, signature):
    if not signature:
        return False
    try:
        return _signer().loads(signature) == photo_id
    except BadSignature:
        return False
