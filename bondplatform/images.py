"""Photos people upload, made safe to show anyone: JPEG, PNG or WebP, decoded and encoded afresh.

An upload is judged by its bytes, never by its name or the Content-Type its
sender claimed: the first bytes must be a JPEG, PNG or WebP signature, and
Pillow must decode the whole image as that same format. Anything else (SVG,
HTML, a PDF, a GIF, a truncated or corrupt file, a "JPEG" that is a PNG) is
refused, so the service never serves a document a browser could run.

What is kept is not the upload but a fresh encoding of its pixels:
- the metadata goes (EXIF, XMP, comments: a phone photo's GPS position and
  camera serial number are nobody's business), after the EXIF orientation is
  applied, so a phone photo is not shown on its side;
- so does anything appended to the image (a polyglot file's second life);
- the longest side is at most `LONGEST_SIDE` pixels (a page and an e-mail
  need no more, and the stored photo is a fraction of the upload).

An image of more than `MAX_PIXELS` pixels is refused before it is decoded:
a small file can declare a huge canvas (a decompression bomb).

A truncated file (an upload cut short) is refused too, whatever Pillow's
process-wide `ImageFile.LOAD_TRUNCATED_IMAGES` says: WeasyPrint turns that on
when it is imported, and then Pillow decodes half a photo as a photo with a
grey half. So the file's own structure is checked first: `verify()` reads a
PNG's chunks and their checksums, and a WebP's container; a JPEG, which
`verify()` does not read, must end its last scan with the end-of-image marker
(an EXIF thumbnail has one of its own, earlier).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from bondplatform.errors import BadInput

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000
LONGEST_SIDE = 2000

# Pillow's format name -> the content type the photo is served with.
FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
}


@dataclass(frozen=True)
class Photo:
    content: bytes
    content_type: str
    width: int
    height: int


def _sniffed_format(content: bytes) -> str | None:
    """The format the first bytes announce, of the three accepted; None for anything else."""
    if content.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "WEBP"
    return None


def _jpeg_complete(content: bytes) -> bool:
    """Whether the last scan (SOS marker) is followed by an end of image (EOI). Neither marker can
    occur inside a scan's data, where a 0xFF byte is always followed by 0x00."""
    return content.rfind(b"\xff\xd9") > content.rfind(b"\xff\xda") > 0


def _refused(message: str, field: str) -> BadInput:
    return BadInput(f"{field}: {message}", code="invalid_photo", fields={field: [message]})


def photo_cleaned(content: bytes, *, field: str = "photo") -> Photo:
    """The upload as a photo to keep and serve, or BadInput `invalid_photo` (naming `field`)."""
    if len(content) > MAX_BYTES:
        raise _refused(f"A photo may be at most {MAX_BYTES // (1024 * 1024)} MB.", field)
    announced = _sniffed_format(content)
    if announced is None:
        raise _refused("A photo must be a JPEG, PNG or WebP image.", field)
    try:
        with Image.open(io.BytesIO(content), formats=[announced]) as image:
            image.verify()
        if announced == "JPEG" and not _jpeg_complete(content):
            raise _refused("The file is not a readable JPEG, PNG or WebP image.", field)
        with Image.open(io.BytesIO(content), formats=[announced]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise _refused("The photo is too large in pixels: at most 50 megapixels.", field)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,  # raised where warnings are errors (the test suite)
    ):
        raise _refused("The file is not a readable JPEG, PNG or WebP image.", field) from None
    upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    return Photo(
        content=_encoded(upright, announced),
        content_type=FORMATS[announced],
        width=upright.width,
        height=upright.height,
    )


def _encoded(image: Image.Image, fmt: str) -> bytes:
    """The pixels alone, in the format they came in (no metadata is passed to the encoder)."""
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=85)
    return out.getvalue()
