"""The outbound path: queue → sign → deliver, with retries.

`enqueue` writes the activity and one delivery row per inbox inside the caller's transaction.
`Lanes.start_due` claims due rows (a lease, so a killed process loses nothing) and delivers to
each host in a task of its own: signs each request once, POSTs it (aiohttp, `poster.py`) with
a per-host concurrency limit, and writes the outcome: done, retried later with backoff, or
failed for good. `deliver_due` does one round and waits for it (tests, one-shot commands).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from email.utils import parsedate_to_datetime
from typing import Any

from activitypub.errors import FetchError, UnsafeURL
from activitypub.http import AP_ACCEPT, AP_CONTENT_TYPE
from activitypub.poster import PostResponse

from . import storage
from .instance import Instance
from .storage import Delivery, HostState, LocalActor

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16
UNAVAILABLE_AFTER = 2 * 24 * 3600  # a host failing this long is skipped until it talks to us
LEASE_SECONDS = 120.0
BATCH_SIZE = 200
PER_HOST_CONCURRENCY = 4
MAX_RETRY_AFTER = 24 * 3600
RETRIED_CLIENT_ERRORS = {401, 408, 429}
POST_HEADERS = {"Content-Type": AP_CONTENT_TYPE, "Accept": AP_ACCEPT}


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after `attempts` failures (Mastodon's: n⁴ + 15 s + jitter)."""
    return attempts**4 + 15 + random.uniform(0, 10 * (attempts + 1))


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
    await storage.put_deliveries(tx, activity_id, inboxes, instance.clock())
    instance.wakeups.delivery.set()
    return activity_id


async def deliver_due(instance: Instance, limit: int = BATCH_SIZE) -> int:
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

    def __init__(self, instance: Instance, limit: int = BATCH_SIZE) -> None:
        self.instance = instance
        self.limit = limit
        self._lanes: dict[str, tuple[asyncio.Task[None], int]] = {}
        self._done = DoneMarks(instance)

    async def start_due(self) -> int:
        """Starts what is due for hosts not in flight; returns how many deliveries started."""
        room = self.limit - sum(size for _, size in self._lanes.values())
        if room <= 0:
            return 0
        batch = await storage.claim_due_deliveries(
            self.instance.db, self.instance.clock(), room, LEASE_SECONDS, skip_hosts=list(self._lanes))
        by_host: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in batch:
            by_host[delivery.host].append(delivery)
        states = await storage.get_host_states(self.instance.db, list(by_host))
        for host, deliveries in by_host.items():
            view = _HostView(states.get(host), self._done)
            task = asyncio.create_task(_deliver_to_host(self.instance, deliveries, view))
            self._lanes[host] = (task, len(deliveries))
            task.add_done_callback(lambda done, host=host: self._finished(host, done))
        return len(batch)

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

    def add(self, delivery_id: int) -> None:
        self._ids.append(delivery_id)
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


async def _deliver_to_host(instance: Instance, deliveries: list[Delivery], host: _HostView) -> None:
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
                    later = instance.clock() + backoff_seconds(0)
                    await storage.postpone_delivery(instance.db, delivery.id, later)
                elif not await deliver_one(instance, delivery, host):
                    host_failed.set()

    await asyncio.gather(*(run(items) for items in by_inbox.values()))


class _HostView:
    """What one lane knows of a host, read once: its signature scheme and whether it is
    doing fine (then a success needs no write to the hosts table); where successes go."""

    def __init__(self, state: HostState | None, done: DoneMarks) -> None:
        self.scheme = state.signature_scheme if state else None
        self.good = state is not None and state.first_failure_at is None and not state.unavailable
        self.done = done

    def succeeded(self, scheme: str) -> bool:
        """Records a success in the view; True when the database needs to hear of it."""
        changed = not self.good or self.scheme != scheme
        self.good, self.scheme = True, scheme
        return changed


async def deliver_one(instance: Instance, delivery: Delivery, host: _HostView) -> bool:
    """Signs and POSTs one delivery and records the outcome. False when the host is failing."""
    signer = await instance.get_local_actor(delivery.signer_uri)
    if signer is None:
        await storage.fail_delivery(instance.db, delivery.id, "signing actor no longer exists")
        return True
    known_scheme = host.scheme
    scheme = known_scheme or "cavage"
    try:
        response = await _post_signed(instance, signer, delivery, scheme)
        if known_scheme is None and response.status_code in (400, 401):
            # "Double knock": a peer that only verifies RFC 9421 refuses draft-cavage.
            scheme = "rfc9421"
            response = await _post_signed(instance, signer, delivery, scheme)
    except UnsafeURL as error:
        await storage.fail_delivery(instance.db, delivery.id, f"refused: {error}")
        return True
    except FetchError as error:
        host.good = False
        await _retry(instance, delivery, f"network: {error}")
        return False
    return await _record_response(instance, delivery, response, scheme, host)


async def _post_signed(
    instance: Instance, signer: LocalActor, delivery: Delivery, scheme: str
) -> PostResponse:
    auth = instance.signing_auth(signer, scheme)
    headers = auth.headers_for("POST", delivery.inbox, delivery.body, POST_HEADERS)
    return await instance.poster.post(delivery.inbox, delivery.body, headers)


async def _record_response(
    instance: Instance, delivery: Delivery, response: PostResponse, scheme: str, host: _HostView,
) -> bool:
    status = response.status_code
    if 200 <= status < 300:
        host.done.add(delivery.id)
        if host.succeeded(scheme):  # one write less per delivery to a host that is doing fine
            await storage.record_host_success(instance.db, delivery.host, scheme)
        return True
    host.good = False
    error = f"HTTP {status}"
    if status == 429:
        delay = _retry_after_seconds(response, instance.clock())
        if delay is not None:
            until = instance.clock() + delay
            await storage.set_host_retry_after(instance.db, delivery.host, until)
            await storage.reschedule_delivery(instance.db, delivery.id, until, error)
            return False
    if 400 <= status < 500 and status not in RETRIED_CLIENT_ERRORS:
        await storage.fail_delivery(instance.db, delivery.id, error)
        return True
    await _retry(instance, delivery, error)
    return False


async def _retry(instance: Instance, delivery: Delivery, error: str) -> None:
    now = instance.clock()
    attempts = delivery.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        await storage.fail_delivery(instance.db, delivery.id, error)
    else:
        await storage.reschedule_delivery(instance.db, delivery.id, now + backoff_seconds(attempts), error)
    if await storage.record_host_failure(instance.db, delivery.host, now, UNAVAILABLE_AFTER):
        instance.hosts_heard.forget(delivery.host)  # its next request clears the mark
        log.warning("%s has failed for days: marked unavailable", delivery.host)
    log.info("delivery to %s failed (%s), attempt %d", delivery.inbox, error, attempts)


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


def activity_body(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()
