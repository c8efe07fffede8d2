"""Where SQLite and PostgreSQL differ, in one place: the SQL of a few expressions, the placeholders
(queries keep SQLite's `?`), and the one timestamp format both store.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from itertools import count

from .db import Reader

__all__ = [
    "utc_now_iso",
]


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def greatest(db: Reader, *terms: str) -> str:
    """The largest of several values of one row (SQLite's MAX(a, b), PostgreSQL's GREATEST)."""
    return f"{'MAX' if db.dialect == 'sqlite' else 'GREATEST'}({', '.join(terms)})"


def in_json_list(db: Reader) -> str:
    """`IN` the values of a JSON list given as one parameter (one parameter, any length)."""
    if db.dialect == "sqlite":
        return "IN (SELECT value FROM json_each(?))"
    return "IN (SELECT json_array_elements_text(CAST(? AS json)))"


def skip_locked(db: Reader, table: str) -> str:
    """On PostgreSQL several processes claim from one queue: a row that another is claiming
    right now is skipped, never waited for nor claimed twice. (SQLite has one writer at a time.)"""
    return f" FOR UPDATE OF {table} SKIP LOCKED" if db.dialect == "postgresql" else ""


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|\?")


@lru_cache(maxsize=4096)
def to_postgres(sql: str) -> str:
    """`?` placeholders become `$1..$n` (a `?` inside quotes or a comment stays)."""
    numbers = count(1)
    return _TOKENS.sub(lambda m: f"${next(numbers)}" if m.group() == "?" else m.group(), sql)
