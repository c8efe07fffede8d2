"""Storing posts that arrive from peers: comments on our posts, and posts for the timeline."""

from __future__ import annotations

from activitypub.errors import BadRequest, Rejected
from activitypub.vocab import Note, format_datetime, parse_note

from .. import storage
from ..blocks import is_account_blocked
from ..content import plain_text
from ..instance import Instance
from ..moderation import comment_status, edit_needs_review
from ..remote import fetch_object
from ..remote_posts import body_of, stored_fields
from ..storage import Post, utc_now_iso
from . import space

POST_TYPES = frozenset({"Note", "Article", "Page", "Question", "Event", "Video", "Image", "Audio"})


async def note_of(instance: Instance, embedded: dict[str, object] | None, object_id: str | None) -> Note:
    """The object of a Create/Update: the embedded copy when it comes first-hand, else fetched."""
    if embedded is not None:
        return parse_note(embedded)
    if object_id is None:
        raise BadRequest("activity without an object")
    return parse_note(await fetch_object(instance, object_id))


async def store_remote_note(instance: Instance, note: Note, *, boosted_by: str | None = None) -> bool:
    """A reply to one of our posts becomes a comment, waiting for moderation unless its author
    is trusted (see `moderation.comment_status`); a reply in a members' space joins its
    discussion if a member wrote it (see `space`); a post from an actor we follow (or boosted by
    one) goes to the timeline; anything else, or by a blocked account, is not ours to keep."""
    if note.type not in POST_TYPES or await is_account_blocked(instance, note.attributed_to):
        return False
    parent = await storage.get_post_by_uri(instance.db, note.in_reply_to) if note.in_reply_to else None
    if parent is not None and parent.is_private:
        return boosted_by is None and await space.join_discussion(instance, note, parent)
    is_comment = parent is not None and parent.is_local and not parent.is_deleted
    followed = boosted_by is not None or await storage.is_followed_by_local(instance.db, note.attributed_to)
    if not is_comment and not followed:
        return False
    status = await comment_status(instance, note.attributed_to) if is_comment else "published"
    async with instance.db.transaction() as tx:
        await storage.put_post(tx, **stored_fields(note, status=status))
        if boosted_by is not None:
            await storage.put_reaction(tx, f"{boosted_by}#boost:{note.id}", "Announce", boosted_by, note.id)
    return True


async def apply_remote_edit(instance: Instance, note: Note, actor: str) -> None:
    """An author's edit of a post we keep; only its stored author may edit it. An approved
    comment whose text changed waits for review again (see `moderation.edit_needs_review`);
    a reply in a members' space does not, and the Group's copy of it follows."""
    existing = await storage.get_post_by_uri(instance.db, note.id)
    if existing is None or existing.is_deleted:
        return
    if existing.author != actor or existing.is_local:
        raise Rejected("only a post's author can edit it")
    content = body_of(note)
    review = (not existing.is_private and await _is_comment(instance, existing)
              and await edit_needs_review(instance, existing, content))
    async with instance.db.transaction() as tx:
        if review:
            await storage.put_comment_edit(tx, existing.uri, existing.content)
        await storage.update_post(
            tx, note.id, title=plain_text(note.name) or None, content=content,
            source=None, raw=note.raw,
            updated_at=format_datetime(note.updated) if note.updated else utc_now_iso(),
        )
    if existing.is_private:
        await space.follow_edit(instance, existing.uri)


async def _is_comment(instance: Instance, post: Post) -> bool:
    parent = await storage.get_post_by_uri(instance.db, post.in_reply_to) if post.in_reply_to else None
    return parent is not None and parent.is_local
