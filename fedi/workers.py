"""Background workers of a running server: apply received activities, deliver queued ones.

Work is rows in the database, so a worker can be stopped (or killed) between any two steps;
on start, leases left by a dead process are released.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable

from . import delivery, inbox, outbox, storage
from .instance import Instance

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0  # other processes (the CLI) may queue work: look again this often
TENANT_IDLE_POLL_SECONDS = 10.0  # many instances in one process: their own work wakes them anyway


class Workers:
    def __init__(self, instance: Instance, *, idle_poll: float = IDLE_POLL_SECONDS,
                 delivery_only: bool = False) -> None:
        self.instance = instance
        self.idle_poll = idle_poll
        self.delivery_only = delivery_only  # an extra delivery process (`fedi deliver --forever`)
        self._lanes = delivery.Lanes(instance)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self.delivery_only:  # the server and other delivery processes hold leases of their own
            self._tasks = [self._delivery_task()]
            return
        await storage.release_leases(self.instance.db)
        self._tasks = [
            asyncio.create_task(self._loop("inbox", inbox.process_due, self.instance.wakeups.inbox)),
            self._delivery_task(),
            asyncio.create_task(self._loop("schedule", outbox.publish_due_posts, asyncio.Event())),
        ]

    def _delivery_task(self) -> asyncio.Task[None]:
        wakeup = self.instance.wakeups.delivery
        return asyncio.create_task(self._loop("delivery", lambda _: self._lanes.start_due(), wakeup))

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Lets the current step finish (bounded), then stops; unfinished rows stay queued."""
        self._stopping.set()
        self.instance.wakeups.inbox.set()
        self.instance.wakeups.delivery.set()
        if not self._tasks:
            return
        started = time.monotonic()
        done, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._lanes.wait(timeout=max(0.0, grace_seconds - (time.monotonic() - started)))
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


async def deliver_until_stopped(instance: Instance) -> None:
    """`fedi deliver --forever`: delivers from the queue that the server fills, beside it (and
    beside other such processes on PostgreSQL, where each row is claimed by one of them only),
    until SIGTERM or SIGINT; the current step ends first and unfinished rows stay queued."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    workers = Workers(instance, delivery_only=True)
    await workers.start()
    try:
        await stopping.wait()
    finally:
        await workers.stop()


async def run_until_idle(instance: Instance, max_rounds: int = 100) -> None:
    """Applies and delivers everything that is due now (for tests and one-shot commands)."""
    for _ in range(max_rounds):
        worked = await inbox.process_due(instance) + await delivery.deliver_due(instance)
        if not worked:
            return
    raise RuntimeError("queues still busy after max_rounds")
