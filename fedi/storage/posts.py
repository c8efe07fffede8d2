"""Posts: ours (published, drafts, scheduled) and those received, and the relay's news."""

from __future__ import annotations

import json
from typing import Any

from .db import Reader, Transaction
from .dialect import in_json_list
from .models import EventFields, Post

__all__ = [
    "put_post",
    "get_post_by_uri",
    "get_post_by_id",
    "update_post",
    "mark_post_deleted",
    "set_post_status",
    "set_post_published",
    "set_post_schedule",
    "set_post_audience",
    "delete_draft",
    "list_posts_by_author",
    "list_group_posts",
    "count_group_posts",
    "list_replies",
    "list_public_replies",
    "list_local_posts",
    "list_due_scheduled_posts",
    "count_local_posts",
    "list_timeline",
    "list_network_posts",
    "list_network_posts_by",
    "list_network_posts_from",
    "list_network_post_dates",
]


LISTED_PUBLICLY = "visibility = 'public' AND group_uri IS NULL"
"""What a public list (site, feeds, agenda, counts, the relay's pages) may show: a post of a
Group's space never, whatever its visibility says."""


async def put_post(
    tx: Transaction,
    *,
    uri: str,
    author: str,
    is_local: bool,
    type: str,
    title: str | None,
    content: str,
    source: str | None,
    in_reply_to: str | None,
    visibility: str,
    status: str,
    url: str | None,
    raw: dict[str, Any] | None,
    published_at: str,
    scheduled_at: str | None = None,
    event: EventFields | None = None,
    group_uri: str | None = None,
) -> bool:
    """Stores a post once; a second put of the same uri changes nothing and returns False.
    `group_uri` names the Group whose members alone may see it (a members' space post, or a
    reply in it)."""
    inserted = await tx.rowcount(
        "INSERT INTO posts (uri, author, is_local, type, title, content, source, in_reply_to,"
        " visibility, status, url, raw, published_at, scheduled_at, event_start, event_end,"
        " event_place, event_recurrence, group_uri) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(uri) DO NOTHING",
        (uri, author, int(is_local), type, title, content, source, in_reply_to, visibility,
         status, url, json.dumps(raw) if raw is not None else None, published_at, scheduled_at,
         *_event_columns(event), group_uri),
    )
    return inserted > 0


def _event_columns(event: EventFields | None) -> tuple[str | None, ...]:
    if event is None:
        return (None, None, None, None)
    place = json.dumps(event.place) if event.place else None
    return (event.start, event.end, place, event.recurrence)


async def get_post_by_uri(db: Reader, uri: str) -> Post | None:
    row = await db.fetchone("SELECT * FROM posts WHERE uri = ?", (uri,))
    return Post.from_row(row) if row else None


async def get_post_by_id(db: Reader, post_id: int) -> Post | None:
    row = await db.fetchone("SELECT * FROM posts WHERE id = ?", (post_id,))
    return Post.from_row(row) if row else None


async def update_post(
    tx: Transaction,
    uri: str,
    *,
    title: str | None,
    content: str,
    source: str | None,
    raw: dict[str, Any] | None,
    updated_at: str | None,
    event: EventFields | None = None,
) -> None:
    """Changes a post's text (and, for an event, its date, place and recurrence)."""
    await tx.execute(
        "UPDATE posts SET title = ?, content = ?, source = ?, raw = ?, updated_at = ?"
        " WHERE uri = ? AND status != 'deleted'",
        (title, content, source, json.dumps(raw) if raw is not None else None, updated_at, uri),
    )
    if event is not None:
        await tx.execute(
            "UPDATE posts SET event_start = ?, event_end = ?, event_place = ?, event_recurrence = ?"
            " WHERE uri = ?", (*_event_columns(event), uri))


async def mark_post_deleted(tx: Transaction, uri: str, deleted_at: str) -> None:
    await tx.execute(
        "UPDATE posts SET status = 'deleted', content = '', source = NULL, title = NULL,"
        " raw = NULL, deleted_at = ? WHERE uri = ?",
        (deleted_at, uri),
    )


async def set_post_status(tx: Transaction, uri: str, status: str) -> None:
    await tx.execute("UPDATE posts SET status = ? WHERE uri = ?", (status, uri))


async def set_post_published(tx: Transaction, uri: str, published_at: str) -> None:
    """A draft or a scheduled post goes out now."""
    await tx.execute(
        "UPDATE posts SET status = 'published', published_at = ?, scheduled_at = NULL WHERE uri = ?",
        (published_at, uri),
    )


async def set_post_schedule(tx: Transaction, uri: str, status: str, scheduled_at: str | None) -> None:
    await tx.execute("UPDATE posts SET status = ?, scheduled_at = ? WHERE uri = ?",
                     (status, scheduled_at, uri))


async def set_post_audience(tx: Transaction, uri: str, visibility: str, author: str,
                            group_uri: str | None) -> None:
    """Who will see a post not yet published, and so who publishes it: the association for
    everyone, the members' space (a Group) for its members. A published one keeps its audience."""
    await tx.execute(
        "UPDATE posts SET visibility = ?, author = ?, group_uri = ?"
        " WHERE uri = ? AND status IN ('draft', 'scheduled')",
        (visibility, author, group_uri, uri))


async def delete_draft(tx: Transaction, uri: str) -> None:
    """A post that never left the desk goes without trace (nothing federated to take back)."""
    await tx.execute("DELETE FROM post_media WHERE post_id = (SELECT id FROM posts WHERE uri = ?)", (uri,))
    await tx.execute("DELETE FROM posts WHERE uri = ? AND status IN ('draft', 'scheduled')", (uri,))


