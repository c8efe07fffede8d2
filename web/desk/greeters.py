"""Greeters on the desk: the volunteers' public profiles (first name, area, languages,
interests, a photo) and their e-mail, kept private: it is never shown on the site."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import NotFound
from fedi import media, storage
from fedi.media import MediaError
from fedi.storage import Greeter

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..rendering import gettext, render
from ..site_greeters import is_email
from .forms import FormError, text_field
from .ordering import OrderedList
from .photos import MEGABYTE, REFUSALS

PHOTO_SIDE = 800  # pixels on the long side: a portrait on a card needs no more
LIMITS = {"first_name": 60, "area": 100, "languages": 200, "interests": 300, "email": 254}


async def list_page(request: Request) -> Response:
    await require_session(request)
    return render(request, "desk/greeters.html", {
        "greeters": await storage.list_greeter_cards(instance_of(request).db),
        "done": request.query_params.get("done", ""),
    })


async def new_form(request: Request) -> Response:
    await require_session(request)
    return await _form(request, None, {})


async def create(request: Request) -> Response:
    await require_session(request)
    form = await read_form(request)
    instance = instance_of(request)
    try:
        fields = _fields(request, form)
        media_id = await _photo(request, form, None)
    except FormError as error:
        return await _form(request, None, dict(form), str(error), status_code=400)
    greeter_id = await storage.put_greeter(instance.db, media_id=media_id, **fields)
    return RedirectResponse(f"/desk/greeters/{greeter_id}?saved=1", status_code=303)


async def edit_form(request: Request) -> Response:
    await require_session(request)
    greeter = await _greeter(request)
    values = {name: getattr(greeter, name) for name in LIMITS}
    return await _form(request, greeter, values, saved=bool(request.query_params.get("saved")))


async def save(request: Request) -> Response:
    await require_session(request)
    form = await read_form(request)
    greeter = await _greeter(request)
    try:
        fields = _fields(request, form)
        media_id = await _photo(request, form, greeter.media_id)
    except FormError as error:
        return await _form(request, greeter, dict(form), str(error), status_code=400)
    await storage.update_greeter(instance_of(request).db, greeter.id, media_id=media_id, **fields)
    return RedirectResponse(f"/desk/greeters/{greeter.id}?saved=1", status_code=303)


def _fields(request: Request, form: FormData) -> dict[str, str]:
    fields = {name: " ".join(text_field(form, name, limit + 1).split()) for name, limit in LIMITS.items()}
    if not fields["first_name"]:
        raise FormError(gettext(request, "Give the greeter's first name."))
    for name, limit in LIMITS.items():
        if len(fields[name]) > limit:
            raise FormError(gettext(request, "A field is too long (at most %(count)s characters).",
                                    count=limit))
    if fields["email"] and not is_email(fields["email"]):
        raise FormError(gettext(request, "The e-mail address does not look right (for example: "
                                         "prenom@exemple.fr)."))
    return fields


async def _photo(request: Request, form: FormData, current: int | None) -> int | None:
    """The profile's photo after this form: a new one (checked, resized, without its EXIF
    data), none if the editor ticked "remove", else the current one."""
    upload = form.get("photo")
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        data = await upload.read(media.MAX_BYTES + 1)
        name = (upload.filename or "?").replace("\\", "/").rsplit("/", 1)[-1][:80]
        try:
            stored = await media.store_image(instance_of(request), data, max_side=PHOTO_SIDE)
        except MediaError as error:
            raise FormError(gettext(
                request, REFUSALS.get(error.reason, REFUSALS[MediaError.DAMAGED]), name=name,
                megabytes=media.MAX_BYTES // MEGABYTE,
                megapixels=media.MAX_PIXELS // 1_000_000)) from error
        return stored.media_id
    if text_field(form, "remove_photo", 10):
        return None
    return current


async def _greeter(request: Request) -> Greeter:
    greeter = await storage.get_greeter(instance_of(request).db, request.path_params["greeter_id"])
    if greeter is None:
        raise NotFound("no such greeter")
    return greeter


async def _form(request: Request, greeter: Greeter | None, values: Mapping[str, object],
                error: str = "", *, saved: bool = False, status_code: int = 200) -> Response:
    card = None
    if greeter is not None:
        card = await storage.get_greeter_card(instance_of(request).db, greeter.id)
    return render(request, "desk/greeters_edit.html", {
        "greeter": greeter, "card": card, "values": values, "error": error, "saved": saved,
        "limits": LIMITS,
    }, status_code=status_code)


GREETERS = OrderedList(_greeter, storage.delete_greeter, storage.move_greeter,
                       deleted_url="/desk/greeters?done=deleted", moved_url="/desk/greeters#greeter-{id}")

routes = [
    AssociationRoute("/desk/greeters", list_page, methods=["GET"]),
    AssociationRoute("/desk/greeters/new", new_form, methods=["GET"]),
    AssociationRoute("/desk/greeters/new", create, methods=["POST"]),
    AssociationRoute("/desk/greeters/{greeter_id:id}", edit_form, methods=["GET"]),
    AssociationRoute("/desk/greeters/{greeter_id:id}", save, methods=["POST"]),
    AssociationRoute("/desk/greeters/{greeter_id:id}/delete", GREETERS.delete_item, methods=["POST"]),
    AssociationRoute("/desk/greeters/{greeter_id:id}/move", GREETERS.move_item, methods=["POST"]),
]
