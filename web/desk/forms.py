"""What the desk's forms share: errors to show next to a form, and reading plain fields."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ..auth import read_form
from ..rendering import gettext

# Bytes of one field of an editor: room for any text under its limit in characters (up to four
# bytes each in UTF-8), so that a text too long is shown back with the limit, not refused unread.
MAX_EDITOR_FIELD = 1024 * 1024


class FormError(ValueError):
    """Input the desk cannot take; the message is already in the visitor's language."""


def text_field(form: FormData, name: str, max_length: int = 100_000) -> str:
    """A text field, stripped; never a file, never longer than `max_length`."""
    value = form.get(name, "")
    if not isinstance(value, str):
        return ""
    return value.strip()[:max_length]


def too_long(request: Request, limit: int) -> FormError:
    return FormError(gettext(request, "The text is too long (at most %(count)s characters).",
                             count=limit))


async def read_editor_form(request: Request, max_text_length: int) -> FormData:
    """`read_form` for an editor of long texts. A field even beyond MAX_EDITOR_FIELD bytes (never
    read, so it cannot be shown back) raises FormError naming the limit in characters."""
    try:
        return await read_form(request, max_field=MAX_EDITOR_FIELD)
    except HTTPException as error:
        if error.status_code != 400 or "exceeded maximum size" not in str(error.detail):
            raise
        raise too_long(request, max_text_length) from None
