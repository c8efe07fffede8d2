"""ActivityPub endpoints: WebFinger, NodeInfo, actors, inboxes, outbox, collections, objects.

Every object URL is also a web page: JSON for ActivityPub clients, HTML for browsers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.errors import BadRequest, NotFound
from activitypub.nodeinfo import (
    nodeinfo_content_type,
    nodeinfo_document,
    nodeinfo_links,
)
from activitypub.vocab import parse_activity
from activitypub.webfinger import (
    JRD_CONTENT_TYPE,
    parse_resource,
    resource_scheme,
    webfinger_document,
)
from fedi import __version__, inbox, members, storage
from fedi.documents import (
    COLLECTION_PAGE_SIZE,
    actor_document,
    ordered_collection,
    ordered_collection_page,
    post_document,
    tombstone_document,
    without_context,
)
from fedi.instance import Instance
from fedi.storage import LocalActor, Post

from . import site_members, site_news
from .admission import check_inbox_rate, inbox_limits, read_body
from .context import instance_of
from .negotiation import ActivityJSONResponse, vary_accept, wants_activitypub, wants_actor_document
from .params import parse_int

PUBLIC_ACTIVITY_TYPES = {"Follow", "Accept", "Reject", "Undo"}


async def webfinger(request: Request) -> Response:
    """RFC 7033: `acct:` resources (or written without a scheme) and our own actor URLs; a
    resource in any other scheme names nothing we know of (404)."""
    instance = instance_of(request)
    resource = request.query_params.get("resource", "")
    scheme = resource_scheme(resource)
    if scheme == "acct":
        actor = await _account_by_resource(instance, resource)
    elif scheme == urlsplit(instance.config.url).scheme and resource.startswith(instance.config.url + "/"):
        actor = await storage.get_local_actor_by_uri(instance.db, resource)
    else:
        actor = None
    if actor is None:
        raise NotFound("no such account")
    document = webfinger_document(f"acct:{actor.username}@{instance.config.host}", actor.uri,
                                  profile_url=actor.uri)
    return JSONResponse(document, media_type=JRD_CONTENT_TYPE,
                        headers={"Access-Control-Allow-Origin": "*"})


async def _account_by_resource(instance: Instance, resource: str) -> LocalActor | None:
    username, host = parse_resource(resource)
    if host not in (instance.config.host, instance.config.domain):
        raise NotFound("not an account of this server")
    return await storage.get_local_actor_by_username(instance.db, username)


async def nodeinfo_well_known(request: Request) -> Response:
    return JSONResponse(nodeinfo_links(instance_of(request).config.url))


def _metadata(instance: Instance) -> dict[str, Any]:
    """What the relay's directory reads: which actor is the association, and where it is."""
    if instance.config.role != "instance":
        return {"nodeName": instance.config.title, "role": instance.config.role, "association": None}
    return {"nodeName": instance.association.name, "role": "instance",
            "association": instance.association.uri,
            "town": instance.settings.town, "region": instance.settings.region}


async def nodeinfo(request: Request) -> Response:
    instance = instance_of(request)
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        raise NotFound("unknown NodeInfo version")
    users = await storage.count_local_actors(instance.db, ("association",))  # members: not public
    document = nodeinfo_document(
        version=version, software_name="fedi", software_version=__version__,
        repository=None, homepage=None, open_registrations=False, users_total=users,
        users_active_month=users, users_active_halfyear=users,
        local_posts=await storage.count_local_posts(instance.db),
        metadata=_metadata(instance),
    )
    return JSONResponse(document, media_type=nodeinfo_content_type(version))


async def _actor_by_username(instance: Instance, username: str) -> LocalActor:
    actor = await storage.get_local_actor_by_username(instance.db, username)
    if actor is None or actor.kind == "instance":
        raise NotFound("no such actor")
    return actor


async def actor(request: Request) -> Response:
    instance = instance_of(request)
    local = await _actor_by_username(instance, request.path_params["username"])
    if not wants_actor_document(request):
        return vary_accept(await site_news.actor_page(request, instance, local))
    return vary_accept(ActivityJSONResponse(actor_document(local, instance.config, instance.logo_version)))


async def instance_actor(request: Request) -> Response:
    instance = instance_of(request)
    return ActivityJSONResponse(actor_document(instance.instance_actor, instance.config))


def received_url(instance: Instance, request: Request) -> str:
    """The URL the sender signed: our public base URL (we may sit behind a proxy) + the path
    exactly as sent (still percent-encoded) + the query."""
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return instance.config.url + path.split("?")[0] + (f"?{query}" if query else "")


def _headers_of(request: Request) -> dict[str, str]:
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in request.scope["headers"]}


async def _signed_by_reader(instance: Instance, request: Request, group_uri: str) -> bool:
    """Whether the request is signed by someone who may read the Group's private objects."""
    return await members.may_read_signed(instance, group_uri, request.method,
                                         received_url(instance, request), _headers_of(request))


async def post_inbox(request: Request) -> Response:
    limits = inbox_limits(request)
    instance = instance_of(request)
    sender = check_inbox_rate(request, limits, instance.config.host)
    if "username" in request.path_params:
        await _actor_by_username(instance, request.path_params["username"])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/activity+json", "application/ld+json", "application/json"):
        raise BadRequest("content type must be application/activity+json")
    body = await read_body(request, timeout=limits.body_timeout)
    await inbox.receive(instance, request.method, received_url(instance, request), _headers_of(request), body)
    if sender:  # verified: the signer's host spends from its share
        limits.by_host.allow(sender, limits.clock())
    return Response(status_code=202)


