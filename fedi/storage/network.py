"""Queries of the relay's own pages and admin: an association's posts, the network's activity
over time, the allowlist."""

from __future__ import annotations

from .db import Database
from .models import Post
from .queries import Reader


async def list_network_posts_from(db: Reader, host: str, limit: int, offset: int = 0) -> list[Post]:
    """The public posts the relay holds from one subscribed instance, newest first."""
    secure, plain = f"https://{host}/", f"http://{host}/"
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND visibility = 'public'"
        " AND in_reply_to IS NULL AND (substr(author, 1, ?) = ? OR substr(author, 1, ?) = ?)"
        " ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (len(secure), secure, len(plain), plain, limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_post_dates(db: Reader, since_iso: str) -> list[str]:
    """When each public post the relay received since `since_iso` was published."""
    rows = await db.fetchall(
        "SELECT published_at FROM posts WHERE is_local = 0 AND visibility = 'public'"
        " AND in_reply_to IS NULL AND status != 'deleted' AND published_at >= ?",
        (since_iso,),
    )
    return [row[0] for row in rows]


async def list_relay_allowlist(db: Reader) -> list[str]:
    rows = await db.fetchall("SELECT domain FROM relay_allowlist ORDER BY domain")
    return [row[0] for row in rows]


async def delete_relay_allowed(db: Database, domain: str) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount("DELETE FROM relay_allowlist WHERE domain = ?", (domain.lower(),)) > 0
