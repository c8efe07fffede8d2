"""The outbound path: queue → sign → deliver, with retries.

`enqueue` writes the activity and one delivery row per inbox inside the caller's transaction,
except to hosts that are not delivered to (`queue_deliveries`). `Lanes.start_due` claims due
rows (a lease, so a killed process loses nothing) and delivers to each host in a task of its
own: signs each request once, POSTs it (aiohttp, `poster.py`) with a per-host concurrency
limit, and writes the outcome through the queue engine (`fedi.queue`, where DELIVERY_POLICY
names the retries): done, retried later, or failed for good. `deliver_due` does one round and
waits for it (tests, one-shot commands).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

from activitypub.errors import FetchError, UnsafeURL
from activitypub.http import AP_ACCEPT, AP_CONTENT_TYPE
from activitypub.poster import PostResponse
from activitypub.vocab import host_of

from . import storage
from .domains import host_is_covered
from .instance import Instance
from .queue import DELIVERY_POLICY, Done, GiveUp, Outcome, Postpone, Queue, Retry
from .storage import Delivery, HostState, LocalActor

log = logging.getLogger(__name__)

UNAVAILABLE_AFTER = 2 * 24 * 3600  # a host failing this long is skipped until it talks to us
PER_HOST_CONCURRENCY = 4
MAX_RETRY_AFTER = 24 * 3600
RETRIED_CLIENT_ERRORS = {401, 408, 429}
POST_HEADERS = {"Content-Type": AP_CONTENT_TYPE, "Accept": AP_ACCEPT}


async def enqueue(
    instance: Instance, tx: storage.Transaction, actor: LocalActor, document: dict[str, Any],
    inboxes: list[str], *, public: bool,
) -> int:
    """Stores an outgoing activity and queues it for each inbox (deduplicated)."""
    obj = document.get("object")
    object_uri = obj if isinstance(obj, str) else obj.get("id") if isinstance(obj, dict) else None
    activity_id = await storage.put_activity(
        tx, uri=document["id"], actor=actor.uri, type=document["type"], object_uri=object_uri,
        public=public, body=document,
    )
    await queue_deliveries(tx, activity_id, inboxes, instance.clock())
    instance.wakeups.delivery.set()
    return activity_id


async def queue_deliveries(
    tx: storage.Transaction, activity_id: int, inboxes: Iterable[str], now: float
) -> int:
    """Queues one delivery per inbox (deduplicated), except to a host marked unavailable (it
    failed for UNAVAILABLE_AFTER; it is delivered to again once it talks to us) or on a blocked
    domain; those are logged. Returns how many were queued."""
    unavailable = await storage.list_unavailable_hosts(tx)
    blocked = await storage.list_blocked_domain_names(tx)
    queued: list[str] = []
    not_queued: dict[str, set[str]] = {"unavailable": set(), "blocked": set()}
    for inbox in dict.fromkeys(inboxes):
        host = host_of(inbox)
        if host in unavailable:
            not_queued["unavailable"].add(host)
        elif host_is_covered(host, blocked):
            not_queued["blocked"].add(host)
        else:
            queued.append(inbox)
    for reason, hosts in not_queued.items():
        if hosts:
            log.info("activity %d not queued for %s hosts (%d): %s", activity_id, reason, len(hosts),
                     ", ".join(sorted(hosts)))
    return await storage.put_deliveries(tx, activity_id, queued, now)


async def deliver_due(instance: Instance, limit: int = DELIVERY_POLICY.batch_size) -> int:
    """Delivers what is due now and waits until done; returns how many deliveries were tried."""
    lanes = Lanes(instance, limit)
    started = await lanes.start_due()
    await lanes.wait()
    return started


class Lanes:
    """The delivery worker's hosts in flight, each in a task of its own: the worker claims the
    next deliveries while earlier hosts are still answering, so a slow or hanging host (up to
    30 s a try) never holds up the others. A host's next deliveries wait until its lane is
    done (it keeps its order and its concurrency limit); at most `limit` are in flight."""

    def __init__(self, instance: Instance, limit: int = DELIVERY_POLICY.batch_size) -> None:
        self.instance = instance
        self.limit = limit
        self._lanes: dict[str, tuple[asyncio.Task[None], int]] = {}
        self._done = DoneMarks(instance)
        self.queue = Queue(instance, DELIVERY_POLICY, claim=self._claim_for_idle_hosts,
                           mark_done=self._done.add)

    async def start_due(self) -> int:
        """Starts what is due for hosts not in flight; returns how many deliveries started."""
        room = self.limit - sum(size for _, size in self._lanes.values())
        if room <= 0:
            return 0
        batch = await self.queue.claim(room)
        by_host: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in batch:
            by_host[delivery.host].append(delivery)
        states = await storage.get_host_states(self.instance.db, list(by_host))
        for host, deliveries in by_host.items():
            view = _HostView(states.get(host))
            task = asyncio.create_task(_deliver_to_host(self.instance, self.queue, deliveries, view))
            self._lanes[host] = (task, len(deliveries))
            task.add_done_callback(partial(self._finished, host))
        return len(batch)

    async def _claim_for_idle_hosts(
        self, db: storage.Database, now: float, limit: int, lease: float
    ) -> list[Delivery]:
        """Due deliveries, none to a host that this process is delivering to already."""
        return await storage.claim_due_deliveries(db, now, limit, lease, skip_hosts=list(self._lanes))

    def _finished(self, host: str, task: asyncio.Task[None]) -> None:
        del self._lanes[host]
        self.instance.wakeups.delivery.set()  # room for more, and this host's next rows
        if not task.cancelled() and task.exception() is not None:
            log.error("delivering to %s failed: %r", host, task.exception())

    async def wait(self, timeout: float | None = None) -> None:
        """Until every lane is done, or `timeout`; then those left are cancelled (their rows
        stay queued, claimed again once their lease runs out or at the next start)."""
        tasks = [task for task, _ in self._lanes.values()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._done.flush()


class DoneMarks:
    """Successful deliveries are written done by one writer, group-commit style: the first at
    once, and those that succeed while a write is under way together in the next transaction.
    Until written, a row stays leased, so a live process never sends it again; a killed one
    re-sends at most those of one write (peers drop an activity id they already have)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self._ids: list[int] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, delivery: Delivery) -> None:
        """Queues the write (it does not wait for it)."""
        self._ids.append(delivery.id)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._ids:
                ids, self._ids = self._ids, []
                try:
                    await storage.mark_deliveries_done(self.instance.db, ids, self.instance.clock())
                except storage.StorageError as error:  # their leases run out: they are sent again
                    log.error("could not record %d deliveries as done: %s", len(ids), error)
        finally:
            self._writer = None

    async def flush(self) -> None:
        """Waits until every success so far is written."""
        if self._writer is not None:
            await asyncio.shield(self._writer)


