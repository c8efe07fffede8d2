"""The inbound path: receive → verify → check → store raw → (worker) parse → handler → effects.

`receive` runs inside the HTTP request and must stay quick: it refuses an actor on a blocked
domain or a blocked account (before any key is fetched), verifies the signature, checks that
the signer speaks for the activity's actor and that ids are on the actor's host, stores the raw
activity (once per id) and returns; the route answers 202. `process_due` runs in a worker and
applies each stored activity with the handler for its type, through the queue engine
(`fedi.queue`, where INBOX_POLICY names the retries); one that involves a blocked domain (e.g.
a boost of a blocked server's post) is dropped quietly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from activitypub.errors import (
    ActivityPubError,
    BadRequest,
    FetchError,
    Rejected,
    TooLarge,
)
from activitypub.signatures import verify_request
from activitypub.vocab import Activity, as_id, host_of, parse_activity, same_origin

from .. import relay, storage
from ..blocks import involves_blocked_domain, refuse_blocked
from ..instance import Instance
from ..moderation import refuse_blocked_account
from ..queue import INBOX_POLICY, Done, GiveUp, Outcome, Queue, Retry
from ..remote import key_retriever
from ..storage import InboxItem
from .accept import handle_accept, handle_reject
from .announce import handle_announce
from .create import handle_create
from .delete import handle_delete
from .follow import handle_follow
from .like import handle_like
from .undo import handle_undo
from .update import handle_update

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000

Handler = Callable[[Instance, Activity], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "Follow": handle_follow,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Undo": handle_undo,
    "Create": handle_create,
    "Update": handle_update,
    "Delete": handle_delete,
    "Like": handle_like,
    "Announce": handle_announce,
}


def handlers_for(instance: Instance) -> dict[str, Handler]:
    return relay.HANDLERS if instance.config.role == "relay" else HANDLERS


async def receive(instance: Instance, method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    """Checks and stores one POSTed activity. Returns False when it was already received or is
    ignored; raises an ActivityPubError (mapped to 4xx) when it is refused."""
    data = parse_json(body)
    activity = parse_activity(data)
    await refuse_blocked(instance, activity.actor)
    await refuse_blocked_account(instance, activity.actor)
    verified = await verify_request(method, url, headers, body, key_retriever(instance))
    check_origins(activity)
    if verified.key.owner != activity.actor:
        data = await as_relayed(instance, activity, verified.key.owner)
        activity = parse_activity(data)
    if instance.config.role == "relay":
        await relay.check_sender(instance, activity)
    await heard_from(instance, host_of(activity.actor))
    if activity.type not in handlers_for(instance):
        log.info("ignoring %s from %s", activity.type, activity.actor)
        return False
    stored = await storage.put_inbox_item(
        instance.db, activity_uri=activity.id or _content_id(body), actor=activity.actor,
        type=activity.type, body=data, now=instance.clock(),
    )
    if stored:
        instance.wakeups.inbox.set()
    return stored


async def as_relayed(instance: Instance, activity: Activity, signer: str) -> dict[str, Any]:
    """An activity signed by someone else than its actor is refused, unless a relay we follow
    passes on a post, an edit or a deletion (as ActivityRelay does, re-signing them): then it is
    taken as that relay's Announce of the object, which is fetched from its origin, never
    trusted as sent."""
    follow = await storage.get_follow(instance.db, instance.instance_actor.uri, signer)
    relayed = activity.type in ("Create", "Update", "Delete") and activity.object_id is not None
    if follow is None or follow.state != "accepted" or not relayed:
        raise Rejected(f"signed by {signer}, but the actor is {activity.actor}")
    return {"id": activity.id or f"{signer}#relayed:{activity.object_id}", "type": "Announce",
            "actor": signer, "object": activity.object_id, "to": activity.to, "cc": activity.cc}


async def heard_from(instance: Instance, host: str) -> None:
    """A host that talks to us is reachable again (checked once a minute per host, not on
    every request)."""
    if instance.hosts_heard.get(host) is None:
        await storage.clear_host_unavailable(instance.db, host)
        instance.hosts_heard.put(host, True)


def parse_json(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge("body over 1 MB")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadRequest(f"body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadRequest("body is not a JSON object")
    return data


def check_origins(activity: Activity) -> None:
    """The activity, any object it embeds as its own and any object it updates must live on
    the actor's host."""
    if activity.id and not same_origin(activity.id, activity.actor):
        raise Rejected("activity id is not on the actor's host")
    if activity.type in ("Create", "Update") and activity.object is not None:
        object_id = as_id(activity.object.get("id"))
        if object_id and not same_origin(object_id, activity.actor):
            raise Rejected("object id is not on the actor's host")
    updated = activity.object_id if activity.type == "Update" else None
    if updated and not same_origin(updated, activity.actor):
        raise Rejected("only an object's author can update it, from its own host")


def _content_id(body: bytes) -> str:
    return "urn:sha256:" + hashlib.sha256(body).hexdigest()


async def process_due(instance: Instance, limit: int = INBOX_POLICY.batch_size) -> int:
    """Applies received activities that are due; returns how many were handled."""

    async def mark_done(item: InboxItem) -> None:
        await storage.mark_inbox_item_done(instance.db, item.id)

    async def apply(item: InboxItem) -> Outcome:
        return await apply_received(instance, item)

    queue = Queue(instance, INBOX_POLICY, claim=storage.claim_inbox_items, mark_done=mark_done)
    return await queue.run_due(apply, limit)


async def apply_received(instance: Instance, item: InboxItem) -> Outcome:
    """One step of the inbox queue: the handler of the activity's type, and its outcome."""
    try:
        activity = parse_activity(item.body)
        if await involves_blocked_domain(instance, activity):
            log.info("ignoring %s %s: it involves a blocked domain", item.type, item.activity_uri)
        else:
            await handlers_for(instance)[activity.type](instance, activity)
    except FetchError as error:
        return Retry(str(error))
    except ActivityPubError as error:
        log.info("%s %s refused: %s", item.type, item.activity_uri, error)
        return GiveUp(f"{type(error).__name__}: {error}")
    except Exception as error:  # a bug must not stop the worker nor retry forever
        log.exception("applying %s %s failed", item.type, item.activity_uri)
        return GiveUp(f"internal error: {error!r}")
    return Done()
