"""What an inbox lets in before any work is done: a rate per client IP and per sending host,
a body size, and a time for the body to arrive."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.requests import ClientDisconnect, Request

from activitypub.errors import ActivityPubError, BadRequest, TooLarge
from activitypub.vocab import host_of
from fedi import inbox

from .ratelimit import RateLimiter

BODY_TIMEOUT_SECONDS = 10.0
_KEY_ID = re.compile(r'keyid="([^"]*)"', re.IGNORECASE)


class TooManyRequests(ActivityPubError):
    """A client or a sending host is over its inbox rate; it may try again after `Retry-After`."""

    status = 429

    def __init__(self, message: str, retry_after: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": retry_after}


class RequestTimeout(ActivityPubError):
    """The body did not arrive in time (a slow or stalled client); the connection is closed."""

    status = 408
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


@dataclass
class InboxLimits:
    """How much the inbox takes: per client IP (checked before the body is read), per sending
    host (spent only by verified requests, so nobody can use up another server's share), and
    how long a body may take to arrive. One per app (`create_app` makes it)."""

    by_ip: RateLimiter = field(default_factory=lambda: RateLimiter(50, 200))
    by_host: RateLimiter = field(default_factory=lambda: RateLimiter(50, 500))
    body_timeout: float = BODY_TIMEOUT_SECONDS
    clock: Callable[[], float] = time.monotonic


def inbox_limits(request: Request) -> InboxLimits:
    limits: InboxLimits = request.app.state.inbox_limits  # set by create_app
    return limits


def sending_host(headers: Any) -> str | None:
    """The host of the signing key as the request claims it (draft-cavage or RFC 9421), unverified."""
    for name in ("signature", "signature-input"):
        found = _KEY_ID.search(headers.get(name, ""))
        if found:
            try:
                return host_of(found.group(1)) or None
            except ValueError:  # not a URL (e.g. "http://[::1/x"): the signature check refuses it
                return None
    return None


def check_inbox_rate(request: Request, limits: InboxLimits, site: str) -> str | None:
    """Refuses a client IP over its rate, or a sending host that already used up its share,
    at this site (each association of a shared process has its own shares: the relay sends
    each post to all of them at once); returns the key to charge once the request is verified."""
    now = limits.clock()
    client_ip = f"{site} {request.client.host if request.client else 'unknown'}"
    if not limits.by_ip.allow(client_ip, now):
        raise TooManyRequests("too many requests from this address",
                              limits.by_ip.retry_after_header(client_ip, now))
    host = sending_host(request.headers)
    if host is None:
        return None
    sender = f"{site} {host}"
    if limits.by_host.retry_after(sender, now) > 0:
        raise TooManyRequests("too many requests from this server",
                              limits.by_host.retry_after_header(sender, now))
    return sender


async def read_body(request: Request, limit: int = inbox.MAX_BODY_BYTES,
                    timeout: float = BODY_TIMEOUT_SECONDS) -> bytes:
    """The request body, refused as soon as it passes `limit` (never read whole into memory)
    or when it takes more than `timeout` seconds in all to arrive (a slow client holds a
    connection and a task for as long as we wait)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"body over {limit} bytes")
                chunks.append(chunk)
    except TimeoutError as error:
        raise RequestTimeout(f"the body took more than {timeout:g} s to arrive") from error
    except ClientDisconnect as error:  # the peer hung up mid-body: its problem, not a server error
        raise BadRequest("the body ended before its declared length") from error
    return b"".join(chunks)
