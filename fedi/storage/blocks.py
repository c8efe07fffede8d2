"""Blocks: of a domain (and the purge of what we hold from it), and of one remote account.

A block of `example.com` covers `example.com` and every `*.example.com`, on any port (see
`fedi.domains`): a block of `127.0.0.1` covers all of loopback's ports, which tests use.
"""

from __future__ import annotations

import json

from activitypub.vocab import host_of

from ..domains import bare_host, covering_domains, host_is_covered
from .db import Database, Reader, Transaction
from .dialect import in_json_list, utc_now_iso
from .models import DomainBlock, DomainPurge

__all__ = [
    "put_domain_block",
    "delete_domain_block",
    "list_domain_blocks",
    "is_domain_blocked",
    "list_blocked_domain_names",
    "put_account_block",
    "delete_account_block",
    "is_account_blocked",
    "list_blocked_actors",
    "list_account_blocks",
]


async def put_domain_block(db: Database, domain: str, reason: str) -> DomainPurge:
    """Blocks `domain` and, in the same transaction, drops what we hold from it: its actors'
    follows (both ways), reactions and cached documents, their posts and comments (deleted),
    their activities waiting in the inbox (failed), and queued deliveries to it (skipped)."""
    domain = bare_host(domain)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO domain_blocks (domain, reason, created_at) VALUES (?,?,?)"
            " ON CONFLICT(domain) DO UPDATE SET reason = excluded.reason",
            (domain, reason, utc_now_iso()),
        )
        actors = json.dumps(await _remote_actors_under(tx, domain))
        hosts = json.dumps(await _queued_hosts_under(tx, domain))
        return await _purge(tx, actors, hosts)


async def delete_domain_block(db: Database, domain: str) -> bool:
    """Lifts a block (what it purged stays purged). False when the domain was not blocked."""
    async with db.transaction() as tx:
        removed = await tx.rowcount("DELETE FROM domain_blocks WHERE domain = ?", (bare_host(domain),))
    return removed > 0


async def list_domain_blocks(db: Reader) -> list[DomainBlock]:
    rows = await db.fetchall("SELECT * FROM domain_blocks ORDER BY domain")
    return [DomainBlock.from_row(row) for row in rows]


async def is_domain_blocked(db: Reader, host: str) -> bool:
    """Is this host (`Name.Example:8443` or `name.example`) or one of its parent domains blocked?"""
    candidates = covering_domains(bare_host(host))
    marks = ",".join("?" * len(candidates))
    row = await db.fetchone(f"SELECT 1 FROM domain_blocks WHERE domain IN ({marks}) LIMIT 1", candidates)
    return row is not None


async def list_blocked_domain_names(db: Reader) -> set[str]:
    return {row[0] for row in await db.fetchall("SELECT domain FROM domain_blocks")}


async def _remote_actors_under(tx: Transaction, domain: str) -> list[str]:
    """Every remote actor we hold anything of whose host the domain covers (never a local one)."""
    rows = await tx.fetchall(
        "SELECT uri FROM remote_actors UNION SELECT follower FROM follows"
        " UNION SELECT followee FROM follows UNION SELECT actor FROM reactions"
        " UNION SELECT author FROM posts WHERE is_local = 0"
        " UNION SELECT actor FROM inbox WHERE state = 'queued'"
        " EXCEPT SELECT uri FROM local_actors"
    )
    return [row[0] for row in rows if host_is_covered(_host_or_blank(row[0]), {domain})]


def _host_or_blank(url: str) -> str:
    try:
        return host_of(url)
    except ValueError:  # a malformed URL (e.g. an unclosed IPv6 bracket) is on no domain
        return ""


async def _queued_hosts_under(tx: Transaction, domain: str) -> list[str]:
    rows = await tx.fetchall("SELECT DISTINCT host FROM deliveries WHERE state = 'queued'")
    return [row[0] for row in rows if host_is_covered(row[0], {domain})]


async def _purge(tx: Transaction, actors: str, hosts: str) -> DomainPurge:
    """`actors` and `hosts` are JSON lists (one parameter, any length)."""
    among = in_json_list(tx)
    return DomainPurge(
        follows=await tx.rowcount(
            f"DELETE FROM follows WHERE follower {among} OR followee {among}", (actors, actors)),
        reactions=await tx.rowcount(f"DELETE FROM reactions WHERE actor {among}", (actors,)),
        posts=await tx.rowcount(
            "UPDATE posts SET status = 'deleted', content = '', source = NULL, title = NULL,"
            f" raw = NULL, deleted_at = ? WHERE is_local = 0 AND status != 'deleted' AND author {among}",
            (utc_now_iso(), actors)),
        inbox=await tx.rowcount(
            "UPDATE inbox SET state = 'failed', last_error = 'domain blocked'"
            f" WHERE state = 'queued' AND actor {among}", (actors,)),
        deliveries=await tx.rowcount(
            "UPDATE deliveries SET state = 'skipped', last_error = 'domain blocked'"
            f" WHERE state = 'queued' AND host {among}", (hosts,)),
        subscriptions=await tx.rowcount(f"DELETE FROM relay_subscriptions WHERE actor {among}", (actors,)),
        actors=await tx.rowcount(f"DELETE FROM remote_actors WHERE uri {among}", (actors,)),
    )


async def put_account_block(tx: Transaction, actor: str) -> int:
    """Blocks a remote account: its comments are hidden and it no longer follows us. Returns
    how many of its comments were hidden."""
    await tx.execute("INSERT INTO account_blocks (actor, created_at) VALUES (?, ?)"
                     " ON CONFLICT(actor) DO NOTHING", (actor, utc_now_iso()))
    await tx.execute("DELETE FROM follows WHERE follower = ?"
                     " AND followee IN (SELECT uri FROM local_actors)", (actor,))
    return await tx.rowcount(
        "UPDATE posts SET status = 'hidden' WHERE author = ? AND is_local = 0"
        " AND in_reply_to IS NOT NULL AND status IN ('pending', 'published')", (actor,))


async def delete_account_block(tx: Transaction, actor: str) -> bool:
    return await tx.rowcount("DELETE FROM account_blocks WHERE actor = ?", (actor,)) > 0


async def is_account_blocked(db: Reader, actor: str) -> bool:
    row = await db.fetchone("SELECT 1 FROM account_blocks WHERE actor = ?", (actor,))
    return row is not None


async def list_blocked_actors(db: Reader) -> set[str]:
    return {row[0] for row in await db.fetchall("SELECT actor FROM account_blocks")}


async def list_account_blocks(db: Reader) -> list[tuple[str, str]]:
    """Blocked accounts as (handle or URI, actor URI), in the order they were blocked."""
    rows = await db.fetchall(
        "SELECT b.actor, r.preferred_username, r.host FROM account_blocks b"
        " LEFT JOIN remote_actors r ON r.uri = b.actor ORDER BY b.created_at, b.actor")
    return [(f"@{row[1]}@{row[2]}" if row[1] else row[0], row[0]) for row in rows]
