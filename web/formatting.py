"""Dates, times, numbers and durations as the visitor's language writes them, through Babel:
'mardi 8 décembre 2026, 18 h 30', '50 000' (a narrow no-break space in French), '2 minutes'."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.numbers import format_decimal

from fedi.events import zone_of

__all__ = ["clock", "day_and_time", "day_text", "when_text", "moment_text", "number", "numbers_in", "duration"]


def clock(moment: datetime, language: str) -> str:
    """'18 h 30' in French (as the French write it, with no-break spaces so that the time never
    splits across two lines), the language's own short time otherwise."""
    if language == "fr":
        return format_datetime(moment, "H\u00a0'h'\u00a0mm", tzinfo=moment.tzinfo, locale="fr")
    return format_time(moment, "short", tzinfo=moment.tzinfo, locale=language)


def day_and_time(moment: datetime, language: str) -> str:
    """'mardi 8 décembre 2026, 18 h 30'."""
    return f"{day_text(moment, language)}, {clock(moment, language)}"


def day_text(day: date, language: str) -> str:
    """'lundi 30 novembre 2026'."""
    return format_date(day, "full", locale=language)


def when_text(start: datetime, end: datetime | None, language: str) -> str:
    """'jeudi 3 décembre 2026, 18 h 30 – 20 h 00' (both dates when it lasts several days)."""
    text = day_and_time(start, language)
    if end is None:
        return text
    if end.date() == start.date():
        return f"{text} – {clock(end, language)}"
    return f"{text} – {day_and_time(end, language)}"


def moment_text(value: str | datetime, language: str, timezone: str) -> str:
    """A stored moment (ISO 8601, UTC when it names no offset) in the association's time zone."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return day_and_time(moment.astimezone(zone_of(timezone)), language)


def number(value: int | float, language: str) -> str:
    return format_decimal(value, locale=language)


def numbers_in(values: dict[str, Any], language: str) -> dict[str, Any]:
    """The values of a message, its numbers written in `language` ('50 000')."""
    return {name: number(value, language)
            if isinstance(value, int | float) and not isinstance(value, bool) else value
            for name, value in values.items()}


def duration(seconds: float, language: str) -> str:
    """'1 minute', '2 minutes', '1 heure': a wait, rounded up to the next minute."""
    minutes = max(1, -(-int(seconds) // 60))
    return format_timedelta(timedelta(minutes=minutes), threshold=2, granularity="minute", locale=language)
