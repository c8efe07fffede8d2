"""Numbers, durations and stored moments as the visitor's language writes them, through Babel:
'50 000' (a narrow no-break space in French), '2 minutes', 'mardi 8 décembre 2026, 18 h 30'."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from babel.numbers import format_decimal

from fedi.dates import day_and_time, local_moment

__all__ = ["moment_text", "number", "numbers_in", "duration"]


def moment_text(value: str | datetime, language: str, timezone: str) -> str:
    return day_and_time(local_moment(value, timezone), language)


def number(value: int | float, language: str) -> str:
    return format_decimal(value, locale=language)


def numbers_in(values: dict[str, Any], language: str) -> dict[str, Any]:
    """The values of a message, its numbers written in `language` ('50 000')."""
    return {name: number(value, language)
            if isinstance(value, int | float) and not isinstance(value, bool) else value
            for name, value in values.items()}


def duration(seconds: float, language: str) -> str:
    """'1 minute', '2 minutes', '90 minutes', '2 heures': a wait, rounded up to the next minute."""
    minutes = max(1, -(-int(seconds) // 60))
    return format_timedelta(timedelta(minutes=minutes), threshold=2, granularity="minute",
                            locale=language)
