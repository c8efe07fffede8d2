"""One engine for the work kept as rows: received activities to apply, deliveries to send.

A worker claims due rows under a lease, runs one step on each, and the engine writes what the
step made of it: done, tried again later (at a time the peer gave, or after the queue's
backoff), given up, or postponed without counting an attempt. Until a row's outcome is written
it stays leased, so a process killed at any line loses nothing: once the lease runs out (or at
the next start) the row is claimed again. Each queue's policy is named here, in one place.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from . import storage
from .instance import Instance
from .storage import Database, QueueName

__all__ = [
    "RetryPolicy",
    "INBOX_POLICY",
    "DELIVERY_POLICY",
    "Done",
    "Retry",
    "GiveUp",
    "Postpone",
    "Outcome",
    "Queue",
]


@dataclass(frozen=True)
class RetryPolicy:
    """How a queue treats a row that fails: `backoff(failures)` is the wait after that many
    failed tries (0: a row put back untried); a row fails for good at its `max_attempts`th."""

    queue: QueueName
    max_attempts: int
    backoff: Callable[[int], float]
    lease_seconds: float
    batch_size: int

    def next_attempt_at(self, failures: int, now: float) -> float | None:
        """When to try again after `failures` failed tries; None once they are used up."""
        if failures >= self.max_attempts:
            return None
        return now + self.backoff(failures)


def inbox_backoff(failures: int) -> float:
    """30 s, then four times longer each time (2 min, 8 min, … 34 h before the 8th try)."""
    return 30.0 * 4.0 ** max(failures - 1, 0)


def delivery_backoff(failures: int) -> float:
    """Mastodon's: n⁴ + 15 s + jitter, 16 tries over about two days."""
    return failures**4 + 15 + random.uniform(0, 10 * (failures + 1))


INBOX_POLICY = RetryPolicy("inbox", max_attempts=8, backoff=inbox_backoff, lease_seconds=120.0,
                           batch_size=100)
DELIVERY_POLICY = RetryPolicy("deliveries", max_attempts=16, backoff=delivery_backoff,
                              lease_seconds=120.0, batch_size=200)


@dataclass(frozen=True)
class Done:
    """The step succeeded."""


@dataclass(frozen=True)
class Retry:
    """The step failed this time. `at`: when the peer asked to be tried again (Retry-After),
    kept as given; otherwise the policy's backoff. Once the tries are used up, the row fails for
    good either way (a peer answering 429 for ever does not keep it queued for ever)."""

    error: str
    at: float | None = None


@dataclass(frozen=True)
class GiveUp:
    """The step can never succeed: the row fails for good."""

    error: str


@dataclass(frozen=True)
class Postpone:
    """Not tried this time (its host is failing right now): later, without counting a try."""


Outcome = Done | Retry | GiveUp | Postpone


class QueuedRow(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...


Row = TypeVar("Row", bound=QueuedRow)
Claim = Callable[[Database, float, int, float], Awaitable[list[Row]]]


class Queue(Generic[Row]):
    """One queue of an instance: `claim` (due rows, leased for the policy's lease), `record`
    (the outcome of a step on a row), and `run_due` (both, one row after the other)."""

    def __init__(self, instance: Instance, policy: RetryPolicy, *, claim: Claim[Row],
                 mark_done: Callable[[Row], Awaitable[None]]) -> None:
        self.instance = instance
        self.policy = policy
        self._claim = claim
        self._mark_done = mark_done

    async def claim(self, limit: int | None = None) -> list[Row]:
        db, now = self.instance.db, self.instance.clock()
        size = self.policy.batch_size if limit is None else limit
        return await self._claim(db, now, size, self.policy.lease_seconds)

    async def record(self, row: Row, outcome: Outcome) -> None:
        db, name, now = self.instance.db, self.policy.queue, self.instance.clock()
        match outcome:
            case Done():
                await self._mark_done(row)
            case Postpone():
                await storage.postpone_queued_row(db, name, row.id, now + self.policy.backoff(0))
            case GiveUp(error):
                await storage.give_up_queued_row(db, name, row.id, error)
            case Retry(error, at):
                backoff_at = self.policy.next_attempt_at(row.attempts + 1, now)
                at = None if backoff_at is None else (at if at is not None else backoff_at)
                if at is None:
                    await storage.give_up_queued_row(db, name, row.id, error)
                else:
                    await storage.retry_queued_row(db, name, row.id, at, error)

    async def run_due(self, step: Callable[[Row], Awaitable[Outcome]], limit: int | None = None) -> int:
        """Claims what is due, runs `step` on each row in turn and records its outcome;
        returns how many rows were claimed."""
        rows = await self.claim(limit)
        for row in rows:
            await self.record(row, await step(row))
        return len(rows)
