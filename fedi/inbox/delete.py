from __future__ import annotations

from activitypub.errors import Rejected
from activitypub.vocab import Activity

from .. import storage
from ..instance import Instance
from ..storage import utc_now_iso
from .space import withdraw


async def handle_delete(instance: Instance, activity: Activity) -> None:
    """A deleted post (only by its author) or a deleted account (its follows and posts go);
    the Group's copies of what they wrote in a members' space go too."""
    target = activity.object_id
    if target is None:
        return
    if target == activity.actor:
        in_spaces = await storage.list_group_originals_by_author(instance.db, activity.actor)
        async with instance.db.transaction() as tx:
            await storage.delete_actor_traces(tx, activity.actor, utc_now_iso())
        for written in in_spaces:
            await withdraw(instance, written)
        return
    post = await storage.get_post_by_uri(instance.db, target)
    if post is None or post.is_deleted:
        return
    if post.is_local or post.author != activity.actor:
        raise Rejected("only a post's author can delete it")
    async with instance.db.transaction() as tx:
        await storage.mark_post_deleted(tx, target, utc_now_iso())
    await withdraw(instance, post)
