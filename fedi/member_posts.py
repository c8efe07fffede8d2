"""What local members write in the members' space from the site: a discussion of their own, or
a comment. Each is a post of their `Person` actor kept for the space's members, then
re-published by the Group so that members on Mastodon see it too (see `group_copies`)."""

from __future__ import annotations

from activitypub.errors import BadRequest, NotFound

from . import group_copies, members, storage
from .content import render_markdown
from .instance import Instance
from .outbox import MAX_TEXT_LENGTH
from .storage import Account, Post, utc_now_iso


async def write(instance: Instance, account: Account, text: str, *, in_reply_to: str | None = None) -> Post:
    """A member's post in the space (`in_reply_to` None) or comment on one of its posts."""
    space = members.space_of(instance)
    if account.actor_uri is None or not await members.is_member(instance, account.actor_uri):
        raise NotFound("not a member of the space")
    text = text.strip()
    if not text:
        raise BadRequest("the text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"the text is longer than {MAX_TEXT_LENGTH} characters")
    if in_reply_to is not None:
        parent = await storage.get_post_by_uri(instance.db, in_reply_to)
        if parent is None or parent.group_uri != space.uri or parent.status != "published":
            raise NotFound("no such post in the space")
    uri = instance.urls.new_post()
    async with instance.db.transaction() as tx:
        await storage.put_post(
            tx, uri=uri, author=account.actor_uri, is_local=True, type="Note", title=None,
            content=render_markdown(text), source=text, in_reply_to=in_reply_to,
            visibility="followers", status="published", url=uri, raw=None,
            published_at=utc_now_iso(), group_uri=space.uri)
    post = await storage.get_post_by_uri(instance.db, uri)
    assert post is not None
    await group_copies.republish(instance, post)
    return post


async def authors(instance: Instance, posts: list[Post]) -> dict[str, tuple[str, str]]:
    """For each author of `posts`: the name to show and the link to their account."""
    return {post.author: await group_copies.author_line(instance, post.author) for post in posts}