def _page_number(request: Request) -> int | None:
    value = request.query_params.get("page")
    if value is None:
        return None
    page = parse_int(value)
    if page is None or not 1 <= page <= 100_000:
        raise BadRequest("page must be a positive number")
    return page


async def _collection(request: Request, uri: str, total: int, items_of_page: Any) -> Response:
    """A paged collection; with `items_of_page` None, its size only (pages answer 404)."""
    page = _page_number(request)
    if page is None:
        return ActivityJSONResponse(ordered_collection(uri, total, paged=items_of_page is not None))
    if items_of_page is None:
        raise NotFound("this collection is not listed")
    items = await items_of_page(COLLECTION_PAGE_SIZE, (page - 1) * COLLECTION_PAGE_SIZE)
    return ActivityJSONResponse(ordered_collection_page(uri, page, total, items))


async def _collection_owner(instance: Instance, request: Request) -> LocalActor:
    """The actor of `/users/NAME/...`, or the instance actor (a relay's one actor) for `/actor/...`."""
    if "username" in request.path_params:
        return await _actor_by_username(instance, request.path_params["username"])
    return instance.instance_actor


async def outbox(request: Request) -> Response:
    instance = instance_of(request)
    local = await _collection_owner(instance, request)

    async def items(limit: int, offset: int) -> list[Any]:
        activities = await storage.list_outbox(instance.db, local.uri, limit, offset)
        return [without_context(activity.body) for activity in activities]

    return await _collection(request, f"{local.uri}/outbox",
                             await storage.count_outbox(instance.db, local.uri), items)


async def followers(request: Request) -> Response:
    """Followers of an actor that approves them by hand are its members: their number for
    members only, the list for nobody (404 to everyone else)."""
    instance = instance_of(request)
    local = await _collection_owner(instance, request)
    if local.manually_approves:
        if request.query_params.get("page") is not None or not await _signed_by_reader(
                instance, request, local.uri):
            raise NotFound("no such collection")
        return await _collection(request, f"{local.uri}/followers",
                                 await storage.count_followers(instance.db, local.uri), None)

    async def items(limit: int, offset: int) -> list[Any]:
        return await storage.list_followers(instance.db, local.uri, limit, offset)

    listed = instance.settings.list_followers  # for a welcome association, its followers are its members
    return await _collection(request, f"{local.uri}/followers",
                             await storage.count_followers(instance.db, local.uri), items if listed else None)


async def following(request: Request) -> Response:
    instance = instance_of(request)
    local = await _collection_owner(instance, request)

    async def items(limit: int, offset: int) -> list[Any]:
        follows = await storage.list_following(instance.db, local.uri, limit, offset, accepted_only=True)
        return [follow.followee for follow in follows]

    return await _collection(request, f"{local.uri}/following",
                             await storage.count_following(instance.db, local.uri), items)


async def post(request: Request) -> Response:
    instance = instance_of(request)
    uri = f"{instance.config.url}/posts/{request.path_params['post_id']}"
    found = await storage.get_post_by_uri(instance.db, uri)
    if found is None or not found.is_visible:
        raise NotFound("no such post")
    if found.is_private:
        return await _private_post(request, instance, found)
    if found.visibility not in ("public", "unlisted"):
        raise NotFound("no such post")
    if not wants_activitypub(request):
        return vary_accept(await site_news.post_page(request, instance, found))
    return vary_accept(await _post_json(instance, found))


async def _private_post(request: Request, instance: Instance, found: Post) -> Response:
    """A post of a Group's members: its object (or its tombstone) for a GET signed by a member
    or by their server; its page for a member logged in on the site; 404 to anyone else."""
    if not wants_activitypub(request):
        return vary_accept(await site_members.private_post_page(request, instance, found))
    assert found.group_uri is not None
    if not await _signed_by_reader(instance, request, found.group_uri):
        raise NotFound("no such post")
    response = vary_accept(await _post_json(instance, found))
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def _post_json(instance: Instance, found: Post) -> Response:
    if found.is_deleted:
        return ActivityJSONResponse(tombstone_document(found), status_code=410)
    attachments = await storage.list_attachments(instance.db, found.uri)
    return ActivityJSONResponse(
        post_document(found, attachments, instance.config.timezone, instance.settings.language,
                      datetime.fromtimestamp(instance.clock(), UTC)))


async def activity(request: Request) -> Response:
    instance = instance_of(request)
    uri = f"{instance.config.url}/activities/{request.path_params['activity_id']}"
    found = await storage.get_activity_by_uri(instance.db, uri)
    if found is None or not (found.public or found.type in PUBLIC_ACTIVITY_TYPES):
        raise NotFound("no such activity")
    if not found.public and await members.reveals_membership(instance, parse_activity(found.body)):
        raise NotFound("no such activity")
    return ActivityJSONResponse(found.body)


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/nodeinfo", nodeinfo_well_known),
    Route("/nodeinfo/{version}", nodeinfo),
    Route("/actor", instance_actor),
    Route("/actor/outbox", outbox),
    Route("/actor/followers", followers),
    Route("/actor/following", following),
    Route("/inbox", post_inbox, methods=["POST"]),
    Route("/users/{username}", actor),
    Route("/users/{username}/inbox", post_inbox, methods=["POST"]),
    Route("/users/{username}/outbox", outbox),
    Route("/users/{username}/followers", followers),
    Route("/users/{username}/following", following),
    Route("/posts/{post_id}", post),
    Route("/activities/{activity_id}", activity),
]
