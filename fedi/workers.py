"""Background workers of a running server: apply received activities, deliver queued ones.

Work is rows in the database, so a worker can be stopped (or killed) between any two steps;
on start, leases left by a dead process are released.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from . import delivery, inbox, outbox, storage
from .instance import Instance

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0  # other processes (the CLI) may queue work: look again this often
TENANT_IDLE_POLL_SECONDS = 10.0  # many instances in one process: their own work wakes them anyway


class Workers:
    def __init__(self, instance: Instance, *, idle_poll: float = IDLE_POLL_SECONDS) -> None:
        self.instance = instance
        self.idle_poll = idle_poll
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await storage.release_leases(self.instance.db)
        self._tasks = [
            asyncio.create_task(self._loop("inbox", inbox.process_due, self.instance.wakeups.inbox)),
            asyncio.create_task(self._loop("delivery", delivery.deliver_due, self.instance.wakeups.delivery)),
            asyncio.create_task(self._loop("schedule", outbox.publish_due_posts, asyncio.Event())),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Lets the current step finish (bounded), then stops; unfinished rows stay queued."""
        self._stopping.set()
        self.instance.wakeups.inbox.set()
        self.instance.wakeups.delivery.set()
        if not self._tasks:
            return
        done, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._tasks = []

    async def _loop(
        self, name: str, step: Callable[[Instance], Awaitable[int]], wakeup: asyncio.Event
    ) -> None:
        while not self._stopping.is_set():
            wakeup.clear()
            try:
                worked = await step(self.instance)
            except storage.StorageError as error:
                log.error("%s worker: database unavailable: %s", name, error)
                worked = 0
            except Exception:
                log.exception("%s worker step failed", name)
                worked = 0
            if worked or self._stopping.is_set():
                continue
            try:
                await asyncio.wait_for(wakeup.wait(), self.idle_poll)
            except TimeoutError:
                pass


async def run_until_idle(instance: Instance, max_rounds: int = 100) -> None:
    """Applies and delivers everything that is due now (for tests and one-shot commands)."""
    for _ in range(max_rounds):
        worked = await inbox.process_due(instance) + await delivery.deliver_due(instance)
        if not worked:
            return
    raise RuntimeError("queues still busy after max_rounds")
