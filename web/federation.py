"""ActivityPub endpoints: WebFinger, NodeInfo, actors, inboxes, outbox, collections, objects.

Every object URL is also a web page: JSON for ActivityPub clients, HTML for browsers.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.errors import ActivityPubError, BadRequest, NotFound, TooLarge
from activitypub.nodeinfo import (
    nodeinfo_content_type,
    nodeinfo_document,
    nodeinfo_links,
)
from activitypub.vocab import host_of
from activitypub.webfinger import JRD_CONTENT_TYPE, parse_resource, webfinger_document
from fedi import __version__, inbox, storage
from fedi.documents import (
    COLLECTION_PAGE_SIZE,
    actor_document,
    note_document,
    ordered_collection,
    ordered_collection_page,
    tombstone_document,
    without_context,
)
from fedi.instance import Instance
from fedi.storage import LocalActor

from . import pages
from .context import instance_of
from .negotiation import ActivityJSONResponse, vary_accept, wants_activitypub
from .ratelimit import RateLimiter

PUBLIC_ACTIVITY_TYPES = {"Follow", "Accept", "Reject", "Undo"}
BODY_TIMEOUT_SECONDS = 10.0
_KEY_ID = re.compile(r'keyid="([^"]*)"', re.IGNORECASE)


class TooManyRequests(ActivityPubError):
    """A client or a sending host is over its inbox rate; it may try again after `Retry-After`."""

    status = 429

    def __init__(self, message: str, retry_after: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": retry_after}


class RequestTimeout(ActivityPubError):
    """The body did not arrive in time (a slow or stalled client); the connection is closed."""

    status = 408
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


@dataclass
class InboxLimits:
    """How much the inbox takes: per client IP (checked before the body is read), per sending
    host (spent only by verified requests, so nobody can use up another server's share), and
    how long a body may take to arrive. One per app (`create_app` makes it)."""

    by_ip: RateLimiter = field(default_factory=lambda: RateLimiter(50, 200))
    by_host: RateLimiter = field(default_factory=lambda: RateLimiter(50, 500))
    body_timeout: float = BODY_TIMEOUT_SECONDS
    clock: Callable[[], float] = time.monotonic


def inbox_limits(request: Request) -> InboxLimits:
    limits = getattr(request.app.state, "inbox_limits", None)
    if limits is None:  # an app not made by create_app: the defaults
        limits = request.app.state.inbox_limits = InboxLimits()
    assert isinstance(limits, InboxLimits)
    return limits


def sending_host(headers: Any) -> str | None:
    """The host of the signing key as the request claims it (draft-cavage or RFC 9421), unverified."""
    for name in ("signature", "signature-input"):
        found = _KEY_ID.search(headers.get(name, ""))
        if found:
            try:
                return host_of(found.group(1)) or None
            except ValueError:  # not a URL (e.g. "http://[::1/x"): the signature check refuses it
                return None
    return None


def check_inbox_rate(request: Request, limits: InboxLimits) -> str | None:
    """Refuses a client IP over its rate, or a sending host that already used up its share;
    returns that host (to be charged once the request is verified)."""
    now = limits.clock()
    client_ip = request.client.host if request.client else "unknown"
    if not limits.by_ip.allow(client_ip, now):
        raise TooManyRequests("too many requests from this address",
                              limits.by_ip.retry_after_header(client_ip, now))
    host = sending_host(request.headers)
    if host and limits.by_host.retry_after(host, now) > 0:
        raise TooManyRequests("too many requests from this server",
                              limits.by_host.retry_after_header(host, now))
    return host


async def webfinger(request: Request) -> Response:
    instance = instance_of(request)
    username, host = parse_resource(request.query_params.get("resource", ""))
    if host not in (instance.config.host, instance.config.domain):
        raise NotFound("not an account of this server")
    actor = await storage.get_local_actor_by_username(instance.db, username)
    if actor is None:
        raise NotFound("no such account")
    document = webfinger_document(f"acct:{actor.username}@{instance.config.host}", actor.uri,
                                  profile_url=actor.uri)
    return JSONResponse(document, media_type=JRD_CONTENT_TYPE,
                        headers={"Access-Control-Allow-Origin": "*"})


async def nodeinfo_well_known(request: Request) -> Response:
    return JSONResponse(nodeinfo_links(instance_of(request).config.url))


async def nodeinfo(request: Request) -> Response:
    instance = instance_of(request)
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        raise NotFound("unknown NodeInfo version")
    users = await storage.count_local_actors(instance.db, ("association", "person"))
    document = nodeinfo_document(
        version=version, software_name="fedi", software_version=__version__,
        repository=None, homepage=None, open_registrations=False, users_total=users,
        users_active_month=users, users_active_halfyear=users,
        local_posts=await storage.count_local_posts(instance.db),
        metadata={"nodeName": instance.config.title, "role": instance.config.role},
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
    if not wants_activitypub(request):
        return vary_accept(await pages.actor_page(request, instance, local))
    return vary_accept(ActivityJSONResponse(actor_document(local, instance.config)))


async def instance_actor(request: Request) -> Response:
    instance = instance_of(request)
    return ActivityJSONResponse(actor_document(instance.instance_actor, instance.config))


async def read_body(request: Request, limit: int = inbox.MAX_BODY_BYTES,
                    timeout: float = BODY_TIMEOUT_SECONDS) -> bytes:
    """The request body, refused as soon as it passes `limit` (never read whole into memory)
    or when it takes more than `timeout` seconds in all to arrive (a slow client holds a
    connection and a task for as long as we wait)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge("body over 1 MB")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge("body over 1 MB")
                chunks.append(chunk)
    except TimeoutError as error:
        raise RequestTimeout(f"the body took more than {timeout:g} s to arrive") from error
    except ClientDisconnect as error:  # the peer hung up mid-body: its problem, not a server error
        raise BadRequest("the body ended before its declared length") from error
    return b"".join(chunks)


def received_url(instance: Instance, request: Request) -> str:
    """The URL the sender signed: our public base URL (we may sit behind a proxy) + the path
    exactly as sent (still percent-encoded) + the query."""
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return instance.config.url + path.split("?")[0] + (f"?{query}" if query else "")


async def post_inbox(request: Request) -> Response:
    limits = inbox_limits(request)
    sender = check_inbox_rate(request, limits)
    instance = instance_of(request)
    if "username" in request.path_params:
        await _actor_by_username(instance, request.path_params["username"])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/activity+json", "application/ld+json", "application/json"):
        raise BadRequest("content type must be application/activity+json")
    body = await read_body(request, timeout=limits.body_timeout)
    headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in request.scope["headers"]}
    await inbox.receive(instance, request.method, received_url(instance, request), headers, body)
    if sender:  # verified: the signer's host spends from its share
        limits.by_host.allow(sender, limits.clock())
    return Response(status_code=202)


