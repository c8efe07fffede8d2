"""Outbound delivery under faults: one of our instances delivers to scriptable receiving peers
(tests/faults/receiver.py) that verify our signatures and answer 202, 5xx, 4xx, 429, refuse
draft-cavage, hang, or are down. Time is simulated with the instance's clock."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from receiver import Answer, Receiver

from activitypub.poster import Poster
from fedi import delivery, outbox, storage
from fedi.queue import DELIVERY_POLICY
from fedi.workers import run_until_idle


class SimClock:
    """The instance's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def lyon(make_instance: Any) -> Any:
    served = await make_instance("avf-lyon")
    served.instance.clock = SimClock()
    return served


@pytest.fixture
async def receivers() -> Any:
    started: list[Receiver] = []

    async def make(**options: Any) -> Receiver:
        receiver = await Receiver.start_new(**options)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.close()


async def deliveries(instance: Any, inbox: str | None = None) -> list[dict[str, Any]]:
    rows = await instance.db.fetchall(
        "SELECT d.inbox, d.state, d.attempts, d.next_attempt_at, d.last_error, a.object_uri"
        " FROM deliveries d JOIN activities a ON a.id = d.activity_id ORDER BY d.id")
    return [dict(row) for row in rows if inbox is None or row["inbox"] == inbox]


async def run_due_until(instance: Any, done: Any, max_rounds: int = 60) -> int:
    """Moves the clock to the next due delivery and delivers, until `done()`; returns rounds."""
    for rounds in range(1, max_rounds + 1):
        due = await storage.next_delivery_due_at(instance.db)
        if due is None:
            break
        instance.clock.now = max(instance.clock.now, due) + 0.001
        await run_until_idle(instance)
        if await done():
            return rounds
    raise AssertionError(f"condition not reached after {max_rounds} rounds")


async def test_a_post_reaches_verifying_followers_once_per_shared_inbox(lyon, receivers):
    """Given two followers behind one shared inbox and one with its own inbox,
    when a post is published, then each inbox gets one POST with a valid draft-cavage signature."""
    shared = await receivers(actors=2, shared_inbox=True)
    single = await receivers(actors=1)
    await shared.become_follower_of(lyon.instance)
    await single.become_follower_of(lyon.instance)

    post = await outbox.publish_post(lyon.instance, "Permanence mardi")
    await run_until_idle(lyon.instance)

    for receiver, path in ((shared, "/inbox"), (single, "/inbox/0")):
        assert len(receiver.received) == 1
        got = receiver.received[0]
        assert (got.path, got.scheme, got.error, got.activity_type) == (path, "cavage", None, "Create")
        assert got.key_id == lyon.instance.association.key_id and got.object_id == post.uri
    assert await storage.count_deliveries(lyon.db) == {"done": 2}


async def test_a_500_is_retried_after_the_backoff_and_arrives_once(lyon, receivers):
    peer = await receivers()
    await peer.become_follower_of(lyon.instance)
    peer.answers.append(Answer(500))
    clock = lyon.instance.clock
    start = clock.now

    post = await outbox.publish_post(lyon.instance, "Atelier CV")
    await run_until_idle(lyon.instance)
    [row] = await deliveries(lyon.instance)
    assert (row["state"], row["attempts"], row["last_error"]) == ("queued", 1, "HTTP 500")
    assert start + 16 <= row["next_attempt_at"] <= start + 36  # 1⁴ + 15 s + jitter (≤ 20 s)

    clock.now = row["next_attempt_at"] - 1
    await run_until_idle(lyon.instance)
    assert len(peer.received) == 1  # not before the backoff

    clock.now = row["next_attempt_at"] + 0.001
    await run_until_idle(lyon.instance)
    assert [r.status for r in peer.received] == [500, 202]
    assert peer.accepted_objects() == [post.uri]
    [row] = await deliveries(lyon.instance)
    assert (row["state"], row["attempts"]) == ("done", 2)


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_inbox_fails_at_once_without_retry(lyon, receivers, status):
    peer = await receivers(default=Answer(status))
    await peer.become_follower_of(lyon.instance)

    await outbox.publish_post(lyon.instance, "Sortie au musée")
    await run_until_idle(lyon.instance)
    lyon.instance.clock.advance(3 * 24 * 3600)
    await run_until_idle(lyon.instance)

    assert len(peer.received) == 1
    [row] = await deliveries(lyon.instance)
    assert (row["state"], row["attempts"], row["last_error"]) == ("failed", 1, f"HTTP {status}")