async def _deliver_to_host(
    instance: Instance, queue: Queue[Delivery], deliveries: list[Delivery], host: _HostView
) -> None:
    """Deliveries to one host, oldest first, at most PER_HOST_CONCURRENCY at a time, and one
    after the other to the same inbox. Once the host fails, the rest of the batch waits: the
    oldest failed delivery of an inbox is retried alone until it passes, so that an inbox that
    was down gets its posts in order."""
    semaphore = asyncio.Semaphore(PER_HOST_CONCURRENCY)
    host_failed = asyncio.Event()
    by_inbox: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_inbox[delivery.inbox].append(delivery)

    async def run(inbox_deliveries: list[Delivery]) -> None:
        for delivery in inbox_deliveries:
            async with semaphore:
                if host_failed.is_set():
                    await queue.record(delivery, Postpone())
                    continue
                outcome = await deliver_one(instance, delivery, host)
                await queue.record(delivery, outcome)
                if isinstance(outcome, Retry):
                    await _note_failure(instance, delivery, outcome)
                    host_failed.set()

    await asyncio.gather(*(run(items) for items in by_inbox.values()))


class _HostView:
    """What one lane knows of a host, read once: its signature scheme and whether it is
    doing fine (then a success needs no write to the hosts table)."""

    def __init__(self, state: HostState | None) -> None:
        self.scheme = state.signature_scheme if state else None
        self.good = state is not None and state.first_failure_at is None and not state.unavailable

    def succeeded(self, scheme: str) -> bool:
        """Records a success in the view; True when the database needs to hear of it."""
        changed = not self.good or self.scheme != scheme
        self.good, self.scheme = True, scheme
        return changed


async def deliver_one(instance: Instance, delivery: Delivery, host: _HostView) -> Outcome:
    """Signs and POSTs one delivery (one step of the queue); returns its outcome."""
    signer = await instance.get_local_actor(delivery.signer_uri)
    if signer is None:
        return GiveUp("signing actor no longer exists")
    known_scheme = host.scheme
    scheme = known_scheme or "cavage"
    try:
        response = await _post_signed(instance, signer, delivery, scheme)
        if known_scheme is None and response.status_code in (400, 401):
            # "Double knock": a peer that only verifies RFC 9421 refuses draft-cavage.
            scheme = "rfc9421"
            response = await _post_signed(instance, signer, delivery, scheme)
    except UnsafeURL as error:
        return GiveUp(f"refused: {error}")
    except FetchError as error:
        host.good = False
        return Retry(f"network: {error}")
    return await _outcome_of(instance, delivery, response, scheme, host)


async def _post_signed(
    instance: Instance, signer: LocalActor, delivery: Delivery, scheme: str
) -> PostResponse:
    auth = instance.signing_auth(signer, scheme)
    headers = auth.headers_for("POST", delivery.inbox, delivery.body, POST_HEADERS)
    return await instance.poster.post(delivery.inbox, delivery.body, headers)


async def _outcome_of(
    instance: Instance, delivery: Delivery, response: PostResponse, scheme: str, host: _HostView,
) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        if host.succeeded(scheme):  # one write less per delivery to a host that is doing fine
            await storage.record_host_success(instance.db, delivery.host, scheme)
        return Done()
    host.good = False
    error = f"HTTP {status}"
    if status == 429:
        delay = _retry_after_seconds(response, instance.clock())
        if delay is not None:
            until = instance.clock() + delay
            await storage.set_host_retry_after(instance.db, delivery.host, until)
            return Retry(error, at=until)
    if 400 <= status < 500 and status not in RETRIED_CLIENT_ERRORS:
        return GiveUp(error)
    return Retry(error)


async def _note_failure(instance: Instance, delivery: Delivery, retry: Retry) -> None:
    """A failed try counts against its host, which is marked unavailable once it has failed for
    UNAVAILABLE_AFTER (not a 429 with Retry-After: the host is up and asked us to wait)."""
    if retry.at is not None:
        return
    if await storage.record_host_failure(instance.db, delivery.host, instance.clock(), UNAVAILABLE_AFTER):
        instance.hosts_heard.forget(delivery.host)  # its next request clears the mark
        log.warning("%s has failed for days: marked unavailable", delivery.host)
    log.info("delivery to %s failed (%s), attempt %d", delivery.inbox, retry.error, delivery.attempts + 1)


def _retry_after_seconds(response: PostResponse, now: float) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)
