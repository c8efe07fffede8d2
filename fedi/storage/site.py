"""Queries of the website and the desk: accounts, sessions, settings, drafts and photos of posts."""

from __future__ import annotations

from .db import Database, Transaction
from .models import Account, Attachment, Post, Session
from .queries import Reader, utc_now_iso

# --- accounts -----------------------------------------------------------------------------------


async def put_account(db: Database, username: str, password_hash: str, role: str) -> Account:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO accounts (username, password_hash, role, created_at) VALUES (?,?,?,?)",
            (username, password_hash, role, utc_now_iso()),
        )
        row = await tx.fetchone("SELECT * FROM accounts WHERE username = ?", (username,))
    assert row is not None
    return Account.from_row(row)


async def get_account_by_username(db: Reader, username: str) -> Account | None:
    row = await db.fetchone("SELECT * FROM accounts WHERE username = ?", (username,))
    return Account.from_row(row) if row else None


async def get_account(db: Reader, account_id: int) -> Account | None:
    row = await db.fetchone("SELECT * FROM accounts WHERE id = ?", (account_id,))
    return Account.from_row(row) if row else None


async def list_accounts(db: Reader) -> list[Account]:
    rows = await db.fetchall("SELECT * FROM accounts ORDER BY username")
    return [Account.from_row(row) for row in rows]


async def set_account_password(db: Database, account_id: int, password_hash: str) -> None:
    """New password: every open session of the account ends."""
    async with db.transaction() as tx:
        await tx.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))
        await tx.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))


async def delete_account(db: Database, account_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))
        await tx.execute("DELETE FROM accounts WHERE id = ?", (account_id,))


async def count_admins(db: Reader) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM accounts WHERE role = 'admin'")
    return int(row[0]) if row else 0


# --- sessions -----------------------------------------------------------------------------------


async def put_session(
    db: Database, token_hash: str, account_id: int, csrf_token: str, expires_at: float, now: float
) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
        await tx.execute(
            "INSERT INTO sessions (token_hash, account_id, csrf_token, expires_at) VALUES (?,?,?,?)",
            (token_hash, account_id, csrf_token, expires_at),
        )


async def get_session(db: Reader, token_hash: str, now: float) -> Session | None:
    row = await db.fetchone(
        "SELECT s.csrf_token, s.expires_at, a.* FROM sessions s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.token_hash = ? AND s.expires_at >= ?",
        (token_hash, now),
    )
    if row is None:
        return None
    account = Account(id=row["id"], username=row["username"], password_hash=row["password_hash"],
                      role=row["role"], created_at=row["created_at"])
    return Session(account=account, csrf_token=row["csrf_token"], expires_at=row["expires_at"])


