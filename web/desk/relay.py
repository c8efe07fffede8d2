"""The relay's admin page (admins of the relay): approve, reject or end subscriptions, the
allowlist, hiding a post from the network's pages, blocking a server."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from activitypub.errors import BadRequest, NotFound
from fedi import blocks, storage
from fedi.relay.network import hide_post
from fedi.relay.subscriptions import parse_subscriber_domain, set_subscription_state

from ..auth import read_form, require_session
from ..context import relay_of
from ..rendering import gettext, render
from .forms import text_field

DECISIONS = ("approve", "reject", "remove")
RECENT_POSTS = 30


async def relay_admin(request: Request, error: str = "", status_code: int = 200) -> Response:
    await require_session(request, admin=True)
    instance = relay_of(request)
    subscriptions = await storage.list_relay_subscriptions(instance.db)
    return render(request, "desk/relay.html", {
        "pending": [s for s in subscriptions if s.state == "pending"],
        "accepted": [s for s in subscriptions if s.state == "accepted"],
        "allowlist": await storage.list_relay_allowlist(instance.db),
        "posts": await storage.list_network_posts(instance.db, RECENT_POSTS),
        "error": error, "done": request.query_params.get("done", ""),
    }, status_code=status_code)


async def decide(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = relay_of(request)
    form = await read_form(request)
    decision = text_field(form, "decision", 10)
    if decision not in DECISIONS:
        return await relay_admin(request, gettext(request, "Unknown decision."), 400)
    try:
        await set_subscription_state(instance, text_field(form, "domain", 300).lower(), decision)
    except NotFound:
        return await relay_admin(request, gettext(request, "This subscription no longer exists."), 404)
    return RedirectResponse(f"/desk/relay?done={decision}", status_code=303)


async def allow(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = relay_of(request)
    form = await read_form(request)
    try:
        domain = parse_subscriber_domain(text_field(form, "domain", 300))
    except BadRequest:
        return await relay_admin(request, gettext(
            request, "Give a server's domain name, for example avf-ville.fr."), 400)
    if text_field(form, "action", 10) == "remove":
        await storage.delete_relay_allowed(instance.db, domain)
    else:
        await storage.put_relay_allowed(instance.db, domain)
    return RedirectResponse("/desk/relay?done=allowlist", status_code=303)


async def hide(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = relay_of(request)
    form = await read_form(request)
    if not await hide_post(instance, text_field(form, "post", 2000)):
        return await relay_admin(request, gettext(request, "The relay holds no such post."), 404)
    return RedirectResponse("/desk/relay?done=hidden", status_code=303)


async def block(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = relay_of(request)
    form = await read_form(request)
    try:
        domain = blocks.parse_domain(text_field(form, "domain", 300))
        await blocks.block_domain(instance, domain, text_field(form, "reason", 500))
    except BadRequest:
        return await relay_admin(request, gettext(
            request, "Give a server's domain name, for example avf-ville.fr."), 400)
    return RedirectResponse("/desk/relay?done=blocked", status_code=303)


routes = [
    Route("/desk/relay", relay_admin, methods=["GET"]),
    Route("/desk/relay/decide", decide, methods=["POST"]),
    Route("/desk/relay/allow", allow, methods=["POST"]),
    Route("/desk/relay/hide", hide, methods=["POST"]),
    Route("/desk/relay/block", block, methods=["POST"]),
]
