"""Outgoing HTTP that cannot be turned against us: a safe client factory and fetch helpers.

Every request made through `make_client`'s client passes two checks:

- `check_url` refuses other schemes than https (http too with `allow_private`), credentials in
  the URL, and hosts that are private IP literals, `localhost` or bare numbers;
- at connection time the network backend resolves the host itself, refuses the connection if
  *any* address is not public, and connects to the address it checked, so a second DNS answer
  (DNS rebinding) never reaches the socket. TLS still verifies the hostname: httpcore passes the
  origin host, not the address, as `server_hostname`.

With `allow_private=True` (tests, demo) nothing is refused and plain http is allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpcore
import httpx

from activitypub.errors import FetchError, UnsafeURL

__all__ = [
    "AP_ACCEPT",
    "AP_CONTENT_TYPE",
    "LD_CONTENT_TYPE",
    "MAX_BODY_BYTES",
    "TIMEOUT",
    "TOTAL_TIMEOUT",
    "HTTPStatusError",
    "SafeTransport",
    "check_url",
    "fetch_activitypub_object",
    "fetch_json",
    "is_activitypub_content_type",
    "is_public_address",
    "make_client",
    "post_json",
    "resolve_host",
]

AP_CONTENT_TYPE = "application/activity+json"
LD_CONTENT_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_ACCEPT = f"{AP_CONTENT_TYPE}, {LD_CONTENT_TYPE}"

TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=10.0)
TOTAL_TIMEOUT = 30.0
MAX_BODY_BYTES = 1_000_000
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30.0)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Belt and braces over `is_global`, whose exact ranges moved between Python patch releases.
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "3fff::/20",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
# IPv6 ranges whose last 32 bits are an IPv4 address the packets really go to.
_EMBEDDING_NETWORKS = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))


class HTTPStatusError(FetchError):
    """The remote server answered a non-2xx status, kept in `http_status`.

    (`status` stays the status *we* answer with when this error escapes a request: 502.)
    """

    def __init__(self, url: str, http_status: int) -> None:
        super().__init__(f"{url} answered HTTP {http_status}")
        self.url = url
        self.http_status = http_status


def is_public_address(address: str | IPAddress) -> bool:
    """True when `address` is globally routable: not private, loopback, link-local, CGNAT,
    multicast, reserved, documentation, nor an IPv6 form embedding such an IPv4 address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        if mapped is None and any(ip in net for net in _EMBEDDING_NETWORKS):
            mapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if mapped is not None:
            return is_public_address(mapped)
        tunnelled = [ip.sixtofour, *(ip.teredo or ())]
        if not all(is_public_address(inner) for inner in tunnelled if inner is not None):
            return False
    if any(ip in net for net in _BLOCKED_NETWORKS):
        return False
    special = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
    return ip.is_global and not (special or ip.is_reserved or ip.is_unspecified)


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeURL unless `url` is an http(s) URL we may fetch."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURL(f"invalid URL: {url!r}") from exc
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed_schemes:
        raise UnsafeURL(f"scheme not allowed: {parsed.scheme!r} in {url!r}")
    if parsed.userinfo:
        raise UnsafeURL(f"credentials in URL: {url!r}")
    if not parsed.host:
        raise UnsafeURL(f"no host in URL: {url!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURL(f"port out of range in {url!r}")
    if not allow_private:
        _check_host(parsed.host.rstrip("."))


def _check_host(host: str) -> None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        labels = host.lower().split(".")
        if labels[-1] == "localhost" or len(labels) < 2:
            raise UnsafeURL(f"not a public host name: {host!r}") from None
        if labels[-1].isdigit() or labels[-1].startswith("0x"):
            raise UnsafeURL(f"ambiguous numeric host: {host!r}") from None
        return
    if not is_public_address(ip):
        raise UnsafeURL(f"non-public address: {host}")


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in resolver order (tests replace this function)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _SafeNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked address (never re-resolves)."""

    def __init__(self, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        unsafe = [address for address in addresses if not is_public_address(address)]
        if unsafe and not self._allow_private:
            raise UnsafeURL(f"{host} resolves to a non-public address: {unsafe[0]}")
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except httpcore.ConnectError as exc:  # refused or unreachable: try the next one
                error = exc
        assert error is not None  # `addresses` is never empty
        raise error

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_host(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURL("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _HostLimiter:
    """At most `limit` requests in flight per origin; idle origins are forgotten."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    async def acquire(self, origin: str, timeout: float | None) -> None:
        slot = self._slots.setdefault(origin, asyncio.Semaphore(self._limit))
        self._users[origin] = self._users.get(origin, 0) + 1
        try:
            async with asyncio.timeout(timeout):
                await slot.acquire()
        except TimeoutError as exc:
            self._forget(origin)
            raise httpx.PoolTimeout(f"no free connection slot for {origin}") from exc
        except BaseException:
            self._forget(origin)
            raise

    def release(self, origin: str) -> None:
        self._slots[origin].release()
        self._forget(origin)

    def _forget(self, origin: str) -> None:
        self._users[origin] -= 1
        if self._users[origin] == 0:
            del self._users[origin], self._slots[origin]


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that frees its host slot when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class SafeTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP/1.1 transport with the checking network backend and a per-host limit."""

    def __init__(
        self,
        *,
        allow_private: bool,
        max_connections_per_host: int = 8,
        limits: httpx.Limits = POOL_LIMITS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._allow_private = allow_private
        self._limiter = _HostLimiter(max_connections_per_host)
        # httpx 0.28 has no parameter for the network backend: replace the (unopened) pool it
        # built with one configured the same way plus our backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_SafeNetworkBackend(allow_private),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_url(str(request.url), allow_private=self._allow_private)
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        await self._limiter.acquire(origin, request.extensions.get("timeout", {}).get("pool"))
        try:
            response = await super().handle_async_request(request)
        except BaseException:
            self._limiter.release(origin)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, lambda: self._limiter.release(origin))
        return response


def make_client(
    *, allow_private: bool = False, user_agent: str, max_connections_per_host: int = 8
) -> httpx.AsyncClient:
    """An AsyncClient for talking to other servers: SSRF-safe, keep-alive, no redirects."""
    transport = SafeTransport(
        allow_private=allow_private, max_connections_per_host=max_connections_per_host
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": user_agent},
        trust_env=False,
    )


def is_activitypub_content_type(value: str) -> bool:
    """`application/activity+json` or `application/ld+json`, whatever the parameters."""
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type in (AP_CONTENT_TYPE, "application/ld+json")


async def fetch_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    accept: str = AP_ACCEPT,
    auth: httpx.Auth | None = None,
    allow_private: bool = False,
    max_bytes: int = MAX_BODY_BYTES,
    max_redirects: int = 3,
    same_host_redirects_only: bool = True,
    total_timeout: float = TOTAL_TIMEOUT,
) -> tuple[str, dict[str, Any]]:
    """GET a JSON object; return (final URL after redirects, the object).

    Each redirect is re-checked with `check_url`; the body is capped at `max_bytes`; the whole
    exchange, redirects included, must finish within `total_timeout` seconds.
    """
    return await _fetch_object(
        client, url, accept=accept, auth=auth, allow_private=allow_private,
        max_bytes=max_bytes, max_redirects=max_redirects,
        same_host_redirects_only=same_host_redirects_only, total_timeout=total_timeout,
    )  # fmt: skip


async def fetch_activitypub_object(
    client: httpx.AsyncClient,
    url: str,
    *,
    auth: httpx.Auth | None = None,
    allow_private: bool = False,
) -> dict[str, Any]:
    """GET an ActivityStreams object by id: AS content type required, same-host redirects only,
    and the document's `id` must be the URL it was finally served from (fragments ignored)."""
    final_url, document = await _fetch_object(
        client, url, accept=AP_ACCEPT, auth=auth, allow_private=allow_private,
        max_bytes=MAX_BODY_BYTES, max_redirects=3, same_host_redirects_only=True,
        total_timeout=TOTAL_TIMEOUT, content_type_ok=is_activitypub_content_type,
    )  # fmt: skip
    document_id = document.get("id")
    if not isinstance(document_id, str) or _without_fragment(document_id) != _without_fragment(
        final_url
    ):
        raise FetchError(f"{final_url} serves an object whose id is {document_id!r}")
    return document


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    auth: httpx.Auth | None,
    allow_private: bool,
    total_timeout: float = TOTAL_TIMEOUT,
) -> httpx.Response:
    """POST an activity; return the response whatever its status (redirects are not followed).

    The returned response is detached from the connection and its body holds at most
    MAX_BODY_BYTES. Network errors and timeouts raise FetchError.
    """
    check_url(url, allow_private=allow_private)
    request = client.build_request(
        "POST", url, content=body, headers={"Content-Type": AP_CONTENT_TYPE, "Accept": AP_ACCEPT}
    )
    try:
        async with asyncio.timeout(total_timeout):
            response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
            try:
                content = await _read_at_most(response, MAX_BODY_BYTES)
            finally:
                await response.aclose()
    except TimeoutError as exc:
        raise FetchError(f"POST {url} took longer than {total_timeout} s") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"POST {url} failed: {exc!r}") from exc
    return _detached(response, content[:MAX_BODY_BYTES])


