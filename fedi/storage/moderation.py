"""Queries of the admin's pages: comments and their review, blocked accounts, and the
association's profile and followers as the settings page changes and shows them."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .db import Row, Transaction
from .models import Post
from .queries import Reader, utc_now_iso

__all__ = [
    "Comment",
    "count_comments",
    "delete_account_block",
    "delete_comment_edit",
    "get_comment_by_id",
    "is_account_blocked",
    "list_account_blocks",
    "list_blocked_actors",
    "list_comments",
    "list_follower_handles",
    "put_account_block",
    "put_comment_edit",
    "set_local_actor_profile",
]

_POST_COLUMNS = frozenset(field.name for field in fields(Post))


@dataclass(frozen=True)
class Comment:
    """A remote reply to one of our posts, with what the moderator needs to judge it."""

    post: Post
    author_handle: str  # @name@host, or the actor's URI when we never fetched its profile
    author_name: str
    parent_title: str  # the title of the post it answers, or the start of its text
    approved_content: str | None = None  # what the admin approved, when its author edited it since


_COMMENTS = (
    "SELECT c.*, r.preferred_username AS x_username, r.host AS x_host, r.name AS x_name,"
    " p.title AS x_parent_title, p.source AS x_parent_source, e.approved_content AS x_approved"
    " FROM posts c JOIN posts p ON p.uri = c.in_reply_to AND p.is_local = 1"
    " LEFT JOIN remote_actors r ON r.uri = c.author LEFT JOIN comment_edits e ON e.post_uri = c.uri"
    " WHERE c.is_local = 0"
)


def _comment(row: Row) -> Comment:
    data = dict(row)
    post_columns = {key: value for key, value in data.items() if key in _POST_COLUMNS}
    post = Post.from_row(post_columns)  # type: ignore[arg-type]  # a dict reads like a row
    handle = f"@{data['x_username']}@{data['x_host']}" if data["x_username"] else post.author
    title = data["x_parent_title"] or (data["x_parent_source"] or "")[:60]
    return Comment(post=post, author_handle=handle, author_name=data["x_name"] or "",
                   parent_title=title, approved_content=data["x_approved"])


async def list_comments(db: Reader, status: str, limit: int) -> list[Comment]:
    """Comments in one state (pending, published, hidden), newest first."""
    rows = await db.fetchall(f"{_COMMENTS} AND c.status = ? ORDER BY c.published_at DESC, c.id DESC"
                             " LIMIT ?", (status, limit))
    return [_comment(row) for row in rows]


async def count_comments(db: Reader, status: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM posts c JOIN posts p ON p.uri = c.in_reply_to AND p.is_local = 1"
        " WHERE c.is_local = 0 AND c.status = ?", (status,))
    return int(row[0]) if row else 0


async def get_comment_by_id(db: Reader, comment_id: int) -> Comment | None:
    row = await db.fetchone(f"{_COMMENTS} AND c.id = ?", (comment_id,))
    return _comment(row) if row else None


async def put_comment_edit(tx: Transaction, uri: str, approved_content: str) -> None:
    """An approved comment was edited: it waits for review again, next to the text approved
    (the first one, when it is edited again before the review)."""
    await tx.execute("INSERT INTO comment_edits (post_uri, approved_content, edited_at) VALUES (?, ?, ?)"
                     " ON CONFLICT(post_uri) DO NOTHING", (uri, approved_content, utc_now_iso()))
    await tx.execute("UPDATE posts SET status = 'pending' WHERE uri = ?", (uri,))


async def delete_comment_edit(tx: Transaction, uri: str) -> None:
    """The admin reviewed the edited comment (approved, hid or deleted it)."""
    await tx.execute("DELETE FROM comment_edits WHERE post_uri = ?", (uri,))


# --- blocked accounts ---------------------------------------------------------------------------


async def put_account_block(tx: Transaction, actor: str) -> int:
    """Blocks a remote account: its comments are hidden and it no longer follows us. Returns
    how many of its comments were hidden."""
    await tx.execute("INSERT INTO account_blocks (actor, created_at) VALUES (?, ?)"
                     " ON CONFLICT(actor) DO NOTHING", (actor, utc_now_iso()))
    await tx.execute("DELETE FROM follows WHERE follower = ?"
                     " AND followee IN (SELECT uri FROM local_actors)", (actor,))
    return await tx.rowcount(
        "UPDATE posts SET status = 'hidden' WHERE author = ? AND is_local = 0"
        " AND in_reply_to IS NOT NULL AND status IN ('pending', 'published')", (actor,))


async def delete_account_block(tx: Transaction, actor: str) -> bool:
    return await tx.rowcount("DELETE FROM account_blocks WHERE actor = ?", (actor,)) > 0


async def is_account_blocked(db: Reader, actor: str) -> bool:
    row = await db.fetchone("SELECT 1 FROM account_blocks WHERE actor = ?", (actor,))
    return row is not None


async def list_blocked_actors(db: Reader) -> set[str]:
    return {row[0] for row in await db.fetchall("SELECT actor FROM account_blocks")}


async def list_account_blocks(db: Reader) -> list[tuple[str, str]]:
    """Blocked accounts as (handle or URI, actor URI), in the order they were blocked."""
    rows = await db.fetchall(
        "SELECT b.actor, r.preferred_username, r.host FROM account_blocks b"
        " LEFT JOIN remote_actors r ON r.uri = b.actor ORDER BY b.created_at, b.actor")
    return [(f"@{row[1]}@{row[2]}" if row[1] else row[0], row[0]) for row in rows]


# --- the association's profile and followers ----------------------------------------------------


async def set_local_actor_profile(tx: Transaction, uri: str, name: str, summary: str) -> None:
    await tx.execute("UPDATE local_actors SET name = ?, summary = ? WHERE uri = ?", (name, summary, uri))


async def list_follower_handles(db: Reader, followee: str, limit: int) -> list[tuple[str, str]]:
    """The accepted followers of a local actor as (handle, profile URL), oldest first."""
    rows = await db.fetchall(
        "SELECT r.preferred_username, r.host, r.uri FROM follows f"
        " JOIN remote_actors r ON r.uri = f.follower WHERE f.followee = ? AND f.state = 'accepted'"
        " AND r.preferred_username IS NOT NULL ORDER BY f.created_at, r.uri LIMIT ?",
        (followee, limit))
    return [(f"@{row[0]}@{row[1]}", row[2]) for row in rows]
