"""What the desk's forms share: errors to show next to a form, and reading plain fields."""

from __future__ import annotations

from starlette.datastructures import FormData


class FormError(ValueError):
    """Input the desk cannot take; the message is already in the visitor's language."""


def text_field(form: FormData, name: str, max_length: int = 100_000) -> str:
    """A text field, stripped; never a file, never longer than `max_length`."""
    value = form.get(name, "")
    if not isinstance(value, str):
        return ""
    return value.strip()[:max_length]
