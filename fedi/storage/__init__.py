"""Storage: the SQLite database and the one module of queries.

Functions that take a `Transaction` are steps of a larger transaction opened by the caller
(`async with db.transaction() as tx`); functions that take a `Database` commit on their own.
"""

from .db import Database, StorageError, Transaction
from .models import (
    Delivery,
    DomainBlock,
    DomainPurge,
    Follow,
    HostState,
    InboxItem,
    LocalActor,
    Post,
    RelaySubscription,
    RemoteActor,
    StoredActivity,
)
from .queries import *  # noqa: F401,F403  (the query functions are the storage API)

__all__ = [
    "Database",
    "StorageError",
    "Transaction",
    "Delivery",
    "DomainBlock",
    "DomainPurge",
    "Follow",
    "HostState",
    "InboxItem",
    "LocalActor",
    "Post",
    "RelaySubscription",
    "RemoteActor",
    "StoredActivity",
]
