"""Moderating comments. A reply from the fediverse to one of our posts waits for an admin's
approval, unless the admin trusts the accounts the association follows and it follows its
author. An admin approves, hides or deletes a comment, and can block its author's account
(refused at the inbox from then on) or its whole server (a domain block, see `blocks.py`).

What members write in the members' space is shown at once (they were approved as members);
the admin can hide or delete it afterwards, and the Group's copy that carried it to members on
Mastodon is then withdrawn by a `Delete` (see `group_copies`); shown again, it is copied anew."""

from __future__ import annotations

from activitypub.errors import BadRequest, NotFound, Rejected

from . import group_copies, members, storage
from .blocks import block_domain, forget_blocklist, is_account_blocked, parse_domain
from .instance import Instance
from .storage import Comment, DomainPurge, Post, utc_now_iso

__all__ = [
    "approve_comment",
    "block_account",
    "block_domain_of",
    "comment_status",
    "delete_comment",
    "edit_needs_review",
    "get_comment",
    "hide_comment",
    "refuse_blocked_account",
    "unblock_account",
]


async def comment_status(instance: Instance, author: str) -> str:
    """The state a new comment starts in: "published" when the admin chose to trust the
    accounts the association follows and it follows `author`, else "pending"."""
    if instance.settings.auto_approve_followed:
        follow = await storage.get_follow(instance.db, instance.association.uri, author)
        if follow is not None and follow.state == "accepted":
            return "published"
    return "pending"


async def edit_needs_review(instance: Instance, comment: Post, new_content: str) -> bool:
    """Whether an approved comment whose author changed its text waits for approval again:
    yes, unless its author is trusted (see `comment_status`); a spammer approved for a harmless
    text must not edit it into spam."""
    if comment.status != "published" or new_content == comment.content:
        return False
    return await comment_status(instance, comment.author) == "pending"


async def get_comment(instance: Instance, comment_id: int) -> Comment:
    """A remote reply to one of our posts that was not deleted."""
    comment = await storage.get_comment_by_id(instance.db, comment_id)
    if comment is None or comment.post.is_deleted:
        raise NotFound(f"no comment {comment_id}")
    return comment


async def approve_comment(instance: Instance, comment_id: int) -> Comment:
    """The comment shows under the post (also a hidden one, shown again)."""
    comment = await _set_status(instance, comment_id, "published")
    shown = await storage.get_post_by_uri(instance.db, comment.post.uri)
    if shown is not None and shown.is_private:
        await group_copies.republish(instance, shown)
    return comment


async def hide_comment(instance: Instance, comment_id: int) -> Comment:
    """The comment no longer shows, but stays on the desk where it can be approved again."""
    comment = await _set_status(instance, comment_id, "hidden")
    await group_copies.withdraw(instance, comment.post)
    return comment


async def _set_status(instance: Instance, comment_id: int, status: str) -> Comment:
    comment = await get_comment(instance, comment_id)
    async with instance.db.transaction() as tx:
        await storage.set_post_status(tx, comment.post.uri, status)
        await storage.delete_comment_edit(tx, comment.post.uri)
    return comment


async def delete_comment(instance: Instance, comment_id: int) -> Comment:
    """The comment's text is erased for good; the same reply sent again stays deleted."""
    comment = await get_comment(instance, comment_id)
    async with instance.db.transaction() as tx:
        await storage.mark_post_deleted(tx, comment.post.uri, utc_now_iso())
        await storage.delete_comment_edit(tx, comment.post.uri)
    await group_copies.withdraw(instance, comment.post)
    return comment


async def block_account(instance: Instance, actor: str) -> int:
    """Refuses everything from a remote account from now on: its comments are hidden, it no
    longer follows the association, and a member is removed from the members' space (told by a
    `Reject`, its words there withdrawn from the other members). Returns how many comments were
    hidden."""
    if instance.urls.is_local(actor):
        raise BadRequest("a local account cannot be blocked")
    if instance.members is not None and await members.is_member(instance, actor):
        await members.remove(instance, actor)
    try:
        async with instance.db.transaction() as tx:
            hidden = await storage.put_account_block(tx, actor)
    finally:
        forget_blocklist(instance)
    for original in await storage.list_group_originals_by_author(instance.db, actor):
        await group_copies.withdraw(instance, original)
    return hidden


async def unblock_account(instance: Instance, actor: str) -> bool:
    """Lifts a block; what was hidden stays hidden. Returns False when it was not blocked."""
    try:
        async with instance.db.transaction() as tx:
            return await storage.delete_account_block(tx, actor)
    finally:
        forget_blocklist(instance)


async def refuse_blocked_account(instance: Instance, actor: str) -> None:
    """Raises Rejected (403) when `actor` is a blocked account."""
    if await is_account_blocked(instance, actor):
        raise Rejected(f"{actor} is blocked on this instance")


async def block_domain_of(instance: Instance, actor: str) -> tuple[str, DomainPurge]:
    """Blocks the whole server of a comment's author; returns the domain and what was purged."""
    domain = parse_domain(actor)
    return domain, await block_domain(instance, domain, "blocked from a comment")
