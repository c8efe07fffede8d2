"""ActivityStreams vocabulary: constants, tolerant parsing of what peers send, and typed objects.

Peers send a single value or a list, an id or an embedded object, `content` or only `contentMap`.
Each `parse_*` function turns such JSON into a frozen dataclass once, at the boundary; the rest of
the code never indexes into raw dicts. A parse function raises `BadRequest` when a required
property is missing or has an impossible shape, and ignores what it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .errors import BadRequest

__all__ = [
    "PUBLIC",
    "AS_CONTEXT",
    "SECURITY_CONTEXT",
    "DEFAULT_CONTEXT",
    "ACTOR_TYPES",
    "Activity",
    "Actor",
    "Attachment",
    "Note",
    "as_list",
    "as_id",
    "as_ids",
    "host_of",
    "same_origin",
    "is_public",
    "parse_activity",
    "parse_actor",
    "parse_note",
    "parse_datetime",
    "format_datetime",
]

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_ALIASES = {PUBLIC, "as:Public", "Public"}
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
DEFAULT_CONTEXT: list[Any] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    },
]
ACTOR_TYPES = frozenset({"Person", "Organization", "Group", "Application", "Service"})
_AS_TYPES = ACTOR_TYPES | {
    "Accept", "Add", "Announce", "Arrive", "Block", "Create", "Delete", "Dislike", "Flag", "Follow",
    "Ignore", "Invite", "Join", "Leave", "Like", "Listen", "Move", "Offer", "Question", "Read",
    "Reject", "Remove", "TentativeAccept", "TentativeReject", "Travel", "Undo", "Update", "View",
    "Article", "Audio", "Document", "Event", "Image", "Note", "Page", "Place", "Profile",
    "Relationship", "Tombstone", "Video", "Collection", "OrderedCollection", "CollectionPage",
    "OrderedCollectionPage", "Link", "Mention",
}
MAX_ID_LENGTH = 2048
TYPES_WITH_OBJECT = frozenset(
    {"Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete", "Like", "Announce", "Move"}
)


def as_list(value: Any) -> list[Any]:
    """A JSON-LD property as a list: absent → [], single value → [value]."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_id(value: Any) -> str | None:
    """The id of a property that may be an id string, an embedded object, or a one-item list."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, str):
        return value if _is_http_url(value) else None
    if isinstance(value, dict):
        return as_id(value.get("id"))
    return None


def as_ids(value: Any) -> list[str]:
    """All ids of a property holding ids and/or embedded objects, in order, without duplicates."""
    ids: list[str] = []
    for item in as_list(value):
        if isinstance(item, str) and item in _PUBLIC_ALIASES:
            item_id: str | None = PUBLIC
        else:
            item_id = as_id(item)
        if item_id and item_id not in ids:
            ids.append(item_id)
    return ids


def host_of(url: str) -> str:
    """The authority of a URL, lower-cased, port included when present."""
    return urlsplit(url).netloc.lower()


def same_origin(a: str, b: str) -> bool:
    sa, sb = urlsplit(a), urlsplit(b)
    return sa.scheme == sb.scheme and sa.netloc.lower() == sb.netloc.lower()


def is_public(audience: list[str]) -> bool:
    return PUBLIC in audience


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=8192)  # the same actor and object ids come again and again
def _is_http_url(value: str) -> bool:
    if len(value) > MAX_ID_LENGTH:
        return False
    try:
        parts = urlsplit(value)
        port_ok = parts.port != 0  # reading .port raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname) and port_ok


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _language_text(data: dict[str, Any], key: str, languages: tuple[str, ...]) -> str | None:
    """`content`, or else the best entry of `contentMap` (preferred languages first)."""
    direct = _text(data.get(key))
    if direct is not None:
        return direct
    mapping = data.get(key + "Map")
    if not isinstance(mapping, dict):
        return None
    for language in languages:
        if isinstance(mapping.get(language), str):
            return str(mapping[language])
    for text in mapping.values():
        if isinstance(text, str):
            return text
    return None


def _require_type(data: Any) -> str:
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    kind = data.get("type")
    if isinstance(kind, list):  # several types: the ActivityStreams one, whatever its position
        names = [k for k in kind if isinstance(k, str)]
        kind = next((k for k in names if k in _AS_TYPES), names[0] if names else None)
    if not isinstance(kind, str) or not kind:
        raise BadRequest("missing 'type'")
    return kind


@dataclass(frozen=True)
class Activity:
    id: str | None
    type: str
    actor: str
    object_id: str | None
    object: dict[str, Any] | None  # the embedded object, when the activity carries one
    target: str | None
    to: list[str]
    cc: list[str]
    raw: dict[str, Any] = field(repr=False)

    @property
    def audience(self) -> list[str]:
        return self.to + [a for a in self.cc if a not in self.to]


def parse_activity(data: Any) -> Activity:
    kind = _require_type(data)
    actor = as_id(data.get("actor"))
    if actor is None:
        raise BadRequest("missing or invalid 'actor'")
    raw_id = data.get("id")
    if raw_id is not None and as_id(raw_id) is None:
        raise BadRequest("invalid 'id'")
    obj = data.get("object")
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]
    if isinstance(obj, str) and obj in _PUBLIC_ALIASES:  # a relay subscription, in compact JSON-LD
        obj = PUBLIC
    object_id = as_id(obj) if not isinstance(obj, list) else None
    if kind in TYPES_WITH_OBJECT and object_id is None and not isinstance(obj, dict):
        raise BadRequest(f"{kind} without a valid 'object'")
    return Activity(
        id=as_id(raw_id),
        type=kind,
        actor=actor,
        object_id=object_id,
        object=obj if isinstance(obj, dict) else None,
        target=as_id(data.get("target")),
        to=as_ids(data.get("to")),
        cc=as_ids(data.get("cc")),
        raw=data,
    )


@dataclass(frozen=True)
class Actor:
    id: str
    type: str
    inbox: str
    shared_inbox: str | None
    public_key_id: str | None
    public_key_pem: str | None
    preferred_username: str | None
    name: str | None
    summary: str | None
    url: str | None
    icon_url: str | None
    outbox: str | None
    followers: str | None
    following: str | None
    manually_approves_followers: bool
    also_known_as: list[str]
    moved_to: str | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox


def _public_key(data: dict[str, Any], actor_id: str) -> tuple[str | None, str | None]:
    for key in as_list(data.get("publicKey")):
        if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
            key_id = as_id(key.get("id"))
            owner = as_id(key.get("owner")) or actor_id
            if key_id and owner == actor_id:
                return key_id, key["publicKeyPem"]
    return None, None


def _icon_url(value: Any) -> str | None:
    for icon in as_list(value):
        if isinstance(icon, str):
            return icon if _is_http_url(icon) else None
        if isinstance(icon, dict):
            return as_id(icon.get("url"))
    return None


def parse_actor(data: Any) -> Actor:
    kind = _require_type(data)
    actor_id = as_id(data.get("id"))
    if actor_id is None:
        raise BadRequest("actor without a valid 'id'")
    inbox = as_id(data.get("inbox"))
    if inbox is None:
        raise BadRequest("actor without an 'inbox'")
    endpoints = data.get("endpoints")
    shared = as_id(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    key_id, key_pem = _public_key(data, actor_id)
    return Actor(
        id=actor_id,
        type=kind,
        inbox=inbox,
        shared_inbox=shared,
        public_key_id=key_id,
        public_key_pem=key_pem,
        preferred_username=_text(data.get("preferredUsername")),
        name=_text(data.get("name")),
        summary=_text(data.get("summary")),
        url=as_id(data.get("url")),
        icon_url=_icon_url(data.get("icon")),
        outbox=as_id(data.get("outbox")),
        followers=as_id(data.get("followers")),
        following=as_id(data.get("following")),
        manually_approves_followers=data.get("manuallyApprovesFollowers") is True,
        also_known_as=as_ids(data.get("alsoKnownAs")),
        moved_to=as_id(data.get("movedTo")),
        raw=data,
    )


@dataclass(frozen=True)
class Attachment:
    url: str
    media_type: str | None
    name: str | None


@dataclass(frozen=True)
class Note:
    """Any content object (Note, Article, Question, Event, Page...) read as a post."""

    id: str
    type: str
    attributed_to: str
    content: str
    name: str | None
    summary: str | None
    in_reply_to: str | None
    url: str | None
    published: datetime | None
    updated: datetime | None
    to: list[str]
    cc: list[str]
    sensitive: bool
    attachments: list[Attachment]
    raw: dict[str, Any] = field(repr=False)

    @property
    def audience(self) -> list[str]:
        return self.to + [a for a in self.cc if a not in self.to]


def _attachments(value: Any) -> list[Attachment]:
    found = []
    for item in as_list(value)[:20]:
        if not isinstance(item, dict):
            continue
        url = as_id(item.get("url")) or as_id(item.get("href"))
        if url:
            found.append(Attachment(url, _text(item.get("mediaType")), _text(item.get("name"))))
    return found


def parse_note(data: Any, languages: tuple[str, ...] = ("fr", "en")) -> Note:
    kind = _require_type(data)
    note_id = as_id(data.get("id"))
    if note_id is None:
        raise BadRequest("object without a valid 'id'")
    # PeerTube attributes a video to [account (Person), channel (Group)]: the account comes first
    author = next(iter(as_ids(data.get("attributedTo"))), None)
    if author is None:
        raise BadRequest("object without 'attributedTo'")
    return Note(
        id=note_id,
        type=kind,
        attributed_to=author,
        content=_language_text(data, "content", languages) or "",
        name=_language_text(data, "name", languages),
        summary=_language_text(data, "summary", languages),
        in_reply_to=as_id(data.get("inReplyTo")),
        url=as_id(data.get("url")),
        published=parse_datetime(data.get("published")),
        updated=parse_datetime(data.get("updated")),
        to=as_ids(data.get("to")),
        cc=as_ids(data.get("cc")),
        sensitive=data.get("sensitive") is True,
        attachments=_attachments(data.get("attachment")),
        raw=data,
    )
