"""The database: one interface, two engines.

SQLite (the default, here): one connection per process, in WAL mode, with explicit transactions.
aiosqlite runs every call on one thread, so all statements are serialised anyway; an asyncio
lock keeps one coroutine's transaction from interleaving with another's statements.

PostgreSQL (`postgres.py`, imported only then: asyncpg takes 3 MB): for a relay that outgrew
one machine, chosen by a `postgresql://` URL. Queries are written once, with `?` placeholders;
`dialect` says where they must differ.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import aiosqlite

from .schema import migrate

log = logging.getLogger(__name__)

__all__ = ["Database", "Reader", "StorageError", "Transaction"]

OPEN_HINT = " (are its directory and file writable by this user, and is the disk not full?)"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
BACKUP_HINT = ("this database is PostgreSQL: back it up with pg_dump (pg_dump -Fc -f FILE URL)"
               " and restore it with pg_restore; fedi backup and fedi restore copy SQLite files only")

Params = Iterable[Any] | dict[str, Any]
Dialect = Literal["sqlite", "postgresql"]


class StorageError(Exception):
    """The database cannot be written (disk full, read-only file...): nothing was changed."""


class Row(Protocol):
    """A result row: `row["column"]`, `row[0]` and `dict(row)` (sqlite3.Row and asyncpg.Record)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


def is_postgres_url(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


class Transaction(ABC):
    """Statements of one open transaction (opened by `Database.transaction`)."""

    dialect: Dialect

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Runs one statement; returns the last inserted row id (or the affected row count)."""

    @abstractmethod
    async def rowcount(self, sql: str, params: Params = ()) -> int:
        """Runs one statement; returns how many rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...


class Database(ABC):
    dialect: Dialect

    @staticmethod
    async def open(location: Path | str) -> Database:
        """A file path opens SQLite; a `postgresql://` URL opens PostgreSQL. The schema's
        migrations are applied at once."""
        if is_postgres_url(location):
            from .postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(location))
        return await SqliteDatabase.connect(location)

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """All statements inside commit together or not at all. The database failing to write
        (full disk, read-only file, unreachable server) raises StorageError after the rollback."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    @abstractmethod
    async def backup(self, target: Path) -> None:
        """An online, consistent copy of the database in one file."""


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path | str) -> SqliteDatabase:
        try:
            connection = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.DatabaseError as error:
            raise StorageError(f"cannot open the database {path}: {error}{OPEN_HINT}") from error
        db = cls(connection)
        try:
            connection.row_factory = sqlite3.Row
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=10000",
            ):
                await connection.execute(pragma)
            async with db.transaction() as tx:
                await migrate(tx)
        except BaseException as error:
            await connection.close()  # its thread would keep the process alive
            if isinstance(error, sqlite3.DatabaseError):
                raise StorageError(f"cannot open the database {path}: {error}{OPEN_HINT}") from error
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            try:
                await self._connection.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as error:
                _raise_if_unwritable(error)
                raise
            try:
                yield SqliteTransaction(self._connection)
                await self._connection.commit()
            except sqlite3.DatabaseError as error:
                await self._rollback()
                _raise_if_unwritable(error)
                raise
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        try:
            await self._connection.rollback()
        except sqlite3.Error as error:  # SQLite may already have rolled back on its own
            log.warning("rollback after a failed write: %s", error)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._lock:
            try:
                return await SqliteTransaction(self._connection).fetchone(sql, params)
            except sqlite3.DatabaseError as error:
                _raise_if_unwritable(error)
                raise

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._lock:
            try:
                return await SqliteTransaction(self._connection).fetchall(sql, params)
            except sqlite3.DatabaseError as error:
                _raise_if_unwritable(error)
                raise

    async def backup(self, target: Path) -> None:
        """SQLite's backup API: consistent while the server keeps writing."""
        async with self._lock:
            destination = await aiosqlite.connect(str(target))
            try:
                await self._connection.backup(destination)
            finally:
                await destination.close()


def _raise_if_unwritable(error: sqlite3.DatabaseError) -> None:
    """The database itself failing (full disk, read-only or corrupt file, locked too long) is a
    StorageError; a constraint violation or a wrong query is a bug and stays what it is."""
    if type(error) in (sqlite3.DatabaseError, sqlite3.OperationalError):
        raise StorageError(str(error)) from error


class SqliteTransaction(Transaction):
    """Statements of one open transaction (the lock is held by `SqliteDatabase.transaction`).

    Each call is one trip to aiosqlite's thread (each trip costs about 50 µs of waking threads
    up, more than most of our statements take): rows are fetched in the same trip as the
    statement, and cursors are left to the garbage collector instead of being closed in a
    trip of their own."""

    dialect: Dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._connection.execute(sql, params)
        return cursor.lastrowid if cursor.lastrowid else cursor.rowcount

    async def rowcount(self, sql: str, params: Params = ()) -> int:
        cursor = await self._connection.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._connection.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._connection.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sql, params))


Reader = Database | Transaction  # a query that only reads runs on either
