"""The members' space as the inbox sees it: what an approved member writes in it joins its
discussion (kept for members only, and re-published by the Group, see `group_copies`); nothing
from anyone else touches it: no reply, boost or like of an outsider is kept or counted."""

from __future__ import annotations

import logging

from activitypub.vocab import Note

from .. import group_copies, storage
from ..instance import Instance
from ..remote_posts import stored_fields
from ..storage import Post

log = logging.getLogger(__name__)


async def join_discussion(instance: Instance, note: Note, parent: Post) -> bool:
    """A reply to a post of the space (a Group's post, its copy of a member's words, a member's
    reply it keeps): kept for the members and copied by the Group to every one of them when its
    author is an approved member; anyone else's is not kept. Returns whether it was kept."""
    group = await instance.get_local_actor(parent.group_uri) if parent.group_uri else None
    if group is None or group.ap_type != "Group" or parent.is_deleted:
        return False
    if not await storage.is_group_member(instance.db, group.uri, note.attributed_to):
        log.info("not keeping %s: %s is not a member of %s", note.id, note.attributed_to, group.uri)
        return False
    fields = {**stored_fields(note, status="published"), "visibility": "followers",
              "group_uri": group.uri}
    async with instance.db.transaction() as tx:
        await storage.put_post(tx, **fields)
    stored = await storage.get_post_by_uri(instance.db, note.id)
    if stored is not None and stored.group_uri == group.uri:
        await group_copies.republish(instance, stored)
    return True


async def may_react(instance: Instance, post: Post, actor: str) -> bool:
    """Whether a like of `post` by `actor` counts: anyone's for a public post, members' only
    for a post of the space."""
    return post.group_uri is None or await storage.is_group_member(instance.db, post.group_uri, actor)


async def follow_edit(instance: Instance, uri: str) -> None:
    """A member edited a reply of the space (already stored): the Group's copy follows."""
    edited = await storage.get_post_by_uri(instance.db, uri)
    if edited is not None and edited.is_private:
        await group_copies.follow_edit(instance, edited)


async def withdraw(instance: Instance, post: Post) -> None:
    """A member deleted a reply of the space: the Group's copy goes too."""
    if post.is_private:
        await group_copies.withdraw(instance, post)
