"""The inbox refuses what it cannot verify or read, with a clear 4xx, and keeps nothing of it.

Each test plays a peer over real HTTP against one of our instances: "peer" is an honest
instance whose actor and key are fetchable, "mallory" another one that tries to cheat.
Unverifiable → 401, unreadable → 400, too big → 413, unknown type → 202 and ignored,
never a 500; and after `settle` nothing was applied (no follower, no post, no delivery).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from activitypub.auth import SignatureAuth, sign_request
from activitypub.digest import digest_header
from fedi import storage
from fedi_testing import Served, free_port, settle, signer_of, table_counts

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"
# What a refused request must leave alone (remote_actors may gain the signer's cached actor).
KEPT_TABLES = ("follows", "posts", "activities", "deliveries", "inbox", "reactions")


@pytest.fixture(params=["actor", "shared"])
def inbox_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def inbox_of(target: Served, kind: str) -> str:
    return f"{target.actor_url}/inbox" if kind == "actor" else f"{target.url}/inbox"


def follow_of(peer: Served, target: Served, n: int = 1) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": f"{peer.url}/activities/follow-{n}", "type": "Follow",
            "actor": peer.actor_url, "object": target.actor_url}


def encode(activity: Any) -> bytes:
    return json.dumps(activity).encode("utf-8")


def signed(url: str, body: bytes, auth: SignatureAuth, **headers: str) -> httpx.Request:
    """A POST signed as `auth` would sign it (headers given here are signed as sent)."""
    request = httpx.Request("POST", url, content=body, headers={"Content-Type": ACTIVITY_JSON, **headers})
    sign_request(request, auth.key_id, auth.private_key, auth.scheme)
    return request


def with_body(request: httpx.Request, body: bytes) -> httpx.Request:
    """The same headers (signature included) with another body."""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request("POST", request.url, content=body, headers=headers)


async def send(request: httpx.Request) -> httpx.Response:
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.send(request)


def assert_refused(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert isinstance(error, str) and error


async def assert_nothing_applied(target: Served, others: tuple[Served, ...],
                                 before: dict[str, int]) -> None:
    assert await table_counts(target.instance, KEPT_TABLES) == before
    await settle(target, *others)
    assert await table_counts(target.instance, KEPT_TABLES) == before
    assert await storage.list_followers(target.db, target.actor_url, 10) == []
    assert await storage.count_deliveries(target.db) == {}


def _cavage_without_digest(request: httpx.Request, auth: SignatureAuth) -> None:
    """A well-formed rsa-sha256 signature over (request-target), host and date only."""
    request.headers["Date"] = email.utils.formatdate(usegmt=True)
    request.headers["Host"] = request.url.netloc.decode("ascii")
    request.headers["Digest"] = digest_header(request.content)
    message = (f"(request-target): post {request.url.raw_path.decode('ascii')}\n"
               f"host: {request.headers['Host']}\ndate: {request.headers['Date']}").encode()
    signature = auth.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]
    request.headers["Signature"] = (
        f'keyId="{auth.key_id}",algorithm="rsa-sha256",headers="(request-target) host date",'
        f'signature="{base64.b64encode(signature).decode()}"')


# ------------------------------------------------------------------ the honest baseline


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_a_correctly_signed_follow_is_accepted(peers, inbox_kind, scheme):
    """The control: the same request, unspoilt, is taken (so the refusals below mean something)."""
    target, peer, _mallory = peers
    response = await send(signed(inbox_of(target, inbox_kind), encode(follow_of(peer, target)),
                                 signer_of(peer.instance, scheme)))
    assert response.status_code == 202, response.text
    await settle(target, peer)
    assert await storage.list_followers(target.db, target.actor_url, 10) == [peer.actor_url]


# ------------------------------------------------------------------ unverifiable → 401


def no_signature(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    return httpx.Request("POST", url, content=body, headers={"Content-Type": ACTIVITY_JSON})


def key_of_mallory_keyid_of_peer(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    cheat = SignatureAuth(peer.instance.association.key_id, signer_of(mallory.instance).private_key)
    return signed(url, body, cheat)


def body_tampered_after_signing(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    return with_body(signed(url, body, signer_of(peer.instance)), body.replace(b"Follow", b"Block"))


def body_and_digest_replaced(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    other = body.replace(b"follow-1", b"follow-2")
    request = with_body(signed(url, body, signer_of(peer.instance)), other)
    request.headers["Digest"] = digest_header(other)
    return request


def rfc9421_body_tampered(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = signed(url, body, signer_of(peer.instance, "rfc9421"))
    return with_body(request, body.replace(b"Follow", b"Block"))


def digest_missing(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = signed(url, body, signer_of(peer.instance))
    del request.headers["Digest"]
    return request


def date_two_hours_old(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    return signed(url, body, signer_of(peer.instance),
                  Date=email.utils.formatdate(time.time() - 7200, usegmt=True))


def date_one_hour_ahead(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    return signed(url, body, signer_of(peer.instance),
                  Date=email.utils.formatdate(time.time() + 3600, usegmt=True))


def date_unreadable(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    return signed(url, body, signer_of(peer.instance), Date="yesterday at noon")


def signature_not_covering_digest(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = httpx.Request("POST", url, content=body, headers={"Content-Type": ACTIVITY_JSON})
    _cavage_without_digest(request, signer_of(peer.instance))
    return request


def unsupported_algorithm(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = signed(url, body, signer_of(peer.instance))
    request.headers["Signature"] = request.headers["Signature"].replace("rsa-sha256", "hmac-sha256")
    return request


def garbage_signature_header(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = signed(url, body, signer_of(peer.instance))
    headers = [(k, v) for k, v in request.headers.raw if k.lower() not in (b"signature", b"content-length")]
    headers.append((b"Signature", "keyId=\"x\", signature=\u00e9\u00e9".encode()))
    return httpx.Request("POST", url, content=body, headers=headers)


def signature_not_base64(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = signed(url, body, signer_of(peer.instance))
    value = request.headers["Signature"]
    request.headers["Signature"] = value[: value.index('signature="')] + 'signature="%%%not base64%%%"'
    return request


def garbage_signature_input(url: str, body: bytes, peer: Served, mallory: Served) -> httpx.Request:
    request = signed(url, body, signer_of(peer.instance, "rfc9421"))
    request.headers["Signature-Input"] = 'sig1=("@method" ;;; nonsense'
    return request


UNVERIFIABLE = [
    no_signature, key_of_mallory_keyid_of_peer, body_tampered_after_signing, body_and_digest_replaced,
    rfc9421_body_tampered, digest_missing, date_two_hours_old, date_one_hour_ahead, date_unreadable,
    signature_not_covering_digest, unsupported_algorithm, garbage_signature_header,
    signature_not_base64, garbage_signature_input,
]


@pytest.mark.parametrize("spoil", UNVERIFIABLE, ids=[f.__name__ for f in UNVERIFIABLE])
async def test_an_unverifiable_follow_gets_401_and_changes_nothing(peers, inbox_kind, spoil):
    target, peer, mallory = peers
    before = await table_counts(target.instance, KEPT_TABLES)
    request = spoil(inbox_of(target, inbox_kind), encode(follow_of(peer, target)), peer, mallory)
    assert_refused(await send(request), 401)
    await assert_nothing_applied(target, (peer, mallory), before)


async def test_a_key_on_a_host_that_does_not_answer_gets_401_quickly(peers, inbox_kind):
    target, peer, mallory = peers
    ghost = f"http://127.0.0.1:{free_port()}/users/ghost"  # nothing listens there
    activity = {**follow_of(peer, target), "id": f"{ghost}/follows/1", "actor": ghost}
    auth = SignatureAuth(f"{ghost}#main-key", signer_of(mallory.instance).private_key)
    before = await table_counts(target.instance)
    started = time.monotonic()
    response = await send(signed(inbox_of(target, inbox_kind), encode(activity), auth))
    assert_refused(response, 401)
    assert time.monotonic() - started < 5
    assert await table_counts(target.instance) == before  # not even a remote actor
    await assert_nothing_applied(target, (peer, mallory), await table_counts(target.instance, KEPT_TABLES))


BOGUS_KEY_IDS = {
    "file_url": lambda t, p: "file:///etc/passwd",
    "not_a_url": lambda t, p: "main-key",
    "broken_ipv6": lambda t, p: "http://[::1/users/x#main-key",
    "bad_port": lambda t, p: "http://127.0.0.1:99999/users/x#main-key",
    "empty_host": lambda t, p: "http:///users/x#main-key",
    "a_post_not_an_actor": lambda t, p: f"{p.url}/posts/nothing#main-key",
    "our_own_actor": lambda t, p: f"{t.actor_url}#main-key",
    "the_peer_actor_without_fragment": lambda t, p: p.actor_url,
}


@pytest.mark.parametrize("key_id", BOGUS_KEY_IDS.values(), ids=BOGUS_KEY_IDS.keys())
async def test_a_bogus_key_id_gets_401(peers, key_id):
    """Mallory signs her own Follow, but points keyId anywhere but her key."""
    target, peer, mallory = peers
    auth = SignatureAuth(key_id(target, peer), signer_of(mallory.instance).private_key)
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(f"{target.url}/inbox", encode(follow_of(mallory, target)), auth))
    assert_refused(response, 401)
    await assert_nothing_applied(target, (peer, mallory), before)


# ------------------------------------------------------------------ unreadable → 400 / 413


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


UNREADABLE = {
    "not_json": b'{"type": "Follow", "actor": ',
    "json_array": b'[{"type": "Follow"}]',
    "json_string": b'"Follow"',
    "empty": b"",
    "invalid_utf8": b'{"type": "Follow", "actor": "\xff\xfe", "object": "x"}',
    "nested_100000": b"[" * 100_000 + b"]" * 100_000,
    "nested_object_1000": _nested(1000),
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_an_unreadable_body_gets_400(peers, inbox_kind, body):
    target, peer, _mallory = peers
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), body, signer_of(peer.instance)))
    assert_refused(response, 400)
    await assert_nothing_applied(target, (peer,), before)


@pytest.mark.parametrize("missing", ["type", "actor"])
async def test_an_activity_without_type_or_actor_gets_400(peers, inbox_kind, missing):
    target, peer, _mallory = peers
    activity = follow_of(peer, target)
    del activity[missing]
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), encode(activity), signer_of(peer.instance)))
    assert_refused(response, 400)
    await assert_nothing_applied(target, (peer,), before)


@pytest.mark.parametrize("shape", [{"type": 7}, {"type": [7, None]}, {"actor": {"no": "id"}},
                                   {"actor": 42}, {"id": 42}, {"id": {"x": 1}},
                                   {"actor": "http://[::1/users/x"}, {"id": "http://[::1/follows/1"},
                                   {"object": "http://[::1/users/x"}, {"object": 42},
                                   {"actor": "javascript:alert(1)"}, {"id": "x" * 100_000}])
async def test_an_activity_with_wrongly_shaped_fields_gets_400(peers, inbox_kind, shape):
    target, peer, _mallory = peers
    activity = {**follow_of(peer, target), **shape}
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), encode(activity), signer_of(peer.instance)))
    assert_refused(response, 400, 401, 403)
    await assert_nothing_applied(target, (peer,), before)


async def test_deeply_nested_json_inside_an_activity_is_refused_or_ignored(peers, inbox_kind):
    """1000 levels under `object`: the parser may refuse it (400) or, if it reads it, the
    unknown type makes it ignored (202); never a 500, never stored."""
    target, peer, _mallory = peers
    body = (b'{"type": "Wave", "id": "' + f"{peer.url}/waves/1".encode() + b'", "actor": "'
            + peer.actor_url.encode() + b'", "object": ' + _nested(1000) + b"}")
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), body, signer_of(peer.instance)))
    assert response.status_code in (400, 202), response.text
    if response.status_code == 400:
        assert_refused(response, 400)
    await assert_nothing_applied(target, (peer,), before)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_declared_as_activitypub_gets_a_4xx(peers, inbox_kind, content_type):
    target, peer, _mallory = peers
    headers = {"Content-Type": content_type} if content_type else {}
    request = httpx.Request("POST", inbox_of(target, inbox_kind), content=encode(follow_of(peer, target)),
                            headers=headers)
    assert request.headers.get("Content-Type") == content_type
    sign_request(request, peer.instance.association.key_id, signer_of(peer.instance).private_key)
    before = await table_counts(target.instance, KEPT_TABLES)
    assert_refused(await send(request), 400, 415)
    await assert_nothing_applied(target, (peer,), before)


def _too_big_follow(peer: Served, target: Served) -> bytes:
    activity = {**follow_of(peer, target), "summary": "x" * 1_500_000}
    return encode(activity)


async def test_a_body_over_1_mb_gets_413(peers, inbox_kind):
    target, peer, _mallory = peers
    before = await table_counts(target.instance, KEPT_TABLES)
    request = signed(inbox_of(target, inbox_kind), _too_big_follow(peer, target), signer_of(peer.instance))
    assert int(request.headers["Content-Length"]) > 1_400_000
    assert_refused(await send(request), 413)
    await assert_nothing_applied(target, (peer,), before)


async def test_a_chunked_body_over_1_mb_without_length_gets_413(peers, inbox_kind):
    target, peer, _mallory = peers
    body = _too_big_follow(peer, target)
    template = signed(inbox_of(target, inbox_kind), body, signer_of(peer.instance))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    headers = {k: v for k, v in template.headers.items() if k.lower() != "content-length"}
    request = httpx.Request("POST", template.url, content=chunks(), headers=headers)
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    before = await table_counts(target.instance, KEPT_TABLES)
    assert_refused(await send(request), 413)
    await assert_nothing_applied(target, (peer,), before)


async def _raw_post(url: str, request: httpx.Request, head: dict[str, str], body: bytes,
                    *, hang_up: bool = False) -> bytes:
    """Sends a hand-made HTTP/1.1 request (httpx refuses to lie about Content-Length)."""
    target = httpx.URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    headers = {**{k: v for k, v in request.headers.items()
                  if k.lower() not in ("content-length", "transfer-encoding")}, **head}
    lines = [f"POST {target.raw_path.decode()} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    try:
        await writer.drain()
        if hang_up:
            return b""
        return await asyncio.wait_for(reader.read(65536), 10)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_a_lying_content_length_smuggles_nothing(peers, inbox_kind):
    """Declared 100 bytes, sent 1.5 MB: the server reads 100 bytes (not JSON → 400) and never
    takes the rest as an activity."""
    target, peer, _mallory = peers
    url = inbox_of(target, inbox_kind)
    body = _too_big_follow(peer, target)
    request = signed(url, body, signer_of(peer.instance))
    before = await table_counts(target.instance, KEPT_TABLES)
    answer = await _raw_post(url, request, {"Content-Length": "100"}, body)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    await assert_nothing_applied(target, (peer,), before)


async def test_a_peer_hanging_up_mid_body_causes_no_server_error(peers, inbox_kind, caplog):
    target, peer, _mallory = peers
    url = inbox_of(target, inbox_kind)
    body = encode(follow_of(peer, target))
    request = signed(url, body, signer_of(peer.instance))
    before = await table_counts(target.instance, KEPT_TABLES)
    await _raw_post(url, request, {"Content-Length": "500000"}, body, hang_up=True)
    await asyncio.sleep(0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    await assert_nothing_applied(target, (peer,), before)


# ------------------------------------------------------------------ signed but not ours to apply


async def test_an_unknown_activity_type_gets_202_and_is_not_stored(peers, inbox_kind):
    target, peer, _mallory = peers
    wave = {"@context": AS_CONTEXT, "id": f"{peer.url}/waves/1", "type": "Wave",
            "actor": peer.actor_url, "object": target.actor_url}
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), encode(wave), signer_of(peer.instance)))
    assert response.status_code == 202, response.text
    await assert_nothing_applied(target, (peer,), before)


async def test_an_activity_whose_actor_is_not_the_signer_is_refused(peers, inbox_kind):
    """Mallory signs (validly, with her own key) a Follow that claims to be the peer's."""
    target, peer, mallory = peers
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), encode(follow_of(peer, target)),
                                 signer_of(mallory.instance)))
    assert_refused(response, 401, 403)
    await assert_nothing_applied(target, (peer, mallory), before)
    assert await storage.get_follow(target.db, peer.actor_url, target.actor_url) is None


