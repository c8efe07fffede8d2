"""Deliveries' HTTP client (aiohttp): what reaches the inbox, what comes back, and the same
SSRF, redirect, size and time rules as the fetching client. Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub import transport
from activitypub.auth import SignatureAuth
from activitypub.errors import FetchError, UnsafeURL
from activitypub.keys import generate_rsa_key
from activitypub.poster import Poster
from activitypub.signatures import PublicKeyInfo, verify_request
from fedi_testing import serve_app

KEY = generate_rsa_key()
KEY_ID = "https://lyon.example/actor#main-key"


class Seen:
    def __init__(self) -> None:
        self.requests: list[dict[str, str | bytes]] = []
        self.events: list[str] = []


def make_app(seen: Seen) -> Starlette:
    async def get_key(key_id: str, refresh: bool) -> PublicKeyInfo:
        return PublicKeyInfo(KEY_ID, "https://lyon.example/actor", KEY.public_key())

    async def inbox(request: Request) -> Response:
        body = await request.body()
        verified = await verify_request("POST", str(request.url), request.headers, body, get_key)
        seen.requests.append({"body": body, "signer": verified.key.owner, **request.headers})
        return PlainTextResponse("accepted", status_code=202, headers={"Retry-After": "120",
                                                                       "Set-Cookie": "track=1"})

    async def huge(request: Request) -> Response:
        return Response(b"x" * 3_000_000, status_code=200)

    async def moved(request: Request) -> Response:
        seen.events.append("moved")
        return RedirectResponse("/inbox", status_code=307)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return Response(status_code=202)

    async def busy(request: Request) -> Response:
        seen.events.append("in")
        await asyncio.sleep(0.1)
        seen.events.append("out")
        return Response(status_code=202)

    return Starlette(routes=[Route(path, handler, methods=["POST"]) for path, handler in (
        ("/inbox", inbox), ("/huge", huge), ("/moved", moved), ("/slow", slow), ("/busy", busy))])


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def server(seen: Seen) -> AsyncIterator[str]:
    async with serve_app(make_app(seen)) as base_url:
        yield base_url


@pytest.fixture
async def poster() -> AsyncIterator[Poster]:
    poster = Poster(allow_private=True, user_agent="fedi-test/1")
    yield poster
    await poster.aclose()


@pytest.fixture
async def strict_poster() -> AsyncIterator[Poster]:
    poster = Poster(allow_private=False, user_agent="fedi-test/1")
    yield poster
    await poster.aclose()


def signed(url: str, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/activity+json"}
    return SignatureAuth(KEY_ID, KEY).headers_for("POST", url, body, headers)


async def test_given_signed_post_then_inbox_verifies_it_and_its_answer_comes_back(
    server: str, seen: Seen, poster: Poster
) -> None:
    body = '{"type":"Follow","summary":"Bienvenue à Lyon"}'.encode()
    response = await poster.post(f"{server}/inbox", body, signed(f"{server}/inbox", body))
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "120"
    [request] = seen.requests
    assert request["body"] == body
    assert request["signer"] == "https://lyon.example/actor"
    assert request["content-type"] == "application/activity+json"
    assert request["user-agent"] == "fedi-test/1"


async def test_given_two_posts_then_no_cookie_is_sent_back(server: str, seen: Seen, poster: Poster) -> None:
    for _ in range(2):
        await poster.post(f"{server}/inbox", b"{}", signed(f"{server}/inbox", b"{}"))
    assert [request.get("cookie") for request in seen.requests] == [None, None]


async def test_given_huge_answer_then_status_kept_and_body_not_read_beyond_the_cap(
    server: str, poster: Poster
) -> None:
    response = await poster.post(f"{server}/huge", b"{}", {})
    assert response.status_code == 200


async def test_given_redirecting_inbox_then_redirect_returned_not_followed(
    server: str, seen: Seen, poster: Poster
) -> None:
    response = await poster.post(f"{server}/moved", b"{}", {})
    assert response.status_code == 307
    assert response.headers["Location"] == "/inbox"
    assert seen.events == ["moved"] and seen.requests == []


async def test_given_unreachable_inbox_then_fetch_error(poster: Poster) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        await poster.post(f"http://127.0.0.1:{closed_port}/inbox", b"{}", {})
    assert not isinstance(caught.value, UnsafeURL)


async def test_given_slow_inbox_then_fetch_error_after_the_total_timeout(server: str) -> None:
    poster = Poster(allow_private=True, user_agent="t", total_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(FetchError):
        await poster.post(f"{server}/slow", b"{}", {})
    assert time.monotonic() - started < 2
    await poster.aclose()


@pytest.mark.parametrize("url", [
    "https://10.0.0.1/inbox", "https://127.0.0.1/inbox", "https://[::1]/inbox", "https://localhost/inbox",
    "https://169.254.169.254/latest/meta-data/", "http://example.com/inbox", "file:///etc/passwd",
])
async def test_given_strict_poster_then_private_or_plain_urls_refused_before_any_connection(
    url: str, strict_poster: Poster
) -> None:
    with pytest.raises(UnsafeURL):
        await strict_poster.post(url, b"{}", {})


async def test_given_name_resolving_to_a_private_address_then_refused_at_connect_time(
    server: str, seen: Seen, strict_poster: Poster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one mock: DNS (no real DNS here). A name with any non-public address is refused."""
    table = {"evil.example": ["127.0.0.1"], "mixed.example": ["93.184.216.34", "10.0.0.1"]}
    asked: list[str] = []

    async def fake_resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return table[host]

    monkeypatch.setattr(transport, "resolve_host", fake_resolve)
    port = server.rsplit(":", 1)[1]
    for host in table:
        with pytest.raises(UnsafeURL):
            await strict_poster.post(f"https://{host}:{port}/inbox", b"{}", {})
    assert asked == ["evil.example", "mixed.example"]
    assert seen.requests == []


async def test_given_per_host_limit_then_concurrent_posts_bounded(server: str, seen: Seen) -> None:
    poster = Poster(allow_private=True, user_agent="t", per_host=2)
    await asyncio.gather(*(poster.post(f"{server}/busy", b"{}", {}) for _ in range(6)))
    await poster.aclose()
    in_flight = peak = 0
    for event in seen.events:
        in_flight += 1 if event == "in" else -1
        peak = max(peak, in_flight)
    assert (peak, len(seen.events)) == (2, 12)
