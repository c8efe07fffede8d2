"""Rows as typed objects: the rest of the application never sees a raw row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .db import Row

__all__ = [
    "Account", "Attachment", "Delivery", "DomainBlock", "DomainPurge", "EventFields", "Follow",
    "HostState", "InboxItem", "Invitation", "LocalActor", "Membership", "Post", "RelaySubscription",
    "RemoteActor", "Session", "StoredActivity",
]


@dataclass(frozen=True)
class LocalActor:
    id: int
    username: str
    uri: str
    kind: str
    ap_type: str
    name: str
    summary: str
    manually_approves: bool
    private_key_pem: str
    public_key_pem: str
    created_at: str

    @property
    def key_id(self) -> str:
        return self.uri + "#main-key"

    @classmethod
    def from_row(cls, row: Row) -> LocalActor:
        return cls(**{**dict(row), "manually_approves": bool(row["manually_approves"])})


@dataclass(frozen=True)
class RemoteActor:
    uri: str
    host: str
    type: str
    inbox: str
    shared_inbox: str | None
    preferred_username: str | None
    name: str | None
    public_key_id: str | None
    public_key_pem: str | None
    raw: dict[str, Any]
    fetched_at: float

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox

    @property
    def handle(self) -> str:
        return f"@{self.preferred_username or '?'}@{self.host}"

    @classmethod
    def from_row(cls, row: Row) -> RemoteActor:
        return cls(**{**dict(row), "raw": json.loads(row["raw"])})


@dataclass(frozen=True)
class Follow:
    follower: str
    followee: str
    activity_uri: str | None
    state: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Follow:
        return cls(**dict(row))


@dataclass(frozen=True)
class Membership:
    """A member of a Group, or someone asking to be one: a remote account or a local person."""

    actor_uri: str
    state: str  # pending | accepted
    since: str
    follow_uri: str | None
    handle: str  # @name@host, or the local person's name
    name: str
    is_local: bool

    @classmethod
    def from_row(cls, row: Row) -> Membership:
        is_local = row["local_username"] is not None
        if is_local:
            handle, name = row["local_username"], row["local_name"] or row["local_username"]
        else:
            host = row["remote_host"] or ""
            handle = f"@{row['remote_username'] or '?'}@{host}"
            name = row["remote_name"] or row["remote_username"] or handle
        return cls(actor_uri=row["follower"], state=row["state"], since=row["created_at"],
                   follow_uri=row["activity_uri"], handle=handle, name=name, is_local=is_local)


@dataclass(frozen=True)
class Post:
    id: int
    uri: str
    author: str
    is_local: bool
    type: str
    title: str | None
    content: str
    source: str | None
    in_reply_to: str | None
    visibility: str
    status: str
    url: str | None
    raw: dict[str, Any] | None
    published_at: str
    updated_at: str | None
    deleted_at: str | None
    scheduled_at: str | None = None
    event_start: str | None = None  # UTC ISO; set on events only
    event_end: str | None = None
    event_place: dict[str, str] | None = None  # name, street, postal_code, locality, country
    event_recurrence: str | None = None  # an RFC 5545 RRULE, e.g. FREQ=WEEKLY;INTERVAL=3
    group_uri: str | None = None  # the Group whose members alone may see it

    @property
    def is_private(self) -> bool:
        """Seen by the members of a Group only (404 to everyone else, everywhere)."""
        return self.group_uri is not None

    @property
    def is_deleted(self) -> bool:
        return self.status == "deleted"

    @property
    def is_event(self) -> bool:
        return self.type == "Event"

    @property
    def is_visible(self) -> bool:
        """Whether the public may see it (or its tombstone): not a draft, not scheduled."""
        return self.status in ("published", "deleted")

    @classmethod
    def from_row(cls, row: Row) -> Post:
        data = dict(row)
        data["is_local"] = bool(data["is_local"])
        data["raw"] = json.loads(data["raw"]) if data["raw"] else None
        data["event_place"] = json.loads(data["event_place"]) if data.get("event_place") else None
        return cls(**data)


@dataclass(frozen=True)
class EventFields:
    """When and where an event happens, as the desk gives it (times in UTC ISO)."""

    start: str
    end: str | None = None
    place: dict[str, str] | None = None  # name, street, postal_code, locality, country
    recurrence: str | None = None  # an RFC 5545 RRULE, e.g. FREQ=WEEKLY;INTERVAL=3


@dataclass(frozen=True)
class Attachment:
    """A photo of a local post, with the alt text its editor gave."""

    media_id: int
    filename: str
    media_type: str
    width: int
    height: int
    alt: str

    @classmethod
    def from_row(cls, row: Row) -> Attachment:
        return cls(**dict(row))


@dataclass(frozen=True)
class Account:
    """Someone who logs in: `role` is what they may do on the desk (admin: settings, accounts,
    moderation; editor: posts; member: nothing there), and `actor_uri` their `Person` actor when
    they are a member of the members' space. One person, one account, its roles together."""

    id: int
    username: str
    password_hash: str
    role: str
    created_at: str
    actor_uri: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def uses_desk(self) -> bool:
        return self.role in ("admin", "editor")

    @property
    def roles(self) -> frozenset[str]:
        held = {self.role} if self.role != "member" else set()
        return frozenset(held | ({"member"} if self.actor_uri else set()))

    @classmethod
    def from_row(cls, row: Row) -> Account:
        return cls(**dict(row))


