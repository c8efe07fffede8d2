"""The desk's accounts and their sessions."""

from __future__ import annotations

from .db import Database, Reader
from .dialect import utc_now_iso
from .models import Account, Session

__all__ = [
    "put_account",
    "get_account_by_username",
    "get_account",
    "list_accounts",
    "set_account_password",
    "delete_account",
    "count_admins",
    "put_session",
    "get_session",
    "delete_session",
]


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
                      role=row["role"], created_at=row["created_at"], actor_uri=row["actor_uri"])
    return Session(account=account, csrf_token=row["csrf_token"], expires_at=row["expires_at"])


async def delete_session(db: Database, token_hash: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))
