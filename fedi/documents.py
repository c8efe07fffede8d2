"""ActivityStreams documents for what this instance publishes: actors, posts, activities, collections."""

from __future__ import annotations

from html import escape
from typing import Any

from activitypub.vocab import AS_CONTEXT, DEFAULT_CONTEXT, PUBLIC

from .config import Config
from .storage import LocalActor, Post
from .urls import Urls

COLLECTION_PAGE_SIZE = 20

NOTE_CONTEXT: list[Any] = [AS_CONTEXT, {"sensitive": "as:sensitive"}]


def actor_document(actor: LocalActor, config: Config) -> dict[str, Any]:
    urls = Urls(config.url)
    doc: dict[str, Any] = {
        "@context": DEFAULT_CONTEXT,
        "id": actor.uri,
        "type": actor.ap_type,
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": f"<p>{escape(actor.summary)}</p>" if actor.summary else "",
        "url": actor.uri,
        "inbox": f"{actor.uri}/inbox" if actor.kind != "instance" else urls.shared_inbox,
        "outbox": f"{actor.uri}/outbox",
        "followers": f"{actor.uri}/followers",
        "following": f"{actor.uri}/following",
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": actor.manually_approves,
        "discoverable": actor.kind != "instance",
        "indexable": actor.kind != "instance",
        "published": actor.created_at[:19] + "Z",
        "publicKey": {
            "id": actor.key_id,
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
    }
    if actor.kind != "instance":
        doc["icon"] = {"type": "Image", "mediaType": "image/png", "url": urls.logo}
    return doc


def post_audience(post: Post, author_followers: str) -> tuple[list[str], list[str]]:
    """(to, cc) of a post: public posts go to Public with followers in cc; others to followers only."""
    if post.visibility == "public":
        return [PUBLIC], [author_followers]
    return [author_followers], []


def post_html(post: Post) -> str:
    """The HTML content federated for a post: Mastodon shows a Note's `content` only, so the
    title is its first line."""
    if post.title:
        return f"<p><strong>{escape(post.title)}</strong></p>{post.content}"
    return post.content


def note_document(post: Post) -> dict[str, Any]:
    followers = f"{post.author}/followers"
    to, cc = post_audience(post, followers)
    doc: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": post.uri,
        "type": post.type,
        "attributedTo": post.author,
        "content": post_html(post),
        "url": post.url or post.uri,
        "published": post.published_at[:19] + "Z",
        "to": to,
        "cc": cc,
        "sensitive": False,
    }
    if post.title:
        doc["name"] = post.title
    if post.source is not None:
        doc["source"] = {"content": post.source, "mediaType": "text/markdown"}
    if post.in_reply_to:
        doc["inReplyTo"] = post.in_reply_to
    if post.updated_at:
        doc["updated"] = post.updated_at[:19] + "Z"
    return doc


def tombstone_document(post: Post) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": post.uri,
        "type": "Tombstone",
        "formerType": post.type,
        "deleted": (post.deleted_at or post.published_at)[:19] + "Z",
    }


def activity_document(
    uri: str, kind: str, actor: str, obj: Any, *, to: list[str], cc: list[str] | None = None,
    context: Any = AS_CONTEXT,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": context, "id": uri, "type": kind, "actor": actor,
                           "object": obj, "to": to}
    if cc:
        doc["cc"] = cc
    return doc


def without_context(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "@context"}


def ordered_collection(uri: str, total: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": AS_CONTEXT, "id": uri, "type": "OrderedCollection",
                           "totalItems": total}
    if total:
        doc["first"] = f"{uri}?page=1"
        doc["last"] = f"{uri}?page={max(1, -(-total // COLLECTION_PAGE_SIZE))}"
    return doc


def ordered_collection_page(uri: str, page: int, total: int, items: list[Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{uri}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": uri,
        "totalItems": total,
        "orderedItems": items,
    }
    if page * COLLECTION_PAGE_SIZE < total:
        doc["next"] = f"{uri}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{uri}?page={page - 1}"
    return doc
