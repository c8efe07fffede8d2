"""Actors: ours (the association, the instance actor) and the remote ones we fetched."""

from __future__ import annotations

import json

from activitypub.vocab import Actor, host_of

from .db import Database, Reader, Transaction
from .dialect import utc_now_iso
from .models import LocalActor, RemoteActor

__all__ = [
    "put_local_actor",
    "get_local_actor_by_uri",
    "get_local_actor_by_username",
    "get_local_actor_by_kind",
    "count_local_actors",
    "set_local_actor_profile",
    "put_remote_actor",
    "get_remote_actor_by_uri",
    "get_remote_actor_by_key_id",
    "get_remote_actor_by_handle",
    "delete_actor_traces",
]


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


async def set_local_actor_profile(tx: Transaction, uri: str, name: str, summary: str) -> None:
    await tx.execute("UPDATE local_actors SET name = ?, summary = ? WHERE uri = ?", (name, summary, uri))


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


async def get_remote_actor_by_handle(db: Reader, username: str, host: str) -> RemoteActor | None:
    """A remote actor already known, by its @username@host (case as Mastodon: insensitive)."""
    row = await db.fetchone(
        "SELECT * FROM remote_actors WHERE lower(preferred_username) = ? AND host = ?"
        " ORDER BY fetched_at DESC LIMIT 1", (username.lower(), host.lower()))
    return RemoteActor.from_row(row) if row else None


async def delete_actor_traces(tx: Transaction, actor: str, deleted_at: str) -> None:
    """A remote account was deleted: its follows, reactions and posts go."""
    await tx.execute("DELETE FROM follows WHERE follower = ? OR followee = ?", (actor, actor))
    await tx.execute("DELETE FROM reactions WHERE actor = ?", (actor,))
    await tx.execute(
        "UPDATE posts SET status = 'deleted', content = '', title = NULL, raw = NULL,"
        " deleted_at = ? WHERE author = ? AND is_local = 0",
        (deleted_at, actor),
    )
