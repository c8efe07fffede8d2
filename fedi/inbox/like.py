from __future__ import annotations

from activitypub.vocab import Activity

from .. import storage
from ..instance import Instance
from .space import may_react


async def handle_like(instance: Instance, activity: Activity) -> None:
    """A like of one of our posts is counted (of a members' space's post, if a member's);
    likes of anything else are ignored."""
    post = await storage.get_post_by_uri(instance.db, activity.object_id or "")
    if post is None or not post.is_local or post.is_deleted or activity.id is None:
        return
    if not await may_react(instance, post, activity.actor):
        return
    async with instance.db.transaction() as tx:
        await storage.put_reaction(tx, activity.id, "Like", activity.actor, post.uri)
