"""The association's events on its website: the upcoming ones (also on the home page), the
details on an event's page, and iCalendar files for calendar apps (the whole agenda, which a
phone can subscribe to, and one event to add)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from activitypub.errors import NotFound
from fedi import events, storage
from fedi.content import plain_text
from fedi.dates import when_text
from fedi.events import Occurrence, Recurrence
from fedi.instance import Instance
from fedi.storage import Post

from .context import AssociationRoute, instance_of
from .i18n import N_
from .rendering import gettext, language_of, render

__all__ = ["routes", "upcoming_on_home", "event_details", "recurrence_words"]

HOME_EVENTS = 3
PAST_EVENTS = 5
FOLLOWING_DATES = 4
ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
CACHE_HEADERS = {"Cache-Control": "public, max-age=300"}

EVERY = {
    ("DAILY", 1): N_("every day"),
    ("WEEKLY", 1): N_("every week"),
    ("WEEKLY", 2): N_("every two weeks"),
    ("WEEKLY", 3): N_("every three weeks"),
    ("WEEKLY", 4): N_("every four weeks"),
    ("MONTHLY", 1): N_("every month"),
    ("MONTHLY", 2): N_("every two months"),
    ("YEARLY", 1): N_("every year"),
}
EVERY_N = {
    "DAILY": N_("every %(count)s days"),
    "WEEKLY": N_("every %(count)s weeks"),
    "MONTHLY": N_("every %(count)s months"),
    "YEARLY": N_("every %(count)s years"),
}
NTH_WEEKDAY = {
    1: N_("the first %(weekday)s of every month"),
    2: N_("the second %(weekday)s of every month"),
    3: N_("the third %(weekday)s of every month"),
    4: N_("the fourth %(weekday)s of every month"),
    -1: N_("the last %(weekday)s of every month"),
}


# --- words and dates in the visitor's language ---------------------------------------------------


def recurrence_words(request: Request, recurrence: Recurrence, zone: ZoneInfo) -> str:
    """'toutes les trois semaines', 'le premier jeudi de chaque mois, jusqu'au 30 juin 2027'."""
    language = language_of(request)
    if recurrence.nth_weekday and recurrence.frequency == "MONTHLY" and recurrence.interval == 1 \
            and recurrence.nth_weekday[0] in NTH_WEEKDAY:
        position, weekday = recurrence.nth_weekday
        weekday_name = get_day_names("wide", locale=language)[weekday]
        rhythm = gettext(request, NTH_WEEKDAY[position], weekday=weekday_name)
    elif (recurrence.frequency, recurrence.interval) in EVERY:
        rhythm = gettext(request, EVERY[(recurrence.frequency, recurrence.interval)])
    else:
        rhythm = gettext(request, EVERY_N[recurrence.frequency], count=recurrence.interval)
    if recurrence.until is None:
        return rhythm
    last_day = format_date(recurrence.until.astimezone(zone), "long", locale=language)
    return gettext(request, "%(rhythm)s, until %(date)s", rhythm=rhythm, date=last_day)


def _place_and_town(place: dict[str, str] | None) -> str:
    place = place or {}
    return ", ".join(part for part in (place.get("name"), place.get("locality")) if part)


def occurrence_view(request: Request, occurrence: Occurrence, zone: ZoneInfo) -> dict[str, Any]:
    """What a list shows of one date of an event."""
    post = occurrence.post
    recurrence = events.recurrence_of(post)
    return {
        "post": post,
        "url": post.uri,
        "title": plain_text(post.title) or gettext(request, "Event"),
        "when": when_text(occurrence.start, occurrence.end, language_of(request)),
        "start_iso": occurrence.start.isoformat(),
        "place": _place_and_town(post.event_place),
        "recurrence": recurrence_words(request, recurrence, zone) if recurrence else "",
    }


# --- queries ---------------------------------------------------------------------------------------


