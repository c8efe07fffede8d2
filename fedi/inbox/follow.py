from __future__ import annotations

from activitypub.errors import NotFound
from activitypub.vocab import Activity

from .. import storage
from ..following import accept_follow
from ..instance import Instance
from ..remote import get_actor


async def handle_follow(instance: Instance, activity: Activity) -> None:
    """Someone wants to follow a local actor: recorded, then accepted unless it approves by hand
    (the members' space), where it waits for the admin. A member who follows again (their server
    lost the answer) is accepted again."""
    target = await instance.get_local_actor(activity.object_id or "")
    if target is None:
        raise NotFound(f"no local actor {activity.object_id}")
    follower = await get_actor(instance, activity.actor)
    existing = await storage.get_follow(instance.db, follower.uri, target.uri)
    async with instance.db.transaction() as tx:
        await storage.put_follow(tx, follower.uri, target.uri, activity.id, "pending")
        if not target.manually_approves or existing is not None and existing.state == "accepted":
            await accept_follow(instance, tx, target, follower, activity.raw)
