"""A client that sends its body a few bytes at a time is cut off with `408` once the body has
taken longer than the inbox allows in all (10 s by default; small here), and nothing is stored.

Slow *headers* (slowloris) never reach the application: uvicorn alone has no timeout for them,
so `fedi serve` runs it with a protocol that closes such connections (tested below).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import httpx
import pytest

from activitypub.auth import sign_request
from fedi import remote
from fedi.server import HeaderTimeoutProtocol
from fedi_testing import Served, serve_app, signer_of, table_counts

ACTIVITY_JSON = "application/activity+json"
KEPT_TABLES = ("follows", "posts", "activities", "deliveries", "inbox", "reactions")


@pytest.fixture
async def peers(make_instance: Any) -> tuple[Served, Served]:
    target = await make_instance("avf-lyon")
    peer = await make_instance("avf-nantes")
    await remote.get_actor(target.instance, peer.actor_url)
    app = target.server.config.app
    app.state.inbox_limits = dataclasses.replace(app.state.inbox_limits, body_timeout=1.5)
    return target, peer


def signed_follow(peer: Served, target: Served) -> httpx.Request:
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                "id": f"{peer.url}/activities/follow-1", "actor": peer.actor_url,
                "object": target.actor_url}
    request = httpx.Request("POST", f"{target.url}/inbox", content=json.dumps(activity).encode(),
                            headers={"Content-Type": ACTIVITY_JSON})
    auth = signer_of(peer.instance)
    sign_request(request, auth.key_id, auth.private_key, auth.scheme)
    return request


async def trickle(request: httpx.Request, piece: int, pause: float, limit: float) -> tuple[bytes, float]:
    """Sends the request's headers at once, then its body `piece` bytes every `pause` seconds;
    returns what the server answered (b"" if it just closed) and after how long."""
    url = request.url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = [f"POST {url.raw_path.decode()} HTTP/1.1", *(f"{k}: {v}" for k, v in request.headers.items())]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    body = request.content
    started = time.monotonic()

    async def send_body() -> None:
        for start in range(0, len(body), piece):
            writer.write(body[start:start + piece])
            await writer.drain()
            await asyncio.sleep(pause)

    sender = asyncio.create_task(send_body())
    try:
        answer = await asyncio.wait_for(reader.read(65536), limit)
    except ConnectionError:
        answer = b""
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()
    return answer, time.monotonic() - started


async def test_a_body_trickling_in_gets_408_and_nothing_is_stored(peers):
    target, peer = peers
    request = signed_follow(peer, target)
    assert len(request.content) > 150  # at 10 bytes every 0.5 s it would take more than 7 s
    before = await table_counts(target.instance, KEPT_TABLES)

    answer, elapsed = await trickle(request, piece=10, pause=0.5, limit=6)

    assert elapsed < 4, elapsed
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    if answer:
        assert b"connection: close" in answer.lower()
        assert b"the body took more than 1.5 s" in answer
    assert await table_counts(target.instance, KEPT_TABLES) == before


async def test_a_body_that_arrives_in_time_though_in_pieces_is_accepted(peers):
    target, peer = peers
    request = signed_follow(peer, target)
    piece = len(request.content) // 3 + 1
    answer, _elapsed = await trickle(request, piece=piece, pause=0.2, limit=6)
    assert answer.startswith(b"HTTP/1.1 202"), answer[:200]


async def test_the_server_still_answers_others_while_a_slow_body_is_pending(peers):
    target, peer = peers
    slow = asyncio.create_task(trickle(signed_follow(peer, target), piece=5, pause=0.5, limit=6))
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(target.actor_url, headers={"Accept": ACTIVITY_JSON})
    assert response.status_code == 200
    answer, _elapsed = await slow
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


class QuickHeaderTimeout(HeaderTimeoutProtocol):
    header_timeout = 1.0


async def test_headers_trickling_in_are_cut_by_the_server(peers):
    """uvicorn alone never cuts slow headers; fedi serve's protocol closes the connection."""
    target, _peer = peers
    async with serve_app(target.server.config.app, http=QuickHeaderTimeout) as url:
        base = httpx.URL(url)
        reader, writer = await asyncio.open_connection(base.host, base.port)
        try:
            writer.write(f"POST /inbox HTTP/1.1\r\nHost: {base.netloc.decode()}\r\n".encode())
            for n in range(8):  # 4 s of one header every half second: 4× the keep-alive timeout
                await asyncio.sleep(0.5)
                writer.write(f"X-Slow-{n}: x\r\n".encode())
                await writer.drain()
            closed = reader.at_eof() or await _closed_soon(reader)
        except ConnectionError:
            closed = True
        finally:
            writer.close()
    assert closed


async def _closed_soon(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.5) == b""
    except TimeoutError:
        return False
