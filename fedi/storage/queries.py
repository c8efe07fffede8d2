"""Every query the application runs. Verb-first, typed; SQL lives here and nowhere else."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from activitypub.vocab import Actor, host_of

from .db import Database, Transaction
from .models import (
    Delivery,
    DomainBlock,
    DomainPurge,
    EventFields,
    Follow,
    HostState,
    InboxItem,
    LocalActor,
    Post,
    RelaySubscription,
    RemoteActor,
    StoredActivity,
)

Reader = Database | Transaction


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- where SQLite and PostgreSQL differ ---------------------------------------------------------


def _greatest(db: Reader, *terms: str) -> str:
    """The largest of several values of one row (SQLite's MAX(a, b), PostgreSQL's GREATEST)."""
    return f"{'MAX' if db.dialect == 'sqlite' else 'GREATEST'}({', '.join(terms)})"


def _in_json_list(db: Reader) -> str:
    """`IN` the values of a JSON list given as one parameter (one parameter, any length)."""
    if db.dialect == "sqlite":
        return "IN (SELECT value FROM json_each(?))"
    return "IN (SELECT json_array_elements_text(CAST(? AS json)))"


def _skip_locked(db: Reader, table: str) -> str:
    """On PostgreSQL several processes claim from one queue: a row that another is claiming
    right now is skipped, never waited for nor claimed twice. (SQLite has one writer at a time.)"""
    return f" FOR UPDATE OF {table} SKIP LOCKED" if db.dialect == "postgresql" else ""


# --- local actors -------------------------------------------------------------------------------


async def put_local_actor(
    tx: Transaction,
    *,
    username: str,
    uri: str,
    kind: str,
    ap_type: str,
    name: str,
    summary: str,
    manually_approves: bool,
    private_key_pem: str,
    public_key_pem: str,
) -> None:
    await tx.execute(
        "INSERT INTO local_actors (username, uri, kind, ap_type, name, summary, manually_approves,"
        " private_key_pem, public_key_pem, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (username, uri, kind, ap_type, name, summary, int(manually_approves),
         private_key_pem, public_key_pem, utc_now_iso()),
    )


async def get_local_actor_by_uri(db: Reader, uri: str) -> LocalActor | None:
    row = await db.fetchone("SELECT * FROM local_actors WHERE uri = ?", (uri,))
    return LocalActor.from_row(row) if row else None


async def get_local_actor_by_username(db: Reader, username: str) -> LocalActor | None:
    row = await db.fetchone("SELECT * FROM local_actors WHERE username = ?", (username.lower(),))
    return LocalActor.from_row(row) if row else None


async def get_local_actor_by_kind(db: Reader, kind: str) -> LocalActor | None:
    row = await db.fetchone("SELECT * FROM local_actors WHERE kind = ? ORDER BY id LIMIT 1", (kind,))
    return LocalActor.from_row(row) if row else None


async def count_local_actors(db: Reader, kinds: tuple[str, ...]) -> int:
    marks = ",".join("?" * len(kinds))
    row = await db.fetchone(f"SELECT COUNT(*) FROM local_actors WHERE kind IN ({marks})", kinds)
    return int(row[0]) if row else 0


# --- remote actors ------------------------------------------------------------------------------


async def put_remote_actor(db: Database, actor: Actor, fetched_at: float) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO remote_actors (uri, host, type, inbox, shared_inbox, preferred_username,"
            " name, public_key_id, public_key_pem, raw, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(uri) DO UPDATE SET host=excluded.host, type=excluded.type,"
            " inbox=excluded.inbox, shared_inbox=excluded.shared_inbox,"
            " preferred_username=excluded.preferred_username, name=excluded.name,"
            " public_key_id=excluded.public_key_id, public_key_pem=excluded.public_key_pem,"
            " raw=excluded.raw, fetched_at=excluded.fetched_at",
            (actor.id, host_of(actor.id), actor.type, actor.inbox, actor.shared_inbox,
             actor.preferred_username, actor.name, actor.public_key_id, actor.public_key_pem,
             json.dumps(actor.raw), fetched_at),
        )


async def get_remote_actor_by_uri(db: Reader, uri: str) -> RemoteActor | None:
    row = await db.fetchone("SELECT * FROM remote_actors WHERE uri = ?", (uri,))
    return RemoteActor.from_row(row) if row else None


async def get_remote_actor_by_key_id(db: Reader, key_id: str) -> RemoteActor | None:
    row = await db.fetchone("SELECT * FROM remote_actors WHERE public_key_id = ?", (key_id,))
    return RemoteActor.from_row(row) if row else None


# --- follows ------------------------------------------------------------------------------------


async def put_follow(
    tx: Transaction, follower: str, followee: str, activity_uri: str | None, state: str
) -> None:
    await tx.execute(
        "INSERT INTO follows (follower, followee, activity_uri, state, created_at)"
        " VALUES (?,?,?,?,?) ON CONFLICT(follower, followee) DO UPDATE SET"
        " activity_uri=excluded.activity_uri,"
        " state=CASE WHEN follows.state='accepted' THEN 'accepted' ELSE excluded.state END",
        (follower, followee, activity_uri, state, utc_now_iso()),
    )


async def get_follow(db: Reader, follower: str, followee: str) -> Follow | None:
    row = await db.fetchone(
        "SELECT * FROM follows WHERE follower = ? AND followee = ?", (follower, followee)
    )
    return Follow.from_row(row) if row else None


async def get_follow_by_activity_uri(db: Reader, activity_uri: str) -> Follow | None:
    row = await db.fetchone("SELECT * FROM follows WHERE activity_uri = ?", (activity_uri,))
    return Follow.from_row(row) if row else None


async def set_follow_state(tx: Transaction, follower: str, followee: str, state: str) -> bool:
    changed = await tx.rowcount(
        "UPDATE follows SET state = ? WHERE follower = ? AND followee = ?",
        (state, follower, followee),
    )
    return changed > 0


async def delete_follow(tx: Transaction, follower: str, followee: str) -> bool:
    removed = await tx.rowcount(
        "DELETE FROM follows WHERE follower = ? AND followee = ?", (follower, followee)
    )
    return removed > 0


async def list_followers(db: Reader, followee: str, limit: int, offset: int = 0) -> list[str]:
    rows = await db.fetchall(
        "SELECT follower FROM follows WHERE followee = ? AND state = 'accepted'"
        " ORDER BY created_at DESC, follower LIMIT ? OFFSET ?",
        (followee, limit, offset),
    )
    return [row[0] for row in rows]


async def count_followers(db: Reader, followee: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM follows WHERE followee = ? AND state = 'accepted'", (followee,)
    )
    return int(row[0]) if row else 0


async def list_following(db: Reader, follower: str, limit: int, offset: int = 0, *,
                         accepted_only: bool = False) -> list[Follow]:
    """What `follower` follows, newest first; `accepted_only` filters before the page is cut."""
    accepted = " AND state = 'accepted'" if accepted_only else ""
    rows = await db.fetchall(
        f"SELECT * FROM follows WHERE follower = ?{accepted} ORDER BY created_at DESC, followee"
        " LIMIT ? OFFSET ?",
        (follower, limit, offset),
    )
    return [Follow.from_row(row) for row in rows]


async def count_following(db: Reader, follower: str) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM follows WHERE follower = ? AND state = 'accepted'", (follower,)
    )
    return int(row[0]) if row else 0


async def is_followed_by_local(db: Reader, remote_actor: str) -> bool:
    """Does any local actor follow (accepted) this remote actor?"""
    row = await db.fetchone(
        "SELECT 1 FROM follows JOIN local_actors ON local_actors.uri = follows.follower"
        " WHERE follows.followee = ? AND follows.state = 'accepted' LIMIT 1",
        (remote_actor,),
    )
    return row is not None


async def list_follower_inboxes(db: Reader, followee: str) -> list[str]:
    """Delivery inboxes of a local actor's accepted followers, shared inboxes deduplicated."""
    rows = await db.fetchall(
        "SELECT DISTINCT COALESCE(r.shared_inbox, r.inbox) FROM follows f"
        " JOIN remote_actors r ON r.uri = f.follower"
        " WHERE f.followee = ? AND f.state = 'accepted' ORDER BY 1",
        (followee,),
    )
    return [row[0] for row in rows]