async def list_posts_by_author(
    db: Reader, author: str, limit: int, offset: int = 0, *, public_only: bool = True
) -> list[Post]:
    visibility = f"AND {LISTED_PUBLICLY}" if public_only else ""
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE author = ? AND status = 'published' {visibility}"
        " AND in_reply_to IS NULL ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (author, limit, offset),
    )
    return [Post.from_row(row) for row in rows]


# The Group's re-publication of a member's post is for Mastodon: lists show the member's own.
_NOT_A_COPY = "NOT EXISTS (SELECT 1 FROM group_copies g WHERE g.copy_uri = posts.uri)"


async def list_group_posts(db: Reader, group_uri: str, limit: int, offset: int = 0) -> list[Post]:
    """The published posts of a Group's space that start a discussion (not replies, not the
    Group's copies), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE group_uri = ? AND status = 'published' AND in_reply_to IS NULL"
        f" AND {_NOT_A_COPY} ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (group_uri, limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def count_group_posts(db: Reader, group_uri: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM posts WHERE group_uri = ? AND status = 'published' AND in_reply_to IS NULL"
        f" AND {_NOT_A_COPY}",
        (group_uri,))
    return int(row[0]) if row else 0


async def list_replies(db: Reader, post_uri: str, statuses: tuple[str, ...]) -> list[Post]:
    marks = ",".join("?" * len(statuses))
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE in_reply_to = ? AND status IN ({marks})"
        " ORDER BY published_at, id",
        (post_uri, *statuses),
    )
    return [Post.from_row(row) for row in rows]


async def list_public_replies(db: Reader, post_uri: str) -> list[Post]:
    """The published replies anyone may read under a post (none of a Group's space), oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE in_reply_to = ? AND status = 'published'"
        " AND visibility IN ('public', 'unlisted') AND group_uri IS NULL ORDER BY published_at, id",
        (post_uri,),
    )
    return [Post.from_row(row) for row in rows]


async def list_local_posts(
    db: Reader, author: str, statuses: tuple[str, ...], limit: int, offset: int = 0,
    *, post_type: str | None = None,
) -> list[Post]:
    """A local actor's own posts in the given states (published, draft, scheduled), newest first
    (for the members' space: not its copies of what members wrote)."""
    marks = ",".join("?" * len(statuses))
    type_filter = "AND type = ?" if post_type else ""
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE author = ? AND is_local = 1 AND status IN ({marks})"
        f" AND in_reply_to IS NULL AND {_NOT_A_COPY} {type_filter}"
        " ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (author, *statuses, *([post_type] if post_type else []), limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_due_scheduled_posts(db: Reader, now_iso: str) -> list[Post]:
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE is_local = 1 AND status = 'scheduled' AND scheduled_at <= ?"
        " ORDER BY scheduled_at, id", (now_iso,))
    return [Post.from_row(row) for row in rows]


async def count_local_posts(db: Reader) -> int:
    """The published posts of this instance that anyone may read (NodeInfo's localPosts)."""
    row = await db.fetchone(
        f"SELECT COUNT(*) FROM posts WHERE is_local = 1 AND status = 'published' AND {LISTED_PUBLICLY}"
    )
    return int(row[0]) if row else 0


async def list_timeline(db: Reader, limit: int, offset: int = 0) -> list[Post]:
    """Posts from (or boosted by) the actors this instance follows, newest first: what the
    association follows and what its relays announce."""
    rows = await db.fetchall(
        "SELECT p.* FROM posts p WHERE p.is_local = 0 AND p.status = 'published'"
        " AND p.in_reply_to IS NULL AND EXISTS (SELECT 1 FROM follows f"
        "  JOIN local_actors l ON l.uri = f.follower"
        "  WHERE f.state = 'accepted' AND (f.followee = p.author OR"
        "  f.followee IN (SELECT r.actor FROM reactions r WHERE r.object_uri = p.uri"
        "  AND r.type = 'Announce'))) ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_posts(db: Reader, limit: int, offset: int = 0) -> list[Post]:
    """A relay's news: the public posts its subscribers published, newest first."""
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND {LISTED_PUBLICLY}"
        " AND in_reply_to IS NULL ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_posts_by(db: Reader, authors: list[str], limit: int, offset: int = 0) -> list[Post]:
    """The public posts the relay holds from these actors (a region's associations), newest first."""
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND {LISTED_PUBLICLY}"
        f" AND in_reply_to IS NULL AND author {in_json_list(db)}"
        " ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (json.dumps(authors), limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_posts_from(db: Reader, host: str, limit: int, offset: int = 0) -> list[Post]:
    """The public posts the relay holds from one subscribed instance, newest first."""
    secure, plain = f"https://{host}/", f"http://{host}/"
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND {LISTED_PUBLICLY}"
        " AND in_reply_to IS NULL AND (substr(author, 1, ?) = ? OR substr(author, 1, ?) = ?)"
        " ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (len(secure), secure, len(plain), plain, limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_post_dates(db: Reader, since_iso: str) -> list[str]:
    """When each public post the relay received since `since_iso` was published."""
    rows = await db.fetchall(
        f"SELECT published_at FROM posts WHERE is_local = 0 AND {LISTED_PUBLICLY}"
        " AND in_reply_to IS NULL AND status != 'deleted' AND published_at >= ?",
        (since_iso,),
    )
    return [row[0] for row in rows]