async def _fetch_object(
    client: httpx.AsyncClient,
    url: str,
    *,
    accept: str,
    auth: httpx.Auth | None,
    allow_private: bool,
    max_bytes: int,
    max_redirects: int,
    same_host_redirects_only: bool,
    total_timeout: float,
    content_type_ok: Callable[[str], bool] | None = None,
) -> tuple[str, dict[str, Any]]:
    current = url
    try:
        async with asyncio.timeout(total_timeout):
            for _hop in range(max_redirects + 1):
                check_url(current, allow_private=allow_private)
                request = client.build_request("GET", current, headers={"Accept": accept})
                response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
                try:
                    if response.is_redirect:
                        current = _redirect_target(current, response, same_host_redirects_only)
                        continue
                    body = await _read_body(current, response, max_bytes, content_type_ok)
                finally:
                    await response.aclose()
                return current, _parse_object(current, body)
    except TimeoutError as exc:
        raise FetchError(f"fetching {url} took longer than {total_timeout} s") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"fetching {current} failed: {exc!r}") from exc
    raise FetchError(f"more than {max_redirects} redirects from {url}")


def _redirect_target(current: str, response: httpx.Response, same_host_only: bool) -> str:
    try:
        target = httpx.URL(current).join(response.headers["Location"])
    except httpx.InvalidURL as exc:
        raise FetchError(f"{current} redirects to an invalid URL") from exc
    source = httpx.URL(current)
    if same_host_only and (target.scheme, target.host, target.port) != (
        source.scheme, source.host, source.port
    ):  # fmt: skip
        raise FetchError(f"{current} redirects to another origin: {target}")
    return str(target)


