"""An event's date, place and recurrence, from the desk's form (times entered in the
association's time zone, stored in UTC; the recurrence stored as an RFC 5545 RRULE)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.routing import BaseRoute

from fedi.storage import EventFields, Post

from ..rendering import gettext
from .forms import FormError, text_field

RECURRENCES = {
    "": "",
    "weekly": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "triweekly": "FREQ=WEEKLY;INTERVAL=3",
    "monthly": "FREQ=MONTHLY",
    "monthly_weekday": "FREQ=MONTHLY;BYDAY=",  # + the start's rank and weekday, e.g. 1TH
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
YEARS = range(2000, 2101)  # a typo such as 0226 is refused rather than stored
_UNTIL = re.compile(r";UNTIL=(\d{8})T(\d{6})Z?")


def to_utc(local: str, timezone: str) -> str:
    """'2026-12-01T18:00' in the association's zone → UTC ISO; ValueError when malformed."""
    moment = datetime.fromisoformat(local)
    if moment.year not in YEARS:
        raise ValueError(f"year {moment.year} out of range")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_local_input(iso_utc: str | None, timezone: str) -> str:
    """UTC ISO → the value of a datetime-local input in the association's zone."""
    if not iso_utc:
        return ""
    moment = datetime.fromisoformat(iso_utc[:19]).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def event_from_form(request: Request, form: FormData, timezone: str) -> EventFields:
    try:
        start = to_utc(text_field(form, "starts_at", 40), timezone)
    except ValueError:
        raise FormError(gettext(request, "Give the date and time the event starts.")) from None
    end = None
    if text_field(form, "ends_at", 40):
        try:
            end = to_utc(text_field(form, "ends_at", 40), timezone)
        except ValueError:
            raise FormError(gettext(request, "The end date is not a valid date.")) from None
        if end < start:
            raise FormError(gettext(request, "The event ends before it starts."))
    place = {key: text_field(form, f"place_{key}", 200)
             for key in ("name", "street", "postal_code", "locality")}
    return EventFields(start=start, end=end, place={k: v for k, v in place.items() if v} or None,
                       recurrence=_recurrence_from_form(request, form, start, timezone))


def _recurrence_from_form(request: Request, form: FormData, start: str, timezone: str) -> str | None:
    """The RRULE of the chosen rhythm, with UNTIL when a last date is given."""
    key = text_field(form, "recurrence", 20)
    rule = RECURRENCES.get(key)
    if rule is None:
        raise FormError(gettext(request, "Choose how often the event comes back."))
    if not rule:
        return None
    first = datetime.fromisoformat(start[:19]).replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    if key == "monthly_weekday":
        rank = (first.day - 1) // 7 + 1
        rule += f"{rank if rank < 5 else -1}{WEEKDAYS[first.weekday()]}"  # a 5th Thursday: the last
    until = text_field(form, "repeat_until", 20)
    if not until:
        return rule
    try:
        last_day = date.fromisoformat(until)
    except ValueError:
        raise FormError(gettext(request, "The last date is not a valid date.")) from None
    if last_day < first.date() or last_day.year not in YEARS:
        raise FormError(gettext(request, "The last date comes before the first one."))
    end_of_day = datetime.combine(last_day, time(23, 59, 59), tzinfo=ZoneInfo(timezone))
    return f"{rule};UNTIL={end_of_day.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def event_form_values(post: Post | None, timezone: str) -> dict[str, str]:
    """What the form shows for an existing event."""
    if post is None or not post.is_event:
        return {}
    place = post.event_place or {}
    return {
        "starts_at": to_local_input(post.event_start, timezone),
        "ends_at": to_local_input(post.event_end, timezone),
        **{f"place_{key}": value for key, value in place.items()},
        **_recurrence_form_values(post.event_recurrence or "", timezone),
    }


def _recurrence_form_values(rule: str, timezone: str) -> dict[str, str]:
    until = _UNTIL.search(rule)
    base = _UNTIL.sub("", rule)
    key = next((key for key, known in RECURRENCES.items() if known == base), "")
    if base.startswith(RECURRENCES["monthly_weekday"]):
        key = "monthly_weekday"
    values = {"recurrence": key}
    if until:
        moment = datetime.strptime(until.group(1) + until.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        values["repeat_until"] = moment.astimezone(ZoneInfo(timezone)).date().isoformat()
    return values


routes: list[BaseRoute] = []  # the form lives in the editor (posts.py)
