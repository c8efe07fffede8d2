"""The network's activity in figures, for the relay's statistics page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .. import storage
from ..instance import Instance

WEEKS = 12


@dataclass(frozen=True)
class Week:
    monday: date
    posts: int


@dataclass(frozen=True)
class NetworkStatistics:
    associations: int  # subscribed instances
    pending: int  # subscriptions waiting for the relay admin
    weeks: list[Week]  # oldest first, the current week last

    @property
    def busiest(self) -> int:
        return max((week.posts for week in self.weeks), default=0)


def posts_per_week(dates: list[str], today: date, weeks: int = WEEKS) -> list[Week]:
    """Counts publication dates (UTC ISO) by ISO week, for the `weeks` weeks ending with today's."""
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = Counter(_monday_of(value) for value in dates)
    return [Week(monday, counts.get(monday, 0)) for monday in mondays]


def _monday_of(iso: str) -> date | None:
    try:
        day = datetime.fromisoformat(iso[:10]).date()
    except ValueError:
        return None
    return day - timedelta(days=day.weekday())


async def network_statistics(instance: Instance, now: datetime | None = None) -> NetworkStatistics:
    today = (now or datetime.now(UTC)).date()
    since = today - timedelta(days=today.weekday(), weeks=WEEKS - 1)
    dates = await storage.list_network_post_dates(instance.db, since.isoformat())
    subscriptions = await storage.list_relay_subscriptions(instance.db)
    return NetworkStatistics(
        associations=sum(1 for s in subscriptions if s.state == "accepted"),
        pending=sum(1 for s in subscriptions if s.state == "pending"),
        weeks=posts_per_week(dates, today),
    )
