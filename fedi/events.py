"""When the association's events happen: recurrences expanded in the association's time zone
(a meeting at 18:00 stays at 18:00 across the change to or from summer time), the next date of
each event, the upcoming ones in order, and an iCalendar file for calendar apps.

Recurrences are RFC 5545 RRULEs expanded by python-dateutil; the iCalendar file is written by
the `icalendar` library, never by hand."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped]

from .content import plain_text
from .dates import when_text, zone_of
from .storage import Post

if TYPE_CHECKING:
    from icalendar import Event

__all__ = [
    "HORIZON", "MAX_OCCURRENCES", "Occurrence", "Recurrence", "zone_of", "recurrence_of", "rule_text",
    "occurrences", "next_occurrence", "last_occurrence", "upcoming", "ended", "place_line",
    "summary_text", "description_text", "calendar_ics",
]

log = logging.getLogger(__name__)

HORIZON = timedelta(days=366)  # recurrences are expanded this far ahead, no further
MAX_OCCURRENCES = 60  # and at most this many dates of one event
FOREVER = timedelta(days=50 * 365)  # how far the next date of an event is looked for
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")  # finer ones are refused: nobody meets hourly
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_NTH_WEEKDAY = re.compile(r"^([+-]?[1-5])(MO|TU|WE|TH|FR|SA|SU)$")


@dataclass(frozen=True)
class Occurrence:
    """One date of an event, in the association's time zone."""

    post: Post
    start: datetime
    end: datetime | None

    @property
    def over_at(self) -> datetime:
        return self.end or self.start


@dataclass(frozen=True)
class Recurrence:
    """An RRULE as the words that describe it need it."""

    frequency: str  # DAILY | WEEKLY | MONTHLY | YEARLY
    interval: int
    nth_weekday: tuple[int, int] | None = None  # (1 = first … -1 = last, 0 = Monday) monthly
    until: datetime | None = None  # in UTC
    count: int | None = None



def _moment(iso_utc: str | None, zone: ZoneInfo) -> datetime | None:
    if not iso_utc:
        return None
    try:
        return datetime.fromisoformat(iso_utc[:19]).replace(tzinfo=UTC).astimezone(zone)
    except ValueError:
        return None


def recurrence_of(post: Post) -> Recurrence | None:
    """The event's recurrence, or None for a one-off (or a rule this code does not expand)."""
    parts = dict(part.split("=", 1) for part in (post.event_recurrence or "").upper().split(";")
                 if "=" in part)
    if parts.get("FREQ") not in FREQUENCIES:
        return None
    try:
        interval = int(parts.get("INTERVAL", "1"))
        count = int(parts["COUNT"]) if "COUNT" in parts else None
        until = _until(parts["UNTIL"]) if "UNTIL" in parts else None
    except ValueError:
        return None
    if not 1 <= interval <= 366:
        return None
    nth = _NTH_WEEKDAY.match(parts.get("BYDAY", ""))
    nth_weekday = (int(nth.group(1)), WEEKDAYS.index(nth.group(2))) if nth else None
    return Recurrence(parts["FREQ"], interval, nth_weekday, until, count)


def _until(value: str) -> datetime:
    if len(value) == 8:  # a date: the whole day counts
        return datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=UTC)
    return datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def rule_text(post: Post) -> str | None:
    """The event's RRULE as calendars expect it next to a DTSTART with a TZID (an UNTIL date
    becomes the end of that day in UTC), or None for a one-off."""
    if recurrence_of(post) is None:
        return None
    return re.sub(r"(?i)UNTIL=(\d{8})(?=;|$)", r"UNTIL=\1T235959Z", (post.event_recurrence or "").strip())


def _rule(post: Post, start: datetime) -> rrule | None:
    text = rule_text(post)
    if text is None:
        return None
    try:
        rule = rrulestr(text, dtstart=start)
    except (ValueError, TypeError) as error:
        log.warning("event %s: recurrence %r not understood (%s)", post.uri, post.event_recurrence, error)
        return None
    return rule if isinstance(rule, rrule) else None


def occurrences(post: Post, zone: ZoneInfo, now: datetime, *, horizon: timedelta = HORIZON,
                limit: int = MAX_OCCURRENCES) -> list[Occurrence]:
    """The dates of `post` not over at `now`: a one-off event's only date, or those of a
    recurring one starting within `horizon`, at most `limit`. Recurrences are expanded on the
    wall clock of `zone`: 18:00 stays 18:00 all year."""
    start = _moment(post.event_start, zone)
    if start is None:
        return []
    end = _moment(post.event_end, zone)
    length = end - start if end and end > start else None
    rule = _rule(post, start)
    if rule is None:
        one = Occurrence(post, start, end if length else None)
        return [one] if one.over_at > now else []
    found: list[Occurrence] = []
    for begin in rule.xafter(now - (length or timedelta(0)), inc=True):
        if len(found) >= limit or begin >= now + horizon:
            break
        occurrence = Occurrence(post, begin, begin + length if length else None)
        if occurrence.over_at > now:
            found.append(occurrence)
    return found


