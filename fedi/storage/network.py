"""Queries of the relay's own pages and admin: an association's posts, the network's activity
over time, the allowlist."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .db import Database
from .models import Post
from .queries import Reader, _in_json_list, utc_now_iso


@dataclass(frozen=True)
class NetworkMember:
    """What the relay learnt of a subscribed instance from its NodeInfo."""

    domain: str
    association: str | None
    town: str
    region: str
    learned_at: str


async def put_network_member(db: Database, domain: str, association: str | None, town: str,
                             region: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO relay_associations (domain, association, town, region, learned_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT(domain) DO UPDATE SET association = excluded.association,"
            " town = excluded.town, region = excluded.region, learned_at = excluded.learned_at",
            (domain, association, town, region, utc_now_iso()),
        )


async def get_network_member(db: Reader, domain: str) -> NetworkMember | None:
    row = await db.fetchone("SELECT * FROM relay_associations WHERE domain = ?", (domain,))
    return NetworkMember(**dict(row)) if row else None


async def list_network_members(db: Reader) -> dict[str, NetworkMember]:
    """Every subscribed instance the relay knows about, by domain."""
    rows = await db.fetchall(
        "SELECT m.* FROM relay_associations m JOIN relay_subscriptions s ON s.domain = m.domain"
        " WHERE s.state = 'accepted'")
    return {row["domain"]: NetworkMember(**dict(row)) for row in rows}


async def list_network_posts_by(db: Reader, authors: list[str], limit: int, offset: int = 0) -> list[Post]:
    """The public posts the relay holds from these actors (a region's associations), newest first."""
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND visibility = 'public'"
        f" AND in_reply_to IS NULL AND author {_in_json_list(db)}"
        " ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (json.dumps(authors), limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_posts_from(db: Reader, host: str, limit: int, offset: int = 0) -> list[Post]:
    """The public posts the relay holds from one subscribed instance, newest first."""
    secure, plain = f"https://{host}/", f"http://{host}/"
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND visibility = 'public'"
        " AND in_reply_to IS NULL AND (substr(author, 1, ?) = ? OR substr(author, 1, ?) = ?)"
        " ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (len(secure), secure, len(plain), plain, limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_post_dates(db: Reader, since_iso: str) -> list[str]:
    """When each public post the relay received since `since_iso` was published."""
    rows = await db.fetchall(
        "SELECT published_at FROM posts WHERE is_local = 0 AND visibility = 'public'"
        " AND in_reply_to IS NULL AND status != 'deleted' AND published_at >= ?",
        (since_iso,),
    )
    return [row[0] for row in rows]


async def list_relay_allowlist(db: Reader) -> list[str]:
    rows = await db.fetchall("SELECT domain FROM relay_allowlist ORDER BY domain")
    return [row[0] for row in rows]


async def delete_relay_allowed(db: Database, domain: str) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount("DELETE FROM relay_allowlist WHERE domain = ?", (domain.lower(),)) > 0