async def list_followed_inboxes(db: Reader, follower: str) -> list[str]:
    """Delivery inboxes of the actors a local actor follows (accepted): its relays, for the
    instance actor."""
    rows = await db.fetchall(
        "SELECT DISTINCT COALESCE(r.shared_inbox, r.inbox) FROM follows f"
        " JOIN remote_actors r ON r.uri = f.followee"
        " WHERE f.follower = ? AND f.state = 'accepted' ORDER BY 1",
        (follower,),
    )
    return [row[0] for row in rows]


# --- posts --------------------------------------------------------------------------------------


async def put_post(
    tx: Transaction,
    *,
    uri: str,
    author: str,
    is_local: bool,
    type: str,
    title: str | None,
    content: str,
    source: str | None,
    in_reply_to: str | None,
    visibility: str,
    status: str,
    url: str | None,
    raw: dict[str, Any] | None,
    published_at: str,
    scheduled_at: str | None = None,
    event: EventFields | None = None,
) -> bool:
    """Stores a post once; a second put of the same uri changes nothing and returns False."""
    inserted = await tx.rowcount(
        "INSERT INTO posts (uri, author, is_local, type, title, content, source, in_reply_to,"
        " visibility, status, url, raw, published_at, scheduled_at, event_start, event_end,"
        " event_place, event_recurrence) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(uri) DO NOTHING",
        (uri, author, int(is_local), type, title, content, source, in_reply_to, visibility,
         status, url, json.dumps(raw) if raw is not None else None, published_at, scheduled_at,
         *_event_columns(event)),
    )
    return inserted > 0


