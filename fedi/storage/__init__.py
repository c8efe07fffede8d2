"""Storage: the database (SQLite; PostgreSQL for a relay at scale) and the modules of queries.

Functions that take a `Transaction` are steps of a larger transaction opened by the caller
(`async with db.transaction() as tx`); functions that take a `Database` commit on their own.
"""

from .db import Database, StorageError, Transaction
from .events import *  # noqa: F401,F403  (upcoming events)
from .models import (
    Account,
    Attachment,
    Delivery,
    DomainBlock,
    DomainPurge,
    EventFields,
    Follow,
    HostState,
    InboxItem,
    LocalActor,
    Post,
    RelaySubscription,
    RemoteActor,
    Session,
    StoredActivity,
)
from .moderation import *  # noqa: F401,F403  (comments waiting for review, blocked accounts)
from .network import *  # noqa: F401,F403  (the relay's pages and admin)
from .pages import *  # noqa: F401,F403  (static pages, booklet, greeters, contact messages)
from .queries import *  # noqa: F401,F403  (the query functions are the storage API)
from .site import *  # noqa: F401,F403  (accounts, sessions, settings, the desk's posts)

__all__ = [
    "Database",
    "StorageError",
    "Transaction",
    "Account",
    "Attachment",
    "Delivery",
    "DomainBlock",
    "DomainPurge",
    "EventFields",
    "Follow",
    "HostState",
    "InboxItem",
    "LocalActor",
    "Post",
    "RelaySubscription",
    "RemoteActor",
    "Session",
    "StoredActivity",
]
