"""The relay's site: its home (the network's latest news), the directory of associations, one
page per association of the network, and the network's statistics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.errors import NotFound
from fedi import storage
from fedi.content import plain_text
from fedi.instance import Instance
from fedi.relay import network
from fedi.relay.statistics import network_statistics

from .context import relay_of
from .rendering import render

NETWORK_POSTS = 20
ASSOCIATION_POSTS = 20


async def home(request: Request, instance: Instance) -> Response:
    """The relay's home: the latest public news of every association in the network, or of
    one region's (`?region=`)."""
    region = request.query_params.get("region", "")[:100]
    posts = await network.news(instance, NETWORK_POSTS, region)
    subscriptions = await storage.list_relay_subscriptions(instance.db, "accepted")
    members = {member.url: member for member in await network.associations(instance)}
    return render(request, "network.html", {
        "posts": posts, "members": members, "associations": len(subscriptions), "region": region,
        "regions": await network.regions(instance)})


async def directory(request: Request) -> Response:
    """The relay's directory of associations: name, handle and link, from their own actors."""
    instance = relay_of(request)
    region = request.query_params.get("region", "")[:100]
    return render(request, "directory.html", {
        "associations": await network.associations(instance, region),
        "region": region, "regions": await network.regions(instance),
    })


async def association(request: Request) -> Response:
    """What one association published, as the relay received it, with how to follow it."""
    instance = relay_of(request)
    domain = request.path_params["domain"].lower()
    subscription = await storage.get_relay_subscription(instance.db, domain)
    if subscription is None or subscription.state != "accepted":
        raise NotFound("no such association in the network")
    actors = [actor for actor in await storage.list_subscribed_actors(instance.db) if actor.host == domain]
    posts = await storage.list_network_posts_from(instance.db, domain, ASSOCIATION_POSTS)
    return render(request, "association.html", {
        "domain": domain,
        "actors": [{"name": plain_text(actor.name) or actor.preferred_username or domain,
                    "handle": actor.handle, "url": actor.uri} for actor in actors],
        "posts": posts,
    })


async def statistics(request: Request) -> Response:
    instance = relay_of(request)
    return render(request, "stats.html", {"stats": await network_statistics(instance)})


routes = [
    Route("/associations", directory),
    Route("/associations/{domain}", association),
    Route("/stats", statistics),
]
