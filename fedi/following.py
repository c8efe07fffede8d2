"""Follows, both ways: a local actor follows or unfollows a remote one (the instance actor a
relay), and accepts or refuses those who ask to follow it.

Each action stores the follow's state and queues its activity in one transaction.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from activitypub.errors import NotFound

from . import storage
from .delivery import enqueue
from .documents import activity_document, without_context
from .instance import Instance
from .remote import resolve_actor
from .storage import LocalActor, RemoteActor


async def follow(instance: Instance, target: str, *, actor: LocalActor | None = None) -> RemoteActor:
    """The association (or another local actor) follows a remote actor; pending until Accept."""
    actor = actor or instance.association
    remote = await resolve_actor(instance, target)
    follow_uri = instance.urls.new_activity()
    document = activity_document(follow_uri, "Follow", actor.uri, remote.uri, to=[remote.uri])
    async with instance.db.transaction() as tx:
        await storage.put_follow(tx, actor.uri, remote.uri, follow_uri, "pending")
        await enqueue(instance, tx, actor, document, [remote.inbox], public=False)
    return remote


async def unfollow(instance: Instance, target: str, *, actor: LocalActor | None = None) -> RemoteActor:
    actor = actor or instance.association
    remote = await resolve_actor(instance, target)
    existing = await storage.get_follow(instance.db, actor.uri, remote.uri)
    if existing is None:
        raise NotFound(f"{actor.username} does not follow {remote.uri}")
    follow_doc = activity_document(existing.activity_uri or instance.urls.new_activity(), "Follow",
                                   actor.uri, remote.uri, to=[remote.uri])
    document = activity_document(instance.urls.new_activity(), "Undo", actor.uri,
                                 without_context(follow_doc), to=[remote.uri])
    async with instance.db.transaction() as tx:
        await storage.delete_follow(tx, actor.uri, remote.uri)
        await enqueue(instance, tx, actor, document, [remote.inbox], public=False)
    return remote


async def accept_follow(
    instance: Instance, tx: storage.Transaction, actor: LocalActor, follower: RemoteActor,
    follow_activity: dict[str, Any],
) -> None:
    """Accepts a Follow (inside the caller's transaction): follower recorded, Accept queued."""
    await storage.set_follow_state(tx, follower.uri, actor.uri, "accepted")
    document = activity_document(instance.urls.new_activity(), "Accept", actor.uri,
                                 without_context(follow_activity), to=[follower.uri])
    await enqueue(instance, tx, actor, document, [follower.inbox], public=False)


async def reject_follow(
    instance: Instance, tx: storage.Transaction, actor: LocalActor, follower: RemoteActor,
    follow_activity: dict[str, Any],
) -> None:
    """Refuses a waiting Follow, or ends an accepted one (Mastodon takes a Reject of an accepted
    follow as a removal), inside the caller's transaction: the follow goes, the Reject is queued."""
    await storage.delete_follow(tx, follower.uri, actor.uri)
    document = activity_document(instance.urls.new_activity(), "Reject", actor.uri,
                                 without_context(follow_activity), to=[follower.uri])
    await enqueue(instance, tx, actor, document, [follower.inbox], public=False)


async def subscribe_to_relay(instance: Instance, relay_url: str) -> RemoteActor:
    """The instance actor follows a relay (LitePub style: a Follow of the relay's actor). Accepts
    the relay's actor URL, its base URL, or the inbox URL that Mastodon admins are given."""
    parts = urlsplit(relay_url.strip())
    if parts.path in ("", "/", "/inbox"):
        relay_url = f"{parts.scheme}://{parts.netloc}/actor"
    return await follow(instance, relay_url, actor=instance.instance_actor)