@pytest.mark.parametrize("status", [401, 408, 429])
async def test_401_408_and_429_are_retried(lyon, receivers, status):
    peer = await receivers(default=Answer(status))
    await peer.become_follower_of(lyon.instance)

    post = await outbox.publish_post(lyon.instance, "Cours de français")
    await run_until_idle(lyon.instance)
    [row] = await deliveries(lyon.instance)
    assert (row["state"], row["attempts"], row["last_error"]) == ("queued", 1, f"HTTP {status}")
    # a 401 to draft-cavage is knocked again with RFC 9421 (also refused here)
    expected = ["cavage", "rfc9421"] if status == 401 else ["cavage"]
    assert [r.scheme for r in peer.received] == expected

    peer.default = Answer(202)
    lyon.instance.clock.now = row["next_attempt_at"] + 0.001
    await run_until_idle(lyon.instance)
    assert peer.accepted_objects() == [post.uri]
    assert (await deliveries(lyon.instance))[0]["state"] == "done"


async def test_429_retry_after_holds_that_host_only(lyon, receivers):
    """Given a host answering 429 with Retry-After: 120, then nothing goes to it for 120 s
    (simulated), while another host gets every post at once."""
    limited = await receivers()
    other = await receivers()
    await limited.become_follower_of(lyon.instance)
    await other.become_follower_of(lyon.instance)
    limited.answers.append(Answer(429, {"Retry-After": "120"}))
    clock = lyon.instance.clock

    first = await outbox.publish_post(lyon.instance, "Premier")
    await run_until_idle(lyon.instance)
    clock.advance(30)
    second = await outbox.publish_post(lyon.instance, "Second")
    await run_until_idle(lyon.instance)
    assert other.accepted_objects() == [first.uri, second.uri]
    assert [r.status for r in limited.received] == [429]

    clock.advance(119 - 30)
    await run_until_idle(lyon.instance)
    assert len(limited.received) == 1  # 119 s after the 429: still nothing

    clock.advance(2)
    await run_until_idle(lyon.instance)
    assert limited.accepted_objects() == [first.uri, second.uri]
    assert {r["state"] for r in await deliveries(lyon.instance)} == {"done"}


async def test_a_peer_refusing_draft_cavage_gets_rfc9421_and_keeps_it(lyon, receivers):
    peer = await receivers(refuse_cavage=True)
    await peer.become_follower_of(lyon.instance)

    first = await outbox.publish_post(lyon.instance, "Un")
    await run_until_idle(lyon.instance)
    assert [(r.scheme, r.status) for r in peer.received] == [("cavage", 401), ("rfc9421", 202)]
    assert (await storage.get_host_state(lyon.db, peer.host)).signature_scheme == "rfc9421"

    second = await outbox.publish_post(lyon.instance, "Deux")
    await run_until_idle(lyon.instance)
    assert [(r.scheme, r.status) for r in peer.received[2:]] == [("rfc9421", 202)]
    assert peer.accepted_objects() == [first.uri, second.uri]
    assert await storage.count_deliveries(lyon.db) == {"done": 2}


