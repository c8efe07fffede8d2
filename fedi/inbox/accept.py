from __future__ import annotations

from activitypub.errors import Rejected
from activitypub.vocab import Activity, as_id

from .. import storage
from ..instance import Instance
from ..storage import Follow


async def _our_follow(instance: Instance, activity: Activity) -> Follow | None:
    """The Follow this Accept/Reject answers: by its id, or (peers that embed a copy without
    our id) by the pair local follower → the answering actor."""
    follow = None
    if activity.object_id:
        follow = await storage.get_follow_by_activity_uri(instance.db, activity.object_id)
    if follow is None and activity.object is not None:
        follower = as_id(activity.object.get("actor"))
        if follower:
            follow = await storage.get_follow(instance.db, follower, activity.actor)
    if follow is not None and follow.followee != activity.actor:
        raise Rejected("only the followed actor can answer a Follow")
    return follow


async def handle_accept(instance: Instance, activity: Activity) -> None:
    follow = await _our_follow(instance, activity)
    if follow is None:
        return
    async with instance.db.transaction() as tx:
        await storage.set_follow_state(tx, follow.follower, follow.followee, "accepted")


async def handle_reject(instance: Instance, activity: Activity) -> None:
    follow = await _our_follow(instance, activity)
    if follow is None:
        return
    async with instance.db.transaction() as tx:
        await storage.delete_follow(tx, follow.follower, follow.followee)
