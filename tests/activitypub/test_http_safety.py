"""The outgoing-HTTP safety layer: URL checks, socket-level SSRF refusal, redirect, size and
time limits, ActivityPub fetch rules. Real sockets on 127.0.0.1 wherever possible."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpcore
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from activitypub import http as aphttp
from activitypub import transport
from activitypub.errors import FetchError, UnsafeURL
from activitypub.http import (
    AP_CONTENT_TYPE,
    HTTPStatusError,
    check_url,
    fetch_activitypub_object,
    fetch_json,
    is_activitypub_content_type,
    make_client,
)
from activitypub.transport import is_public_address
from fedi_testing import serve_app


class Hits:
    """Counts the requests a test app received."""

    def __init__(self) -> None:
        self.paths: list[str] = []


def make_app(hits: Hits) -> Starlette:
    async def note(request: Request) -> Response:
        hits.paths.append(request.url.path)
        doc = {"id": str(request.url).split("?")[0], "type": "Note"}
        return JSONResponse(doc, media_type=AP_CONTENT_TYPE)

    async def redirect(request: Request) -> Response:
        hits.paths.append(request.url.path)
        remaining = int(request.path_params["n"])
        target = "/note" if remaining <= 1 else f"/redirect/{remaining - 1}"
        return RedirectResponse(target, status_code=302)

    async def to_other_host(request: Request) -> Response:
        port = request.url.port
        return RedirectResponse(f"http://localhost:{port}/note", status_code=301)

    async def html(request: Request) -> Response:
        return Response("<html></html>", media_type="text/html")

    async def wrong_id(request: Request) -> Response:
        return JSONResponse({"id": "http://127.0.0.1:1/else"}, media_type=AP_CONTENT_TYPE)

    async def huge(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(80):  # 80 × 64 KiB ≈ 5 MB, chunked
                hits.paths.append("chunk")
                yield b"[" * 65536
                await asyncio.sleep(0.01)

        return StreamingResponse(chunks(), media_type="application/json")

    async def declared_huge(request: Request) -> Response:
        return Response(b"{}", headers={"Content-Length": "5000000"}, media_type="application/json")

    async def slow(request: Request) -> Response:
        async def trickle() -> AsyncIterator[bytes]:
            yield b"{"
            await asyncio.sleep(3)
            yield b"}"

        return StreamingResponse(trickle(), media_type="application/json")

    async def status(request: Request) -> Response:
        return PlainTextResponse("gone", status_code=int(request.path_params["code"]))

    async def raw(request: Request) -> Response:
        return Response(request.query_params["body"], media_type="application/json")

    async def inbox(request: Request) -> Response:
        hits.paths.append(request.headers["content-type"] + " " + (await request.body()).decode())
        return PlainTextResponse("accepted", status_code=202, headers={"Retry-After": "120"})

    async def inbox_huge(request: Request) -> Response:
        return Response(b"x" * 3_000_000, status_code=200)

    async def moved_inbox(request: Request) -> Response:
        return RedirectResponse("/inbox", status_code=307)

    async def concurrent(request: Request) -> Response:
        hits.paths.append("in")
        await asyncio.sleep(0.1)
        hits.paths.append("out")
        return JSONResponse({"ok": True})

    async def echo_headers(request: Request) -> Response:
        return JSONResponse(dict(request.headers))

    return Starlette(
        routes=[
            Route("/note", note),
            Route("/redirect/{n:int}", redirect),
            Route("/other-host", to_other_host),
            Route("/html", html),
            Route("/wrong-id", wrong_id),
            Route("/huge", huge),
            Route("/declared-huge", declared_huge),
            Route("/slow", slow),
            Route("/status/{code:int}", status),
            Route("/raw", raw),
            Route("/inbox", inbox, methods=["POST"]),
            Route("/inbox-huge", inbox_huge, methods=["POST"]),
            Route("/moved-inbox", moved_inbox, methods=["POST"]),
            Route("/concurrent", concurrent),
            Route("/headers", echo_headers),
        ]
    )


@pytest.fixture
def hits() -> Hits:
    return Hits()


@pytest.fixture
async def server(hits: Hits) -> AsyncIterator[str]:
    async with serve_app(make_app(hits)) as base_url:
        yield base_url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(allow_private=True, user_agent="fedi-test/1") as c:
        yield c


@pytest.fixture
async def strict_client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(allow_private=False, user_agent="fedi-test/1") as c:
        yield c


@pytest.fixture
def resolver_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Fake DNS (the one mock: no real DNS here). Maps names to addresses; records lookups."""
    table: dict[str, list[str]] = {"calls": []}

    async def fake_resolve(host: str, port: int) -> list[str]:
        table["calls"].append(host)
        if host in table:
            return table[host]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(transport, "resolve_host", fake_resolve)
    return table


