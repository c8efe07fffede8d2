"""Comments as the moderator reviews them: remote replies to our public posts, and what members
write in a Group's space (remote members' replies, local members' posts and comments; never
the Group's own posts nor its copies of what members wrote)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from .db import Reader, Row, Transaction
from .dialect import utc_now_iso
from .models import Post

__all__ = [
    "Comment",
    "list_comments",
    "list_space_comments",
    "count_comments",
    "get_comment_by_id",
    "put_comment_edit",
    "delete_comment_edit",
]


_POST_COLUMNS = frozenset(field.name for field in fields(Post))


@dataclass(frozen=True)
class Comment:
    """A comment, with what the moderator needs to judge it."""

    post: Post
    author_handle: str  # @name@host, or the actor's URI when we never fetched its profile
    author_name: str
    parent_title: str  # the title of the post it answers, or the start of its text
    approved_content: str | None = None  # what the admin approved, when its author edited it since

    @property
    def in_space(self) -> bool:
        """Written in a Group's space, for its members only."""
        return self.post.group_uri is not None


_COMMENTS = (
    "SELECT c.*, COALESCE(r.preferred_username, l.username) AS x_username, r.host AS x_host,"
    " COALESCE(r.name, l.name) AS x_name, p.title AS x_parent_title, p.source AS x_parent_source,"
    " e.approved_content AS x_approved"
    " FROM posts c LEFT JOIN posts p ON p.uri = c.in_reply_to"
    " LEFT JOIN remote_actors r ON r.uri = c.author LEFT JOIN local_actors l ON l.uri = c.author"
    " LEFT JOIN comment_edits e ON e.post_uri = c.uri"
)
_PUBLIC = "c.is_local = 0 AND c.group_uri IS NULL AND p.is_local = 1"
_IN_SPACE = ("c.group_uri IS NOT NULL AND c.author != c.group_uri"
             " AND NOT EXISTS (SELECT 1 FROM group_copies g WHERE g.copy_uri = c.uri)")


def _comment(row: Row) -> Comment:
    data = dict(row)
    post_columns = {key: value for key, value in data.items() if key in _POST_COLUMNS}
    post = Post.from_row(post_columns)
    host = data["x_host"] or urlsplit(post.author).hostname
    handle = f"@{data['x_username']}@{host}" if data["x_username"] else post.author
    title = data["x_parent_title"] or (data["x_parent_source"] or "")[:60]
    return Comment(post=post, author_handle=handle, author_name=data["x_name"] or "",
                   parent_title=title, approved_content=data["x_approved"])


async def list_comments(db: Reader, status: str, limit: int) -> list[Comment]:
    """Comments on public posts in one state (pending, published, hidden), newest first."""
    return await _list(db, _PUBLIC, (status, limit))


async def list_space_comments(db: Reader, group_uri: str, status: str, limit: int) -> list[Comment]:
    """What members wrote in a Group's space, in one state (published, hidden), newest first."""
    return await _list(db, f"c.group_uri = ? AND {_IN_SPACE}", (group_uri, status, limit))


async def _list(db: Reader, which: str, params: tuple[object, ...]) -> list[Comment]:
    rows = await db.fetchall(f"{_COMMENTS} WHERE {which} AND c.status = ?"
                             " ORDER BY c.published_at DESC, c.id DESC LIMIT ?", params)
    return [_comment(row) for row in rows]


async def count_comments(db: Reader, status: str) -> int:
    """How many comments on public posts are in one state."""
    row = await db.fetchone(
        "SELECT COUNT(*) FROM posts c JOIN posts p ON p.uri = c.in_reply_to AND p.is_local = 1"
        " WHERE c.is_local = 0 AND c.group_uri IS NULL AND c.status = ?", (status,))
    return int(row[0]) if row else 0


async def get_comment_by_id(db: Reader, comment_id: int) -> Comment | None:
    """A comment on a public post, or what a member wrote in a space."""
    row = await db.fetchone(f"{_COMMENTS} WHERE (({_PUBLIC}) OR ({_IN_SPACE})) AND c.id = ?",
                            (comment_id,))
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
