"""A relay that outgrew one machine runs on PostgreSQL, with extra delivery processes sharing
its queue: each row is claimed by one process only (FOR UPDATE SKIP LOCKED), so each delivery
is sent exactly once. Backups of such a relay are pg_dump's job, and fedi says so."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from activitypub.vocab import PUBLIC
from fedi import delivery, storage
from fedi.config import new_config
from fedi.instance import Instance, create_relay_files, open_instance
from fedi.storage import Database
from fedi_testing import free_port, serve_app
from pg_testing import PostgresCluster

FEDI = [sys.executable, "-m", "fedi"]
ACTIVITIES, INBOXES = 40, 20  # 800 deliveries
RECEIVER_DELAY = 0.005  # a peer that takes its time
DUE_EVERY = 0.003  # seconds between two deliveries becoming due


class Receiver:
    """A peer's inboxes (ASGI): counts every POST of each activity to each inbox."""

    def __init__(self) -> None:
        self.received: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await asyncio.sleep(RECEIVER_DELAY)
        self.received[(scope["path"], json.loads(body)["id"])] += 1
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def new_relay(cluster: PostgresCluster, directory: Path) -> Instance:
    config = new_config(f"http://127.0.0.1:{free_port()}", "relay", "Relais", role="relay",
                        allow_private=True)
    await create_relay_files(directory, replace(config, database_url=await cluster.new_database()))
    return await open_instance(directory)


async def test_two_delivery_processes_share_the_queue_and_send_each_delivery_once(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """Given a relay on PostgreSQL and two `fedi deliver --forever` processes beside it, when 600
    deliveries are queued at once, then every one reaches its inbox exactly once, and both
    processes took a share of them."""
    relay = await new_relay(postgres_cluster, tmp_path / "relay")
    receiver = Receiver()
    logs = [tmp_path / f"deliver-{n}.log" for n in range(2)]
    try:
        async with serve_app(receiver) as peer:
            before = await _fedi_connections(relay.db)
            processes = [await asyncio.create_subprocess_exec(
                *FEDI, "deliver", "--dir", str(tmp_path / "relay"), "--forever",
                stdout=subprocess.DEVNULL, stderr=log.open("wb")) for log in logs]
            try:
                await _wait_for(lambda: _fedi_connections(relay.db), before + 2, processes, logs)
                await _queue_announces(relay, [f"{peer}/inbox/{n}" for n in range(INBOXES)])
                await _wait_for(lambda: storage.count_deliveries(relay.db),
                                {"done": ACTIVITIES * INBOXES}, processes, logs)
            finally:
                for process in processes:
                    if process.returncode is None:
                        process.send_signal(signal.SIGTERM)
                codes = [await asyncio.wait_for(process.wait(), 30) for process in processes]
    finally:
        await relay.close()

    assert len(receiver.received) == ACTIVITIES * INBOXES
    assert set(receiver.received.values()) == {1}, "a delivery was sent twice"
    sent = [log.read_text().count("-> HTTP 202") for log in logs]
    assert sum(sent) == ACTIVITIES * INBOXES
    assert all(sent), f"one process delivered nothing: {sent}"
    assert codes == [0, 0]  # SIGTERM: a clean stop


@pytest.mark.parametrize("queue", ["deliveries", "inbox"])
async def test_a_row_another_process_is_claiming_is_skipped_not_waited_for(
    postgres_cluster: PostgresCluster, queue: str
) -> None:
    """Given ten due rows, four of them locked by another process that is claiming them right
    now, when this process claims, then it gets the six others at once."""
    url = await postgres_cluster.new_database()
    first, second = await Database.open(url), await Database.open(url)
    try:
        await _queue_rows(first, queue, 10)
        async with first.transaction() as tx:
            await tx.fetchall(f"SELECT id FROM {queue} ORDER BY id LIMIT 4 FOR UPDATE")
            claimed = await asyncio.wait_for(_claim(second, queue), 5)
        assert claimed == list(range(5, 11))
    finally:
        await first.close()
        await second.close()


def test_relay_init_with_a_database_url_and_what_check_and_backup_say(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """`fedi relay init --database-url` keeps the relay in PostgreSQL; `fedi check` reaches it and
    shows the queues; `fedi backup` and `fedi restore` refuse and name pg_dump."""
    url = asyncio.run(postgres_cluster.new_database())
    directory = str(tmp_path / "relay")
    fedi("relay", "init", "--dir", directory, "--url", "https://relais.example", "--database-url", url)
    assert f'database_url = "{url}"' in (tmp_path / "relay" / "fedi.toml").read_text()
    assert not (tmp_path / "relay" / "fedi.sqlite3").exists()

    check = fedi("check", "--dir", directory)
    assert "PostgreSQL" in check.stdout and "pg_dump" in check.stdout
    assert "deliveries: empty" in check.stdout
    for command in ("backup", "restore"):
        refused = fedi(command, "--dir", directory, str(tmp_path / "copy.sqlite3"), check=False)
        assert refused.returncode == 1 and "pg_dump" in refused.stderr
    again = fedi("relay", "init", "--dir", str(tmp_path / "other"), "--url", "https://relais.example",
                 "--database-url", url, check=False)
    assert again.returncode == 1 and "already holds" in again.stderr


def fedi(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*FEDI, *args], capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"fedi {' '.join(args)} failed: {result.stderr}")
    return result


async def _queue_announces(relay: Instance, inboxes: list[str]) -> None:
    """Queued at once, due one after the other over a few seconds: each process then claims
    small batches in a tight loop, so their claims often meet."""
    actor = relay.instance_actor
    async with relay.db.transaction() as tx:
        for n in range(ACTIVITIES):
            announce = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Announce",
                        "id": f"{relay.config.url}/activities/{n}", "actor": actor.uri,
                        "object": f"https://avf.example/posts/{n}", "to": [PUBLIC]}
            await delivery.enqueue(relay, tx, actor, announce, inboxes, public=True)
        await tx.execute("UPDATE deliveries SET next_attempt_at = ? + id * ?", (time.time(), DUE_EVERY))


async def _queue_rows(db: Database, queue: str, count: int) -> None:
    if queue == "inbox":
        for n in range(count):
            await storage.put_inbox_item(db, activity_uri=f"https://avf.example/activities/{n}",
                                         actor="https://avf.example/actor", type="Create", body={}, now=0.0)
        return
    async with db.transaction() as tx:
        activity_id = await storage.put_activity(
            tx, uri="https://relais.example/activities/1", actor="https://relais.example/actor",
            type="Announce", object_uri=None, public=True, body={})
        await storage.put_deliveries(tx, activity_id, [f"https://avf{n}.example/inbox" for n in range(count)], 0.0)


async def _claim(db: Database, queue: str) -> list[int]:
    """The ids this process claims now (each row for 60 s)."""
    if queue == "deliveries":
        return [row.id for row in await storage.claim_due_deliveries(db, 10.0, 100, 60.0)]
    return [row.id for row in await storage.claim_inbox_items(db, 10.0, 100, 60.0)]


async def _fedi_connections(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND application_name = 'fedi'")
    assert row is not None
    return int(row[0])


async def _wait_for(read: Any, expected: object, processes: list[asyncio.subprocess.Process],
                    logs: list[Path], timeout: float = 90) -> None:
    """Until `read()` gives `expected` (or at least it, for a number)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await read()
        if value == expected or (isinstance(expected, int) and value >= expected):
            return
        for process, log in zip(processes, logs, strict=True):
            assert process.returncode is None, f"a delivery process stopped:\n{log.read_text()}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"still {value}, not {expected}, after {timeout} s")