def _event_columns(event: EventFields | None) -> tuple[str | None, ...]:
    if event is None:
        return (None, None, None, None)
    place = json.dumps(event.place) if event.place else None
    return (event.start, event.end, place, event.recurrence)


async def get_post_by_uri(db: Reader, uri: str) -> Post | None:
    row = await db.fetchone("SELECT * FROM posts WHERE uri = ?", (uri,))
    return Post.from_row(row) if row else None


async def update_post(
    tx: Transaction,
    uri: str,
    *,
    title: str | None,
    content: str,
    source: str | None,
    raw: dict[str, Any] | None,
    updated_at: str | None,
    event: EventFields | None = None,
) -> None:
    """Changes a post's text (and, for an event, its date, place and recurrence)."""
    await tx.execute(
        "UPDATE posts SET title = ?, content = ?, source = ?, raw = ?, updated_at = ?"
        " WHERE uri = ? AND status != 'deleted'",
        (title, content, source, json.dumps(raw) if raw is not None else None, updated_at, uri),
    )
    if event is not None:
        await tx.execute(
            "UPDATE posts SET event_start = ?, event_end = ?, event_place = ?, event_recurrence = ?"
            " WHERE uri = ?", (*_event_columns(event), uri))


async def mark_post_deleted(tx: Transaction, uri: str, deleted_at: str) -> None:
    await tx.execute(
        "UPDATE posts SET status = 'deleted', content = '', source = NULL, title = NULL,"
        " raw = NULL, deleted_at = ? WHERE uri = ?",
        (deleted_at, uri),
    )


async def delete_actor_traces(tx: Transaction, actor: str, deleted_at: str) -> None:
    """A remote account was deleted: its follows, reactions and posts go."""
    await tx.execute("DELETE FROM follows WHERE follower = ? OR followee = ?", (actor, actor))
    await tx.execute("DELETE FROM reactions WHERE actor = ?", (actor,))
    await tx.execute(
        "UPDATE posts SET status = 'deleted', content = '', title = NULL, raw = NULL,"
        " deleted_at = ? WHERE author = ? AND is_local = 0",
        (deleted_at, actor),
    )


async def set_post_status(tx: Transaction, uri: str, status: str) -> None:
    await tx.execute("UPDATE posts SET status = ? WHERE uri = ?", (status, uri))


