"""Messages sent to greeters through the site's contact form: read on the desk (newest first,
new ones marked), marked as read, deleted. The sender's e-mail is shown here, and only here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import NotFound
from fedi import storage

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..rendering import render

DESK_LIST = 200


async def list_page(request: Request) -> Response:
    await require_session(request)
    db = instance_of(request).db
    return render(request, "desk/messages.html", {
        "messages": await storage.list_messages(db, DESK_LIST),
        "new": await storage.count_new_messages(db),
        "done": request.query_params.get("done", ""),
    })


async def mark_read(request: Request) -> Response:
    await read_form(request)
    if not await storage.set_message_read(instance_of(request).db, request.path_params["message_id"]):
        raise NotFound("no such message")
    return RedirectResponse(f"/desk/messages#message-{request.path_params['message_id']}", status_code=303)


async def delete(request: Request) -> Response:
    await read_form(request)
    if not await storage.delete_message(instance_of(request).db, request.path_params["message_id"]):
        raise NotFound("no such message")
    return RedirectResponse("/desk/messages?done=deleted", status_code=303)


routes = [
    AssociationRoute("/desk/messages", list_page, methods=["GET"]),
    AssociationRoute("/desk/messages/{message_id:id}/read", mark_read, methods=["POST"]),
    AssociationRoute("/desk/messages/{message_id:id}/delete", delete, methods=["POST"]),
]