@dataclass(frozen=True)
class Invitation:
    """A one-time link: to join the members' space ("join"), or to set a new password ("reset")."""

    id: int
    purpose: str
    group_uri: str
    account_id: int | None
    account_name: str | None  # the account it created (join) or resets
    created_by: str
    created_at: str
    expires_at: str
    used_at: str | None
    revoked_at: str | None

    def state(self, now_iso: str) -> str:
        """waiting | used | revoked | expired"""
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= now_iso else "waiting"

    @classmethod
    def from_row(cls, row: Row) -> Invitation:
        data = dict(row)
        return cls(id=data["id"], purpose=data["purpose"], group_uri=data["group_uri"],
                   account_id=data["account_id"], account_name=data["account_name"],
                   created_by=data["created_by"], created_at=data["created_at"],
                   expires_at=data["expires_at"], used_at=data["used_at"], revoked_at=data["revoked_at"])


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: float


@dataclass(frozen=True)
class StoredActivity:
    id: int
    uri: str
    actor: str
    type: str
    object_uri: str | None
    public: bool
    body: dict[str, Any]
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> StoredActivity:
        data = dict(row)
        return cls(**{**data, "public": bool(data["public"]), "body": json.loads(data["body"])})


@dataclass(frozen=True)
class Delivery:
    id: int
    activity_id: int
    inbox: str
    host: str
    attempts: int
    body: bytes
    signer_uri: str

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        return cls(
            id=row["id"],
            activity_id=row["activity_id"],
            inbox=row["inbox"],
            host=row["host"],
            attempts=row["attempts"],
            body=row["body"].encode(),
            signer_uri=row["actor"],
        )


@dataclass(frozen=True)
class InboxItem:
    id: int
    activity_uri: str
    actor: str
    type: str
    body: dict[str, Any]
    attempts: int

    @classmethod
    def from_row(cls, row: Row) -> InboxItem:
        return cls(
            id=row["id"],
            activity_uri=row["activity_uri"],
            actor=row["actor"],
            type=row["type"],
            body=json.loads(row["body"]),
            attempts=row["attempts"],
        )


@dataclass(frozen=True)
class HostState:
    host: str
    first_failure_at: float | None
    unavailable: bool
    retry_after: float
    signature_scheme: str | None


@dataclass(frozen=True)
class DomainBlock:
    domain: str
    reason: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> DomainBlock:
        return cls(**dict(row))


@dataclass(frozen=True)
class DomainPurge:
    """What blocking a domain removed: rows of its actors, and deliveries to it left unsent."""

    actors: int
    follows: int
    posts: int
    reactions: int
    inbox: int
    deliveries: int
    subscriptions: int  # relay mode: the domain's subscription ends


@dataclass(frozen=True)
class RelaySubscription:
    domain: str
    actor: str
    inbox: str
    follow: dict[str, Any]
    state: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> RelaySubscription:
        return cls(**{**dict(row), "follow": json.loads(row["follow"])})
