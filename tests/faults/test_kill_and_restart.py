"""The real `fedi serve` process, killed and restarted while it delivers one post to 1,000
followers (one receiving server, 1,000 distinct inboxes): nothing is lost (at-least-once), and
SIGTERM stops it cleanly with every row free to take again."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from receiver import Answer, Receiver

from fedi import storage
from fedi.instance import open_instance
from fedi_testing import free_port

pytestmark = pytest.mark.slow

FOLLOWERS = 1000
ROOT = Path(__file__).resolve().parents[2]


class FediProcess:
    """`python -m fedi serve --dir D` as a child process, with its log in D/serve-N.log."""

    def __init__(self, directory: Path, url: str) -> None:
        self.directory = directory
        self.url = url
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        log = open(self.directory / f"serve-{self.runs}.log", "wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "fedi", "serve", "--dir", str(self.directory),
            cwd=ROOT, stdout=log, stderr=log)
        log.close()
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{self.url}/actor")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.process.returncode is not None:
                    break
                await asyncio.sleep(0.05)
        raise AssertionError(f"fedi serve did not start: {self.log()}")

    async def signal_and_wait(self, sig: int, timeout: float = 15.0) -> tuple[int, float]:
        """Sends `sig`; returns (exit code, seconds until exit)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"still running {timeout} s after signal {sig}:\n{self.log()}") from None
        return code, time.monotonic() - started

    def log(self) -> str:
        return "\n".join((self.directory / f"serve-{n}.log").read_text(errors="replace")[-3000:]
                         for n in range(1, self.runs + 1))

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def fedi_cli(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedi", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def wait_for(condition: Any, timeout: float, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(step)


async def queue_state(directory: Path) -> dict[str, int]:
    """Delivery counts by state, and queued rows still leased ("locked")."""
    instance = await open_instance(directory)
    try:
        counts = await storage.count_deliveries(instance.db)
        row = await instance.db.fetchone(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'queued' AND locked_until > 0")
        counts["locked"] = int(row[0])
        return counts
    finally:
        await instance.close()


@pytest.fixture
async def setup(tmp_path: Path) -> Any:
    """An initialised instance with 1,000 followers on one receiving server (not yet served)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    directory = tmp_path / "avf-kill"
    await fedi_cli("init", "--dir", str(directory), "--url", url, "--name", "avf-kill", "--allow-private")
    receiver = await Receiver.start_new(actors=FOLLOWERS)
    instance = await open_instance(directory)
    try:
        await receiver.become_follower_of(instance)
    finally:
        await instance.close()
    server = FediProcess(directory, url)
    yield server, receiver
    await server.kill()
    await receiver.close()


def inboxes_that_got(receiver: Receiver, post_uri: str) -> set[str]:
    return {r.path for r in receiver.received if r.accepted and r.object_id == post_uri}


def posts_of(receiver: Receiver, post_uri: str) -> int:
    return sum(1 for r in receiver.received if r.accepted and r.object_id == post_uri)


async def test_kill_9_mid_delivery_then_restart_delivers_to_every_inbox(setup):
    """Given 1,000 followers with distinct inboxes, when `fedi serve` is killed with SIGKILL after
    about a third of the deliveries of a post arrived and is started again, then every inbox gets
    the post at least once (the duplicates are counted and reported)."""
    server, receiver = setup
    await server.start()
    post_uri = await fedi_cli("post", "--dir", str(server.directory), "Assemblée générale jeudi")

    await wait_for(lambda: posts_of(receiver, post_uri) >= FOLLOWERS // 3, timeout=20)
    await server.kill()
    at_kill = posts_of(receiver, post_uri)
    first = min(r.at for r in receiver.received)
    rate = at_kill / max(receiver.received[-1].at - first, 1e-3)
    state = await queue_state(server.directory)
    assert FOLLOWERS // 3 <= at_kill < FOLLOWERS, "killed too late to mean anything"
    assert state.get("queued", 0) > 0

    restarted = time.monotonic()
    await server.start()
    await wait_for(lambda: len(inboxes_that_got(receiver, post_uri)) == FOLLOWERS, timeout=30, step=0.05)
    took = time.monotonic() - restarted
    await asyncio.sleep(0.5)  # let any late duplicate arrive before counting
    duplicates = posts_of(receiver, post_uri) - FOLLOWERS
    assert all(r.scheme == "cavage" and r.error is None for r in receiver.received)
    # read while it runs (WAL): every row done, none left leased
    assert await queue_state(server.directory) == {"done": FOLLOWERS, "locked": 0}
    print(f"\nkill -9 after {at_kill} deliveries ({rate:.0f}/s); queue at kill: {state};"
          f" the rest took {took:.1f} s after restart; duplicates: {duplicates}")
    # at most the requests in flight when killed (4 to the host) and the successes waiting for
    # the one write of "done" marks under way (delivery.DoneMarks: a group commit)
    assert 0 <= duplicates <= 32


async def test_sigterm_stops_within_ten_seconds_and_leaves_the_queue_consistent(setup):
    """Given a server delivering a post to 1,000 inboxes of a slowish peer, when it gets SIGTERM,
    then it exits with 0 within ~10 s, and after a restart no row stays locked and every inbox
    got the post."""
    server, receiver = setup
    receiver.default = Answer(202, delay=0.02)
    await server.start()
    post_uri = await fedi_cli("post", "--dir", str(server.directory), "Fête de quartier")

    await wait_for(lambda: posts_of(receiver, post_uri) >= 50, timeout=20)
    code, took = await server.signal_and_wait(signal.SIGTERM)
    at_stop = posts_of(receiver, post_uri)
    state = await queue_state(server.directory)
    assert code == 0, server.log()
    assert took < 11.0
    assert at_stop < FOLLOWERS and state.get("queued", 0) > 0

    receiver.default = Answer(202)
    await server.start()
    await wait_for(lambda: len(inboxes_that_got(receiver, post_uri)) == FOLLOWERS, timeout=30, step=0.05)
    code, _ = await server.signal_and_wait(signal.SIGTERM)
    assert code == 0
    after = await queue_state(server.directory)
    duplicates = posts_of(receiver, post_uri) - FOLLOWERS
    print(f"\nSIGTERM after {at_stop} deliveries: exit {code} in {took:.2f} s; queue then: {state};"
          f" after restart: {after}; duplicates: {duplicates}")
    assert after == {"done": FOLLOWERS, "locked": 0}
    assert duplicates == 0
