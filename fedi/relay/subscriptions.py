"""The relay's subscriptions, and what it learns of each subscriber for its directory.

Subscriptions come both ways seen in the wild: Mastodon's (a Follow of the Public collection,
sent to the relay's inbox) and LitePub's (a Follow of the relay actor). A subscription from an
allowlisted domain is accepted at once; any other waits for the relay admin.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from activitypub.errors import BadRequest, FetchError, NotFound, Rejected
from activitypub.nodeinfo import fetch_nodeinfo
from activitypub.vocab import PUBLIC, Activity, as_id, host_of, same_origin

from .. import storage
from ..content import plain_text
from ..delivery import enqueue
from ..documents import activity_document, without_context
from ..domains import parse_domain
from ..instance import Instance
from ..remote import get_actor
from ..storage import RelaySubscription

log = logging.getLogger(__name__)

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


async def relearn_if_stale(instance: Instance, subscriber: str) -> None:
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


async def _answer(instance: Instance, tx: storage.Transaction, kind: str, actor: str, inbox: str,
                  follow: dict[str, Any]) -> None:
    relay = instance.instance_actor
    document = activity_document(instance.urls.new_activity(), kind, relay.uri,
                                 without_context(follow), to=[actor])
    await enqueue(instance, tx, relay, document, [inbox], public=False)
