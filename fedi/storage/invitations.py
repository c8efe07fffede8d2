"""One-time links: invitations to join the members' space, and password resets."""

from __future__ import annotations

from .db import Reader, Transaction
from .dialect import utc_now_iso
from .models import Invitation

__all__ = [
    "put_invitation",
    "get_invitation_by_token_hash",
    "list_invitations",
    "use_invitation",
    "revoke_invitation",
    "put_member_account",
    "reset_account_password",
]


async def put_invitation(tx: Transaction, *, token_hash: str, purpose: str, group_uri: str,
                         account_id: int | None, created_by: str, expires_at: str) -> None:
    await tx.execute(
        "INSERT INTO invitations (token_hash, purpose, group_uri, account_id, created_by, created_at,"
        " expires_at) VALUES (?,?,?,?,?,?,?)",
        (token_hash, purpose, group_uri, account_id, created_by, utc_now_iso(), expires_at))


async def get_invitation_by_token_hash(db: Reader, token_hash: str) -> Invitation | None:
    row = await db.fetchone(_SELECT + " WHERE i.token_hash = ?", (token_hash,))
    return Invitation.from_row(row) if row else None


async def list_invitations(db: Reader, purpose: str, limit: int) -> list[Invitation]:
    """Newest first, with the name of the account each one made or resets."""
    rows = await db.fetchall(_SELECT + " WHERE i.purpose = ? ORDER BY i.id DESC LIMIT ?", (purpose, limit))
    return [Invitation.from_row(row) for row in rows]


_SELECT = ("SELECT i.*, a.username AS account_name FROM invitations i"
           " LEFT JOIN accounts a ON a.id = COALESCE(i.used_by, i.account_id)")


async def use_invitation(tx: Transaction, invitation_id: int, used_by: int | None, now_iso: str) -> bool:
    """Marks a link used, once: False when it was used, revoked or expired meanwhile."""
    changed = await tx.rowcount(
        "UPDATE invitations SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > ?",
        (now_iso, used_by, invitation_id, now_iso))
    return changed > 0


async def revoke_invitation(tx: Transaction, invitation_id: int, now_iso: str) -> bool:
    changed = await tx.rowcount(
        "UPDATE invitations SET revoked_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        (now_iso, invitation_id))
    return changed > 0


async def put_member_account(tx: Transaction, username: str, password_hash: str, actor_uri: str) -> int:
    """A member's login account (role "member": no desk), tied to their Person actor."""
    await tx.execute(
        "INSERT INTO accounts (username, password_hash, role, created_at, actor_uri) VALUES (?,?,?,?,?)",
        (username, password_hash, "member", utc_now_iso(), actor_uri))
    row = await tx.fetchone("SELECT id FROM accounts WHERE username = ?", (username,))
    assert row is not None
    return int(row[0])


async def reset_account_password(tx: Transaction, account_id: int, password_hash: str) -> None:
    """A new password through a reset link: every open session of the account ends."""
    await tx.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))
    await tx.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))
