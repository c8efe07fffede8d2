"""Mastodon shows an `Event` as its name, its `summary` and a link (it ignores `content`): the
summary carries the date, time and place in French, in the association's time zone, as Mobilizon
does; followers receive it with the event and with each edit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from desk_testing import alert_of, log_in
from faults.receiver import Receiver
from fedi import storage
from fedi_testing import fetch_json, settle

NBSP = "\u00a0"
EVENT = {
    "kind": "event", "title": "Café des nouveaux arrivants", "text": "Venez nous rencontrer.",
    "starts_at": "2026-12-08T18:30", "ends_at": "", "recurrence": "",
    "place_name": "Maison des associations", "place_street": "3 rue de la Paix",
    "place_postal_code": "69001", "place_locality": "Lyon", "visibility": "public", "action": "publish",
}


def _fr(text: str) -> str:
    """'18 h 30' as French typography writes it: no-break spaces, so the time never splits."""
    return re.sub(r"(\d+) h (\d\d)", f"\\1{NBSP}h{NBSP}\\2", text)


def _at(site, *moment: int) -> None:
    site.instance.clock = lambda: datetime(*moment, tzinfo=UTC).timestamp()


async def _announce(site, desk, **changes: str) -> int:
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new", {**EVENT, **changes})
    assert response.status_code == 303, alert_of(response.text)
    return int(re.search(r"/desk/posts/(\d+)", response.headers["location"]).group(1))


def _summaries(receiver: Receiver, kind: str) -> list[str]:
    return [r.body["object"]["summary"] for r in receiver.accepted() if r.activity_type == kind]


async def test_followers_on_mastodon_read_when_and_where_and_the_edit_too(make_instance):
    site = await make_instance("avf-lyon")
    _at(site, 2026, 11, 23, 12)
    follower = await Receiver.start_new()
    await follower.become_follower_of(site.instance)
    desk = await log_in(site, "julie", role="editor")
    try:
        post_id = await _announce(site, desk)
        await settle(site)
        expected = _fr("mardi 8 décembre 2026, 18 h 30 – Maison des associations, 3 rue de la Paix, "
                       "69001 Lyon")
        assert _summaries(follower, "Create") == [expected]
        post = await storage.get_post_by_id(site.db, post_id)
        status, event = await fetch_json(post.uri)
        assert status == 200 and event["type"] == "Event" and event["summary"] == expected

        edited = {**EVENT, "starts_at": "2026-12-09T17:00", "ends_at": "2026-12-09T19:15",
                  "place_name": "Salle Molière", "place_street": "18 quai de Bondy", "place_postal_code": "69005"}
        response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", edited)
        assert response.status_code == 303, alert_of(response.text)
        await settle(site)
        assert _summaries(follower, "Update") == [_fr(
            "mercredi 9 décembre 2026, 17 h 00 – 19 h 15 – Salle Molière, 18 quai de Bondy, 69005 Lyon")]
    finally:
        await desk.aclose()
        await follower.close()


async def test_a_recurring_event_gives_its_next_date_in_the_local_time_across_summer_time(make_instance):
    """A weekly meeting at 18:30 Paris time from December: fetched in April (summer time), its
    summary names the next meeting, still at 18 h 30 — not the first one, long past."""
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    _at(site, 2026, 11, 23, 12)
    post_id = await _announce(site, desk, starts_at="2026-12-08T18:30", ends_at="2026-12-08T20:00",
                              recurrence="weekly")
    await desk.aclose()
    post = await storage.get_post_by_id(site.db, post_id)
    _at(site, 2027, 4, 7, 12)  # a Wednesday
    status, event = await fetch_json(post.uri)
    assert status == 200
    assert event["summary"] == _fr(
        "mardi 13 avril 2027, 18 h 30 – 20 h 00 – Maison des associations, 3 rue de la Paix, 69001 Lyon")
