"""The relay's fan-out: a public Create, Update or Delete from a subscriber is re-distributed as
an `Announce` of the object's id, signed by the relay, to every other subscriber. Receivers fetch
the object from its origin (Mastodon drops forwarded Creates that carry no LD signature, and a
second-hand copy is never to be trusted)."""

from __future__ import annotations

from activitypub.vocab import PUBLIC, Activity, host_of, is_public, parse_note

from .. import storage
from ..delivery import enqueue
from ..documents import activity_document
from ..instance import Instance
from ..remote_posts import check_author, stored_fields
from ..storage import utc_now_iso
from .subscriptions import relearn_if_stale

FORWARDED_TYPES = ("Create", "Update", "Delete")


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
    await relearn_if_stale(instance, activity.actor)


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
