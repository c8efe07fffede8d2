"""What the two queues (deliveries, received activities) share: a row that failed is tried
again later or given up, and the leases of a process that died are released at start.
"""

from __future__ import annotations

from .db import Database

__all__ = [
    "release_leases",
]


async def retry_later(db: Database, queue: str, row_id: int, next_attempt_at: float, error: str) -> None:
    """A queued row (delivery or received activity) failed this time: one more attempt, later."""
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {queue} SET attempts = attempts + 1, next_attempt_at = ?, locked_until = 0,"
            " last_error = ? WHERE id = ?",
            (next_attempt_at, error[:500], row_id),
        )


async def give_up(db: Database, queue: str, row_id: int, error: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {queue} SET state = 'failed', attempts = attempts + 1, last_error = ?"
            " WHERE id = ?",
            (error[:500], row_id),
        )


async def release_leases(db: Database) -> None:
    """At start: rows claimed by a process that died are free to take again. Not on PostgreSQL,
    where other processes deliver from the same queue: their leases run out on their own."""
    if db.dialect == "postgresql":
        return
    async with db.transaction() as tx:
        await tx.execute("UPDATE deliveries SET locked_until = 0 WHERE state = 'queued'")
        await tx.execute("UPDATE inbox SET locked_until = 0 WHERE state = 'queued'")
