"""Comments: remote replies to our posts, as the moderator reviews them."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .db import Reader, Row, Transaction
from .dialect import utc_now_iso
from .models import Post

__all__ = [
    "Comment",
    "list_comments",
    "count_comments",
    "get_comment_by_id",
    "put_comment_edit",
    "delete_comment_edit",
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
    post = Post.from_row(post_columns)
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
