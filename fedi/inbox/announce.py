from __future__ import annotations

from activitypub.errors import BadRequest
from activitypub.http import HTTPStatusError
from activitypub.vocab import PUBLIC, Activity

from .. import storage
from ..instance import Instance
from ..remote import fetch_note
from ..remote_posts import check_author
from ..storage import Post, utc_now_iso
from .notes import apply_remote_edit, store_remote_note


async def handle_announce(instance: Instance, activity: Activity) -> None:
    """A boost of one of our public posts is counted. A boost by an actor we follow brings its
    object, fetched from the origin (a second-hand copy is never trusted). Nothing of a members'
    space is ever boosted: such an Announce is ignored."""
    target = activity.object_id
    if target is None or activity.id is None:
        return
    post = await storage.get_post_by_uri(instance.db, target)
    if post is not None and post.is_private:
        return
    if post is not None and post.is_local:
        if post.visibility == "public" and not post.is_deleted:
            async with instance.db.transaction() as tx:
                await storage.put_reaction(tx, activity.id, "Announce", activity.actor, post.uri)
        return
    if not await storage.is_followed_by_local(instance.db, activity.actor):
        return
    if post is not None:
        await refresh_from_origin(instance, post)
        return
    try:
        note = await fetch_note(instance, target)
    except HTTPStatusError as error:
        if error.http_status in (404, 410):
            return  # gone already (a relayed Delete of a post we never had): nothing to keep
        raise
    if PUBLIC in note.audience:
        await store_remote_note(instance, note, boosted_by=activity.actor)


async def refresh_from_origin(instance: Instance, post: Post) -> None:
    """A relay announces edits and deletions as it announces posts: what we keep is compared
    with what the origin serves now."""
    try:
        note = await fetch_note(instance, post.uri)
    except HTTPStatusError as error:
        if error.http_status in (404, 410):
            async with instance.db.transaction() as tx:
                await storage.mark_post_deleted(tx, post.uri, utc_now_iso())
            return
        raise
    except BadRequest:  # a Tombstone has no author: the origin says it is gone
        async with instance.db.transaction() as tx:
            await storage.mark_post_deleted(tx, post.uri, utc_now_iso())
        return
    if not post.is_deleted:
        check_author(note, post.author)
        await apply_remote_edit(instance, note, post.author)
