"""Photos of posts, from the desk's form (to be completed: upload, resize, EXIF strip)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

from fedi.instance import Instance
from fedi.storage import Attachment


async def attachments_from_form(
    request: Request, instance: Instance, form: FormData, current: list[Attachment]
) -> list[tuple[int, str]] | None:
    """The post's photos after this form: (media id, alt text) in order; None leaves them as
    they are."""
    return None


routes: list = []
