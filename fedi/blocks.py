"""Domain blocks: what a local admin uses against a spam or hostile server.

A blocked domain (and each of its subdomains, on any port) is refused at the inbox before any
signature check, never fetched from, never delivered to, and what we held from it is purged
when the block is made (see `storage.put_domain_block`).
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from activitypub.errors import BadRequest, Rejected
from activitypub.vocab import Activity, as_id, host_of, same_origin

from . import storage
from .instance import Instance
from .storage import DomainPurge

BLOCKLIST_SECONDS = 5.0

__all__ = ["block_domain", "involves_blocked_domain", "is_blocked", "parse_domain", "refuse_blocked"]

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
EXAMPLE = "give a domain name such as spam.example, or an IP address"


def parse_domain(text: str) -> str:
    """What an admin typed → the domain to block: a host name or IP address, lower-case, no
    port. A pasted URL (`https://spam.example/@x`) or handle (`@x@spam.example`) gives its host;
    `*.spam.example` is `spam.example` (a block covers subdomains anyway)."""
    value = text.strip().lower()
    if _ip(value):  # also a bare IPv6 address, which has colons but no port
        return _ip(value)
    if "://" in value:
        host = _host_of_url(value, text)
    else:
        host = _host_of_bare(value.rsplit("@", 1)[-1], text)
    host = host.removeprefix("*.").rstrip(".")
    if _ip(host):
        return _ip(host)
    host = _ascii(host, text)
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadRequest(f"not a domain name: {text!r} ({EXAMPLE})")
    return host


def _host_of_url(value: str, text: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise BadRequest(f"not a web address: {text!r} ({EXAMPLE})")
    return _hostname(value, text)


def _host_of_bare(value: str, text: str) -> str:
    if any(mark in value for mark in "/?#\\"):
        raise BadRequest(f"a domain has no path: {text!r} ({EXAMPLE})")
    return _hostname("//" + value, text)


def _hostname(url: str, text: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (reading it checks that the port is a number in range)
    except ValueError as error:
        raise BadRequest(f"not a domain name: {text!r} ({EXAMPLE})") from error
    if not parts.hostname:
        raise BadRequest(f"no domain in {text!r} ({EXAMPLE})")
    return parts.hostname


def _ip(host: str) -> str:
    """The address in its usual written form, or "" when `host` is not an IP address."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def _ascii(host: str, text: str) -> str:
    """International domain names are blocked by their ASCII (punycode) form, as URLs carry it."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise BadRequest(f"not a domain name: {text!r} ({EXAMPLE})") from error


async def block_domain(instance: Instance, domain: str, reason: str = "") -> DomainPurge:
    """Blocks a domain (as given by `parse_domain`) and purges what we hold from it. The
    instance's own domain cannot be blocked, except on a test instance (`--allow-private`),
    where loopback addresses are shared by every instance; its own actors are never touched."""
    own = urlsplit(instance.config.url).hostname or ""
    if (own == domain or own.endswith("." + domain)) and not instance.allow_private:
        raise BadRequest(f"{domain} is this instance's own domain")
    try:
        return await storage.put_domain_block(instance.db, domain, reason.strip())
    finally:
        forget_blocklist(instance)


async def unblock_domain(instance: Instance, domain: str) -> bool:
    try:
        return await storage.delete_domain_block(instance.db, domain)
    finally:
        forget_blocklist(instance)


@dataclass(frozen=True)
class Blocklist:
    """The blocked domains and accounts, kept in memory: every inbox request checks them. Read
    again after BLOCKLIST_SECONDS (a `fedi block` run by another process), and at once after a
    change made by this one."""

    domains: frozenset[str]
    accounts: frozenset[str]
    loaded_at: float


async def blocklist(instance: Instance) -> Blocklist:
    cached = instance.blocklist
    if cached is None or time.monotonic() - cached.loaded_at > BLOCKLIST_SECONDS:
        cached = instance.blocklist = Blocklist(
            frozenset(await storage.list_blocked_domain_names(instance.db)),
            frozenset(await storage.list_blocked_actors(instance.db)), time.monotonic())
    assert isinstance(cached, Blocklist)
    return cached


def forget_blocklist(instance: Instance) -> None:
    """A block was made or lifted: the next check reads them again."""
    instance.blocklist = None


async def is_blocked(instance: Instance, url: str) -> bool:
    """Is `url` on a blocked domain? Our own URLs never are, nor is a URL without a readable host."""
    try:
        if same_origin(url, instance.config.url):
            return False
        host = host_of(url)
    except ValueError:
        return False
    return bool(host) and storage.host_is_covered(host, (await blocklist(instance)).domains)


async def is_account_blocked(instance: Instance, actor: str) -> bool:
    return actor in (await blocklist(instance)).accounts


async def refuse_blocked(instance: Instance, url: str) -> None:
    """Raises Rejected (403) when `url` is on a blocked domain."""
    if await is_blocked(instance, url):
        raise Rejected(f"{host_of(url)} is blocked on this instance")


async def involves_blocked_domain(instance: Instance, activity: Activity) -> bool:
    """Does an activity come from, or point at, something on a blocked domain (a boost of a
    blocked server's post, a reply embedded from there...)?"""
    embedded = activity.object or {}
    urls = [activity.actor, activity.object_id, as_id(embedded.get("attributedTo")),
            as_id(embedded.get("actor"))]
    for url in filter(None, urls):
        if await is_blocked(instance, url):
            return True
    return False
