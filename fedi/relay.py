"""Relay mode: instances subscribe, and each public post of one is announced to all the others.

Subscriptions come both ways seen in the wild: Mastodon's (a Follow of the Public collection,
sent to the relay's inbox) and LitePub's (a Follow of the relay actor). A subscription from an
allowlisted domain is accepted at once; any other waits for the relay admin. A public Create,
Update or Delete from a subscriber is re-distributed as an `Announce` of the object's id, signed
by the relay: receivers fetch the object from its origin (Mastodon drops forwarded Creates that
carry no LD signature, and a second-hand copy is never to be trusted).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from activitypub.errors import BadRequest, FetchError, NotFound, Rejected
from activitypub.nodeinfo import fetch_nodeinfo
from activitypub.vocab import PUBLIC, Activity, as_id, host_of, is_public, parse_note, same_origin

from . import storage
from .content import plain_text
from .domains import parse_domain
from .delivery import enqueue
from .documents import activity_document, without_context
from .inbox.notes import check_author, stored_fields
from .instance import Instance
from .remote import get_actor
from .storage import RelaySubscription, utc_now_iso

log = logging.getLogger(__name__)

FORWARDED_TYPES = ("Create", "Update", "Delete")
RELEARN_DAYS = 1
MAX_PLACE_NAME = 100


async def check_sender(instance: Instance, activity: Activity) -> None:
    """At the relay's door: only subscribers may send anything but a (un)subscription."""
    if activity.type in ("Follow", "Undo"):
        return
    subscription = await storage.get_relay_subscription(instance.db, host_of(activity.actor))
    if subscription is None or subscription.state != "accepted":
        raise Rejected(f"{host_of(activity.actor)} is not subscribed to this relay")


async def handle_subscribe(instance: Instance, activity: Activity) -> None:
    relay = instance.instance_actor
    if activity.object_id not in (PUBLIC, relay.uri):
        raise Rejected("this relay only accepts follows of itself or of the Public collection")
    subscriber = await get_actor(instance, activity.actor)
    domain = host_of(subscriber.uri)
    allowed = await storage.is_relay_allowed(instance.db, domain)
    async with instance.db.transaction() as tx:
        await storage.put_relay_subscription(
            tx, domain=domain, actor=subscriber.uri, inbox=subscriber.delivery_inbox,
            follow=activity.raw, state="accepted" if allowed else "pending",
        )
        if allowed:
            await _answer(instance, tx, "Accept", subscriber.uri, subscriber.inbox, activity.raw)
    await learn_association(instance, subscriber.uri)


async def learn_association(instance: Instance, subscriber: str) -> None:
    """For the directory: an instance of ours names its association, town and region in its
    NodeInfo (`metadata`); the association's actor is fetched from its origin and kept. Other
    servers (Mastodon) name none, and that is fine."""
    origin = f"{urlsplit(subscriber).scheme}://{host_of(subscriber)}"
    association, town, region = None, "", ""
    try:
        nodeinfo = await fetch_nodeinfo(instance.http, origin, allow_private=instance.allow_private)
        metadata = nodeinfo.get("metadata")
        if isinstance(metadata, dict):
            association = as_id(metadata.get("association"))
            town, region = _place_name(metadata.get("town")), _place_name(metadata.get("region"))
        if association and same_origin(association, subscriber):
            await get_actor(instance, association)
        else:
            association = None
    except (FetchError, BadRequest) as error:
        log.info("no association found for %s: %s", origin, error)
    await storage.put_network_member(instance.db, host_of(subscriber), association, town, region)


def _place_name(value: object) -> str:
    return " ".join(plain_text(value).split())[:MAX_PLACE_NAME] if isinstance(value, str) else ""


async def _relearn_if_stale(instance: Instance, subscriber: str) -> None:
    """Towns and regions change rarely: the relay asks again once a day, when the instance posts."""
    member = await storage.get_network_member(instance.db, host_of(subscriber))
    if member is None or member.learned_at < _iso_days_ago(RELEARN_DAYS):
        await learn_association(instance, subscriber)


