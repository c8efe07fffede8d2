"""The settings page (admins): the association's name, presentation and logo (sent to its
followers' servers), the accent colour, the site's language, town and region, and two
choices: list the followers on the home page, publish at once the comments of the accounts
the association follows."""

from __future__ import annotations

import asyncio
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from babel.numbers import format_decimal
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fedi import profile
from fedi.media import MediaError
from fedi.settings import COLOUR_PATTERN, SiteSettings

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..i18n import LANGUAGES
from ..rendering import gettext, language_of, render
from .forms import FormError, text_field

MAX_PLACE_LENGTH = 100


@dataclass(frozen=True)
class SettingsForm:
    """What the form asks for, checked."""

    settings: SiteSettings
    name: str
    summary: str
    logo: bytes | None  # the new logo as PNG, when one was sent


async def settings_page(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = instance_of(request)
    values = {"name": instance.association.name, "summary": instance.association.summary,
              **instance.settings.to_values()}
    return _form(request, values, saved=request.query_params.get("saved", ""))


async def save_settings(request: Request) -> Response:
    await require_session(request, admin=True)
    form = await read_form(request)
    instance = instance_of(request)
    try:
        checked = await _checked(request, form)
    except FormError as error:
        return _form(request, dict(form), str(error), status_code=400)
    sent = await profile.save_site(instance, checked.settings, checked.name, checked.summary,
                                   checked.logo)
    return RedirectResponse(f"/desk/settings?saved={'profile' if sent else 'settings'}", status_code=303)


async def _checked(request: Request, form: FormData) -> SettingsForm:
    name = " ".join(_plain(text_field(form, "name", profile.MAX_NAME_LENGTH + 1)).split())
    summary = _plain(text_field(form, "summary", 2 * profile.MAX_SUMMARY_LENGTH).replace("\r\n", "\n"))
    if not name:
        raise FormError(gettext(request, "Give the association's name."))
    if len(name) > profile.MAX_NAME_LENGTH:
        raise FormError(gettext(request, "The name is too long (at most %(count)s characters).",
                                count=profile.MAX_NAME_LENGTH))
    if len(summary) > profile.MAX_SUMMARY_LENGTH:
        raise FormError(gettext(request, "The presentation is too long (at most %(count)s characters).",
                                count=profile.MAX_SUMMARY_LENGTH))
    settings = SiteSettings(
        colour=_colour(request, form), language=_language(request, form),
        town=_place(request, form, "town"), region=_place(request, form, "region"),
        list_followers=text_field(form, "list_followers", 5) == "1",
        auto_approve_followed=text_field(form, "auto_approve_followed", 5) == "1",
    )
    return SettingsForm(settings, name, summary, await _logo(request, form))


def _plain(text: str) -> str:
    """Text without control characters (but its line breaks): nothing invisible gets published."""
    return "".join(char for char in text if char == "\n" or unicodedata.category(char) != "Cc")


def _colour(request: Request, form: FormData) -> str:
    colour = text_field(form, "colour", 20).lower()
    if not COLOUR_PATTERN.match(colour):
        raise FormError(gettext(
            request, "Choose the colour with the colour picker (a code such as #1b5e8c)."))
    ratio = profile.contrast_with_white(colour)
    if ratio < profile.MIN_CONTRAST:
        shown = format_decimal(math.floor(ratio * 10) / 10, format="0.0", locale=language_of(request))
        raise FormError(gettext(
            request, "This colour is too light: the white text of the menus would be hard to read on it "
                     "(contrast %(ratio)s to 1, at least 4.5 to 1 is needed). Choose a darker colour.",
            ratio=shown))
    return colour


def _language(request: Request, form: FormData) -> str:
    language = text_field(form, "language", 10)
    if language not in LANGUAGES:
        raise FormError(gettext(request, "Choose the site's language."))
    return language


def _place(request: Request, form: FormData, field: str) -> str:
    value = " ".join(text_field(form, field, MAX_PLACE_LENGTH + 1).split())
    if len(value) > MAX_PLACE_LENGTH:
        raise FormError(gettext(request, "The town and the region have at most %(count)s characters.",
                                count=MAX_PLACE_LENGTH))
    return value


async def _logo(request: Request, form: FormData) -> bytes | None:
    """The uploaded logo as PNG, or None when no file was chosen."""
    upload = form.get("logo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(profile.MAX_LOGO_BYTES + 1)
    if not data:
        return None
    try:
        return await asyncio.to_thread(profile.logo_png, data)
    except MediaError as error:
        if error.reason == MediaError.TOO_LARGE:
            raise FormError(gettext(request, "The logo is too large (at most %(size)s MB).",
                                    size=profile.MAX_LOGO_BYTES // (1024 * 1024))) from None
        if error.reason == MediaError.TOO_MANY_PIXELS:
            raise FormError(gettext(request, "The logo has too many pixels: make it smaller, then "
                                             "send it again.")) from None
        raise FormError(gettext(request, "The logo must be a PNG or JPEG image.")) from None


def _form(request: Request, values: Mapping[str, object], error: str = "", *, saved: str = "",
          status_code: int = 200) -> Response:
    logo = instance_of(request).directory / profile.LOGO_FILE
    return render(request, "desk/settings.html", {
        "values": values, "error": error, "saved": saved,
        "max_name": profile.MAX_NAME_LENGTH, "max_summary": profile.MAX_SUMMARY_LENGTH,
        "logo_version": int(logo.stat().st_mtime) if logo.is_file() else 0,  # the new one, not a cached copy
    }, status_code=status_code)


routes = [
    AssociationRoute("/desk/settings", settings_page, methods=["GET"]),
    AssociationRoute("/desk/settings", save_settings, methods=["POST"]),
]