def _page_number(request: Request) -> int | None:
    value = request.query_params.get("page")
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise BadRequest("page must be a positive number")
    return int(value)


async def _collection(request: Request, uri: str, total: int, items_of_page: Any) -> Response:
    page = _page_number(request)
    if page is None:
        return ActivityJSONResponse(ordered_collection(uri, total))
    items = await items_of_page(COLLECTION_PAGE_SIZE, (page - 1) * COLLECTION_PAGE_SIZE)
    return ActivityJSONResponse(ordered_collection_page(uri, page, total, items))


async def outbox(request: Request) -> Response:
    instance = instance_of(request)
    local = await _actor_by_username(instance, request.path_params["username"])

    async def items(limit: int, offset: int) -> list[Any]:
        activities = await storage.list_outbox(instance.db, local.uri, limit, offset)
        return [without_context(activity.body) for activity in activities]

    return await _collection(request, f"{local.uri}/outbox",
                             await storage.count_outbox(instance.db, local.uri), items)


async def followers(request: Request) -> Response:
    instance = instance_of(request)
    local = await _actor_by_username(instance, request.path_params["username"])

    async def items(limit: int, offset: int) -> list[Any]:
        return await storage.list_followers(instance.db, local.uri, limit, offset)

    return await _collection(request, f"{local.uri}/followers",
                             await storage.count_followers(instance.db, local.uri), items)


async def following(request: Request) -> Response:
    instance = instance_of(request)
    local = await _actor_by_username(instance, request.path_params["username"])

    async def items(limit: int, offset: int) -> list[Any]:
        follows = await storage.list_following(instance.db, local.uri, limit, offset)
        return [follow.followee for follow in follows if follow.state == "accepted"]

    return await _collection(request, f"{local.uri}/following",
                             await storage.count_following(instance.db, local.uri), items)


async def post(request: Request) -> Response:
    instance = instance_of(request)
    uri = f"{instance.config.url}/posts/{request.path_params['post_id']}"
    found = await storage.get_post_by_uri(instance.db, uri)
    if found is None or found.visibility not in ("public", "unlisted"):
        raise NotFound("no such post")
    if not wants_activitypub(request):
        return vary_accept(await pages.post_page(request, instance, found))
    if found.is_deleted:
        return vary_accept(ActivityJSONResponse(tombstone_document(found), status_code=410))
    return vary_accept(ActivityJSONResponse(note_document(found)))


async def activity(request: Request) -> Response:
    instance = instance_of(request)
    uri = f"{instance.config.url}/activities/{request.path_params['activity_id']}"
    found = await storage.get_activity_by_uri(instance.db, uri)
    if found is None or not (found.public or found.type in PUBLIC_ACTIVITY_TYPES):
        raise NotFound("no such activity")
    return ActivityJSONResponse(found.body)


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/nodeinfo", nodeinfo_well_known),
    Route("/nodeinfo/{version}", nodeinfo),
    Route("/actor", instance_actor),
    Route("/inbox", post_inbox, methods=["POST"]),
    Route("/users/{username}", actor),
    Route("/users/{username}/inbox", post_inbox, methods=["POST"]),
    Route("/users/{username}/outbox", outbox),
    Route("/users/{username}/followers", followers),
    Route("/users/{username}/following", following),
    Route("/posts/{post_id}", post),
    Route("/activities/{activity_id}", activity),
]
