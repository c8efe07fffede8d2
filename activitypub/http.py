"""Fetching ActivityPub documents over the safe transport (`transport.py`): content types,
size caps, redirects re-checked at each hop, ids checked against their URL. (Deliveries, the
POSTs, go through `poster.py`.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from activitypub.errors import FetchError
from activitypub.transport import TIMEOUT, SafeTransport, check_url, make_client

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
    "make_client",
]

AP_CONTENT_TYPE = "application/activity+json"
LD_CONTENT_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_ACCEPT = f"{AP_CONTENT_TYPE}, {LD_CONTENT_TYPE}"
TOTAL_TIMEOUT = 30.0
MAX_BODY_BYTES = 1_000_000


class HTTPStatusError(FetchError):
    """The remote server answered a non-2xx status, kept in `http_status`.

    (`status` stays the status *we* answer with when this error escapes a request: 502.)
    """

    def __init__(self, url: str, http_status: int) -> None:
        super().__init__(f"{url} answered HTTP {http_status}")
        self.url = url
        self.http_status = http_status

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