async def test_a_follower_down_for_an_hour_gets_all_five_posts_in_order(lyon, receivers):
    peer = await receivers()
    await peer.become_follower_of(lyon.instance)
    await peer.stop()
    clock = lyon.instance.clock

    posts = []
    for i in range(5):  # one post every 12 minutes, deliveries tried whenever due
        posts.append(await outbox.publish_post(lyon.instance, f"Annonce {i}"))
        for _ in range(12):
            await run_until_idle(lyon.instance)
            clock.advance(60)
    rows = await deliveries(lyon.instance)
    assert [r["state"] for r in rows] == ["queued"] * 5
    assert rows[0]["attempts"] >= 5 and all(r["attempts"] == 0 for r in rows[1:])
    assert peer.received == []

    await peer.start()
    await run_due_until(lyon.instance, lambda: _all_done(lyon.instance))
    assert peer.accepted_objects() == [p.uri for p in posts]
    assert len(peer.received) == 5


async def _all_done(instance: Any) -> bool:
    return {r["state"] for r in await deliveries(instance)} == {"done"}


async def test_a_host_failing_for_two_days_is_skipped_until_it_talks_to_us(lyon, receivers):
    peer = await receivers()
    await peer.become_follower_of(lyon.instance)
    await peer.stop()
    clock = lyon.instance.clock
    start = clock.now

    await outbox.publish_post(lyon.instance, "Un")
    await outbox.publish_post(lyon.instance, "Deux")

    async def unavailable() -> bool:
        host = await storage.get_host_state(lyon.db, peer.host)
        return host is not None and host.unavailable

    await run_due_until(lyon.instance, unavailable)
    assert clock.now - start > 2 * 24 * 3600
    # The oldest delivery fails for the 16th time just as the host passes two days of failures
    # (Σ n⁴ + 15 s is 1.5 days after 15 tries, 2.06 days after 16): it is failed for good; the
    # one that waited behind it is skipped with the host.
    rows = await deliveries(lyon.instance)
    assert [(r["state"], r["attempts"]) for r in rows] == [("failed", 16), ("skipped", 0)]

    third = await outbox.publish_post(lyon.instance, "Trois")
    assert len(await deliveries(lyon.instance)) == 2  # nothing queued for that host
    await peer.start()
    await run_until_idle(lyon.instance)
    assert peer.received == []

    like = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.url}/likes/1",
            "type": "Like", "actor": peer.actor_url(0), "object": third.uri}
    assert await peer.send(f"{lyon.url}/inbox", like) == 202  # a signed request from that host
    assert not await unavailable()

    fourth = await outbox.publish_post(lyon.instance, "Quatre")
    await run_until_idle(lyon.instance)
    assert peer.accepted_objects() == [fourth.uri]


async def test_a_post_for_an_unavailable_host_is_not_queued_and_the_log_says_so(lyon, receivers, caplog):
    """Given a follower whose host has failed for days (marked unavailable), when a post is
    published, then nothing is queued for it, and the log names the host that was left out."""
    peer = await receivers()
    await peer.become_follower_of(lyon.instance)
    await run_until_idle(lyon.instance)
    before = await deliveries(lyon.instance)
    await storage.record_host_failure(lyon.db, peer.host, lyon.instance.clock(), 0)

    with caplog.at_level("INFO", logger="fedi.delivery"):
        await outbox.publish_post(lyon.instance, "Pas pour eux")

    assert await deliveries(lyon.instance) == before
    logged = [r.getMessage() for r in caplog.records if r.getMessage().endswith(f": {peer.host}")]
    assert len(logged) == 1 and "not queued for unavailable hosts (1)" in logged[0]


async def test_sixteen_failures_fail_the_delivery_for_good(lyon, receivers):
    peer = await receivers(default=Answer(500))
    await peer.become_follower_of(lyon.instance)
    start = lyon.instance.clock.now

    await outbox.publish_post(lyon.instance, "Jamais reçu")
    await run_until_idle(lyon.instance)

    async def finished() -> bool:
        return (await deliveries(lyon.instance))[0]["state"] != "queued"

    await run_due_until(lyon.instance, finished)
    [row] = await deliveries(lyon.instance)
    assert (row["state"], row["attempts"]) == ("failed", DELIVERY_POLICY.max_attempts) == ("failed", 16)
    assert len(peer.received) == 16
    # the 16 tries span about two days (Σ n⁴ + 15 s for n = 1..15 ≈ 2.06 days)
    assert 2 * 24 * 3600 < lyon.instance.clock.now - start < 2.2 * 24 * 3600
    lyon.instance.clock.advance(30 * 24 * 3600)
    await run_until_idle(lyon.instance)
    assert len(peer.received) == 16


