"""The association's place in the network (admins): which relays it subscribes to, in what
state, and subscribing to one or leaving it — what `fedi relay-subscribe` does, on the web."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import ActivityPubError
from fedi import following, storage

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..rendering import gettext, render
from .forms import text_field

MAX_RELAYS = 20


async def network(request: Request, error: str = "", status_code: int = 200) -> Response:
    await require_session(request, admin=True)
    instance = instance_of(request)
    relays = await storage.list_following(instance.db, instance.instance_actor.uri, MAX_RELAYS)
    known = {relay.followee: await storage.get_remote_actor_by_uri(instance.db, relay.followee)
             for relay in relays}
    return render(request, "desk/network.html", {
        "relays": relays, "names": {uri: actor.name for uri, actor in known.items() if actor and actor.name},
        "error": error, "done": request.query_params.get("done", ""),
    }, status_code=status_code)


async def subscribe(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = instance_of(request)
    form = await read_form(request)
    url = text_field(form, "relay", 500)
    if not url.startswith(("https://", "http://")):
        return await network(request, gettext(
            request, "Give the relay's address, for example https://relais.avf.example."), 400)
    try:
        await following.subscribe_to_relay(instance, url)
    except ActivityPubError:
        return await network(request, gettext(
            request, "The relay at this address could not be reached or is not a relay."), 400)
    return RedirectResponse("/desk/network?done=subscribed", status_code=303)


async def leave(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = instance_of(request)
    form = await read_form(request)
    try:
        await following.unfollow(instance, text_field(form, "relay", 500), actor=instance.instance_actor)
    except ActivityPubError:
        return await network(request, gettext(request, "This instance does not subscribe to it."), 404)
    return RedirectResponse("/desk/network?done=left", status_code=303)



routes = [
    AssociationRoute("/desk/network", network, methods=["GET"]),
    AssociationRoute("/desk/network/subscribe", subscribe, methods=["POST"]),
    AssociationRoute("/desk/network/leave", leave, methods=["POST"]),
]
