"""Dates and times as the association's language writes them, through Babel: on its pages and in
the text of the events it federates ('mardi 8 décembre 2026, 18 h 30')."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_time

__all__ = ["clock", "day_text", "day_and_time", "when_text", "local_moment", "zone_of"]


def zone_of(timezone: str) -> ZoneInfo:
    """The association's time zone, UTC when its name is not one."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock(moment: datetime, language: str) -> str:
    """'18 h 30' in French (as the French write it, with no-break spaces so that the time never
    splits across two lines), the language's own short time otherwise."""
    if language == "fr":
        return format_datetime(moment, "H\u00a0'h'\u00a0mm", tzinfo=moment.tzinfo, locale="fr")
    return format_time(moment, "short", tzinfo=moment.tzinfo, locale=language)


def day_text(day: date, language: str) -> str:
    """'lundi 30 novembre 2026'."""
    return format_date(day, "full", locale=language)


def day_and_time(moment: datetime, language: str) -> str:
    """'mardi 8 décembre 2026, 18 h 30'."""
    return f"{day_text(moment, language)}, {clock(moment, language)}"


def when_text(start: datetime, end: datetime | None, language: str) -> str:
    """'jeudi 3 décembre 2026, 18 h 30 – 20 h 00' (both dates when it lasts several days)."""
    text = day_and_time(start, language)
    if end is None:
        return text
    if end.date() == start.date():
        return f"{text} – {clock(end, language)}"
    return f"{text} – {day_and_time(end, language)}"


def local_moment(value: str | datetime, timezone: str) -> datetime:
    """A stored moment (ISO 8601, UTC when it names no offset) in the association's time zone."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone_of(timezone))