async def test_a_host_answering_429_for_ever_fails_the_delivery_after_sixteen_tries(lyon, receivers):
    """Given a host that answers every try with 429 and Retry-After: one hour, then the delivery
    is tried sixteen times, each when the host asked, and then fails for good (not queued for ever)."""
    peer = await receivers(default=Answer(429, {"Retry-After": "3600"}))
    await peer.become_follower_of(lyon.instance)

    await outbox.publish_post(lyon.instance, "Trop de demandes")
    await run_until_idle(lyon.instance)

    async def finished() -> bool:
        return (await deliveries(lyon.instance))[0]["state"] != "queued"

    await run_due_until(lyon.instance, finished)
    [row] = await deliveries(lyon.instance)
    assert (row["state"], row["attempts"]) == ("failed", 16)
    assert len(peer.received) == 16


async def test_a_slow_receiver_does_not_hold_up_other_hosts(lyon, receivers, monkeypatch):
    """The slow peer sleeps 60 s before answering; our total timeout per POST is cut to 2 s
    (the instance's poster gets total_timeout=2) to keep the test short."""
    await lyon.instance.poster.aclose()
    lyon.instance.poster = Poster(allow_private=True, user_agent="fedi-test", total_timeout=2.0)
    slow = await receivers(default=Answer(202, delay=60))
    fast = await receivers()
    await slow.become_follower_of(lyon.instance)
    await fast.become_follower_of(lyon.instance)
    post = await outbox.publish_post(lyon.instance, "Vite")

    started = time.monotonic()
    round_ = asyncio.create_task(delivery.deliver_due(lyon.instance))
    while not fast.received and time.monotonic() - started < 1.5:
        await asyncio.sleep(0.01)
    assert fast.accepted_objects() == [post.uri]
    assert fast.received[0].at - started < 1.0 and not round_.done()  # while the slow one hangs
    assert await round_ == 2
    assert time.monotonic() - started < 4.0
    rows = {r["inbox"]: r for r in await deliveries(lyon.instance)}
    assert rows[fast.inbox_url()]["state"] == "done"
    slow_row = rows[slow.inbox_url()]
    assert (slow_row["state"], slow_row["attempts"]) == ("queued", 1)
    assert "longer than 2.0 s" in slow_row["last_error"]


async def test_a_hanging_host_does_not_hold_up_the_next_posts_to_the_others(lyon, receivers):
    """The worker claims new deliveries while a host is still answering: the second post
    reaches the fast follower while the slow one still sits on the first, and nothing more is
    sent to the slow one until its lane is done."""
    slow = await receivers(default=Answer(202, delay=60))
    fast = await receivers()
    await slow.become_follower_of(lyon.instance)
    await fast.become_follower_of(lyon.instance)
    lanes = delivery.Lanes(lyon.instance)
    first = await outbox.publish_post(lyon.instance, "Premier rendez-vous")
    assert await lanes.start_due() == 2
    second = await outbox.publish_post(lyon.instance, "Second rendez-vous")
    started, claimed = time.monotonic(), 0
    while not claimed and time.monotonic() - started < 3:  # once the fast host's lane is done
        await asyncio.sleep(0.01)
        claimed = await lanes.start_due()
    assert claimed == 1  # the fast one's; the slow host is still in flight
    while len(fast.received) < 2 and time.monotonic() - started < 3:
        await asyncio.sleep(0.01)
    assert fast.accepted_objects() == [first.uri, second.uri]
    assert len(slow.received) == 0
    await lanes.wait(timeout=0)  # as at shutdown: the slow one's rows stay queued
    states = [(r["inbox"] == slow.inbox_url(), r["state"]) for r in await deliveries(lyon.instance)]
    assert sorted(states) == [(False, "done"), (False, "done"), (True, "queued"), (True, "queued")]
