"""Comments: remote replies to our posts, as the moderator reviews them."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .db import Reader, Row
from .models import Post

__all__ = [
    "Comment",
    "list_comments",
    "count_comments",
    "get_comment_by_id",
]


_POST_COLUMNS = frozenset(field.name for field in fields(Post))


@dataclass(frozen=True)
class Comment:
    """A remote reply to one of our posts, with what the moderator needs to judge it."""

    post: Post
    author_handle: str  # @name@host, or the actor's URI when we never fetched its profile
    author_name: str
    parent_title: str  # the title of the post it answers, or the start of its text


_COMMENTS = (
    "SELECT c.*, r.preferred_username AS x_username, r.host AS x_host, r.name AS x_name,"
    " p.title AS x_parent_title, p.source AS x_parent_source"
    " FROM posts c JOIN posts p ON p.uri = c.in_reply_to AND p.is_local = 1"
    " LEFT JOIN remote_actors r ON r.uri = c.author WHERE c.is_local = 0"
)


def _comment(row: Row) -> Comment:
    data = dict(row)
    post_columns = {key: value for key, value in data.items() if key in _POST_COLUMNS}
    post = Post.from_row(post_columns)  # type: ignore[arg-type]  # a dict reads like a row
    handle = f"@{data['x_username']}@{data['x_host']}" if data["x_username"] else post.author
    title = data["x_parent_title"] or (data["x_parent_source"] or "")[:60]
    return Comment(post=post, author_handle=handle, author_name=data["x_name"] or "",
                   parent_title=title)


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
