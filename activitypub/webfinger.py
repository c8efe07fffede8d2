"""WebFinger (RFC 7033): the JRD a server answers, and the client lookup `@user@host` → actor URL.

Client lookups use https. With `allow_private` (tests, demo) a host that refuses a TLS
connection is asked again over plain http; nothing else falls back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from activitypub.errors import BadRequest, FetchError, UnsafeURL
from activitypub.http import check_url, fetch_json, is_activitypub_content_type

__all__ = [
    "JRD_CONTENT_TYPE",
    "MAX_RESOURCE_LENGTH",
    "PROFILE_PAGE_REL",
    "SUBSCRIBE_REL",
    "find_actor_link",
    "parse_handle",
    "parse_resource",
    "resource_scheme",
    "resolve_handle",
    "webfinger_document",
]

JRD_CONTENT_TYPE = "application/jrd+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
MAX_RESOURCE_LENGTH = 1000

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(?=:)")
_USERNAME = re.compile(r"[A-Za-z0-9_.~-]+")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?:(?:{_LABEL}\.)*{_LABEL}|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?")


def webfinger_document(
    subject: str,
    actor_url: str,
    profile_url: str | None = None,
    aliases: Sequence[str] | None = None,
    *,
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """The JRD for one account. `subject` may be given with or without `acct:`;
    `aliases` defaults to the profile page and the actor URL."""
    if not subject.startswith("acct:") and "://" not in subject:
        subject = "acct:" + subject.removeprefix("@")
    if aliases is None:
        aliases = [url for url in (profile_url, actor_url) if url]
    links: list[dict[str, str]] = [{"rel": "self", "type": "application/activity+json", "href": actor_url}]
    if profile_url:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    if subscribe_template:
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    return {"subject": subject, "aliases": list(dict.fromkeys(aliases)), "links": links}


def parse_resource(resource: str) -> tuple[str, str]:
    """(username, host) from `acct:user@host`, `user@host` or `@user@host`.

    The host is lowercased (IDN hosts become punycode) and may carry a `:port`.
    Raises BadRequest for anything else.
    """
    if len(resource) > MAX_RESOURCE_LENGTH:
        raise BadRequest("resource too long")
    if resource[:5].lower() == "acct:":
        account = resource[5:]
    else:
        account = resource.removeprefix("@")
    username, at, host = account.partition("@")
    if not at or not _USERNAME.fullmatch(username):
        raise BadRequest(f"not an account: {resource!r}")
    return username, _normalise_host(host, resource)


def resource_scheme(resource: str) -> str:
    """The URI scheme of a WebFinger resource, lowercased (RFC 3986: letters, digits, `+.-`
    before the first `:`). A resource without one (`asso@host`, `@asso@host`) counts as `acct`:
    RFC 7033 wants a URI, but Mastodon reads such a resource as `acct:` and so do we, a
    deliberate leniency."""
    match = _SCHEME.match(resource)
    return match.group(0).lower() if match else "acct"


def parse_handle(handle: str) -> tuple[str, str]:
    """Like `parse_resource`, tolerating whitespace around what a person typed."""
    return parse_resource(handle.strip())


def _normalise_host(host: str, resource: str) -> str:
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise BadRequest(f"invalid host in {resource!r}") from exc
    host = host.lower()
    match = _HOST.fullmatch(host)
    if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise BadRequest(f"invalid host in {resource!r}")
    return host


def find_actor_link(jrd: dict[str, Any]) -> str | None:
    """The `href` of the first `self` link with an ActivityStreams type, if any."""
    links = jrd.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        href, media_type = link.get("href"), link.get("type")
        if isinstance(href, str) and isinstance(media_type, str):
            if is_activitypub_content_type(media_type):
                return href
    return None


async def resolve_handle(
    client: httpx.AsyncClient, handle: str, *, allow_private: bool = False
) -> str:
    """The actor URL of `@user@host` (or `user@host`, `acct:user@host`) via WebFinger.

    Redirects may lead to another host (domain delegation); each hop is still checked.
    Raises BadRequest for a malformed handle, FetchError when the account is not found.
    """
    username, host = parse_handle(handle)
    resource = f"acct:{username}@{host}"
    try:
        jrd = await _fetch_jrd(client, f"https://{host}", resource, allow_private)
    except FetchError as exc:
        if not (allow_private and _is_connect_failure(exc)):
            raise
        jrd = await _fetch_jrd(client, f"http://{host}", resource, allow_private)
    href = find_actor_link(jrd)
    if href is None:
        raise FetchError(f"no ActivityPub actor for {resource}")
    check_url(href, allow_private=allow_private)
    return href


async def _fetch_jrd(
    client: httpx.AsyncClient, base_url: str, resource: str, allow_private: bool
) -> dict[str, Any]:
    url = httpx.URL(f"{base_url}/.well-known/webfinger", params={"resource": resource})
    _, jrd = await fetch_json(
        client,
        str(url),
        accept=f"{JRD_CONTENT_TYPE}, application/json",
        allow_private=allow_private,
        same_host_redirects_only=False,
    )
    return jrd


def _is_connect_failure(error: FetchError) -> bool:
    return not isinstance(error, UnsafeURL) and isinstance(error.__cause__, httpx.ConnectError)
