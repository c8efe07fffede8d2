"""The site's settings (name, town, contact...), as key and value."""

from __future__ import annotations

from .db import Reader, Transaction

__all__ = [
    "get_settings",
    "put_settings",
]


async def get_settings(db: Reader) -> dict[str, str]:
    rows = await db.fetchall("SELECT key, value FROM settings")
    return {row["key"]: row["value"] for row in rows}


async def put_settings(tx: Transaction, values: dict[str, str]) -> None:
    await tx.executemany(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )
