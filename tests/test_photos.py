"""Photos: re-encoded from their pixels (EXIF and GPS gone), bad files refused in Chinese,
served to the public only once approved."""
import io
import struct
import zlib

import pytest
from PIL import Image

from models import Photo, Role, db
from services import photos
from services.errors import ServiceError
from services.notices import notify

from . import factories as f


def jpeg_with_gps(size=(1200, 800), orientation=6):
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = orientation            # rotate 90° on display
    exif[0x010F] = "PhoneMaker"           # camera make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (46.0, 4.0, 30.0)  # latitude of 乌兰浩特
    gps[3], gps[4] = "E", (122.0, 5.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def image_bytes(fmt, mode="RGB", size=(64, 48)):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, fmt)
    return buffer.getvalue()


def png_bomb(side=60_000):
    """A tiny PNG that claims side×side pixels (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side // 8 + 1) * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def test_a_phone_photo_loses_its_exif_and_keeps_its_orientation():
    prepared = photos.prepare(io.BytesIO(jpeg_with_gps()))
    assert prepared.content_type == "image/jpeg"
    stored = Image.open(io.BytesIO(prepared.content))
    assert (stored.width, stored.height) == (800, 1200)  # turned as the camera asked
    assert len(stored.getexif()) == 0
    assert b"PhoneMaker" not in prepared.content and b"Exif" not in prepared.content
    thumb = Image.open(io.BytesIO(prepared.thumb))
    assert max(thumb.size) == photos.THUMB_SIDE


def test_formats_are_re_encoded_and_big_images_scaled_down():
    transparent = photos.prepare(io.BytesIO(image_bytes("PNG", "RGBA")))
    assert transparent.content_type == "image/png"
    webp = photos.prepare(io.BytesIO(image_bytes("WEBP")))
    assert webp.content_type == "image/jpeg"
    big = photos.prepare(io.BytesIO(image_bytes("JPEG", size=(4000, 3000))))
    assert (big.width, big.height) == (2048, 1536)


@pytest.mark.parametrize("data, words", [
    (b"GIF89a" + b"\x00" * 100, "无法识别"),
    (image_bytes("GIF", "P"), "只支持 JPEG、PNG、WebP"),
    (image_bytes("BMP"), "只支持 JPEG、PNG、WebP"),
    (b"%PDF-1.4 not a photo", "无法识别"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "无法识别"),
    (jpeg_with_gps()[:2000], "无法识别"),            # truncated
    (png_bomb(), "尺寸过大"),
    (b"", "文件是空的"),
])
def test_bad_files_are_refused_in_chinese(data, words):
    with pytest.raises(ServiceError) as err:
        photos.prepare(io.BytesIO(data))
    assert words in err.value.message


def test_too_large_and_too_many_are_refused():
    with pytest.raises(ServiceError) as err:
        photos.prepare(io.BytesIO(b"\xff" * (photos.MAX_BYTES + 1)))
    assert "不能超过 5 MB" in err.value.message

    class Upload:
        def __init__(self, data, filename="a.jpg"):
            self.stream, self.filename = io.BytesIO(data), filename

    good = image_bytes("JPEG")
    with pytest.raises(ServiceError) as err:
        photos.prepare_all([Upload(good) for _ in range(4)])
    assert "最多上传 3 张照片" in err.value.message
    with pytest.raises(ServiceError) as err:
        photos.prepare_all([Upload(good), Upload(b"junk")])
    assert err.value.message.startswith("第 2 张照片：")
    # an empty file input (no file chosen) is not a photo
    assert len(photos.prepare_all([Upload(good), Upload(b"", filename="")])) == 1


def _stored(app, approved=False):
    prepared = photos.prepare(io.BytesIO(jpeg_with_gps()))
    with db.atomic():
        return photos.store([prepared], "Need", 7, approved=approved)[0]


def test_unapproved_photos_are_only_for_staff_and_signed_links(app, client, auth):
    photo = _stored(app)
    assert client.get(f"/photos/{photo.id}").status_code == 404
    with app.test_request_context():
        signed = photos.photo_url(photo, signed=True)
        thumb = photos.photo_url(photo, signed=True, thumb=True)
    response = client.get(signed)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(response.data)).size == (800, 1200)
    assert max(Image.open(io.BytesIO(client.get(thumb).data)).size) == photos.THUMB_SIDE
    assert client.get(f"/photos/{photo.id}?sig=forged").status_code == 404
    other = _stored(app)
    assert client.get(signed.replace(f"/photos/{photo.id}", f"/photos/{other.id}")).status_code == 404
    auth.as_role(Role.UNIT)
    assert client.get(f"/photos/{photo.id}").status_code == 404
    auth.logout()
    auth.as_role(Role.CLERK)
    assert client.get(f"/photos/{photo.id}").status_code == 200


def test_approved_photos_are_public_and_cacheable(app, client):
    photo = _stored(app)
    clerk = f.make_user(role=Role.CLERK)
    with db.atomic():
        assert photos.approve("Need", 7, user=clerk) == 1
    response = client.get(f"/photos/{photo.id}")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    again = client.get(f"/photos/{photo.id}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert Photo.get_by_id(photo.id).approved_by_id == clerk.id
    assert client.get("/photos/99999999").status_code == 404


def test_notify_writes_one_notice_per_recipient(app):
    unit_user = f.make_user(role=Role.UNIT)
    clerk = f.make_user(role=Role.CLERK)
    with db.atomic():
        notices = notify("claim_confirmed", title="认领已确认", body="贵单位的认领已确认。",
                         users=[unit_user, unit_user.id, clerk], phones=["13900001111", "13900001111"],
                         link="/my/claims/1", subject=unit_user)
    assert len(notices) == 3
    assert {(n.recipient_id, n.recipient_phone) for n in notices} == {
        (unit_user.id, None), (clerk.id, None), (None, "13900001111")}
    assert all(n.subject == "User" and n.subject_id == unit_user.id and n.read_at is None for n in notices)
