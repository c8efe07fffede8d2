from __future__ import annotations

from activitypub.errors import Rejected
from activitypub.vocab import Activity, as_id

from .. import storage
from ..instance import Instance


async def handle_undo(instance: Instance, activity: Activity) -> None:
    """Undo of a Follow, Like or Announce; only the actor who did it can undo it."""
    embedded = activity.object or {}
    if as_id(embedded.get("actor")) not in (None, activity.actor):
        raise Rejected("an Undo must come from the original actor")
    kind = embedded.get("type")
    async with instance.db.transaction() as tx:
        if kind == "Follow" or kind is None:
            if await _undo_follow(tx, activity, as_id(embedded.get("object"))):
                return
        undone = activity.object_id and await storage.delete_reaction_by_activity(
            tx, activity.object_id, activity.actor)
        if undone:
            return
        if kind in ("Like", "Announce"):
            target = as_id(embedded.get("object"))
            if target:
                await storage.delete_reaction(tx, kind, activity.actor, target)


async def _undo_follow(tx: storage.Transaction, activity: Activity, followee: str | None) -> bool:
    follow = await storage.get_follow_by_activity_uri(tx, activity.object_id) if activity.object_id else None
    if follow is None and followee:
        follow = await storage.get_follow(tx, activity.actor, followee)
    if follow is None:
        return False
    if follow.follower != activity.actor:
        raise Rejected("an Undo must come from the follower")
    return await storage.delete_follow(tx, follow.follower, follow.followee)
