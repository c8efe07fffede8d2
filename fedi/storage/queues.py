"""What the two queues (deliveries, received activities) share: a row that failed is tried
again later, given up, or put back untried, and the leases of a process that died are released
at start. Which of these a row gets is decided by `fedi.queue`, each queue's policy.
"""

from __future__ import annotations

from typing import Literal, get_args

from .db import Database

__all__ = [
    "QueueName",
    "retry_queued_row",
    "give_up_queued_row",
    "postpone_queued_row",
    "release_leases",
]

QueueName = Literal["inbox", "deliveries"]


def _table(queue: QueueName) -> str:
    if queue not in get_args(QueueName):
        raise ValueError(f"not a queue: {queue!r}")
    return queue


async def retry_queued_row(
    db: Database, queue: QueueName, row_id: int, next_attempt_at: float, error: str
) -> None:
    """The row failed this time: one more attempt counted, the next one at `next_attempt_at`."""
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {_table(queue)} SET attempts = attempts + 1, next_attempt_at = ?,"
            " locked_until = 0, last_error = ? WHERE id = ?",
            (next_attempt_at, error[:500], row_id),
        )


async def give_up_queued_row(db: Database, queue: QueueName, row_id: int, error: str) -> None:
    """The row failed for good (its last attempt counted)."""
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {_table(queue)} SET state = 'failed', attempts = attempts + 1, last_error = ?"
            " WHERE id = ?",
            (error[:500], row_id),
        )


async def postpone_queued_row(db: Database, queue: QueueName, row_id: int, next_attempt_at: float) -> None:
    """The row was not tried: at `next_attempt_at`, without counting an attempt."""
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {_table(queue)} SET next_attempt_at = ?, locked_until = 0 WHERE id = ?",
            (next_attempt_at, row_id),
        )


async def release_leases(db: Database) -> None:
    """At start: rows claimed by a process that died are free to take again. Not on PostgreSQL,
    where other processes deliver from the same queue: their leases run out on their own."""
    if db.dialect == "postgresql":
        return
    async with db.transaction() as tx:
        await tx.execute("UPDATE deliveries SET locked_until = 0 WHERE state = 'queued'")
        await tx.execute("UPDATE inbox SET locked_until = 0 WHERE state = 'queued'")
