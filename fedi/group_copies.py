"""A Group re-publishes what its members write, the way a mailing list redistributes mail.

Mastodon addresses a reply to a followers-only post to the replier's own followers and the
mentioned Group, and signs nothing a Group could forward verifiably; a local member's comment
reaches nobody outside the site. So the Group publishes each accepted member's reply (or post
in the space) as its own followers-only `Note`: the author named with a link to their account
(not a `Mention`, which would notify them of their own words), `inReplyTo` the Group's copy of
what it answers (threads kept). The author's later edits and deletion reach the copy too.
"""

from __future__ import annotations

from html import escape

from . import storage
from .instance import Instance
from .outbox import delete_post, send_post
from .storage import LocalActor, Post, utc_now_iso


async def republish(instance: Instance, original: Post) -> Post | None:
    """The Group's copy of a member's stored post (which names the Group in `group_uri`),
    published now for every member; the existing copy if there is one (a new one when the
    admin shows again what was hidden); None if the Group is not ours."""
    group = await _group_of(instance, original)
    if group is None or original.group_uri is None:
        return None
    existing = await _copy_of(instance, original)
    if existing is not None:
        return existing
    parent = await _copy_or_self(instance, original.in_reply_to)
    content = await _copy_content(instance, original)  # read before the transaction holds the database
    uri = instance.urls.new_post()
    async with instance.db.transaction() as tx:
        await storage.put_post(
            tx, uri=uri, author=group.uri, is_local=True, type="Note", title=original.title,
            content=content, source=None, in_reply_to=parent,
            visibility="followers", status="published", url=uri, raw=None,
            published_at=utc_now_iso(), group_uri=original.group_uri)
        await storage.put_group_copy(tx, original.uri, uri, original.group_uri)
        copy = await storage.get_post_by_uri(tx, uri)
        assert copy is not None
        await send_post(instance, tx, group, "Create", copy)
    return copy


async def follow_edit(instance: Instance, original: Post) -> None:
    """The author edited the original (already stored): the copy says the same, by an Update."""
    copy = await _copy_of(instance, original)
    group = await _group_of(instance, original)
    if copy is None or group is None:
        return
    content = await _copy_content(instance, original)
    async with instance.db.transaction() as tx:
        await storage.update_post(tx, copy.uri, title=original.title, content=content, source=None,
                                  raw=None, updated_at=utc_now_iso())
        edited = await storage.get_post_by_uri(tx, copy.uri)
        assert edited is not None
        await send_post(instance, tx, group, "Update", edited)


async def withdraw(instance: Instance, original: Post) -> None:
    """The original was deleted (or hidden by the admin): the copy is deleted, by a Delete."""
    copy = await _copy_of(instance, original)
    if copy is not None:
        await delete_post(instance, copy.uri)


async def original_of(instance: Instance, uri: str) -> str:
    """What a post of the space stands for on the site: a copy stands for its original."""
    return await storage.get_group_original(instance.db, uri) or uri


async def _copy_of(instance: Instance, original: Post) -> Post | None:
    uri = await storage.get_group_copy(instance.db, original.uri)
    copy = await storage.get_post_by_uri(instance.db, uri) if uri else None
    return copy if copy is not None and not copy.is_deleted else None


async def _copy_or_self(instance: Instance, uri: str | None) -> str | None:
    if uri is None:
        return None
    return await storage.get_group_copy(instance.db, uri) or uri


async def _group_of(instance: Instance, post: Post) -> LocalActor | None:
    group = await instance.get_local_actor(post.group_uri) if post.group_uri else None
    return group if group is not None and group.ap_type == "Group" else None


async def _copy_content(instance: Instance, original: Post) -> str:
    """The member's words, after a line naming them with a link to their account."""
    name, link = await author_line(instance, original.author)
    return f'<p><a href="{escape(link)}">{escape(name)}</a>\u202f:</p>{original.content}'


async def author_line(instance: Instance, author: str) -> tuple[str, str]:
    """An author's name and the link to their account (a deleted one: its URL)."""
    local = await instance.get_local_actor(author)
    if local is not None:
        return local.name or local.username, local.uri
    remote = await storage.get_remote_actor_by_uri(instance.db, author)
    if remote is None:
        return author, author
    url = remote.raw.get("url")
    profile = url if isinstance(url, str) and url.startswith(("https://", "http://")) else remote.uri
    return remote.name or remote.handle, profile
