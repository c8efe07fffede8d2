"""PostgreSQL, for a relay that outgrew one machine: the interface of `db.Database` over a pool
of asyncpg connections, so that several web and delivery processes share one database.

Queries keep SQLite's `?` placeholders: they become `$1..$n` (`dialect.to_postgres`). The schema is
the same list of migrations, translated (`schema.postgres_ddl`), its version kept in a `schema_version` table.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from .db import BACKUP_HINT, Database, Dialect, Params, Row, StorageError, Transaction
from .dialect import to_postgres
from .schema import TABLES_WITH_ID, migrate

__all__ = ["PostgresDatabase", "PostgresTransaction", "to_postgres", "safe_url", "BACKUP_HINT"]

POOL_SIZE = 10  # connections per process

# The server failing, not the query (which stays a bug): these become StorageError.
SERVER_FAILED = (
    ConnectionError,
    asyncpg.PostgresConnectionError,  # the connection broke
    asyncpg.InsufficientResourcesError,  # disk full, out of memory, too many connections
    asyncpg.OperatorInterventionError,  # shutting down, starting up, query cancelled
    asyncpg.ReadOnlySQLTransactionError,  # a read-only standby
)

_INSERT_INTO = re.compile(r"\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


class PostgresTransaction(Transaction):
    dialect: Dialect = "postgresql"

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        """As with SQLite, an INSERT into a table keyed by `id` returns the new row's id."""
        query = to_postgres(sql)
        if _inserts_with_id(query):
            rows = await self._connection.fetch(query + " RETURNING id", *_values(params))
            return int(rows[-1][0]) if rows else 0
        return _affected(await self._connection.execute(query, *_values(params)))

    async def rowcount(self, sql: str, params: Params = ()) -> int:
        return _affected(await self._connection.execute(to_postgres(sql), *_values(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        values = [_values(row) for row in rows]
        if values:
            await self._connection.executemany(to_postgres(sql), values)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self._connection.fetchrow(to_postgres(sql), *_values(params))
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._connection.fetch(to_postgres(sql), *_values(params)))


class PostgresDatabase(Database):
    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = url

    @classmethod
    async def connect(cls, url: str, pool_size: int = POOL_SIZE) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size,
                                             server_settings={"application_name": "fedi"})
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as error:
            raise StorageError(f"cannot open the database {safe_url(url)}: {error}") from error
        db = cls(pool, url)
        try:
            async with db.transaction() as tx:
                await migrate(tx)
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._session() as connection, connection.transaction():
            yield PostgresTransaction(connection)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._session() as connection:
            return await PostgresTransaction(connection).fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._session() as connection:
            return await PostgresTransaction(connection).fetchall(sql, params)

    async def backup(self, target: Path) -> None:
        raise StorageError(BACKUP_HINT)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool; the server failing (down, disk full...) is a StorageError."""
        try:
            connection = await self._pool.acquire()
        except (OSError, asyncpg.PostgresError) as error:
            raise StorageError(f"cannot reach the database {safe_url(self.url)}: {error}") from error
        try:
            yield connection
        except SERVER_FAILED as error:
            raise StorageError(f"database {safe_url(self.url)}: {error}") from error
        finally:
            await self._pool.release(connection)


def _values(params: Params) -> tuple[Any, ...]:
    if isinstance(params, dict):
        raise TypeError("queries take ? placeholders and a sequence of values, not names")
    return tuple(params)


def _affected(status: str) -> int:
    """The row count of a command status such as `UPDATE 3` or `INSERT 0 1`."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _inserts_with_id(query: str) -> bool:
    match = _INSERT_INTO.match(query)
    return (match is not None and match.group(1).lower() in TABLES_WITH_ID
            and "RETURNING" not in query.upper())
