"""Follows, both ways, and the inboxes and handles of who follows whom."""

from __future__ import annotations

from .db import Reader, Transaction
from .dialect import utc_now_iso
from .models import Follow

__all__ = [
    "put_follow",
    "get_follow",
    "get_follow_by_activity_uri",
    "set_follow_state",
    "delete_follow",
    "list_followers",
    "count_followers",
    "list_following",
    "count_following",
    "is_followed_by_local",
    "list_follower_inboxes",
    "list_followed_inboxes",
    "list_follower_handles",
]


async def put_follow(
    tx: Transaction, follower: str, followee: str, activity_uri: str | None, state: str
) -> None:
    await tx.execute(
        "INSERT INTO follows (follower, followee, activity_uri, state, created_at)"
        " VALUES (?,?,?,?,?) ON CONFLICT(follower, followee) DO UPDATE SET"
        " activity_uri=excluded.activity_uri,"
        " state=CASE WHEN follows.state='accepted' THEN 'accepted' ELSE excluded.state END",
        (follower, followee, activity_uri, state, utc_now_iso()),
    )


async def get_follow(db: Reader, follower: str, followee: str) -> Follow | None:
    row = await db.fetchone(
        "SELECT * FROM follows WHERE follower = ? AND followee = ?", (follower, followee)
    )
    return Follow.from_row(row) if row else None


async def get_follow_by_activity_uri(db: Reader, activity_uri: str) -> Follow | None:
    row = await db.fetchone("SELECT * FROM follows WHERE activity_uri = ?", (activity_uri,))
    return Follow.from_row(row) if row else None


async def set_follow_state(tx: Transaction, follower: str, followee: str, state: str) -> bool:
    changed = await tx.rowcount(
        "UPDATE follows SET state = ? WHERE follower = ? AND followee = ?",
        (state, follower, followee),
    )
    return changed > 0


async def delete_follow(tx: Transaction, follower: str, followee: str) -> bool:
    removed = await tx.rowcount(
        "DELETE FROM follows WHERE follower = ? AND followee = ?", (follower, followee)
    )
    return removed > 0


async def list_followers(db: Reader, followee: str, limit: int, offset: int = 0) -> list[str]:
    rows = await db.fetchall(
        "SELECT follower FROM follows WHERE followee = ? AND state = 'accepted'"
        " ORDER BY created_at DESC, follower LIMIT ? OFFSET ?",
        (followee, limit, offset),
    )
    return [row[0] for row in rows]


async def count_followers(db: Reader, followee: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM follows WHERE followee = ? AND state = 'accepted'", (followee,)
    )
    return int(row[0]) if row else 0


async def list_following(db: Reader, follower: str, limit: int, offset: int = 0, *,
                         accepted_only: bool = False) -> list[Follow]:
    """What `follower` follows, newest first; `accepted_only` filters before the page is cut."""
    accepted = " AND state = 'accepted'" if accepted_only else ""
    rows = await db.fetchall(
        f"SELECT * FROM follows WHERE follower = ?{accepted} ORDER BY created_at DESC, followee"
        " LIMIT ? OFFSET ?",
        (follower, limit, offset),
    )
    return [Follow.from_row(row) for row in rows]


async def count_following(db: Reader, follower: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM follows WHERE follower = ? AND state = 'accepted'", (follower,)
    )
    return int(row[0]) if row else 0


async def is_followed_by_local(db: Reader, remote_actor: str) -> bool:
    """Does any local actor follow (accepted) this remote actor?"""
    row = await db.fetchone(
        "SELECT 1 FROM follows JOIN local_actors ON local_actors.uri = follows.follower"
        " WHERE follows.followee = ? AND follows.state = 'accepted' LIMIT 1",
        (remote_actor,),
    )
    return row is not None


async def list_follower_inboxes(db: Reader, followee: str) -> list[str]:
    """Delivery inboxes of a local actor's accepted followers, shared inboxes deduplicated."""
    rows = await db.fetchall(
        "SELECT DISTINCT COALESCE(r.shared_inbox, r.inbox) FROM follows f"
        " JOIN remote_actors r ON r.uri = f.follower"
        " WHERE f.followee = ? AND f.state = 'accepted' ORDER BY 1",
        (followee,),
    )
    return [row[0] for row in rows]


async def list_followed_inboxes(db: Reader, follower: str) -> list[str]:
    """Delivery inboxes of the actors a local actor follows (accepted): its relays, for the
    instance actor."""
    rows = await db.fetchall(
        "SELECT DISTINCT COALESCE(r.shared_inbox, r.inbox) FROM follows f"
        " JOIN remote_actors r ON r.uri = f.followee"
        " WHERE f.follower = ? AND f.state = 'accepted' ORDER BY 1",
        (follower,),
    )
    return [row[0] for row in rows]


async def list_follower_handles(db: Reader, followee: str, limit: int) -> list[tuple[str, str]]:
    """The accepted followers of a local actor as (handle, profile URL), oldest first."""
    rows = await db.fetchall(
        "SELECT r.preferred_username, r.host, r.uri FROM follows f"
        " JOIN remote_actors r ON r.uri = f.follower WHERE f.followee = ? AND f.state = 'accepted'"
        " AND r.preferred_username IS NOT NULL ORDER BY f.created_at, r.uri LIMIT ?",
        (followee, limit))
    return [(f"@{row[0]}@{row[1]}", row[2]) for row in rows]
