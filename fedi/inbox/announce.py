from __future__ import annotations

from activitypub.vocab import PUBLIC, Activity

from .. import storage
from ..instance import Instance
from ..remote import fetch_note
from .notes import store_remote_note


async def handle_announce(instance: Instance, activity: Activity) -> None:
    """A boost of one of our public posts is counted. A boost by an actor we follow brings its
    object, fetched from the origin (a second-hand copy is never trusted)."""
    target = activity.object_id
    if target is None or activity.id is None:
        return
    post = await storage.get_post_by_uri(instance.db, target)
    if post is not None and post.is_local:
        if post.visibility == "public" and not post.is_deleted:
            async with instance.db.transaction() as tx:
                await storage.put_reaction(tx, activity.id, "Announce", activity.actor, post.uri)
        return
    if post is not None or not await storage.is_followed_by_local(instance.db, activity.actor):
        return
    note = await fetch_note(instance, target)
    if PUBLIC in note.audience:
        await store_remote_note(instance, note, boosted_by=activity.actor)
