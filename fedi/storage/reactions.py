"""Likes and boosts."""

from __future__ import annotations

import json

from .db import Reader, Transaction
from .dialect import in_json_list, utc_now_iso

__all__ = [
    "put_reaction",
    "delete_reaction_by_activity",
    "delete_reaction",
    "count_reactions_of",
    "count_reactions",
]


async def put_reaction(
    tx: Transaction, activity_uri: str, type: str, actor: str, object_uri: str
) -> None:
    await tx.execute(
        "INSERT INTO reactions (activity_uri, type, actor, object_uri, created_at)"
        " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
        (activity_uri, type, actor, object_uri, utc_now_iso()),
    )


async def delete_reaction_by_activity(tx: Transaction, activity_uri: str, actor: str) -> bool:
    removed = await tx.rowcount(
        "DELETE FROM reactions WHERE activity_uri = ? AND actor = ?", (activity_uri, actor)
    )
    return removed > 0


async def delete_reaction(tx: Transaction, type: str, actor: str, object_uri: str) -> bool:
    removed = await tx.rowcount(
        "DELETE FROM reactions WHERE type = ? AND actor = ? AND object_uri = ?",
        (type, actor, object_uri),
    )
    return removed > 0


async def count_reactions_of(db: Reader, object_uris: list[str]) -> dict[str, dict[str, int]]:
    """Likes and boosts of several posts in one query: {uri: {"Like": n, "Announce": n}}."""
    counts = {uri: {"Like": 0, "Announce": 0} for uri in object_uris}
    rows = await db.fetchall(
        "SELECT object_uri, type, COUNT(*) FROM reactions"
        f" WHERE object_uri {in_json_list(db)} GROUP BY object_uri, type",
        (json.dumps(object_uris),),
    )
    for row in rows:
        counts[row[0]][row[1]] = int(row[2])
    return counts


async def count_reactions(db: Reader, object_uri: str) -> dict[str, int]:
    return (await count_reactions_of(db, [object_uri]))[object_uri]