def next_occurrence(post: Post, now: datetime, zone: ZoneInfo) -> Occurrence | None:
    """The date of `post` going on at `now`, else the next one; None when it is all over."""
    found = occurrences(post, zone, now, horizon=FOREVER, limit=1)
    return found[0] if found else None


def last_occurrence(post: Post, now: datetime, zone: ZoneInfo) -> Occurrence | None:
    """The latest date of `post` that started before `now`."""
    start = _moment(post.event_start, zone)
    if start is None or start >= now:
        return None
    end = _moment(post.event_end, zone)
    length = end - start if end and end > start else None
    rule = _rule(post, start)
    begin = rule.before(now) if rule is not None else start
    if begin is None:
        return None
    return Occurrence(post, begin, begin + length if length else None)


def upcoming(posts: Iterable[Post], now: datetime, zone: ZoneInfo,
             limit: int | None = None) -> list[Occurrence]:
    """The next date of each event not over, soonest first."""
    nexts = [found for post in posts if (found := next_occurrence(post, now, zone)) is not None]
    nexts.sort(key=lambda occurrence: (occurrence.start, occurrence.post.id))
    return nexts[:limit] if limit is not None else nexts


def ended(posts: Iterable[Post], now: datetime, zone: ZoneInfo, limit: int) -> list[Occurrence]:
    """The last date of each event that is all over, latest first."""
    over = [last for post in posts if next_occurrence(post, now, zone) is None
            and (last := last_occurrence(post, now, zone)) is not None]
    over.sort(key=lambda occurrence: (occurrence.start, occurrence.post.id), reverse=True)
    return over[:limit]


def place_line(place: dict[str, str] | None) -> str:
    """'Maison des associations, 3 rue de la Paix, 69001 Lyon' (a venue, never a person's home)."""
    place = place or {}
    town = " ".join(part for part in (place.get("postal_code"), place.get("locality")) if part)
    return ", ".join(part for part in (place.get("name"), place.get("street"), town) if part)


def summary_text(post: Post, now: datetime, zone: ZoneInfo, language: str = "fr") -> str | None:
    """'mardi 8 décembre 2026, 18 h 30 – Maison des associations, 3 rue de la Paix, 69001 Lyon':
    the date to come (a recurring event's next one, else its last), in the association's time
    zone, and the place. What Mastodon shows of an Event, with its name and a link."""
    occurrence = next_occurrence(post, now, zone) or last_occurrence(post, now, zone)
    if occurrence is None:
        return None
    place = place_line(post.event_place)
    when = when_text(occurrence.start, occurrence.end, language)
    return f"{when} – {place}" if place else when


_PARAGRAPH_END = re.compile(r"(?i)</(?:p|h[1-6]|blockquote|pre|ul|ol)>")
_LINE_END = re.compile(r"(?i)<br\s*/?>|</li>")


def description_text(html: str) -> str:
    """Sanitised HTML as plain text, a blank line between paragraphs (what a calendar shows)."""
    text = plain_text(_LINE_END.sub("\n", _PARAGRAPH_END.sub("\n\n", html)))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def calendar_ics(posts: Iterable[Post], zone: ZoneInfo, *, name: str, uid: str, url: str) -> bytes:
    """An iCalendar file of `posts` (each with its RRULE when it recurs; times carry the
    association's TZID and the file its VTIMEZONE)."""
    from icalendar import Calendar  # imported when a calendar is first asked for

    calendar = Calendar.new(name=name, prodid="-//fedi//events//FR", uid=uid, url=url,
                            refresh_interval=timedelta(hours=6))
    for post in posts:
        event = _vevent(post, zone)
        if event is not None:
            calendar.add_component(event)
    calendar.add_missing_timezones()
    ics: bytes = calendar.to_ical()
    return ics


def _vevent(post: Post, zone: ZoneInfo) -> Event | None:
    from icalendar import Event, vRecur

    start = _moment(post.event_start, zone)
    if start is None:
        return None
    end = _moment(post.event_end, zone)
    stamp = _moment(post.updated_at or post.published_at, ZoneInfo("UTC")) or start
    event = Event.new(
        uid=post.uri, url=post.url or post.uri, summary=plain_text(post.title) or None,
        start=start, end=end if end and end > start else None, stamp=stamp,
        description=description_text(post.content) or None,
        location=place_line(post.event_place) or None)
    if _rule(post, start) is not None:
        event.add("rrule", vRecur.from_ical(rule_text(post) or ""))
    return event