# --- check_url and addresses ---------------------------------------------------------------

REFUSED_URLS = [
    "https://127.0.0.1/",
    "https://localhost/",
    "https://sub.localhost/",
    "https://10.0.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://0.0.0.0/",
    "https://127.1/",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://192.168.1.1/",
    "https://172.16.0.1/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[2002:7f00:1::]/",  # 6to4 embedding 127.0.0.1
    "https://224.0.0.1/",
    "https://192.0.2.1/",
    "https://intranet/",
    "http://example.com/",  # plain http without allow_private
    "file:///etc/passwd",
    "gopher://example.com/",
    "ftp://example.com/",
    "https://user:pass@example.com/",
    "https://user@example.com/",
    "https:///path",
    "https://example.com:99999/",
    "https://example.com:0/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_given_unsafe_url_when_checked_then_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["https://example.com/users/a", "https://93.184.216.34:8443/x"])
def test_given_public_url_when_checked_then_accepted(url: str) -> None:
    check_url(url, allow_private=False)


def test_given_allow_private_then_loopback_and_http_accepted_but_not_other_schemes() -> None:
    check_url("http://127.0.0.1:8000/x", allow_private=True)
    check_url("http://localhost/x", allow_private=True)
    for url in ("file:///etc/passwd", "gopher://x/", "http://u:p@127.0.0.1/"):
        with pytest.raises(UnsafeURL):
            check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "100.64.0.1", "169.254.169.254", "0.0.0.0", "::", "::1",
     "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "2001:db8::1",
     "fe80::1", "fd00::1", "ff02::1", "198.51.100.7", "203.0.113.9", "255.255.255.255",
     "2001:0:4136:e378:8000:63bf:80ff:fffe"],  # teredo whose client is 127.0.0.1
)  # fmt: skip
def test_given_non_public_address_then_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_given_public_address_then_public(address: str) -> None:
    assert is_public_address(address)


