"""Our outgoing activities, their deliveries (a queue) and what we know of each remote host."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from activitypub.vocab import host_of

from .db import Database, Reader, Transaction
from .dialect import greatest, skip_locked, utc_now_iso
from .models import Delivery, HostState, StoredActivity

__all__ = [
    "put_activity",
    "get_activity_by_uri",
    "list_outbox",
    "count_outbox",
    "put_deliveries",
    "claim_due_deliveries",
    "mark_deliveries_done",
    "count_deliveries",
    "next_delivery_due_at",
    "list_deliveries_for_activity",
    "get_host_state",
    "get_host_states",
    "list_unavailable_hosts",
    "record_host_success",
    "record_host_failure",
    "set_host_retry_after",
    "clear_host_unavailable",
]


async def put_activity(
    tx: Transaction, *, uri: str, actor: str, type: str, object_uri: str | None, public: bool,
    body: dict[str, Any],
) -> int:
    row = await tx.fetchone(
        "INSERT INTO activities (uri, actor, type, object_uri, public, body, created_at)"
        " VALUES (?,?,?,?,?,?,?) RETURNING id",
        (uri, actor, type, object_uri, int(public), json.dumps(body), utc_now_iso()),
    )
    assert row is not None
    return int(row[0])


async def get_activity_by_uri(db: Reader, uri: str) -> StoredActivity | None:
    row = await db.fetchone("SELECT * FROM activities WHERE uri = ?", (uri,))
    return StoredActivity.from_row(row) if row else None


async def list_outbox(db: Reader, actor: str, limit: int, offset: int = 0) -> list[StoredActivity]:
    rows = await db.fetchall(
        "SELECT * FROM activities WHERE actor = ? AND public = 1"
        " AND type IN ('Create', 'Announce') ORDER BY id DESC LIMIT ? OFFSET ?",
        (actor, limit, offset),
    )
    return [StoredActivity.from_row(row) for row in rows]


async def count_outbox(db: Reader, actor: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM activities WHERE actor = ? AND public = 1"
        " AND type IN ('Create', 'Announce')",
        (actor,),
    )
    return int(row[0]) if row else 0


async def put_deliveries(
    tx: Transaction, activity_id: int, inboxes: Iterable[str], now: float
) -> int:
    """One queued delivery per inbox given (deduplicated), due at `now`. Which inboxes are
    delivered to (not those of unavailable hosts nor blocked domains) is the caller's choice:
    `fedi.delivery.queue_deliveries`."""
    created = utc_now_iso()
    rows = [(activity_id, inbox, host_of(inbox), now, created) for inbox in dict.fromkeys(inboxes)]
    await tx.executemany(
        "INSERT INTO deliveries (activity_id, inbox, host, state, next_attempt_at, created_at)"
        " VALUES (?,?,?,'queued',?,?)",
        rows,
    )
    return len(rows)


async def claim_due_deliveries(
    db: Database, now: float, limit: int, lease: float, skip_hosts: Sequence[str] = ()
) -> list[Delivery]:
    """Locks up to `limit` due deliveries for `lease` seconds, oldest first, and returns them
    (none to `skip_hosts`: those this process is delivering to already)."""
    skipped = f" AND d.host NOT IN ({','.join('?' * len(skip_hosts))})" if skip_hosts else ""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE deliveries SET locked_until = ? WHERE id IN ("
            " SELECT d.id FROM deliveries d LEFT JOIN hosts h ON h.host = d.host"
            " WHERE d.state = 'queued' AND d.next_attempt_at <= ? AND d.locked_until <= ?"
            f" AND COALESCE(h.retry_after, 0) <= ?{skipped} AND NOT EXISTS (SELECT 1 FROM deliveries e"
            "  WHERE e.inbox = d.inbox AND e.state = 'queued' AND e.attempts > 0 AND e.id < d.id)"
            f" ORDER BY d.id LIMIT ?{skip_locked(tx, 'd')}) RETURNING id",
            (now + lease, now, now, now, *skip_hosts, limit),
        )
        if not rows:
            return []
        ids = [row[0] for row in rows]
        marks = ",".join("?" * len(ids))
        joined = await tx.fetchall(
            "SELECT d.id, d.activity_id, d.inbox, d.host, d.attempts, a.body, a.actor"
            f" FROM deliveries d JOIN activities a ON a.id = d.activity_id WHERE d.id IN ({marks})"
            " ORDER BY d.id",
            ids,
        )
    return [Delivery.from_row(row) for row in joined]


async def mark_deliveries_done(db: Database, delivery_ids: Sequence[int], now: float) -> None:
    """Done, in one transaction; an inbox that had failed before is back: what waited behind
    it is due now."""
    marks = ",".join("?" * len(delivery_ids))
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE deliveries SET state = 'done', attempts = attempts + 1, last_error = NULL"
            f" WHERE id IN ({marks}) RETURNING inbox, attempts",
            list(delivery_ids),
        )
        for inbox in {row["inbox"] for row in rows if row["attempts"] > 1}:
            await tx.execute(
                "UPDATE deliveries SET next_attempt_at = ?"
                " WHERE inbox = ? AND state = 'queued' AND next_attempt_at > ?",
                (now, inbox, now),
            )


async def count_deliveries(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
    return {row[0]: int(row[1]) for row in rows}


async def next_delivery_due_at(db: Reader) -> float | None:
    """When `claim_due_deliveries` will next find something (rows waiting behind an older failed
    delivery to their inbox are not counted: they become due when it passes)."""
    due = greatest(db, "d.next_attempt_at", "d.locked_until", "COALESCE(h.retry_after, 0)")
    row = await db.fetchone(
        f"SELECT MIN({due})"
        " FROM deliveries d LEFT JOIN hosts h ON h.host = d.host WHERE d.state = 'queued'"
        " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.inbox = d.inbox"
        "  AND e.state = 'queued' AND e.attempts > 0 AND e.id < d.id)"
    )
    return float(row[0]) if row and row[0] is not None else None


async def list_deliveries_for_activity(db: Reader, activity_uri: str) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT d.inbox, d.state, d.attempts, d.last_error FROM deliveries d"
        " JOIN activities a ON a.id = d.activity_id WHERE a.uri = ? ORDER BY d.id",
        (activity_uri,),
    )
    return [dict(row) for row in rows]


async def get_host_state(db: Reader, host: str) -> HostState | None:
    return (await get_host_states(db, [host])).get(host)


async def get_host_states(db: Reader, hosts: Sequence[str]) -> dict[str, HostState]:
    """The known hosts among `hosts`, in one query."""
    if not hosts:
        return {}
    rows = await db.fetchall(f"SELECT * FROM hosts WHERE host IN ({','.join('?' * len(hosts))})", list(hosts))
    return {row["host"]: HostState(row["host"], row["first_failure_at"], bool(row["unavailable"]),
                                   row["retry_after"], row["signature_scheme"]) for row in rows}


async def list_unavailable_hosts(db: Reader) -> set[str]:
    """Hosts marked unavailable (failing for days): nothing is queued for them."""
    return {row[0] for row in await db.fetchall("SELECT host FROM hosts WHERE unavailable = 1")}


async def record_host_success(db: Database, host: str, signature_scheme: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO hosts (host, signature_scheme) VALUES (?, ?) ON CONFLICT(host) DO UPDATE"
            " SET first_failure_at = NULL, unavailable = 0, signature_scheme = excluded.signature_scheme",
            (host, signature_scheme),
        )


async def record_host_failure(db: Database, host: str, now: float, unavailable_after: float) -> bool:
    """Notes a failure; marks the host unavailable once it has failed for `unavailable_after`
    seconds, dropping its queued deliveries. Returns True when it became unavailable."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO hosts (host, first_failure_at) VALUES (?, ?) ON CONFLICT(host) DO UPDATE"
            " SET first_failure_at = COALESCE(hosts.first_failure_at, excluded.first_failure_at)",
            (host, now),
        )
        changed = await tx.rowcount(
            "UPDATE hosts SET unavailable = 1 WHERE host = ? AND unavailable = 0"
            " AND first_failure_at <= ?",
            (host, now - unavailable_after),
        )
        if changed:
            await tx.execute(
                "UPDATE deliveries SET state = 'skipped', last_error = 'host unavailable'"
                " WHERE host = ? AND state = 'queued'",
                (host,),
            )
    return changed > 0


async def set_host_retry_after(db: Database, host: str, retry_after: float) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO hosts (host, retry_after) VALUES (?, ?) ON CONFLICT(host) DO UPDATE"
            " SET retry_after = excluded.retry_after WHERE hosts.retry_after < excluded.retry_after",
            (host, retry_after),
        )


async def clear_host_unavailable(db: Database, host: str) -> None:
    """A host that talks to us again is reachable: deliver to it again."""
    row = await db.fetchone("SELECT unavailable FROM hosts WHERE host = ?", (host,))
    if row is None or not row[0]:
        return
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE hosts SET unavailable = 0, first_failure_at = NULL WHERE host = ?", (host,)
        )
