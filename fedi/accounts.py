"""Desk accounts: created by the instance's admin, passwords hashed with argon2, sessions kept
in the database by the hash of their token."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import storage
from .storage import Account, Database, Session

ROLES = ("admin", "editor")
MIN_PASSWORD_LENGTH = 10
SESSION_SECONDS = 14 * 24 * 3600
USERNAME = re.compile(r"^[a-z0-9_.-]{2,40}$")

# argon2id with OWASP's recommended floor (19 MiB, 2 passes): the library's default takes
# 64 MiB for every login, too much on the small VPS an association rents. Hashes made with
# other parameters still verify and are redone with these at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A username, role or password that cannot be used; the message says why."""


class LastAdmin(AccountError):
    """The only admin account cannot be deleted: nobody could run the desk any more."""


def new_password() -> str:
    return secrets.token_urlsafe(12)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def create_account(db: Database, username: str, role: str,
                         password: str | None = None) -> tuple[Account, str]:
    """A new account; returns it with its password (generated when none is given)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("a username has 2 to 40 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"the role is one of {', '.join(ROLES)}")
    if await storage.get_account_by_username(db, username):
        raise AccountError(f"the account {username} already exists")
    password = password if password is not None else new_password()
    check_new_password(password)
    account = await storage.put_account(db, username, await hash_password(password), role)
    return account, password


async def delete_account(db: Database, account: Account) -> None:
    """The account goes, and its sessions end; never the last admin (LastAdmin)."""
    if account.is_admin and await storage.count_admins(db) <= 1:
        raise LastAdmin(f"{account.username} is the only admin account")
    await storage.delete_account(db, account.id)


async def authenticate(db: Database, username: str, password: str) -> Account | None:
    """The account if the password is right. An unknown name costs the same time as a wrong
    password, so the answer does not tell which names exist."""
    account = await storage.get_account_by_username(db, username.strip().lower())
    stored = account.password_hash if account else _unknown_user_hash()
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if account and _hasher.check_needs_rehash(stored):
        await storage.set_account_password(db, account.id, await hash_password(password))
    return account


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(db: Database, account: Account, now: float) -> str:
    """A new session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    await storage.put_session(db, _token_hash(token), account.id, secrets.token_urlsafe(24),
                              now + SESSION_SECONDS, now)
    return token


async def find_session(db: Database, token: str, now: float) -> Session | None:
    return await storage.get_session(db, _token_hash(token), now)


async def close_session(db: Database, token: str) -> None:
    await storage.delete_session(db, _token_hash(token))
