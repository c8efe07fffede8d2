"""Domain blocks: what a local admin uses against a spam or hostile server.

A blocked domain (and each of its subdomains, on any port) is refused at the inbox before any
signature check, never fetched from, never delivered to, and what we held from it is purged
when the block is made (see `storage.put_domain_block`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from activitypub.errors import BadRequest, Rejected
from activitypub.vocab import Activity, as_id, host_of, same_origin

from . import storage
from .domains import host_is_covered, parse_domain
from .instance import Instance
from .storage import DomainPurge

BLOCKLIST_SECONDS = 5.0

__all__ = ["block_domain", "involves_blocked_domain", "is_blocked", "parse_domain", "refuse_blocked"]

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
    return bool(host) and host_is_covered(host, (await blocklist(instance)).domains)


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
