"""Groups (the members' space, later activity groups): who is a member or asks to be, and the
Group's copies of what its members write."""

from __future__ import annotations

from .db import Reader, Transaction
from .dialect import utc_now_iso
from .models import Membership, Post

__all__ = [
    "list_memberships",
    "count_memberships",
    "is_group_member",
    "has_member_on_host",
    "put_group_copy",
    "get_group_copy",
    "get_group_original",
    "list_group_discussion",
    "count_group_discussions",
    "list_group_originals_by_author",
]

_MEMBERSHIP = (
    "SELECT f.follower, f.state, f.created_at, f.activity_uri,"
    " r.preferred_username AS remote_username, r.host AS remote_host, r.name AS remote_name,"
    " l.username AS local_username, l.name AS local_name"
    " FROM follows f LEFT JOIN remote_actors r ON r.uri = f.follower"
    " LEFT JOIN local_actors l ON l.uri = f.follower"
    " WHERE f.followee = ? AND f.state = ?"
)


async def list_memberships(db: Reader, group_uri: str, state: str, limit: int,
                           offset: int = 0) -> list[Membership]:
    """Members ("accepted") or requests ("pending") of a Group, oldest first."""
    rows = await db.fetchall(_MEMBERSHIP + " ORDER BY f.created_at, f.follower LIMIT ? OFFSET ?",
                             (group_uri, state, limit, offset))
    return [Membership.from_row(row) for row in rows]


async def count_memberships(db: Reader, group_uri: str, state: str) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM follows WHERE followee = ? AND state = ?",
                            (group_uri, state))
    return int(row[0]) if row else 0


async def is_group_member(db: Reader, group_uri: str, actor_uri: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM follows WHERE followee = ? AND follower = ? AND state = 'accepted'",
        (group_uri, actor_uri))
    return row is not None


async def has_member_on_host(db: Reader, group_uri: str, host: str) -> bool:
    """Whether an approved member of the Group has an account on `host` (its server then
    fetches the Group's posts for them, signing as its instance actor)."""
    row = await db.fetchone(
        "SELECT 1 FROM follows f JOIN remote_actors r ON r.uri = f.follower"
        " WHERE f.followee = ? AND f.state = 'accepted' AND r.host = ? LIMIT 1",
        (group_uri, host))
    return row is not None


async def put_group_copy(tx: Transaction, original_uri: str, copy_uri: str, group_uri: str) -> None:
    """The Group's copy of a member's words (a new one replaces a withdrawn one)."""
    await tx.execute(
        "INSERT INTO group_copies (original_uri, copy_uri, group_uri, created_at) VALUES (?,?,?,?)"
        " ON CONFLICT(original_uri) DO UPDATE SET copy_uri = excluded.copy_uri,"
        " created_at = excluded.created_at",
        (original_uri, copy_uri, group_uri, utc_now_iso()))


async def get_group_copy(db: Reader, original_uri: str) -> str | None:
    """The Group's copy of a member's reply or post, if it made one."""
    row = await db.fetchone("SELECT copy_uri FROM group_copies WHERE original_uri = ?", (original_uri,))
    return str(row[0]) if row else None


async def get_group_original(db: Reader, copy_uri: str) -> str | None:
    """What a copy of the Group re-publishes (a member's reply or post)."""
    row = await db.fetchone("SELECT original_uri FROM group_copies WHERE copy_uri = ?", (copy_uri,))
    return str(row[0]) if row else None


async def list_group_originals_by_author(db: Reader, author: str) -> list[Post]:
    """What a person wrote that a Group re-published (and has not withdrawn yet)."""
    rows = await db.fetchall(
        "SELECT p.* FROM posts p JOIN group_copies g ON g.original_uri = p.uri"
        " WHERE p.author = ? AND p.status != 'deleted' ORDER BY p.id", (author,))
    return [Post.from_row(row) for row in rows]


async def list_group_discussion(db: Reader, group_uri: str, root_uri: str) -> list[Post]:
    """The published replies, at any depth, to a post of a Group's space, oldest first: what
    members wrote (the Group's copies of it, which carry the threads for Mastodon, left out)."""
    rows = await db.fetchall(
        "WITH RECURSIVE thread(uri) AS (SELECT ? UNION"
        " SELECT p.uri FROM posts p JOIN thread t ON p.in_reply_to = t.uri WHERE p.group_uri = ?)"
        " SELECT p.* FROM posts p JOIN thread t ON t.uri = p.uri"
        " WHERE p.uri != ? AND p.status = 'published'"
        " AND NOT EXISTS (SELECT 1 FROM group_copies g WHERE g.copy_uri = p.uri)"
        " ORDER BY p.published_at, p.id",
        (root_uri, group_uri, root_uri))
    return [Post.from_row(row) for row in rows]


async def count_group_discussions(db: Reader, group_uri: str, root_uris: list[str]) -> dict[str, int]:
    """How many direct replies by members each post of the space has (copies left out)."""
    counts = dict.fromkeys(root_uris, 0)
    for uri in root_uris:
        row = await db.fetchone(
            "SELECT COUNT(*) FROM posts p WHERE p.group_uri = ? AND p.status = 'published'"
            " AND (p.in_reply_to = ? OR p.in_reply_to IN"
            " (SELECT copy_uri FROM group_copies WHERE original_uri = ?))"
            " AND NOT EXISTS (SELECT 1 FROM group_copies g WHERE g.copy_uri = p.uri)",
            (group_uri, uri, uri))
        counts[uri] = int(row[0]) if row else 0
    return counts
