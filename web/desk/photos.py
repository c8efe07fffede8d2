"""Photos of posts, from the editor's form: up to four, each with its alternative text (what a
person who cannot see the picture hears instead), checked and cleaned by `fedi.media`.

The form sends new photos as file fields `photo`, each followed by its text field `alt`; a
photo already on the post has its text in `alt_<id>` and may be ticked in `remove`. Every new
photo is checked before any is stored: one refused photo stores nothing."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.routing import BaseRoute

from fedi import media
from fedi.instance import Instance
from fedi.media import MediaError, PreparedImage
from fedi.storage import Attachment

from ..i18n import N_
from ..rendering import gettext
from .forms import FormError

MAX_PHOTOS = 4
MAX_ALT_LENGTH = 1500  # Mastodon's limit for a description
MEGABYTE = 1024 * 1024

REFUSALS = {
    MediaError.TOO_LARGE: N_("The photo “%(name)s” is too large: %(megabytes)s MB at most. "
                             "Choose a smaller version."),
    MediaError.NOT_AN_IMAGE: N_("“%(name)s” is not a photo we can take: choose a JPEG, PNG, "
                                "WebP or GIF image."),
    MediaError.TOO_MANY_PIXELS: N_("The photo “%(name)s” has too many pixels (%(megapixels)s "
                                   "million at most). Choose a smaller version."),
    MediaError.DAMAGED: N_("The photo “%(name)s” is damaged and cannot be read. Try another one."),
}


@dataclass(frozen=True)
class NewPhoto:
    upload: UploadFile
    alt: str

    @property
    def name(self) -> str:
        """The file's name as the editor knows it (no folders, no control characters)."""
        name = re.split(r"[\\/]", self.upload.filename or "")[-1]
        return re.sub(r"[\x00-\x1f\x7f]", "", name)[:80] or "?"


async def attachments_from_form(
    request: Request, instance: Instance, form: FormData, current: list[Attachment]
) -> list[tuple[int, str]] | None:
    """The post's photos after this form: (media id, alt text) in order; None leaves them as
    they are."""
    kept = _kept_photos(request, form, current)
    added = _new_photos(request, form)
    if len(kept) + len(added) > MAX_PHOTOS:
        raise FormError(gettext(request, "A post has at most %(count)s photos.", count=MAX_PHOTOS))
    if not added and kept == [(photo.media_id, photo.alt) for photo in current]:
        return None
    prepared = [await _prepare(request, photo) for photo in added]
    stored = [await media.save_image(instance, picture) for picture in prepared]
    return kept + [(picture.media_id, photo.alt) for picture, photo in zip(stored, added, strict=True)]


def _kept_photos(request: Request, form: FormData, current: list[Attachment]) -> list[tuple[int, str]]:
    """The post's photos not ticked for removal, with their (maybe edited) alternative text."""
    removed = {value for value in form.getlist("remove") if isinstance(value, str)}
    kept = []
    for photo in current:
        if str(photo.media_id) in removed:
            continue
        typed = form.get(f"alt_{photo.media_id}")
        alt = _checked_alt(request, typed if isinstance(typed, str) else photo.alt)
        kept.append((photo.media_id, alt))
    return kept


def _new_photos(request: Request, form: FormData) -> list[NewPhoto]:
    """The chosen files, each with the alternative text typed next to it (empty slots skipped)."""
    alts = form.getlist("alt")
    photos = []
    for position, upload in enumerate(form.getlist("photo")):
        if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
            continue
        typed = alts[position] if position < len(alts) else ""
        photos.append(NewPhoto(upload, _checked_alt(request, typed if isinstance(typed, str) else "")))
    return photos


def _checked_alt(request: Request, alt: str) -> str:
    alt = " ".join(alt.split())
    if not alt:
        raise FormError(gettext(
            request, "Describe each photo in a few words (its alternative text): people who "
                     "cannot see it hear this description instead."))
    if len(alt) > MAX_ALT_LENGTH:
        raise FormError(gettext(request, "The description of a photo is too long (at most "
                                         "%(count)s characters).", count=MAX_ALT_LENGTH))
    return alt


async def _prepare(request: Request, photo: NewPhoto) -> PreparedImage:
    data = await photo.upload.read(media.MAX_BYTES + 1)
    try:
        return await asyncio.to_thread(media.prepare_image, data)
    except MediaError as error:
        raise FormError(gettext(
            request, REFUSALS.get(error.reason, REFUSALS[MediaError.DAMAGED]), name=photo.name,
            megabytes=media.MAX_BYTES // MEGABYTE,
            megapixels=media.MAX_PIXELS // 1_000_000)) from error


routes: list[BaseRoute] = []
