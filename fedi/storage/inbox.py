"""Received activities waiting to be handled (a queue)."""

from __future__ import annotations

import json
from typing import Any

from .db import Database, Reader
from .dialect import skip_locked, utc_now_iso
from .models import InboxItem

__all__ = [
    "put_inbox_item",
    "claim_inbox_items",
    "mark_inbox_item_done",
    "count_inbox_items",
]


async def put_inbox_item(
    db: Database, *, activity_uri: str, actor: str, type: str, body: dict[str, Any], now: float
) -> bool:
    """Stores a received activity once (idempotent on its id). False if it was already there."""
    async with db.transaction() as tx:
        inserted = await tx.rowcount(
            "INSERT INTO inbox (activity_uri, actor, type, body, state, next_attempt_at, received_at)"
            " VALUES (?,?,?,?,'queued',?,?) ON CONFLICT(activity_uri) DO NOTHING",
            (activity_uri, actor, type, json.dumps(body), now, utc_now_iso()),
        )
    return inserted > 0


async def claim_inbox_items(db: Database, now: float, limit: int, lease: float) -> list[InboxItem]:
    """Locks up to `limit` due received activities for `lease` seconds; oldest first."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE inbox SET locked_until = ? WHERE id IN (SELECT id FROM inbox"
            " WHERE state = 'queued' AND next_attempt_at <= ? AND locked_until <= ?"
            f" ORDER BY id LIMIT ?{skip_locked(tx, 'inbox')})"
            " RETURNING id, activity_uri, actor, type, body, attempts",
            (now + lease, now, now, limit),
        )
    return sorted((InboxItem.from_row(row) for row in rows), key=lambda item: item.id)


async def mark_inbox_item_done(db: Database, item_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE inbox SET state = 'done', attempts = attempts + 1 WHERE id = ?", (item_id,)
        )


async def count_inbox_items(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, COUNT(*) FROM inbox GROUP BY state")
    return {row[0]: int(row[1]) for row in rows}
