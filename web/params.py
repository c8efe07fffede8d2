"""Numbers in URLs: row ids in paths (`{greeter_id:id}`) and numeric query parameters.

An id is 1 to 18 ASCII digits, so it always fits SQLite's (and PostgreSQL's) 64-bit integers:
anything else (a negative number, 10**23, '²') does not match the route and is a plain 404."""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["RowIdConvertor", "parse_int"]

_DIGITS = "[0-9]{1,18}"
_INTEGER = re.compile(f"-?{_DIGITS}")


class RowIdConvertor(Convertor[int]):
    regex = _DIGITS

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


def parse_int(text: str | None) -> int | None:
    """The integer written in ASCII digits in `text` (at most 18, optionally signed), else None."""
    if text is None or not _INTEGER.fullmatch(text):
        return None
    return int(text)


register_url_convertor("id", RowIdConvertor())
