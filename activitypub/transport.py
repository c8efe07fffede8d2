"""The transport under every outgoing request: SSRF checks at the URL and at the socket.

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
import socket
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable

import httpcore
import httpx

from activitypub.errors import UnsafeURL

__all__ = [
    "POOL_LIMITS",
    "TIMEOUT",
    "SafeTransport",
    "check_url",
    "is_public_address",
    "make_client",
    "refuse_unsafe_addresses",
    "resolve_host",
]

# Waiting for a turn to a busy host (pool) is no failure: bounded by the total timeout only.
TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=30.0)
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30.0)
MAX_POOLED_ORIGINS = 512  # servers with idle connections kept; beyond, the least recent idle go
SWEEP_SECONDS = 10.0  # how often pools whose connections all expired are closed

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


def refuse_unsafe_addresses(host: str, addresses: list[str], *, allow_private: bool) -> None:
    """UnsafeURL when any address `host` resolved to is not public (unless `allow_private`)."""
    unsafe = [address for address in addresses if not is_public_address(address)]
    if unsafe and not allow_private:
        raise UnsafeURL(f"{host} resolves to a non-public address: {unsafe[0]}")


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
        refuse_unsafe_addresses(host, addresses, allow_private=self._allow_private)
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


class _PoolPerOrigin:
    """One small httpcore pool per origin, behind the interface httpx expects of its pool.

    httpcore's pool walks every queued request against every connection each time one is
    taken or given back, so one shared pool with dozens of connections spends most of a
    fan-out's CPU scanning (the known httpx throughput collapse under concurrency). A pool
    per origin holds only that origin's few connections; the least recently used idle pools
    are closed beyond `max_origins`."""

    def __init__(self, make_pool: Callable[[], httpcore.AsyncConnectionPool], max_origins: int) -> None:
        self._make_pool = make_pool
        self._max_origins = max_origins
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], httpcore.AsyncConnectionPool]
        self._pools = OrderedDict()
        self._sweeper: asyncio.Task[None] | None = None

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        key = (request.url.scheme, request.url.host, request.url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = self._make_pool()
            await self._close_idle_beyond_limit()
        self._pools.move_to_end(key)
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_expired())
        return await pool.handle_async_request(request)

    async def _sweep_expired(self) -> None:
        """Closes the pools whose connections have all outlived their keep-alive. httpcore drops
        an expired connection only when its pool is used again, so the sockets (and TLS
        buffers) of the many servers a relay talks to once would otherwise stay open."""
        while self._pools:
            await asyncio.sleep(SWEEP_SECONDS)
            for key, pool in list(self._pools.items()):
                if all(connection.is_idle() and connection.has_expired() for connection in pool.connections):
                    del self._pools[key]
                    await pool.aclose()

    async def _close_idle_beyond_limit(self) -> None:
        for key in list(self._pools)[: max(0, len(self._pools) - self._max_origins)]:
            pool = self._pools[key]
            if all(connection.is_idle() for connection in pool.connections):
                del self._pools[key]
                await pool.aclose()

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()

    async def __aenter__(self) -> _PoolPerOrigin:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


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
        # built with pools configured the same way plus our backend, one per origin.
        # SSL_CERT_FILE / SSL_CERT_DIR are honoured, for servers behind a private CA.
        context = ssl_context or httpx.create_ssl_context(trust_env=True)
        backend = _SafeNetworkBackend(allow_private)
        per_origin = min(max_connections_per_host, limits.max_connections or max_connections_per_host)

        def make_pool() -> httpcore.AsyncConnectionPool:
            return httpcore.AsyncConnectionPool(
                ssl_context=context, max_connections=per_origin,
                max_keepalive_connections=per_origin, keepalive_expiry=limits.keepalive_expiry,
                http1=True, http2=False, network_backend=backend)

        self._pool = _PoolPerOrigin(make_pool, max_origins=MAX_POOLED_ORIGINS)  # type: ignore[assignment]

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
