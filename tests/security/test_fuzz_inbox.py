"""Given generated activities, validly signed by a real peer and POSTed to a served instance, the
inbox answers only 202/400/401/403/404/413 (never 5xx); once the workers have applied what was
stored, no row failed with "internal error" (a bug in a handler), and the instance still serves.

Each example is a real HTTP request plus a `settle`, so the default count is small; run
`pytest --fuzz-examples 5000 tests/security/test_fuzz_inbox.py` (N // 5 inbox examples) for longer.
Hypothesis runs in a worker thread and hands each example to the event loop where the instances
are served (`run_coroutine_threadsafe`), so the servers keep running between examples.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pytest
from fuzz_strategies import LOCAL_ODD_HOSTS, mostly, objects
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activitypub.auth import sign_request
from activitypub.vocab import PUBLIC
from fedi import outbox, remote
from fedi_testing import AP_HEADERS, Served, settle, signer_of
from web.ratelimit import RateLimiter

DEFAULT_EXAMPLES = 60
EXPECTED = {202, 400, 401, 403, 404, 413}
EXAMPLE_TIMEOUT = 60.0


@pytest.fixture
def examples(request: pytest.FixtureRequest) -> int:
    wanted = request.config.getoption("--fuzz-examples")
    return max(DEFAULT_EXAMPLES, int(wanted) // 5) if wanted else DEFAULT_EXAMPLES


HANDLED_TYPES = ["Create", "Update", "Delete", "Follow", "Accept", "Reject", "Undo", "Like", "Announce"]


def overlay(base: st.SearchStrategy[dict[str, Any]], fuzz: st.SearchStrategy[dict[str, Any]],
            keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Fuzzed properties over a well-formed base, which keeps most (usually all) of its `keys`."""
    kept = mostly(st.just(frozenset(keys)), st.frozensets(st.sampled_from(keys)), 70)
    return st.builds(lambda b, f, k: {**f, **{key: b[key] for key in k}}, base, fuzz, kept)


def activities(peer: Served, target: Served, known: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly well-formed activities from the peer (handled type, id on its host, a known or
    embedded object) with fuzzed properties on top, so the handlers get far (fetches, follows,
    replies); the rest fuzzed from scratch. Ids point at the two servers or at local hosts."""
    hosts = [peer.url, target.url, *known]
    fuzz = objects(hosts, depth=1, odd_hosts=LOCAL_ODD_HOSTS)
    serial = st.uuids().map(lambda u: u.hex)
    note = overlay(st.fixed_dictionaries({
        "type": st.sampled_from(["Note", "Article", "Question", "Event", "Tombstone", "Person"]),
        "id": serial.map(lambda n: f"{peer.url}/notes/{n}"), "attributedTo": st.just(peer.actor_url),
    }), fuzz, ["type", "id", "attributedTo"])
    follow = st.fixed_dictionaries({
        "type": st.sampled_from(["Follow", "Like", "Announce"]), "id": serial.map(lambda n: f"{peer.url}/a/{n}"),
        "actor": st.just(peer.actor_url), "object": st.sampled_from(known)})
    skeleton = st.fixed_dictionaries({
        "type": st.sampled_from(HANDLED_TYPES), "id": serial.map(lambda n: f"{peer.url}/activities/{n}"),
        "actor": st.just(peer.actor_url), "object": st.one_of(st.sampled_from(known), note, follow),
        "to": st.sampled_from([PUBLIC, f"{peer.actor_url}/followers", target.actor_url]),
    })
    return mostly(overlay(skeleton, fuzz, ["type", "id", "actor", "object", "to"]),
                  objects(hosts, depth=2, odd_hosts=LOCAL_ODD_HOSTS), 75)


async def post_signed(peer: Served, url: str, body: bytes, scheme: str) -> int:
    request = httpx.Request("POST", url, content=body, headers={"Content-Type": "application/activity+json"})
    auth = signer_of(peer.instance, scheme)
    sign_request(request, auth.key_id, auth.private_key, auth.scheme)
    async with httpx.AsyncClient(timeout=30) as client:
        return (await client.send(request)).status_code


async def apply_one(target: Served, peer: Served, activity: dict[str, Any], inbox: str,
                    scheme: str) -> None:
    """One example: POST it signed, check the status, let both servers do all they queued,
    check that nothing it stored failed with a bug."""
    last = (await target.db.fetchone("SELECT COALESCE(MAX(id), 0) FROM inbox"))[0]
    body = json.dumps(activity).encode()
    status = await post_signed(peer, inbox, body, scheme)
    assert status in EXPECTED, f"status {status} for {body[:500]!r}"
    await settle(target, peer)
    crashed = await target.db.fetchall(
        "SELECT type, last_error FROM inbox WHERE id > ? AND last_error LIKE 'internal error%'", (last,))
    assert not crashed, [tuple(row) for row in crashed]


async def test_fuzzed_signed_activities_never_cause_a_server_error(make_instance, examples):
    target = await make_instance("avf-lyon")
    peer = await make_instance("avf-nantes")
    app = target.server.config.app  # the fuzzer is one client sending fast: no rate limit here
    app.state.inbox_limits = dataclasses.replace(
        app.state.inbox_limits, by_ip=RateLimiter(1e6, 10**6), by_host=RateLimiter(1e6, 10**6))
    await remote.get_actor(target.instance, peer.actor_url)
    post = await outbox.publish_post(target.instance, "Bienvenue à Lyon")
    peer_post = await outbox.publish_post(peer.instance, "Bonjour de Nantes")
    known = [peer.actor_url, target.actor_url, post.uri, peer_post.uri, f"{target.actor_url}/followers"]
    inboxes = st.sampled_from([f"{target.url}/inbox", f"{target.url}/inbox", f"{target.actor_url}/inbox",
                               f"{target.actor_url}/inbox", f"{target.url}/users/nobody/inbox"])
    loop = asyncio.get_running_loop()

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(activities(peer, target, known), inboxes, st.sampled_from(["cavage", "cavage", "rfc9421"]))
    def inbox_holds(activity: dict[str, Any], inbox: str, scheme: str) -> None:
        future = asyncio.run_coroutine_threadsafe(apply_one(target, peer, activity, inbox, scheme), loop)
        future.result(EXAMPLE_TIMEOUT)

    await asyncio.to_thread(inbox_holds)

    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(target.actor_url, headers=AP_HEADERS)
    assert response.status_code == 200
    assert response.json()["id"] == target.actor_url