async def list_posts_by_author(
    db: Reader, author: str, limit: int, offset: int = 0, *, public_only: bool = True
) -> list[Post]:
    visibility = "AND visibility = 'public'" if public_only else ""
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE author = ? AND status = 'published' {visibility}"
        " AND in_reply_to IS NULL ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (author, limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_replies(db: Reader, post_uri: str, statuses: tuple[str, ...]) -> list[Post]:
    marks = ",".join("?" * len(statuses))
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE in_reply_to = ? AND status IN ({marks})"
        " ORDER BY published_at, id",
        (post_uri, *statuses),
    )
    return [Post.from_row(row) for row in rows]


async def list_timeline(db: Reader, limit: int, offset: int = 0) -> list[Post]:
    """Posts from (or boosted by) the actors this instance follows, newest first: what the
    association follows and what its relays announce."""
    rows = await db.fetchall(
        "SELECT p.* FROM posts p WHERE p.is_local = 0 AND p.status = 'published'"
        " AND p.in_reply_to IS NULL AND EXISTS (SELECT 1 FROM follows f"
        "  JOIN local_actors l ON l.uri = f.follower"
        "  WHERE f.state = 'accepted' AND (f.followee = p.author OR"
        "  f.followee IN (SELECT r.actor FROM reactions r WHERE r.object_uri = p.uri"
        "  AND r.type = 'Announce'))) ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def list_network_posts(db: Reader, limit: int, offset: int = 0) -> list[Post]:
    """A relay's news: the public posts its subscribers published, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE is_local = 0 AND status = 'published' AND visibility = 'public'"
        " AND in_reply_to IS NULL ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def count_local_posts(db: Reader) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM posts WHERE is_local = 1 AND status = 'published'"
    )
    return int(row[0]) if row else 0


# --- outgoing activities and their deliveries ---------------------------------------------------


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
    """One queued delivery per inbox, skipping hosts marked unavailable and blocked domains."""
    unavailable = {row[0] for row in await tx.fetchall("SELECT host FROM hosts WHERE unavailable = 1")}
    blocked = await _blocked_domains(tx)
    created = utc_now_iso()
    rows = [
        (activity_id, inbox, host_of(inbox), now, created)
        for inbox in dict.fromkeys(inboxes)
        if host_of(inbox) not in unavailable and not _covered(host_of(inbox), blocked)
    ]
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
            f" ORDER BY d.id LIMIT ?{_skip_locked(tx, 'd')}) RETURNING id",
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


async def postpone_delivery(db: Database, delivery_id: int, next_attempt_at: float) -> None:
    """Not tried (its host is failing right now): later, without counting an attempt."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE deliveries SET next_attempt_at = ?, locked_until = 0 WHERE id = ?",
            (next_attempt_at, delivery_id),
        )


async def reschedule_delivery(db: Database, delivery_id: int, next_attempt_at: float, error: str) -> None:
    await _retry_later(db, "deliveries", delivery_id, next_attempt_at, error)


async def fail_delivery(db: Database, delivery_id: int, error: str) -> None:
    await _give_up(db, "deliveries", delivery_id, error)


async def _retry_later(db: Database, queue: str, row_id: int, next_attempt_at: float, error: str) -> None:
    """A queued row (delivery or received activity) failed this time: one more attempt, later."""
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {queue} SET attempts = attempts + 1, next_attempt_at = ?, locked_until = 0,"
            " last_error = ? WHERE id = ?",
            (next_attempt_at, error[:500], row_id),
        )


async def _give_up(db: Database, queue: str, row_id: int, error: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE {queue} SET state = 'failed', attempts = attempts + 1, last_error = ?"
            " WHERE id = ?",
            (error[:500], row_id),
        )


async def release_leases(db: Database) -> None:
    """At start: rows claimed by a process that died are free to take again. Not on PostgreSQL,
    where other processes deliver from the same queue: their leases run out on their own."""
    if db.dialect == "postgresql":
        return
    async with db.transaction() as tx:
        await tx.execute("UPDATE deliveries SET locked_until = 0 WHERE state = 'queued'")
        await tx.execute("UPDATE inbox SET locked_until = 0 WHERE state = 'queued'")


