"""Queries of the public calendar: the association's published public events."""

from __future__ import annotations

from .db import Reader
from .models import Post
from .posts import LISTED_PUBLICLY

__all__ = [
    "list_public_events_not_over",
    "list_public_events_over",
]


MAX_EVENTS = 500  # far more than an association announces at once

_PUBLIC_EVENTS = (
    "SELECT * FROM posts WHERE author = ? AND is_local = 1 AND type = 'Event'"
    f" AND status = 'published' AND {LISTED_PUBLICLY} AND in_reply_to IS NULL"
    " AND event_start IS NOT NULL"
)


async def list_public_events_not_over(db: Reader, author: str, now_iso: str,
                                      limit: int = MAX_EVENTS) -> list[Post]:
    """Published public events of `author` that may still come: the one-off events not over at
    `now_iso` (UTC ISO) and every recurring one (its rule says whether a date is left)."""
    rows = await db.fetchall(
        f"{_PUBLIC_EVENTS} AND (COALESCE(event_recurrence, '') != ''"
        " OR COALESCE(event_end, event_start) > ?) ORDER BY event_start, id LIMIT ?",
        (author, now_iso, limit),
    )
    return [Post.from_row(row) for row in rows]


async def list_public_events_over(db: Reader, author: str, now_iso: str, limit: int) -> list[Post]:
    """Published public one-off events of `author` over at `now_iso`, latest first."""
    rows = await db.fetchall(
        f"{_PUBLIC_EVENTS} AND COALESCE(event_recurrence, '') = ''"
        " AND COALESCE(event_end, event_start) <= ? ORDER BY event_start DESC, id DESC LIMIT ?",
        (author, now_iso, limit),
    )
    return [Post.from_row(row) for row in rows]