async def test_an_activity_with_its_id_on_another_host_is_refused(peers, inbox_kind):
    target, peer, mallory = peers
    activity = {**follow_of(mallory, target), "id": f"{peer.url}/activities/follow-1"}
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(inbox_of(target, inbox_kind), encode(activity), signer_of(mallory.instance)))
    assert_refused(response, 403)
    await assert_nothing_applied(target, (peer, mallory), before)


async def test_an_inbox_of_nobody_gets_404(peers):
    target, peer, _mallory = peers
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await send(signed(f"{target.url}/users/nobody/inbox", encode(follow_of(peer, target)),
                                 signer_of(peer.instance)))
    assert_refused(response, 404)
    await assert_nothing_applied(target, (peer,), before)


async def test_a_replayed_follow_is_acknowledged_but_applied_once(peers, inbox_kind):
    target, peer, _mallory = peers
    request = signed(inbox_of(target, inbox_kind), encode(follow_of(peer, target)), signer_of(peer.instance))
    first = await send(request)
    second = await send(request)
    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    await settle(target, peer)
    third = await send(request)  # replayed again after it was applied
    assert 200 <= third.status_code < 300, third.text
    await settle(target, peer)

    assert await storage.list_followers(target.db, target.actor_url, 10) == [peer.actor_url]
    assert (await table_counts(target.instance, ("inbox",)))["inbox"] == 1
    assert await storage.count_deliveries(target.db) == {"done": 1}  # one Accept


async def test_the_same_follow_sent_concurrently_is_applied_once(peers):
    target, peer, _mallory = peers
    request = signed(f"{target.url}/inbox", encode(follow_of(peer, target)), signer_of(peer.instance))
    responses = await asyncio.gather(*(send(request) for _ in range(8)))
    assert [r.status_code for r in responses] == [202] * 8, [r.text for r in responses]
    await settle(target, peer)
    assert await storage.list_followers(target.db, target.actor_url, 10) == [peer.actor_url]
    assert await storage.count_deliveries(target.db) == {"done": 1}
