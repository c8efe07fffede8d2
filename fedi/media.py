"""Photos: an uploaded file becomes a small, clean image under DIR/media and a `media` row.

The type is what Pillow finds in the bytes (never the file's name or declared type), and only
JPEG, PNG, WebP and GIF decoders are tried. A file over `max_bytes`, or whose header announces
more than `max_pixels`, is refused before any pixel is decoded. The picture is turned upright
by its EXIF orientation, converted to sRGB when it has a colour profile, shrunk to `max_side`
pixels on its long side, then written afresh from its pixels alone: no EXIF (so no GPS), no
XMP, no comment, no profile. Opaque pictures become JPEG, pictures with transparency PNG (an
animated GIF keeps its first frame). The file is written atomically before its row, so a
crash leaves at worst an unused file, never a row without its file.

`store_image` is the whole path; the desk prepares every photo of a form (`prepare_image`, in
a thread) before saving any (`save_image`), so one bad photo stores nothing.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow (~4 MB) is imported when a picture is first handled, not at start
    from PIL import Image

from . import storage
from .instance import Instance
from .storage import Attachment

__all__ = [
    "FILENAME_PATTERN",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MediaError",
    "PreparedImage",
    "media_directory",
    "media_type_of",
    "prepare_image",
    "save_image",
    "store_image",
]

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # of the uploaded file
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; decoding more could exhaust a small server
MAX_SIDE = 1600  # pixels on the long side of the stored picture
JPEG_QUALITY = 85
ACCEPTED_FORMATS = ("GIF", "JPEG", "PNG", "WEBP")
MEDIA_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}
FILENAME_PATTERN = re.compile(r"[0-9a-f]{32}\.(?:jpg|png)")
SHRINK_FIRST = ("RGB", "RGBA", "L", "LA", "CMYK")  # modes resized well before any copy is made
_TEMP_PREFIX = ".upload-"  # never matches FILENAME_PATTERN: a half-written file is never served
_decoding = threading.BoundedSemaphore(1)  # one picture in memory at a time, whatever the load


class MediaError(ValueError):
    """An image refused; `reason` (one of the constants below) says why, for the web layer to
    put in the visitor's words."""

    TOO_LARGE = "too_large"  # more bytes than allowed
    NOT_AN_IMAGE = "not_an_image"  # not a JPEG, PNG, WebP or GIF
    TOO_MANY_PIXELS = "too_many_pixels"  # its header announces a huge picture (a "bomb")
    DAMAGED = "damaged"  # looks like an image, but cannot be decoded

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class PreparedImage:
    """A picture ready to be written: the encoded bytes and what the `media` row says of them."""

    data: bytes
    extension: str  # ".jpg" or ".png"
    width: int
    height: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]


def media_directory(directory: Path) -> Path:
    """Where an instance keeps its pictures (served at /media/<filename>)."""
    return directory / "media"


def media_type_of(filename: str) -> str | None:
    """The content type of a stored picture, or None if `filename` is not one of ours."""
    if not FILENAME_PATTERN.fullmatch(filename):
        return None
    return MEDIA_TYPES[filename[filename.rindex("."):]]


def prepare_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_side: int = MAX_SIDE,
                  max_pixels: int = MAX_PIXELS) -> PreparedImage:
    """Checks, decodes, cleans and shrinks a picture (CPU work: call it in a thread)."""
    if len(data) > max_bytes:
        raise MediaError(MediaError.TOO_LARGE, f"{len(data)} bytes")
    with _decoding:
        picture = _decode(data, max_side, max_pixels)
        return _encode(picture)


async def save_image(instance: Instance, prepared: PreparedImage) -> Attachment:
    """Writes a prepared picture under a random name, then its row."""
    filename = secrets.token_hex(16) + prepared.extension
    path = await asyncio.to_thread(
        _write_atomically, media_directory(instance.directory), filename, prepared.data)
    try:
        media_id = await storage.put_media(instance.db, filename, prepared.media_type,
                                           prepared.width, prepared.height, len(prepared.data))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Attachment(media_id=media_id, filename=filename, media_type=prepared.media_type,
                      width=prepared.width, height=prepared.height, alt="")


async def store_image(instance: Instance, data: bytes, *, max_bytes: int = MAX_BYTES,
                      max_side: int = MAX_SIDE, max_pixels: int = MAX_PIXELS) -> Attachment:
    """An uploaded picture, checked and cleaned, stored; raises MediaError if refused."""
    prepared = await asyncio.to_thread(prepare_image, data, max_bytes=max_bytes,
                                       max_side=max_side, max_pixels=max_pixels)
    return await save_image(instance, prepared)


def _decode(data: bytes, max_side: int, max_pixels: int) -> Image.Image:
    """The picture upright, in RGB or RGBA, at most `max_side` pixels on its long side."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError as error:
        raise MediaError(MediaError.NOT_AN_IMAGE) from error
    except Image.DecompressionBombError as error:
        raise MediaError(MediaError.TOO_MANY_PIXELS, str(error)) from error
    except Exception as error:  # a hostile header can raise nearly anything (struct, value...)
        raise MediaError(MediaError.DAMAGED, repr(error)) from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise MediaError(MediaError.TOO_MANY_PIXELS, f"{width}x{height}")
    try:
        if image.format == "JPEG":
            image.draft(None, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 when that is enough
        image.load()  # an animated GIF or WebP: its first frame
        profile = image.info.get("icc_profile")
        if image.mode in SHRINK_FIRST:  # a square box: the same whatever the orientation
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        ImageOps.exif_transpose(image, in_place=True)
        picture = _flatten(image)
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return _to_srgb(picture, profile) if profile else picture
    except MediaError:
        raise
    except Exception as error:  # truncated or corrupt data: Pillow's errors vary by decoder
        raise MediaError(MediaError.DAMAGED, repr(error)) from error


def _flatten(image: Image.Image) -> Image.Image:
    """RGBA if some pixel is transparent, else RGB (palette, grey, CMYK... converted)."""

    if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey: scaled down, not clipped
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        lowest_alpha = rgba.getchannel("A").getextrema()[0]
        if isinstance(lowest_alpha, int) and lowest_alpha < 255:
            return rgba
        return rgba.convert("RGB")
    return image.convert("RGB")


def _to_srgb(picture: Image.Image, profile: bytes) -> Image.Image:
    """Colours as the embedded profile meant them, in sRGB (what every screen assumes)."""
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(picture, source, ImageCms.createProfile("sRGB"),
                                              outputMode=picture.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as error:
        log.info("colour profile ignored: %s", error)  # e.g. a CMYK profile: the pixels stay
        return picture
    assert converted is not None
    return converted


def _encode(picture: Image.Image) -> PreparedImage:
    """A new file from the pixels alone: nothing of the original's metadata comes along."""
    from PIL import Image

    clean = Image.frombytes(picture.mode, picture.size, picture.tobytes())
    buffer = io.BytesIO()
    if clean.mode == "RGBA":
        clean.save(buffer, "PNG", optimize=True)
        extension = ".png"
    else:
        clean.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        extension = ".jpg"
    return PreparedImage(buffer.getvalue(), extension, clean.width, clean.height)


def _write_atomically(directory: Path, filename: str, data: bytes) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=_TEMP_PREFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        target = directory / filename
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