async def count_deliveries(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
    return {row[0]: int(row[1]) for row in rows}


async def next_delivery_due_at(db: Reader) -> float | None:
    """When `claim_due_deliveries` will next find something (rows waiting behind an older failed
    delivery to their inbox are not counted: they become due when it passes)."""
    due = _greatest(db, "d.next_attempt_at", "d.locked_until", "COALESCE(h.retry_after, 0)")
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


# --- hosts --------------------------------------------------------------------------------------


async def get_host_state(db: Reader, host: str) -> HostState | None:
    return (await get_host_states(db, [host])).get(host)


async def get_host_states(db: Reader, hosts: Sequence[str]) -> dict[str, HostState]:
    """The known hosts among `hosts`, in one query."""
    if not hosts:
        return {}
    rows = await db.fetchall(f"SELECT * FROM hosts WHERE host IN ({','.join('?' * len(hosts))})", list(hosts))
    return {row["host"]: HostState(row["host"], row["first_failure_at"], bool(row["unavailable"]),
                                   row["retry_after"], row["signature_scheme"]) for row in rows}


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


# --- domain blocks -----------------------------------------------------------------------------
# A block of `example.com` covers `example.com` and every `*.example.com`, on any port: hosts
# compare lower-case and without their port (so a block of `127.0.0.1` covers all of loopback's
# ports, which tests use). An IP address covers only itself.


async def put_domain_block(db: Database, domain: str, reason: str) -> DomainPurge:
    """Blocks `domain` and, in the same transaction, drops what we hold from it: its actors'
    follows (both ways), reactions and cached documents, their posts and comments (deleted),
    their activities waiting in the inbox (failed), and queued deliveries to it (skipped)."""
    domain = _bare_host(domain)
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
        removed = await tx.rowcount("DELETE FROM domain_blocks WHERE domain = ?", (_bare_host(domain),))
    return removed > 0


async def list_domain_blocks(db: Reader) -> list[DomainBlock]:
    rows = await db.fetchall("SELECT * FROM domain_blocks ORDER BY domain")
    return [DomainBlock.from_row(row) for row in rows]


async def is_domain_blocked(db: Reader, host: str) -> bool:
    """Is this host (`Name.Example:8443` or `name.example`) or one of its parent domains blocked?"""
    candidates = _covering_domains(_bare_host(host))
    marks = ",".join("?" * len(candidates))
    row = await db.fetchone(f"SELECT 1 FROM domain_blocks WHERE domain IN ({marks}) LIMIT 1", candidates)
    return row is not None


def _bare_host(host: str) -> str:
    """`Name.Example:8443` → `name.example`; `[::1]:80` → `::1`."""
    try:
        name = urlsplit("//" + host).hostname
    except ValueError:
        name = None
    return (name or host).lower().rstrip(".")


def _covering_domains(bare_host: str) -> list[str]:
    """The host and each of its parent domains: a block of any of them covers the host."""
    try:
        ipaddress.ip_address(bare_host)
        return [bare_host]
    except ValueError:
        labels = bare_host.split(".")
        return [".".join(labels[i:]) for i in range(len(labels))]


def host_is_covered(host: str, domains: set[str] | frozenset[str]) -> bool:
    """Is `host` one of `domains` (blocked domains) or under one of them?"""
    return _covered(host, domains)


async def list_blocked_domain_names(db: Reader) -> set[str]:
    return await _blocked_domains(db)


def _covered(host: str, domains: set[str] | frozenset[str]) -> bool:
    return bool(domains) and any(d in domains for d in _covering_domains(_bare_host(host)))


async def _blocked_domains(db: Reader) -> set[str]:
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
    return [row[0] for row in rows if _covered(_host_or_blank(row[0]), {domain})]


def _host_or_blank(url: str) -> str:
    try:
        return host_of(url)
    except ValueError:  # a malformed URL (e.g. an unclosed IPv6 bracket) is on no domain
        return ""


async def _queued_hosts_under(tx: Transaction, domain: str) -> list[str]:
    rows = await tx.fetchall("SELECT DISTINCT host FROM deliveries WHERE state = 'queued'")
    return [row[0] for row in rows if _covered(row[0], {domain})]


async def _purge(tx: Transaction, actors: str, hosts: str) -> DomainPurge:
    """`actors` and `hosts` are JSON lists (one parameter, any length)."""
    among = _in_json_list(tx)
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


# --- received activities ------------------------------------------------------------------------


async def put_inbox_item(
    db: Database, *, activity_uri: str, actor: str, type: str, body: dict[str, Any], now: float
) -> bool:
    """Stores a received activity once (idempotent on its id). False if it was already there."""
    async with db.transaction() as tx:
        inserted = await tx.rowcount(
            "INSERT INTO inbox (activity_uri, actor, type, body, state, next_attempt_at, received_at)"
            " VALUES (?,?,?,?,'queued',?,?) ON CONFLICT(activity_uri) DO NOTHING",
            (activity_uri, actor, type, json.dumps(body), now, utc_now_iso()),
        )
    return inserted > 0


async def claim_inbox_items(db: Database, now: float, limit: int, lease: float) -> list[InboxItem]:
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE inbox SET locked_until = ? WHERE id IN (SELECT id FROM inbox"
            " WHERE state = 'queued' AND next_attempt_at <= ? AND locked_until <= ?"
            f" ORDER BY id LIMIT ?{_skip_locked(tx, 'inbox')})"
            " RETURNING id, activity_uri, actor, type, body, attempts",
            (now + lease, now, now, limit),
        )
    return sorted((InboxItem.from_row(row) for row in rows), key=lambda item: item.id)


async def mark_inbox_item_done(db: Database, item_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE inbox SET state = 'done', attempts = attempts + 1 WHERE id = ?", (item_id,)
        )


async def reschedule_inbox_item(db: Database, item_id: int, next_attempt_at: float, error: str) -> None:
    await _retry_later(db, "inbox", item_id, next_attempt_at, error)


async def fail_inbox_item(db: Database, item_id: int, error: str) -> None:
    await _give_up(db, "inbox", item_id, error)


async def count_inbox_items(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, COUNT(*) FROM inbox GROUP BY state")
    return {row[0]: int(row[1]) for row in rows}


async def next_inbox_due_at(db: Reader) -> float | None:
    due = _greatest(db, "next_attempt_at", "locked_until")
    row = await db.fetchone(f"SELECT MIN({due}) FROM inbox WHERE state = 'queued'")
    return float(row[0]) if row and row[0] is not None else None


# --- likes and boosts ---------------------------------------------------------------------------


async def put_reaction(
    tx: Transaction, activity_uri: str, type: str, actor: str, object_uri: str
) -> None:
    await tx.execute(
        "INSERT INTO reactions (activity_uri, type, actor, object_uri, created_at)"
        " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
        (activity_uri, type, actor, object_uri, utc_now_iso()),
    )


async def delete_reaction_by_activity(tx: Transaction, activity_uri: str, actor: str) -> bool:
    removed = await tx.rowcount(
        "DELETE FROM reactions WHERE activity_uri = ? AND actor = ?", (activity_uri, actor)
    )
    return removed > 0


async def delete_reaction(tx: Transaction, type: str, actor: str, object_uri: str) -> bool:
    removed = await tx.rowcount(
        "DELETE FROM reactions WHERE type = ? AND actor = ? AND object_uri = ?",
        (type, actor, object_uri),
    )
    return removed > 0


async def count_reactions_of(db: Reader, object_uris: list[str]) -> dict[str, dict[str, int]]:
    """Likes and boosts of several posts in one query: {uri: {"Like": n, "Announce": n}}."""
    counts = {uri: {"Like": 0, "Announce": 0} for uri in object_uris}
    rows = await db.fetchall(
        "SELECT object_uri, type, COUNT(*) FROM reactions"
        f" WHERE object_uri {_in_json_list(db)} GROUP BY object_uri, type",
        (json.dumps(object_uris),),
    )
    for row in rows:
        counts[row[0]][row[1]] = int(row[2])
    return counts


async def count_reactions(db: Reader, object_uri: str) -> dict[str, int]:
    return (await count_reactions_of(db, [object_uri]))[object_uri]


# --- relay ------------------------------------------------------------------------------------


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