def _now(instance: Instance) -> datetime:
    return datetime.fromtimestamp(instance.clock(), UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _upcoming(instance: Instance, limit: int | None = None) -> list[Occurrence]:
    now = _now(instance)
    posts = await storage.list_public_events_not_over(instance.db, instance.association.uri, _iso(now))
    return events.upcoming(posts, now, events.zone_of(instance.config.timezone), limit)


async def upcoming_on_home(request: Request, instance: Instance) -> list[dict[str, Any]]:
    """The next few events, for the home page (none on the relay's)."""
    if instance.config.role == "relay":
        return []
    zone = events.zone_of(instance.config.timezone)
    return [occurrence_view(request, found, zone) for found in await _upcoming(instance, HOME_EVENTS)]


def event_details(request: Request, instance: Instance, post: Post) -> dict[str, Any] | None:
    """What an event's page shows above its text: its next date (or last, when over), its
    rhythm and following dates, the venue's address, the link to add it to a calendar."""
    if not post.is_event or not post.event_start:
        return None
    zone = events.zone_of(instance.config.timezone)
    now = _now(instance)
    coming = events.occurrences(post, zone, now, limit=FOLLOWING_DATES + 1)
    shown = coming[0] if coming else events.last_occurrence(post, now, zone)
    language = language_of(request)
    recurrence = events.recurrence_of(post)
    place = post.event_place or {}
    return {
        "when": when_text(shown.start, shown.end, language) if shown else "",
        "start_iso": shown.start.isoformat() if shown else "",
        "over": not coming,
        "recurrence": recurrence_words(request, recurrence, zone) if recurrence else "",
        "following": [{"when": when_text(date.start, date.end, language), "start_iso": date.start.isoformat()}
                      for date in coming[1:]],
        "place_name": place.get("name", ""),
        "street": place.get("street", ""),
        "town": " ".join(part for part in (place.get("postal_code"), place.get("locality")) if part),
        "address": events.place_line(place),
        "ics_url": f"/events/{_token(post)}.ics",
    }


def _token(post: Post) -> str:
    return post.uri.rsplit("/", 1)[-1]


# --- pages and calendar files ----------------------------------------------------------------------


async def events_page(request: Request) -> Response:
    """Every upcoming event (its next date), then the last few that are over."""
    instance = instance_of(request)
    zone = events.zone_of(instance.config.timezone)
    now = _now(instance)
    author = instance.association.uri
    candidates = await storage.list_public_events_not_over(instance.db, author, _iso(now))
    finished = await storage.list_public_events_over(instance.db, author, _iso(now), PAST_EVENTS)
    coming = events.upcoming(candidates, now, zone)
    past = events.ended([*candidates, *finished], now, zone, PAST_EVENTS)
    ics_url = f"{instance.config.url}/events.ics"
    return render(request, "events.html", {
        "upcoming": [occurrence_view(request, found, zone) for found in coming],
        "past": [occurrence_view(request, found, zone) for found in past],
        "ics_url": ics_url,
        "webcal_url": "webcal://" + ics_url.split("://", 1)[-1],
    })


async def calendar_file(request: Request) -> Response:
    """The agenda as iCalendar: every upcoming public event, a recurring one with its RRULE."""
    instance = instance_of(request)
    posts = [found.post for found in await _upcoming(instance)]
    body = events.calendar_ics(posts, events.zone_of(instance.config.timezone),
                               name=instance.config.title, uid=f"{instance.association.uri}/events",
                               url=f"{instance.config.url}/events")
    return Response(body, media_type=ICS_MEDIA_TYPE, headers=CACHE_HEADERS)


async def event_calendar_file(request: Request) -> Response:
    """One event, to add to a calendar (the page's "add to my calendar" link)."""
    instance = instance_of(request)
    token = request.path_params["post_id"]
    post = await storage.get_post_by_uri(instance.db, f"{instance.config.url}/posts/{token}")
    if (post is None or not post.is_event or not post.is_local or post.status != "published"
            or post.visibility not in ("public", "unlisted") or not post.event_start):
        raise NotFound("no such event")
    body = events.calendar_ics([post], events.zone_of(instance.config.timezone),
                               name=plain_text(post.title) or instance.config.title,
                               uid=f"{post.uri}#calendar", url=post.uri)
    return Response(body, media_type=ICS_MEDIA_TYPE, headers={
        **CACHE_HEADERS, "Content-Disposition": f'attachment; filename="{token}.ics"'})


routes: list[BaseRoute] = [
    AssociationRoute("/events", events_page),
    AssociationRoute("/events.ics", calendar_file),
    AssociationRoute("/events/{post_id:str}.ics", event_calendar_file),
]