async def _read_body(
    url: str,
    response: httpx.Response,
    max_bytes: int,
    content_type_ok: Callable[[str], bool] | None,
) -> bytes:
    if not response.is_success:
        raise HTTPStatusError(url, response.status_code)
    content_type = response.headers.get("Content-Type", "")
    if content_type_ok is not None and not content_type_ok(content_type):
        raise FetchError(f"{url} answered with content type {content_type!r}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"response too large: {url} declares {declared} bytes")
    body = await _read_at_most(response, max_bytes)
    if len(body) > max_bytes:
        raise FetchError(f"response too large: {url} sends more than {max_bytes} bytes")
    return body


async def _read_at_most(response: httpx.Response, max_bytes: int) -> bytes:
    """The (decoded) body, stopping as soon as it exceeds `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            break
    return b"".join(chunks)


def _parse_object(url: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FetchError(f"{url} did not answer valid JSON") from exc
    if not isinstance(document, dict):
        raise FetchError(f"{url} answered JSON that is not an object")
    return document


def _without_fragment(url: str) -> str:
    try:
        return str(httpx.URL(url).copy_with(fragment=None))
    except httpx.InvalidURL:
        return url


def _detached(response: httpx.Response, content: bytes) -> httpx.Response:
    """A copy of a streamed response holding `content` (already decoded)."""
    dropped = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
    extensions = {k: v for k, v in response.extensions.items() if k != "network_stream"}
    detached = httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=response.request,
        extensions=extensions,
    )
    detached.elapsed = response.elapsed  # set by httpx once the original was closed
    return detached