async def delete_session(db: Database, token_hash: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


# --- settings -----------------------------------------------------------------------------------


async def get_settings(db: Reader) -> dict[str, str]:
    rows = await db.fetchall("SELECT key, value FROM settings")
    return {row["key"]: row["value"] for row in rows}


async def put_settings(tx: Transaction, values: dict[str, str]) -> None:
    await tx.executemany(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


# --- the desk's posts ---------------------------------------------------------------------------


async def list_local_posts(
    db: Reader, author: str, statuses: tuple[str, ...], limit: int, offset: int = 0,
    *, post_type: str | None = None,
) -> list[Post]:
    """The association's own posts in the given states (published, draft, scheduled), newest first."""
    marks = ",".join("?" * len(statuses))
    type_filter = "AND type = ?" if post_type else ""
    rows = await db.fetchall(
        f"SELECT * FROM posts WHERE author = ? AND is_local = 1 AND status IN ({marks})"
        f" AND in_reply_to IS NULL {type_filter} ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (author, *statuses, *([post_type] if post_type else []), limit, offset),
    )
    return [Post.from_row(row) for row in rows]


async def count_local_posts_by_author(db: Reader, author: str, statuses: tuple[str, ...],
                                      *, public_only: bool = False) -> int:
    marks = ",".join("?" * len(statuses))
    visibility = "AND visibility = 'public'" if public_only else ""
    row = await db.fetchone(
        f"SELECT COUNT(*) FROM posts WHERE author = ? AND is_local = 1 AND status IN ({marks})"
        f" AND in_reply_to IS NULL {visibility}",
        (author, *statuses),
    )
    return int(row[0]) if row else 0


async def get_post_by_id(db: Reader, post_id: int) -> Post | None:
    row = await db.fetchone("SELECT * FROM posts WHERE id = ?", (post_id,))
    return Post.from_row(row) if row else None


async def set_post_published(tx: Transaction, uri: str, published_at: str) -> None:
    """A draft or a scheduled post goes out now."""
    await tx.execute(
        "UPDATE posts SET status = 'published', published_at = ?, scheduled_at = NULL WHERE uri = ?",
        (published_at, uri),
    )


async def set_post_schedule(tx: Transaction, uri: str, status: str, scheduled_at: str | None) -> None:
    await tx.execute("UPDATE posts SET status = ?, scheduled_at = ? WHERE uri = ?",
                     (status, scheduled_at, uri))


async def set_post_visibility(tx: Transaction, uri: str, visibility: str) -> None:
    """Who will see a post not yet published (a published one keeps its audience)."""
    await tx.execute("UPDATE posts SET visibility = ? WHERE uri = ? AND status IN ('draft', 'scheduled')",
                     (visibility, uri))


async def list_due_scheduled_posts(db: Reader, now_iso: str) -> list[Post]:
    rows = await db.fetchall(
        "SELECT * FROM posts WHERE is_local = 1 AND status = 'scheduled' AND scheduled_at <= ?"
        " ORDER BY scheduled_at, id", (now_iso,))
    return [Post.from_row(row) for row in rows]


async def next_scheduled_at(db: Reader) -> str | None:
    row = await db.fetchone(
        "SELECT MIN(scheduled_at) FROM posts WHERE is_local = 1 AND status = 'scheduled'")
    return row[0] if row else None


async def delete_draft(tx: Transaction, uri: str) -> None:
    """A post that never left the desk goes without trace (nothing federated to take back)."""
    await tx.execute("DELETE FROM post_media WHERE post_id = (SELECT id FROM posts WHERE uri = ?)", (uri,))
    await tx.execute("DELETE FROM posts WHERE uri = ? AND status IN ('draft', 'scheduled')", (uri,))


# --- photos of posts ----------------------------------------------------------------------------


async def put_media(
    db: Database, filename: str, media_type: str, width: int, height: int, size: int
) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO media (filename, media_type, width, height, size, created_at)"
            " VALUES (?,?,?,?,?,?) RETURNING id",
            (filename, media_type, width, height, size, utc_now_iso()),
        )
    assert row is not None
    return int(row[0])


async def get_media(db: Reader, media_id: int) -> Attachment | None:
    row = await db.fetchone(
        "SELECT id AS media_id, filename, media_type, width, height, '' AS alt FROM media WHERE id = ?",
        (media_id,))
    return Attachment.from_row(row) if row else None


async def set_post_media(tx: Transaction, uri: str, media: list[tuple[int, str]]) -> None:
    """The post's photos become exactly `media`: (media id, alt text), in order."""
    row = await tx.fetchone("SELECT id FROM posts WHERE uri = ?", (uri,))
    assert row is not None
    await tx.execute("DELETE FROM post_media WHERE post_id = ?", (row["id"],))
    await tx.executemany(
        "INSERT INTO post_media (post_id, media_id, position, alt) VALUES (?,?,?,?)",
        [(row["id"], media_id, position, alt) for position, (media_id, alt) in enumerate(media)],
    )


async def list_attachments_of(db: Reader, uris: list[str]) -> dict[str, list[Attachment]]:
    """The photos of several posts at once (one query for a page of posts)."""
    found: dict[str, list[Attachment]] = {uri: [] for uri in uris}
    if not uris:
        return found
    marks = ",".join("?" * len(uris))
    rows = await db.fetchall(
        "SELECT p.uri, m.id AS media_id, m.filename, m.media_type, m.width, m.height, pm.alt"
        " FROM post_media pm JOIN posts p ON p.id = pm.post_id JOIN media m ON m.id = pm.media_id"
        f" WHERE p.uri IN ({marks}) ORDER BY pm.position",
        uris,
    )
    for row in rows:
        found[row["uri"]].append(Attachment(
            media_id=row["media_id"], filename=row["filename"], media_type=row["media_type"],
            width=row["width"], height=row["height"], alt=row["alt"]))
    return found


async def list_attachments(db: Reader, uri: str) -> list[Attachment]:
    return (await list_attachments_of(db, [uri]))[uri]
