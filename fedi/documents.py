"""ActivityStreams documents for what this instance publishes: actors, posts, activities, collections."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from activitypub.vocab import AS_CONTEXT, DEFAULT_CONTEXT, PUBLIC

from .config import Config
from .dates import day_and_time, local_moment
from .events import place_line, summary_text, zone_of
from .storage import Attachment, LocalActor, Post
from .urls import Urls

COLLECTION_PAGE_SIZE = 20

NOTE_CONTEXT: list[Any] = [AS_CONTEXT, {"sensitive": "as:sensitive"}]
EVENT_CONTEXT: list[Any] = [AS_CONTEXT, {
    "sensitive": "as:sensitive",
    "sc": "http://schema.org#",
    "mz": "https://joinmobilizon.org/ns#",
    "PostalAddress": "sc:PostalAddress",
    "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
    "streetAddress": "sc:streetAddress",
    "postalCode": "sc:postalCode",
    "addressLocality": "sc:addressLocality",
    "addressCountry": "sc:addressCountry",
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "category": "sc:category",
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "anonymousParticipationEnabled": {"@id": "mz:anonymousParticipationEnabled", "@type": "sc:Boolean"},
}]


def actor_document(actor: LocalActor, config: Config, logo_version: str = "") -> dict[str, Any]:
    """The actor as ActivityStreams. `logo_version` changes the icon's URL when the logo
    changes: Mastodon downloads an avatar again only when its URL is new."""
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
        "discoverable": actor.kind in ("association", "members"),
        "indexable": actor.kind == "association",
        "published": actor.created_at[:19] + "Z",
        "publicKey": {
            "id": actor.key_id,
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
    }
    if actor.kind in ("association", "members"):
        icon = f"{urls.logo}?v={logo_version}" if logo_version else urls.logo
        doc["icon"] = {"type": "Image", "mediaType": "image/png", "url": icon}
    return doc


def post_audience(post: Post, author_followers: str) -> tuple[list[str], list[str]]:
    """(to, cc) of a post: public posts go to Public with followers in cc; others to followers only."""
    if post.visibility == "public":
        return [PUBLIC], [author_followers]
    return [author_followers], []


def post_html(post: Post, timezone: str = "UTC", language: str = "fr") -> str:
    """The HTML content federated for a post: Mastodon shows a Note's `content` only, so the
    title is its first line and a link to the page (with everything on it) its last."""
    parts = [f"<p><strong>{escape(post.title)}</strong></p>"] if post.title else []
    if post.is_event and post.event_start:
        parts.append(f"<p>{escape(event_when_where(post, timezone, language))}</p>")
    parts.append(post.content)
    if post.is_local and post.in_reply_to is None and post.url:
        parts.append(f'<p><a href="{escape(post.url)}">{escape(post.url)}</a></p>')
    return "".join(parts)


def event_when_where(post: Post, timezone: str = "UTC", language: str = "fr") -> str:
    """One plain line for readers that show only text, in the association's time zone and language:
    'mardi 1 décembre 2026, 18 h 00 · Maison des associations, 3 rue X, 69001 Lyon'."""
    when = day_and_time(local_moment(post.event_start or "", timezone), language)
    address = place_line(post.event_place)
    return f"{when} · {address}" if address else when


def post_document(post: Post, attachments: list[Attachment] | None = None,
                  timezone: str = "UTC", language: str = "fr",
                  now: datetime | None = None) -> dict[str, Any]:
    """A local post as ActivityStreams: news is a `Note`, an event an `Event` (Mobilizon's
    fields; its summary names the date to come after `now`)."""
    if post.is_event:
        return event_document(post, attachments, timezone, language, now)
    return note_document(post, attachments, timezone, language)


def note_document(post: Post, attachments: list[Attachment] | None = None,
                  timezone: str = "UTC", language: str = "fr") -> dict[str, Any]:
    followers = f"{post.author}/followers"
    to, cc = post_audience(post, followers)
    doc: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": post.uri,
        "type": post.type,
        "attributedTo": post.author,
        "content": post_html(post, timezone, language),
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
    if attachments:
        base = post.uri.split("/posts/")[0]
        doc["attachment"] = [attachment_document(base, item) for item in attachments]
    return doc


def attachment_document(base_url: str, attachment: Attachment) -> dict[str, Any]:
    return {
        "type": "Image",
        "mediaType": attachment.media_type,
        "url": f"{base_url}/media/{attachment.filename}",
        "name": attachment.alt,
        "width": attachment.width,
        "height": attachment.height,
    }


def event_document(post: Post, attachments: list[Attachment] | None = None,
                   timezone: str = "UTC", language: str = "fr",
                   now: datetime | None = None) -> dict[str, Any]:
    """An `Event` as Mobilizon publishes one: `startTime`, `endTime`, `location` as a `Place`
    with a schema.org `PostalAddress`; `content` reads well where only text is shown, and
    `summary` (date, time and place in French) is what Mastodon shows with the name and a link."""
    doc = note_document(post, attachments, timezone, language)
    doc["@context"] = EVENT_CONTEXT
    doc["type"] = "Event"
    summary = summary_text(post, now or datetime.now(UTC), zone_of(timezone), language)
    if summary:
        doc["summary"] = escape(summary, quote=False)
    doc["startTime"] = _utc(post.event_start)
    if post.event_end:
        doc["endTime"] = _utc(post.event_end)
    if post.event_place:
        doc["location"] = place_document(post.event_place)
    doc["timezone"] = timezone
    doc["category"] = "MEETING"
    doc["joinMode"] = "external"
    doc["anonymousParticipationEnabled"] = False
    return doc


def place_document(place: dict[str, str]) -> dict[str, Any]:
    address = {
        "type": "PostalAddress",
        "streetAddress": place.get("street", ""),
        "postalCode": place.get("postal_code", ""),
        "addressLocality": place.get("locality", ""),
        "addressCountry": place.get("country", "France"),
    }
    return {"type": "Place", "name": place.get("name") or place.get("locality", ""), "address": address}


def _utc(iso: str | None) -> str:
    return (iso or "")[:19] + "Z"


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


def ordered_collection(uri: str, total: int, *, paged: bool = True) -> dict[str, Any]:
    """The collection's size, and links to its pages unless `paged` is False (a hidden list)."""
    doc: dict[str, Any] = {"@context": AS_CONTEXT, "id": uri, "type": "OrderedCollection",
                           "totalItems": total}
    if total and paged:
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
