"""Photos are judged by their bytes and kept as fresh pixels: JPEG, PNG or WebP, nothing else,
without the metadata a phone puts in them."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from bondplatform.errors import BadInput
from bondplatform.images import LONGEST_SIDE, MAX_BYTES, photo_cleaned

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _refusal(content: bytes) -> str:
    with pytest.raises(BadInput) as refused:
        photo_cleaned(content)
    assert refused.value.code == "invalid_photo"
    (message,) = refused.value.fields["photo"]
    return message


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_the_three_formats_are_kept_as_what_they_are(photo_bytes, fmt, content_type):
    photo = photo_cleaned(photo_bytes(fmt, (64, 48)))
    assert (photo.content_type, photo.width, photo.height) == (content_type, 64, 48)
    with Image.open(io.BytesIO(photo.content)) as kept:
        assert kept.format == fmt and kept.size == (64, 48)


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"<!doctype html><script>alert(1)</script>",
        b"%PDF-1.7\n",
        b"",
    ],
    ids=["svg", "html", "pdf", "empty"],
)
def test_what_is_not_an_image_is_refused_whatever_it_is_called(content):
    assert _refusal(content) == "A photo must be a JPEG, PNG or WebP image."


def test_other_image_formats_are_refused(photo_bytes):
    assert _refusal(photo_bytes("GIF")) == "A photo must be a JPEG, PNG or WebP image."
    assert _refusal(photo_bytes("BMP")) == "A photo must be a JPEG, PNG or WebP image."


def test_a_file_that_starts_like_a_jpeg_but_is_not_one_is_refused():
    assert _refusal(b"\xff\xd8\xff" + b"<html>" * 20) == "The file is not a readable JPEG, PNG or WebP image."


def _noisy(fmt: str, **options) -> bytes:
    """A photo-like image (noise compresses as badly as a photo), so a cut falls inside its pixels."""
    out = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert("RGB").save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("pillow_forgives", [False, True], ids=["strict", "as-after-weasyprint"])
def test_an_upload_cut_short_is_refused_whatever_pillow_is_told(monkeypatch, fmt, pillow_forgives):
    # WeasyPrint sets this for the whole process when it is imported; it must not let half a photo in.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", pillow_forgives)
    whole = _noisy(fmt)
    assert photo_cleaned(whole).width == 300
    assert _refusal(whole[: len(whole) * 2 // 3]) == "The file is not a readable JPEG, PNG or WebP image."


def test_a_jpeg_with_an_exif_thumbnail_cut_short_is_refused(monkeypatch, photo_bytes):
    """The thumbnail's own end-of-image marker does not make the photo whole."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    thumbnail = photo_bytes("JPEG", (16, 16))
    exif = Image.Exif()
    exif[0x010F] = "Phone"  # the maker
    whole = _noisy("JPEG", exif=exif.tobytes() + thumbnail, progressive=True)
    assert photo_cleaned(whole).height == 200
    assert _refusal(whole[: len(whole) * 2 // 3]) == "The file is not a readable JPEG, PNG or WebP image."


def test_what_follows_the_image_is_not_kept(photo_bytes):
    polyglot = photo_bytes("JPEG") + b"<script>alert(1)</script>"
    photo = photo_cleaned(polyglot)
    assert b"<script>" not in photo.content


def test_a_phone_photos_position_is_dropped_and_its_orientation_applied(photo_bytes):
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the camera was turned: show it rotated 90 degrees clockwise
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (53.0, 22.0, 52.0), 3: "W", 4: (1.0, 28.0, 11.0)})
    upload = photo_bytes("JPEG", (64, 48), exif=exif)
    with Image.open(io.BytesIO(upload)) as sent:
        assert sent.getexif()[ORIENTATION] == 6  # the upload did carry them
    photo = photo_cleaned(upload)
    assert (photo.width, photo.height) == (48, 64)  # upright
    with Image.open(io.BytesIO(photo.content)) as kept:
        assert not kept.getexif()
        assert "exif" not in kept.info
        top_right = kept.convert("RGB").getpixel((44, 3))
    assert min(top_right) > 200  # the white corner came round to the top right


def test_a_large_photo_is_made_smaller(photo_bytes):
    photo = photo_cleaned(photo_bytes("PNG", (4000, 1000)))
    assert (photo.width, photo.height) == (LONGEST_SIDE, LONGEST_SIDE // 4)


def test_more_than_5_mb_is_refused_before_it_is_decoded():
    assert _refusal(b"\xff\xd8\xff" + bytes(MAX_BYTES)) == "A photo may be at most 5 MB."


def test_a_small_file_that_declares_a_huge_canvas_is_refused():
    image = Image.new("1", (12_000, 12_000))  # 144 megapixels, a few kilobytes as a PNG
    out = io.BytesIO()
    image.save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    message = _refusal(out.getvalue())
    assert message in (
        "The photo is too large in pixels: at most 50 megapixels.",
        "The file is not a readable JPEG, PNG or WebP image.",
    )