def _iso_days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


async def handle_unsubscribe(instance: Instance, activity: Activity) -> None:
    subscription = await storage.get_relay_subscription(instance.db, host_of(activity.actor))
    if subscription is None or subscription.actor != activity.actor:
        return
    async with instance.db.transaction() as tx:
        await storage.delete_relay_subscription(tx, subscription.domain)


async def handle_forward(instance: Instance, activity: Activity) -> None:
    """A subscriber's public post, edit or deletion: kept for the relay's pages and announced
    to every other subscriber. Anything not public is dropped."""
    if not is_public(activity.audience) or activity.object_id is None:
        return
    if activity.type != "Delete":
        note = parse_note(activity.object) if activity.object else None
        if note is None or not is_public(note.audience):
            return
        check_author(note, activity.actor)
    sender = host_of(activity.actor)
    async with instance.db.transaction() as tx:
        await _keep(tx, activity)
        inboxes = [s.inbox for s in await storage.list_relay_subscriptions(tx, "accepted")
                   if s.domain != sender]
        relay = instance.instance_actor
        announce = activity_document(instance.urls.new_activity(), "Announce", relay.uri,
                                     activity.object_id, to=[PUBLIC], cc=[f"{relay.uri}/followers"])
        await enqueue(instance, tx, relay, announce, inboxes, public=True)
    await _relearn_if_stale(instance, activity.actor)


async def _keep(tx: storage.Transaction, activity: Activity) -> None:
    """What the relay shows on its own pages: the network's public posts."""
    if activity.type == "Delete":
        post = await storage.get_post_by_uri(tx, activity.object_id or "")
        if post is not None and post.author == activity.actor:
            await storage.mark_post_deleted(tx, post.uri, utc_now_iso())
        return
    fields = stored_fields(parse_note(activity.object), status="published")
    if activity.type == "Create":
        await storage.put_post(tx, **fields)
    else:
        await storage.update_post(tx, fields["uri"], title=fields["title"], content=fields["content"],
                                  source=None, raw=fields["raw"], updated_at=utc_now_iso())


async def set_subscription_state(instance: Instance, domain: str, decision: str) -> RelaySubscription:
    """The relay admin's answer to a subscription: approve (Accept), reject or remove (Reject)."""
    subscription = await storage.get_relay_subscription(instance.db, domain)
    if subscription is None:
        raise NotFound(f"no subscription from {domain}")
    async with instance.db.transaction() as tx:
        if decision == "approve":
            await storage.set_relay_subscription_state(tx, domain, "accepted")
            await _answer(instance, tx, "Accept", subscription.actor, subscription.inbox, subscription.follow)
        else:
            await storage.delete_relay_subscription(tx, domain)
            await _answer(instance, tx, "Reject", subscription.actor, subscription.inbox, subscription.follow)
    return subscription


def parse_subscriber_domain(text: str) -> str:
    """A subscriber's domain as the relay keys it: host[:port] (what the admin typed, or a pasted URL)."""
    return parse_domain(text, keep_port=True)


async def hide_post(instance: Instance, uri: str) -> bool:
    """The relay admin's moderation: a post no longer shows on the relay's pages."""
    post = await storage.get_post_by_uri(instance.db, uri)
    if post is None:
        return False
    async with instance.db.transaction() as tx:
        await storage.set_post_status(tx, uri, "hidden")
    return True


async def _answer(instance: Instance, tx: storage.Transaction, kind: str, actor: str, inbox: str,
                  follow: dict[str, Any]) -> None:
    relay = instance.instance_actor
    document = activity_document(instance.urls.new_activity(), kind, relay.uri,
                                 without_context(follow), to=[actor])
    await enqueue(instance, tx, relay, document, [inbox], public=False)


HANDLERS: dict[str, Callable[[Instance, Activity], Awaitable[None]]] = {
    "Follow": handle_subscribe,
    "Undo": handle_unsubscribe,
    **{kind: handle_forward for kind in FORWARDED_TYPES},
}
