"""What the association does: publish, edit, delete its posts, update its profile (follows: `following`).

Each action stores its object and activity and queues one delivery per target inbox, all in
one transaction (see `delivery.py` for the sending side).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activitypub.errors import BadRequest, NotFound
from activitypub.vocab import AS_CONTEXT, PUBLIC

from . import storage
from .content import plain_text, render_markdown
from .delivery import enqueue
from .documents import (
    activity_document,
    actor_document,
    post_audience,
    post_document,
    tombstone_document,
    without_context,
)
from .instance import Instance
from .storage import EventFields, LocalActor, Post, utc_now_iso

MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 50_000


class AudienceFixed(BadRequest):
    """A published post cannot change audience: peers ignore such an Update, and a public post has
    already been spread by the relays. It can only be deleted and published again."""


def _check_text(text: str, title: str | None) -> tuple[str, str | None]:
    text = text.strip()
    if not text:
        raise BadRequest("the text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise BadRequest(f"the text is longer than {MAX_TEXT_LENGTH} characters")
    title = plain_text(title) or None
    if title and len(title) > MAX_TITLE_LENGTH:
        raise BadRequest(f"the title is longer than {MAX_TITLE_LENGTH} characters")
    return text, title


async def publish_post(
    instance: Instance, text: str, *, title: str | None = None, visibility: str = "public",
    author: LocalActor | None = None, media: list[tuple[int, str]] | None = None,
    event: EventFields | None = None, status: str = "published", scheduled_at: str | None = None,
) -> Post:
    """Markdown in, a Note (or, with `event`, an Event) out to every follower: a public post
    is the association's; a members' post ("followers") is the members' space's, sent to its
    approved members only (see `publisher_for`). With `status`
    "draft" or "scheduled" (at `scheduled_at`, UTC ISO) it is stored and nothing is sent yet;
    scheduled at a time already past, it is published now. `media` are the photos: (media id,
    alt text) in order."""
    text, title = _check_text(text, title)
    if status not in ("published", "draft", "scheduled"):
        raise BadRequest(f"unknown status {status!r}")
    if status == "scheduled" and not scheduled_at:
        raise BadRequest("a scheduled post needs a date")
    if status == "scheduled" and _is_past(scheduled_at):
        status = "published"
    author = author or publisher_for(instance, visibility)
    uri = instance.urls.new_post()
    async with instance.db.transaction() as tx:
        await storage.put_post(
            tx, uri=uri, author=author.uri, is_local=True, type="Event" if event else "Note",
            title=title, content=render_markdown(text), source=text, in_reply_to=None,
            visibility=visibility, status=status, url=uri, raw=None, published_at=utc_now_iso(),
            scheduled_at=scheduled_at if status == "scheduled" else None, event=event,
            group_uri=_group_of(author, visibility),
        )
        if media:
            await storage.set_post_media(tx, uri, media)
        post = await storage.get_post_by_uri(tx, uri)
        assert post is not None
        if status == "published":
            await send_post(instance, tx, author, "Create", post)
    return post


async def publish_now(instance: Instance, uri: str) -> Post:
    """A draft or scheduled post goes out: stamped with the current time, sent as a Create."""
    post = await _own_post(instance, uri)
    if post.status == "published":
        return post
    author = await instance.get_local_actor(post.author)
    assert author is not None
    async with instance.db.transaction() as tx:
        await storage.set_post_published(tx, uri, utc_now_iso())
        published = await storage.get_post_by_uri(tx, uri)
        assert published is not None
        await send_post(instance, tx, author, "Create", published)
    return published


async def keep_for_later(instance: Instance, uri: str, scheduled_at: str | None) -> Post:
    """A post not yet published becomes a draft (no date) or is scheduled at `scheduled_at`
    (UTC ISO); a time already past publishes it now."""
    if _is_past(scheduled_at):
        return await publish_now(instance, uri)
    await _own_post(instance, uri)
    async with instance.db.transaction() as tx:
        await storage.set_post_schedule(tx, uri, "scheduled" if scheduled_at else "draft", scheduled_at)
    return await _own_post(instance, uri)


def publisher_for(instance: Instance, visibility: str) -> LocalActor:
    """Who publishes a post for `visibility`: the association for everyone, the members' space
    for members ("followers" of the Group, which approves each one). An instance without a
    members' space (a relay) has no members' posts."""
    if visibility == "public":
        return instance.association
    if visibility != "followers" or instance.members is None:
        raise BadRequest(f"no audience {visibility!r} here")
    return instance.members


def _group_of(author: LocalActor, visibility: str) -> str | None:
    return author.uri if author.ap_type == "Group" and visibility != "public" else None


def _is_past(scheduled_at: str | None) -> bool:
    return scheduled_at is not None and scheduled_at <= utc_now_iso()


async def publish_due_posts(instance: Instance) -> int:
    """Publishes the scheduled posts whose time has come; returns how many went out."""
    due = await storage.list_due_scheduled_posts(instance.db, utc_now_iso())
    for post in due:
        await publish_now(instance, post.uri)
    return len(due)


async def edit_post(
    instance: Instance, uri: str, text: str, *, title: str | None = None,
    media: list[tuple[int, str]] | None = None, event: EventFields | None = None,
    visibility: str | None = None,
) -> Post:
    """New text (and photos, event details, audience when given). A published post sends an
    Update, and keeps its audience (AudienceFixed if another is asked); a draft just changes."""
    post = await _own_post(instance, uri)
    published = post.status == "published"
    if published and visibility not in (None, post.visibility):
        raise AudienceFixed(f"{uri} is published as {post.visibility}")
    text, new_title = _check_text(text, title)
    new_title = new_title if title is not None else post.title
    if event is not None and not post.is_event:
        raise BadRequest("news cannot become an event")
    author = await instance.get_local_actor(post.author)
    assert author is not None
    async with instance.db.transaction() as tx:
        if visibility is not None and not published and visibility != post.visibility:
            author = publisher_for(instance, visibility)
            await storage.set_post_audience(tx, uri, visibility, author.uri, _group_of(author, visibility))
        await storage.update_post(tx, uri, title=new_title, content=render_markdown(text),
                                  source=text, raw=None, event=event,
                                  updated_at=utc_now_iso() if published else None)
        if media is not None:
            await storage.set_post_media(tx, uri, media)
        edited = await storage.get_post_by_uri(tx, uri)
        assert edited is not None
        if published:
            await send_post(instance, tx, author, "Update", edited)
    return edited


async def save_post(
    instance: Instance, uri: str, text: str, *, title: str | None = None,
    media: list[tuple[int, str]] | None = None, event: EventFields | None = None,
    visibility: str | None = None, status: str = "draft", scheduled_at: str | None = None,
) -> Post:
    """What the editor's Save does: the new text (as `edit_post`), then a post not yet published
    is published now (`status` "published"), scheduled at `scheduled_at` (a time already past
    publishes it now) or kept as a draft. A published post stays published."""
    if status not in ("published", "draft", "scheduled"):
        raise BadRequest(f"unknown status {status!r}")
    post = await edit_post(instance, uri, text, title=title, media=media, event=event,
                           visibility=visibility)
    if post.status == "published":
        return post
    if status == "published":
        return await publish_now(instance, uri)
    return await keep_for_later(instance, uri, scheduled_at if status == "scheduled" else None)


async def republish_for_other_audience(instance: Instance, uri: str) -> Post:
    """A published post goes out again, same text, photos and event details, for the other
    audience (public ↔ the members' space), and the old one is deleted (its Delete federates). The
    new one is published first, so nothing is lost if the deletion fails."""
    post = await _own_post(instance, uri)
    if post.status != "published":
        raise BadRequest(f"{uri} is not published")
    visibility = "public" if post.visibility == "followers" else "followers"
    again = await _publish_again(instance, post, visibility)
    await delete_post(instance, uri)
    return again


async def copy_to_members_space(instance: Instance, uri: str) -> Post:
    """A post the association sent to all its followers "for members" before the members' space
    existed is published again in the space (same text, photos, event); the old one stays as it
    is until an editor deletes it: nobody's audience changes silently."""
    return await _publish_again(instance, await _own_post(instance, uri), "followers")


async def _publish_again(instance: Instance, post: Post, visibility: str) -> Post:
    """A new post with `post`'s text, title, photos and event details, for `visibility`."""
    media = [(photo.media_id, photo.alt) for photo in await storage.list_attachments(instance.db, post.uri)]
    event = EventFields(post.event_start, post.event_end, post.event_place,
                        post.event_recurrence) if post.is_event and post.event_start else None
    return await publish_post(instance, post.source or plain_text(post.content), title=post.title,
                              visibility=visibility, media=media, event=event)


async def delete_post(instance: Instance, uri: str) -> None:
    """A published post leaves a Tombstone and sends a Delete; a draft just goes."""
    post = await _own_post(instance, uri)
    author = await instance.get_local_actor(post.author)
    assert author is not None
    async with instance.db.transaction() as tx:
        if post.status != "published":
            await storage.delete_draft(tx, uri)
            return
        await storage.mark_post_deleted(tx, uri, utc_now_iso())
        deleted = await storage.get_post_by_uri(tx, uri)
        assert deleted is not None
        await _send(instance, tx, author, "Delete", without_context(tombstone_document(deleted)),
                    post)


async def _own_post(instance: Instance, uri: str) -> Post:
    post = await storage.get_post_by_uri(instance.db, uri)
    if post is None or not post.is_local or post.is_deleted:
        raise NotFound(f"no post {uri} on this instance")
    return post


async def send_post(
    instance: Instance, tx: storage.Transaction, author: LocalActor, kind: str, post: Post
) -> None:
    """Queues a stored post's Create or Update for its audience, inside the caller's transaction."""
    attachments = await storage.list_attachments(tx, post.uri)
    document = post_document(post, attachments, instance.config.timezone, instance.settings.language,
                             datetime.fromtimestamp(instance.clock(), UTC))
    await _send(instance, tx, author, kind, document, post)


async def _send(
    instance: Instance, tx: storage.Transaction, actor: LocalActor, kind: str,
    obj: dict[str, Any], post: Post,
) -> None:
    """Wraps a post's object in an activity for the author's followers and, when the post is
    public, for the relays this instance subscribes to."""
    to, cc = post_audience(post, f"{actor.uri}/followers")
    inboxes = await storage.list_follower_inboxes(tx, actor.uri)
    if PUBLIC in to:
        inboxes += await storage.list_followed_inboxes(tx, instance.instance_actor.uri)
    document = activity_document(instance.urls.new_activity(), kind, actor.uri,
                                 without_context(obj), to=to, cc=cc,
                                 context=obj.get("@context", AS_CONTEXT))
    await enqueue(instance, tx, actor, document, inboxes, public=PUBLIC in to)


async def update_actor(instance: Instance, tx: storage.Transaction, actor: LocalActor,
                       logo_version: str | None = None) -> None:
    """A local actor's profile changed (name, presentation, logo), inside the caller's
    transaction: an Update of it is queued for its followers, whose servers show the new one.
    `logo_version` names a logo about to replace the current one."""
    version = logo_version if logo_version is not None else instance.logo_version
    profile = actor_document(actor, instance.config, version)
    document = activity_document(instance.urls.new_activity(), "Update", actor.uri,
                                 without_context(profile), to=[PUBLIC],
                                 cc=[f"{actor.uri}/followers"], context=profile["@context"])
    inboxes = await storage.list_follower_inboxes(tx, actor.uri)
    await enqueue(instance, tx, actor, document, inboxes, public=True)
