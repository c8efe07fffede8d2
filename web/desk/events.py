"""An event's date, place and recurrence, from the desk's form (times entered in the
association's time zone, stored in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request

from fedi.storage import EventFields, Post

from ..rendering import gettext
from .forms import FormError, text_field

RECURRENCES = {
    "": "",
    "weekly": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "triweekly": "FREQ=WEEKLY;INTERVAL=3",
    "monthly": "FREQ=MONTHLY",
}


def to_utc(local: str, timezone: str) -> str:
    """'2026-12-01T18:00' in the association's zone → UTC ISO; ValueError when malformed."""
    moment = datetime.fromisoformat(local)
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
    recurrence = RECURRENCES.get(text_field(form, "recurrence", 20))
    if recurrence is None:
        raise FormError(gettext(request, "Choose how often the event comes back."))
    return EventFields(start=start, end=end, place={k: v for k, v in place.items() if v} or None,
                       recurrence=recurrence or None)


def event_form_values(post: Post | None, timezone: str) -> dict[str, str]:
    """What the form shows for an existing event."""
    if post is None or not post.is_event:
        return {}
    place = post.event_place or {}
    recurrence = next((key for key, rule in RECURRENCES.items() if rule == (post.event_recurrence or "")), "")
    return {
        "starts_at": to_local_input(post.event_start, timezone),
        "ends_at": to_local_input(post.event_end, timezone),
        **{f"place_{key}": value for key, value in place.items()},
        "recurrence": recurrence,
    }


routes: list = []
