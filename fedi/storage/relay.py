"""The relay's subscriptions, its allowlist, and what it learnt of each subscribed instance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .db import Database, Reader, Transaction
from .dialect import utc_now_iso
from .models import RelaySubscription, RemoteActor

__all__ = [
    "put_relay_subscription",
    "get_relay_subscription",
    "list_relay_subscriptions",
    "list_subscribed_actors",
    "set_relay_subscription_state",
    "delete_relay_subscription",
    "put_relay_allowed",
    "is_relay_allowed",
    "list_relay_allowlist",
    "delete_relay_allowed",
    "NetworkMember",
    "put_network_member",
    "get_network_member",
    "list_network_members",
]


async def put_relay_subscription(
    tx: Transaction, *, domain: str, actor: str, inbox: str, follow: dict[str, Any], state: str
) -> None:
    """One subscription per instance domain; a new Follow replaces the old one, and an accepted
    subscription stays accepted."""
    await tx.execute(
        "INSERT INTO relay_subscriptions (domain, actor, inbox, follow, state, created_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT(domain) DO UPDATE SET actor = excluded.actor,"
        " inbox = excluded.inbox, follow = excluded.follow,"
        " state = CASE WHEN relay_subscriptions.state = 'accepted' THEN 'accepted'"
        " ELSE excluded.state END",
        (domain, actor, inbox, json.dumps(follow), state, utc_now_iso()),
    )


async def get_relay_subscription(db: Reader, domain: str) -> RelaySubscription | None:
    row = await db.fetchone("SELECT * FROM relay_subscriptions WHERE domain = ?", (domain.lower(),))
    return RelaySubscription.from_row(row) if row else None


async def list_relay_subscriptions(db: Reader, state: str | None = None) -> list[RelaySubscription]:
    rows = await db.fetchall(
        "SELECT * FROM relay_subscriptions WHERE CAST(? AS TEXT) IS NULL OR state = ? ORDER BY domain",
        (state, state),
    )
    return [RelaySubscription.from_row(row) for row in rows]


async def list_subscribed_actors(db: Reader) -> list[RemoteActor]:
    """The associations of the network, by name: the people and organisations of subscribed
    instances that have spoken to the relay (instance actors, which subscribe, are left out)."""
    rows = await db.fetchall(
        "SELECT r.* FROM relay_subscriptions s JOIN remote_actors r ON r.host = s.domain"
        " WHERE s.state = 'accepted' AND r.type NOT IN ('Application', 'Service')"
        " ORDER BY LOWER(COALESCE(r.name, r.preferred_username, r.uri))"
    )
    return [RemoteActor.from_row(row) for row in rows]


async def set_relay_subscription_state(tx: Transaction, domain: str, state: str) -> None:
    await tx.execute("UPDATE relay_subscriptions SET state = ? WHERE domain = ?", (state, domain))


async def delete_relay_subscription(tx: Transaction, domain: str) -> None:
    await tx.execute("DELETE FROM relay_subscriptions WHERE domain = ?", (domain,))


async def put_relay_allowed(db: Database, domain: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO relay_allowlist (domain, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (domain.lower(), utc_now_iso()),
        )


async def is_relay_allowed(db: Reader, domain: str) -> bool:
    row = await db.fetchone("SELECT 1 FROM relay_allowlist WHERE domain = ?", (domain.lower(),))
    return row is not None


async def list_relay_allowlist(db: Reader) -> list[str]:
    rows = await db.fetchall("SELECT domain FROM relay_allowlist ORDER BY domain")
    return [row[0] for row in rows]


async def delete_relay_allowed(db: Database, domain: str) -> bool:
    async with db.transaction() as tx:
        return await tx.rowcount("DELETE FROM relay_allowlist WHERE domain = ?", (domain.lower(),)) > 0


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
