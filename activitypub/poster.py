"""Delivering activities: signed POSTs to inboxes, over aiohttp.

Deliveries are most of what a server sends (each post: one POST per follower's server, 350
for the relay), and the HTTP client is most of their cost. Measured here (bench/README.md,
"Choosing the HTTP client"): httpx 0.28 spends 1.2–2.9 ms of CPU per POST (h11 parses in pure
Python, anyio, the pool walk), aiohttp 0.2–0.26 ms. Fetches, far fewer, stay on the httpx client
of `http.py`; both follow the same rules:

- the URL is checked first (`check_url`: scheme, credentials, private IP literals, localhost);
- the resolver answers only with public addresses (any non-public one refuses the host), and
  aiohttp connects to what it answered, so a second DNS answer never reaches the socket;
- no redirect is followed, the answer's body is capped at MAX_BODY_BYTES, the whole exchange
  is bounded in time, cookies are never kept.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from activitypub import transport
from activitypub.errors import FetchError
from activitypub.http import MAX_BODY_BYTES, TOTAL_TIMEOUT
from activitypub.transport import check_url, refuse_unsafe_addresses

__all__ = ["PostResponse", "Poster"]

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 30.0


@dataclass(frozen=True)
class PostResponse:
    """What a delivery needs of the answer: its status and headers (Retry-After)."""

    status_code: int
    headers: Mapping[str, str]


class _SafeResolver(AbstractResolver):
    """Resolves with `transport.resolve_host` and refuses a host any of whose addresses is not
    public (unless `allow_private`)."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await transport.resolve_host(host, port)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from exc
        refuse_unsafe_addresses(host, addresses, allow_private=self._allow_private)
        if not addresses:
            raise FetchError(f"{host} has no address")
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        return None


@lru_cache(maxsize=4096)
def _check_url(url: str, allow_private: bool) -> None:
    """`check_url`, remembered for the inboxes a server delivers to again and again (it only
    reads the URL; a refusal raises, and is not remembered)."""
    check_url(url, allow_private=allow_private)


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=0,
                         flags=socket.AI_NUMERICHOST)


class Poster:
    """POSTs bodies to inboxes with keep-alive connections, at most `per_host` at once to a
    host. Made outside of a running loop; its session opens at the first POST."""

    def __init__(
        self, *, allow_private: bool, user_agent: str, per_host: int = 8,
        ssl_context: ssl.SSLContext | None = None, total_timeout: float = TOTAL_TIMEOUT,
    ) -> None:
        self.allow_private = allow_private
        self.timeout = aiohttp.ClientTimeout(total=total_timeout, connect=5.0, sock_read=10.0)
        self._user_agent = user_agent
        self._per_host = per_host
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=True)  # same CAs as fetches
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResponse:
        """The answer whatever its status; network errors and timeouts raise FetchError."""
        _check_url(url, self.allow_private)
        try:
            async with self._open().post(URL(url, encoded=True), data=body, headers=headers,
                                         allow_redirects=False) as response:
                await _drain(response)
                log.info("POST %s -> HTTP %d", url, response.status)
                return PostResponse(response.status, response.headers)
        except TimeoutError as exc:
            raise FetchError(f"POST {url} took longer than {self.timeout.total} s") from exc
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise FetchError(f"POST {url} failed: {exc!r}") from exc

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=_SafeResolver(self.allow_private), ssl=self._ssl, limit=0,
                limit_per_host=self._per_host, keepalive_timeout=KEEPALIVE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self._user_agent}, trust_env=False,
                skip_auto_headers=("Accept-Encoding",),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Reads the answer (so its connection is kept) unless it is too large (then closes it)."""
    size = 0
    while chunk := await response.content.read(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            return