def test_activitypub_content_types() -> None:
    assert is_activitypub_content_type("application/activity+json; charset=utf-8")
    assert is_activitypub_content_type('application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
    assert is_activitypub_content_type("Application/LD+JSON")
    assert not is_activitypub_content_type("application/json")
    assert not is_activitypub_content_type("text/html")


# --- nothing reaches a private address without allow_private ------------------------------


async def test_given_strict_client_when_fetching_private_urls_then_unsafe_and_no_connection(
    server: str, hits: Hits, strict_client: httpx.AsyncClient, resolver_calls: dict[str, list[str]]
) -> None:
    port = httpx.URL(server).port
    urls = [
        f"http://127.0.0.1:{port}/note",
        f"https://127.0.0.1:{port}/note",
        f"https://localhost:{port}/note",
        f"https://[::1]:{port}/note",
        f"https://[::ffff:127.0.0.1]:{port}/note",
        f"https://0.0.0.0:{port}/note",
        "https://10.0.0.1/note",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        f"https://user:pw@127.0.0.1:{port}/note",
    ]
    for url in urls:
        with pytest.raises(UnsafeURL):
            await fetch_json(strict_client, url)
        with pytest.raises(UnsafeURL):  # the client itself refuses too, whoever calls it
            await strict_client.get(url)
    assert hits.paths == []
    assert resolver_calls["calls"] == []


async def test_given_name_resolving_to_loopback_when_fetching_then_refused_at_socket(
    server: str, hits: Hits, strict_client: httpx.AsyncClient, resolver_calls: dict[str, list[str]]
) -> None:
    resolver_calls["evil.example"] = ["127.0.0.1"]
    resolver_calls["mixed.example"] = ["93.184.216.34", "10.0.0.1"]
    port = httpx.URL(server).port
    for host in ("evil.example", "mixed.example"):
        with pytest.raises(UnsafeURL):  # surfaces as itself, not as httpx.ConnectError
            await strict_client.get(f"https://{host}:{port}/note")
        with pytest.raises(UnsafeURL):
            await fetch_json(strict_client, f"https://{host}:{port}/note")
    assert hits.paths == []
    assert resolver_calls["calls"] == ["evil.example"] * 2 + ["mixed.example"] * 2


class RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        raise httpcore.ConnectError("recorded only")


async def test_given_checked_address_then_backend_connects_to_it_not_to_the_name(
    resolver_calls: dict[str, list[str]],
) -> None:
    resolver_calls["peer.example"] = ["93.184.216.34", "2606:4700::1111"]
    inner = RecordingBackend()
    backend = transport._SafeNetworkBackend(allow_private=False, inner=inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("peer.example", 443, timeout=1.0)
    assert inner.hosts == ["93.184.216.34", "2606:4700::1111"]  # each tried, none re-resolved
    assert resolver_calls["calls"] == ["peer.example"]


async def test_given_unknown_name_then_fetch_error_not_unsafe(
    strict_client: httpx.AsyncClient, resolver_calls: dict[str, list[str]]
) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch_json(strict_client, "https://nowhere.example/x")
    assert not isinstance(caught.value, UnsafeURL)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# --- TLS: connect to the checked IP, verify the certificate against the host name ---------


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_given_tls_peer_when_connecting_by_resolved_ip_then_hostname_still_verified(
    tmp_path: Path, hits: Hits, resolver_calls: dict[str, list[str]]
) -> None:
    cert, key = _self_signed(tmp_path, "fedi.test")
    resolver_calls["fedi.test"] = ["127.0.0.1"]
    resolver_calls["other.test"] = ["127.0.0.1"]
    context = ssl.create_default_context(cafile=str(cert))
    transport = aphttp.SafeTransport(allow_private=True, ssl_context=context)
    async with serve_app(make_app(hits), ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
        port = httpx.URL(base).port
        async with httpx.AsyncClient(transport=transport) as c:
            ok = await c.get(f"https://fedi.test:{port}/note")
            assert ok.status_code == 200 and ok.json()["id"] == f"https://fedi.test:{port}/note"
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await c.get(f"https://other.test:{port}/note")  # same IP, wrong name
    assert resolver_calls["calls"] == ["fedi.test", "other.test"]


# --- fetch_json and fetch_activitypub_object against a live server -------------------------


async def test_given_three_redirects_then_followed_and_four_refused(
    server: str, client: httpx.AsyncClient
) -> None:
    final_url, doc = await fetch_json(client, f"{server}/redirect/3", allow_private=True)
    assert final_url == f"{server}/note" and doc["type"] == "Note"
    with pytest.raises(FetchError, match="redirects"):
        await fetch_json(client, f"{server}/redirect/4", allow_private=True)


async def test_given_redirect_to_other_host_then_refused_unless_allowed(
    server: str, client: httpx.AsyncClient
) -> None:
    with pytest.raises(FetchError, match="another origin"):
        await fetch_json(client, f"{server}/other-host", allow_private=True)
    final_url, _ = await fetch_json(
        client, f"{server}/other-host", allow_private=True, same_host_redirects_only=False
    )
    assert final_url.startswith("http://localhost:")


async def test_given_redirect_to_private_address_then_each_hop_is_checked(
    resolver_calls: dict[str, list[str]],
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as mock_client:
        with pytest.raises(UnsafeURL):
            await fetch_json(mock_client, "https://peer.example/x", same_host_redirects_only=False)
    assert seen == ["https://peer.example/x"]


async def test_given_5mb_chunked_body_then_fetch_error_without_reading_it_all(
    server: str, hits: Hits, client: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="too large"):
        await fetch_json(client, f"{server}/huge", allow_private=True)
    assert time.monotonic() - started < 2
    assert hits.paths.count("chunk") < 40
    with pytest.raises(FetchError, match="too large"):
        await fetch_json(client, f"{server}/declared-huge", allow_private=True)


async def test_given_slow_server_then_total_timeout(server: str, client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than"):
        await fetch_json(client, f"{server}/slow", allow_private=True, total_timeout=0.5)
    assert time.monotonic() - started < 1.5


async def test_given_error_status_then_status_error(server: str, client: httpx.AsyncClient) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await fetch_json(client, f"{server}/status/410", allow_private=True)
    assert caught.value.http_status == 410
    assert caught.value.status == 502  # what we answer if it escapes


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"a string"', "[" * 100_000])
async def test_given_invalid_or_non_object_json_then_fetch_error(
    server: str, client: httpx.AsyncClient, body: str
) -> None:
    with pytest.raises(FetchError):
        await fetch_json(client, f"{server}/raw?body={body}", allow_private=True)


async def test_given_activitypub_object_then_fetched(server: str, client: httpx.AsyncClient) -> None:
    doc = await fetch_activitypub_object(client, f"{server}/note#fragment", allow_private=True)
    assert doc == {"id": f"{server}/note", "type": "Note"}
    doc = await fetch_activitypub_object(client, f"{server}/redirect/2", allow_private=True)
    assert doc["id"] == f"{server}/note"


@pytest.mark.parametrize("path", ["/html", "/wrong-id", "/other-host"])
async def test_given_html_or_wrong_id_or_cross_host_redirect_then_not_an_object(
    server: str, client: httpx.AsyncClient, path: str
) -> None:
    with pytest.raises(FetchError):
        await fetch_activitypub_object(client, f"{server}{path}", allow_private=True)


async def test_client_sends_user_agent_and_accept_and_has_timeouts(
    server: str, client: httpx.AsyncClient
) -> None:
    _, headers = await fetch_json(client, f"{server}/headers", allow_private=True)
    assert headers["user-agent"] == "fedi-test/1"
    assert headers["accept"].startswith("application/activity+json")
    assert (client.timeout.connect, client.timeout.read) == (5.0, 10.0)
    assert client.follow_redirects is False


async def test_given_per_host_limit_then_concurrency_bounded(server: str, hits: Hits) -> None:
    async with make_client(allow_private=True, user_agent="t", max_connections_per_host=2) as c:
        await asyncio.gather(*(fetch_json(c, f"{server}/concurrent", allow_private=True) for _ in range(6)))
    in_flight = peak = 0
    for event in hits.paths:
        in_flight += 1 if event == "in" else -1
        peak = max(peak, in_flight)
    assert peak == 2


async def test_given_a_server_talked_to_once_then_its_idle_connection_is_closed_after_keep_alive(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpcore closes an expired connection only when its pool is used again; a relay talks
    to hundreds of servers once (a key, a NodeInfo): their sockets must not stay open."""
    monkeypatch.setattr(transport, "SWEEP_SECONDS", 0.1)
    safe = transport.SafeTransport(allow_private=True, limits=httpx.Limits(keepalive_expiry=0.2))
    async with httpx.AsyncClient(transport=safe) as client:
        await fetch_json(client, f"{server}/note", allow_private=True)
        pools = safe._pool._pools  # type: ignore[attr-defined]
        assert len(pools) == 1 and len(next(iter(pools.values())).connections) == 1
        deadline = time.monotonic() + 3
        while pools and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not pools
        await fetch_json(client, f"{server}/note", allow_private=True)  # and it comes back when needed
        assert len(pools) == 1
