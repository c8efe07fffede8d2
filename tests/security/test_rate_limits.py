"""The inbox takes a bounded rate per client IP (checked before the body is read) and per sending
server (spent only by verified requests); over it, `429` with `Retry-After` and nothing stored.

The limiter itself is tested with time passed in; the served tests give the instance a fake
clock (`InboxLimits.clock`) so that "after the window" needs no sleeping, and one test waits for
real to show the wall clock works too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest

from activitypub.auth import SignatureAuth, sign_request
from fedi_testing import Served, signer_of, table_counts
from web.admission import InboxLimits
from web.ratelimit import RateLimiter

ACTIVITY_JSON = "application/activity+json"
KEPT_TABLES = ("follows", "posts", "activities", "deliveries", "inbox", "reactions")


# ------------------------------------------------------------------ the limiter alone


def test_a_key_gets_its_burst_then_is_refused_until_tokens_come_back():
    limiter = RateLimiter(rate_per_second=2, burst=3)
    assert [limiter.allow("a", 100.0) for _ in range(5)] == [True, True, True, False, False]
    assert limiter.retry_after("a", 100.0) == pytest.approx(0.5)
    assert limiter.retry_after_header("a", 100.0) == "1"
    assert limiter.allow("a", 100.4) is False
    assert limiter.allow("a", 100.5) is True  # one token every half second
    assert limiter.allow("a", 100.5) is False
    assert [limiter.allow("a", 200.0) for _ in range(4)] == [True, True, True, False]  # never over burst


def test_keys_are_limited_independently():
    limiter = RateLimiter(rate_per_second=1, burst=1)
    assert limiter.allow("10.0.0.1", 0.0) and not limiter.allow("10.0.0.1", 0.0)
    assert limiter.allow("10.0.0.2", 0.0)
    assert limiter.retry_after("never-seen", 0.0) == 0.0


def test_retry_after_takes_nothing():
    limiter = RateLimiter(rate_per_second=1, burst=2)
    for _ in range(10):
        assert limiter.retry_after("a", 0.0) == 0.0
    assert [limiter.allow("a", 0.0) for _ in range(3)] == [True, True, False]
    assert limiter.retry_after_header("a", 0.0) == "1"
    assert RateLimiter(rate_per_second=0.1, burst=1).retry_after_header("x", 0.0) == "1"


def test_a_slow_rate_gives_a_long_retry_after():
    limiter = RateLimiter(rate_per_second=0.1, burst=1)
    assert limiter.allow("a", 0.0) and not limiter.allow("a", 0.0)
    assert limiter.retry_after_header("a", 0.0) == "10"


def test_idle_keys_are_forgotten():
    """A key whose bucket has refilled is the same as an unknown key: it takes no memory."""
    limiter = RateLimiter(rate_per_second=10, burst=20)
    for n in range(1000):
        limiter.allow(f"10.0.{n // 256}.{n % 256}", 0.0)
    assert len(limiter) == 1000
    limiter.allow("late", 0.05)  # each bucket lacks the token it gave: back after 0.1 s
    assert len(limiter) == 1001
    limiter.allow("later", 0.1)
    assert len(limiter) == 2  # "late" still lacks its token


def test_memory_stays_bounded_under_a_flood_of_distinct_keys():
    limiter = RateLimiter(rate_per_second=1, burst=5, max_keys=100)
    for n in range(50_000):
        limiter.allow(f"key-{n}", 0.0)
        assert len(limiter) <= 100
    assert len(limiter) == 100


def test_the_most_recently_used_keys_are_kept_when_the_cap_is_hit():
    limiter = RateLimiter(rate_per_second=1, burst=1, max_keys=3)
    assert limiter.allow("abuser", 0.0)
    for n in range(3):
        limiter.allow(f"other-{n}", 0.0)
        assert not limiter.allow("abuser", 0.0)  # still remembered: used most recently each time


def test_a_clock_going_backwards_gives_no_tokens():
    limiter = RateLimiter(rate_per_second=1, burst=1)
    assert limiter.allow("a", 100.0)
    assert not limiter.allow("a", 50.0)
    assert not limiter.allow("a", 100.5)
    assert limiter.allow("a", 101.0)


def test_a_key_can_be_emptied_forgotten_and_asked_when_it_is_full_again():
    limiter = RateLimiter(rate_per_second=1, burst=4)
    assert limiter.full_after("a", 0.0) == 0.0
    limiter.allow("a", 0.0)
    assert limiter.full_after("a", 0.5) == pytest.approx(0.5)
    limiter.empty("a", 1.0)
    assert not limiter.allow("a", 1.0)
    assert limiter.full_after("a", 1.0) == pytest.approx(4.0)
    limiter.forget("a")
    assert [limiter.allow("a", 1.0) for _ in range(5)] == [True, True, True, True, False]


@pytest.mark.parametrize("arguments", [(0, 1), (1, 0), (-1, 5)])
def test_impossible_limits_are_refused(arguments):
    with pytest.raises(ValueError):
        RateLimiter(*arguments)


# ------------------------------------------------------------------ served


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def set_inbox_limits(target: Served, **changes: Any) -> InboxLimits:
    """Gives the served app other limits (create_app takes them too: inbox_rate=, host_rate=)."""
    app = target.server.config.app
    app.state.inbox_limits = dataclasses.replace(app.state.inbox_limits, **changes)
    return app.state.inbox_limits  # type: ignore[no-any-return]


def signed_follow(peer: Served, target: Served, n: int, auth: SignatureAuth | None = None) -> httpx.Request:
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                "id": f"{peer.url}/activities/follow-{n}", "actor": peer.actor_url,
                "object": target.actor_url}
    request = httpx.Request("POST", f"{target.url}/inbox", content=json.dumps(activity).encode(),
                            headers={"Content-Type": ACTIVITY_JSON})
    auth = auth or signer_of(peer.instance)
    sign_request(request, auth.key_id, auth.private_key, auth.scheme)
    return request


async def post_all(requests: list[httpx.Request]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=20) as client:
        return [await client.send(request) for request in requests]


def assert_limited(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, (response.status_code, response.text)
    assert response.headers["retry-after"] == str(retry_after)
    assert response.headers["content-type"].startswith("application/json")
    assert "too many requests" in response.json()["error"]


async def test_a_burst_from_one_address_is_cut_after_the_burst_and_welcome_again_later(peers):
    target, peer, _mallory = peers
    clock = FakeClock()
    set_inbox_limits(target, by_ip=RateLimiter(rate_per_second=0.5, burst=3), clock=clock)
    before = await table_counts(target.instance, ("inbox",))

    responses = await post_all([signed_follow(peer, target, n) for n in range(6)])

    assert [r.status_code for r in responses] == [202, 202, 202, 429, 429, 429], [r.text for r in responses]
    for refused in responses[3:]:
        assert_limited(refused, retry_after=2)  # one token every 2 s
    assert (await table_counts(target.instance, ("inbox",)))["inbox"] == before["inbox"] + 3
    stored = {row[0] for row in await target.db.fetchall("SELECT activity_uri FROM inbox")}
    assert stored == {f"{peer.url}/activities/follow-{n}" for n in range(3)}

    clock.now += 2  # the window: one token back
    again = await post_all([signed_follow(peer, target, n) for n in range(3, 5)])
    assert [r.status_code for r in again] == [202, 429], [r.text for r in again]
    clock.now += 60  # long idle: the whole burst is back
    again = await post_all([signed_follow(peer, target, n) for n in range(5, 8)])
    assert [r.status_code for r in again] == [202, 202, 202], [r.text for r in again]


async def test_the_limit_holds_across_both_inboxes_and_bad_requests(peers):
    """The actor's inbox and the shared inbox share one budget per address, and requests that
    are refused anyway (no signature, not JSON, unknown inbox) spend it too."""
    target, peer, _mallory = peers
    set_inbox_limits(target, by_ip=RateLimiter(rate_per_second=0.5, burst=4), clock=FakeClock())
    async with httpx.AsyncClient(timeout=20) as client:
        statuses = [
            (await client.post(f"{target.url}/inbox", content=b"{}",
                               headers={"Content-Type": ACTIVITY_JSON})).status_code,
            (await client.post(f"{target.actor_url}/inbox", content=b"not json",
                               headers={"Content-Type": ACTIVITY_JSON})).status_code,
            (await client.post(f"{target.url}/users/nobody/inbox", content=b"{}",
                               headers={"Content-Type": ACTIVITY_JSON})).status_code,
            (await client.send(signed_follow(peer, target, 1))).status_code,
            (await client.send(signed_follow(peer, target, 2))).status_code,
            (await client.post(f"{target.actor_url}/inbox", content=b"{}",
                               headers={"Content-Type": ACTIVITY_JSON})).status_code,
        ]
        assert (await client.get(target.actor_url, headers={"Accept": ACTIVITY_JSON})).status_code == 200
    assert statuses == [400, 400, 404, 202, 429, 429]


async def test_a_limited_client_is_refused_before_its_body_is_read(peers):
    """Headers announcing 500 kB and no body at all: the 429 comes at once, not after a wait."""
    target, peer, _mallory = peers
    set_inbox_limits(target, by_ip=RateLimiter(rate_per_second=0.01, burst=1), clock=FakeClock())
    assert (await post_all([signed_follow(peer, target, 1)]))[0].status_code == 202
    reader, writer = await asyncio.open_connection("127.0.0.1", httpx.URL(target.url).port)
    try:
        writer.write(f"POST /inbox HTTP/1.1\r\nHost: {httpx.URL(target.url).netloc.decode()}\r\n"
                     f"Content-Type: {ACTIVITY_JSON}\r\nContent-Length: 500000\r\n\r\n".encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
    assert b"retry-after: 100" in answer.lower()


async def test_the_limit_on_a_sending_server_counts_only_its_verified_requests(peers):
    """Mallory forges requests under the peer's keyId: they get 401 and do not use up the peer's
    share; the peer's own requests do, up to its burst."""
    target, peer, mallory = peers
    set_inbox_limits(target, by_host=RateLimiter(rate_per_second=0.5, burst=3), clock=FakeClock())
    forged = SignatureAuth(peer.instance.association.key_id, signer_of(mallory.instance).private_key)
    refused = await post_all([signed_follow(peer, target, 100 + n, forged) for n in range(10)])
    assert {r.status_code for r in refused} == {401}
    before = await table_counts(target.instance, KEPT_TABLES)

    responses = await post_all([signed_follow(peer, target, n) for n in range(5)])

    assert [r.status_code for r in responses] == [202, 202, 202, 429, 429]
    assert_limited(responses[3], retry_after=2)
    assert "server" in responses[3].json()["error"]
    after = await table_counts(target.instance, KEPT_TABLES)
    assert after["inbox"] == before["inbox"] + 3
    # another server is not affected
    assert (await post_all([signed_follow(mallory, target, 1)]))[0].status_code == 202


async def test_requests_are_accepted_again_after_retry_after_on_the_wall_clock(peers):
    target, peer, _mallory = peers
    set_inbox_limits(target, by_ip=RateLimiter(rate_per_second=1, burst=2))
    responses = await post_all([signed_follow(peer, target, n) for n in range(3)])
    assert [r.status_code for r in responses] == [202, 202, 429]
    await asyncio.sleep(int(responses[2].headers["retry-after"]))
    assert (await post_all([signed_follow(peer, target, 3)]))[0].status_code == 202


async def test_the_default_limits_take_a_peers_fan_out(peers):
    """100 activities at once from one peer (a busy server catching up) all get 202."""
    target, peer, _mallory = peers
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(*(client.send(signed_follow(peer, target, n)) for n in range(100)))
    assert [r.status_code for r in responses] == [202] * 100
