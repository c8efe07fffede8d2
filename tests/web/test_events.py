"""The association's events on its website: an editor announces an event on the desk; visitors
see its next date in French on the agenda, the home page and its own page, in the association's
time zone (the hour does not move with summer time); calendar apps get it as iCalendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from icalendar import Calendar

from desk_testing import alert_of, browser_for, log_in
from fedi import events, storage
from fedi.storage import Post

CAFE = {
    "kind": "event", "title": "Café des nouveaux arrivants", "text": "Venez nous rencontrer.\n\nCafé offert.",
    "starts_at": "2026-12-03T18:30", "ends_at": "2026-12-03T20:00", "recurrence": "triweekly",
    "place_name": "Maison des associations", "place_street": "3 rue de la Paix",
    "place_postal_code": "69001", "place_locality": "Lyon", "visibility": "public", "action": "publish",
}


def _fr(when: str) -> str:
    """A date as the page writes it: the French '18 h 30' with no-break spaces."""
    return re.sub(r"(\d+) h (\d\d)", "\\1\u00a0h\u00a0\\2", when)


def _at(site, *moment: int) -> None:
    """The site's clock reads `moment` (UTC) from now on."""
    site.instance.clock = lambda: datetime(*moment, tzinfo=UTC).timestamp()


async def _announce(site, desk, **changes: str) -> Post:
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new", {**CAFE, **changes})
    assert response.status_code == 303, alert_of(response.text)
    match = re.search(r"/desk/posts/(\d+)", response.headers["location"])
    assert match
    post = await storage.get_post_by_id(site.db, int(match.group(1)))
    assert post is not None
    return post


def _events_of(ics: bytes) -> list:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


async def test_a_recurring_event_shows_its_next_date_in_french_everywhere(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    post = await _announce(site, desk)
    _at(site, 2026, 11, 23, 12)
    visitor = await browser_for(site)

    agenda = (await visitor.get("/events")).text
    assert "Café des nouveaux arrivants" in agenda and f'href="{post.uri}"' in agenda
    assert _fr("jeudi 3 décembre 2026, 18 h 30 – 20 h 00") in agenda
    assert "Rendez-vous toutes les trois semaines" in agenda
    assert "Maison des associations, Lyon" in agenda
    assert '<link rel="alternate" type="text/calendar"' in agenda

    home = (await visitor.get("/")).text
    assert "Prochains événements" in home and _fr("jeudi 3 décembre 2026, 18 h 30 – 20 h 00") in home
    assert home.index("Prochains événements") < home.index("Dernières nouvelles")  # above the news

    page = (await visitor.get(post.uri)).text
    assert _fr("jeudi 3 décembre 2026, 18 h 30 – 20 h 00") in page
    assert "3 rue de la Paix" in page and "69001 Lyon" in page
    assert _fr("jeudi 24 décembre 2026, 18 h 30 – 20 h 00") in page  # the following dates
    token = post.uri.rsplit("/", 1)[-1]
    assert f'href="/events/{token}.ics"' in page and "Ajouter à mon agenda" in page
    await visitor.aclose()
    await desk.aclose()


async def test_the_local_hour_stays_the_same_across_the_change_to_summer_time(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    await _announce(site, desk)
    _at(site, 2027, 3, 20)  # summer time begins on 28 March 2027; the next date is 8 April
    visitor = await browser_for(site)
    agenda = (await visitor.get("/events")).text
    assert _fr("jeudi 8 avril 2027, 18 h 30 – 20 h 00") in agenda
    assert 'datetime="2027-04-08T18:30:00+02:00"' in agenda
    await visitor.aclose()
    await desk.aclose()


def test_a_weekly_meeting_at_six_stays_at_six_across_the_october_change():
    post = _event_post("2027-10-14T16:00:00Z", "2027-10-14T18:00:00Z", "FREQ=WEEKLY")  # 18:00 in Paris
    zone = events.zone_of("Europe/Paris")
    dates = events.occurrences(post, zone, datetime(2027, 10, 1, tzinfo=UTC), limit=4)
    assert [(d.start.day, d.start.hour, d.end.hour) for d in dates] == [
        (14, 18, 20), (21, 18, 20), (28, 18, 20), (4, 18, 20)]
    assert dates[3].start.utcoffset().total_seconds() == 3600  # winter time: 17:00 UTC


async def test_the_calendar_file_parses_back_with_its_rrule_and_time_zone(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    post = await _announce(site, desk)
    _at(site, 2026, 11, 23)
    visitor = await browser_for(site)

    response = await visitor.get("/events.ics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    [event] = _events_of(response.content)
    assert str(event["UID"]) == post.uri and str(event["URL"]) == post.uri
    assert str(event["SUMMARY"]) == "Café des nouveaux arrivants"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 12, 3, 18, 30)
    assert event["RRULE"]["FREQ"] == ["WEEKLY"] and event["RRULE"]["INTERVAL"] == [3]
    assert str(event["LOCATION"]) == "Maison des associations, 3 rue de la Paix, 69001 Lyon"
    assert str(event["DESCRIPTION"]) == "Venez nous rencontrer.\n\nCafé offert."

    token = post.uri.rsplit("/", 1)[-1]
    one = await visitor.get(f"/events/{token}.ics")
    assert one.status_code == 200 and one.headers["content-type"].startswith("text/calendar")
    assert [str(e["UID"]) for e in _events_of(one.content)] == [post.uri]
    assert (await visitor.get("/events/0000.ics")).status_code == 404
    assert (await visitor.get("/events/..%2F..%2Fetc.ics")).status_code == 404
    await visitor.aclose()
    await desk.aclose()


async def test_a_deleted_event_disappears(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    post = await _announce(site, desk)
    _at(site, 2026, 11, 23)
    response = await desk.submit(f"/desk/posts/{post.id}", f"/desk/posts/{post.id}/delete", {})
    assert response.status_code == 303
    visitor = await browser_for(site)
    assert "Café des nouveaux" not in (await visitor.get("/events")).text
    assert "Café des nouveaux" not in (await visitor.get("/")).text
    assert _events_of((await visitor.get("/events.ics")).content) == []
    token = post.uri.rsplit("/", 1)[-1]
    assert (await visitor.get(f"/events/{token}.ics")).status_code == 404
    await visitor.aclose()
    await desk.aclose()


async def test_a_members_only_event_never_appears_publicly(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    post = await _announce(site, desk, title="Assemblée des membres", visibility="members")
    _at(site, 2026, 11, 23)
    visitor = await browser_for(site)
    for path in ("/events", "/", "/events.ics"):
        assert "Assemblée des membres" not in (await visitor.get(path)).text
    token = post.uri.rsplit("/", 1)[-1]
    assert (await visitor.get(f"/events/{token}.ics")).status_code == 404
    assert (await visitor.get(post.uri)).status_code == 404
    await visitor.aclose()
    await desk.aclose()


async def test_a_past_event_leaves_the_agenda_for_the_short_list_of_past_ones(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    post = await _announce(site, desk, title="Pique-nique de rentrée", recurrence="",
                           starts_at="2026-09-12T12:00", ends_at="2026-09-12T16:00")
    _at(site, 2026, 11, 23)
    visitor = await browser_for(site)
    agenda = (await visitor.get("/events")).text
    assert "Aucun événement prévu pour le moment." in agenda
    assert "Événements passés" in agenda and _fr("samedi 12 septembre 2026, 12 h 00 – 16 h 00") in agenda
    assert "Pique-nique" not in (await visitor.get("/")).text
    page = (await visitor.get(post.uri)).text
    assert "Cet événement est terminé." in page and "Ajouter à mon agenda" not in page
    assert _events_of((await visitor.get("/events.ics")).content) == []
    await visitor.aclose()
    await desk.aclose()


async def test_the_first_thursday_of_every_month_until_a_last_date(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    post = await _announce(site, desk, recurrence="monthly_weekday", repeat_until="2027-03-04")
    assert post.event_recurrence == "FREQ=MONTHLY;BYDAY=1TH;UNTIL=20270304T225959Z"
    edit_form = (await desk.page(f"/desk/posts/{post.id}")).text
    assert 'value="monthly_weekday" selected' in edit_form and 'value="2027-03-04"' in edit_form

    _at(site, 2026, 12, 10)
    visitor = await browser_for(site)
    agenda = (await visitor.get("/events")).text
    assert _fr("jeudi 7 janvier 2027, 18 h 30 – 20 h 00") in agenda
    assert "Rendez-vous le premier jeudi de chaque mois, jusqu&#39;au 4 mars 2027" in agenda
    [event] = _events_of((await visitor.get("/events.ics")).content)
    assert event["RRULE"]["BYDAY"] == ["1TH"] and event["RRULE"]["UNTIL"][0].year == 2027

    _at(site, 2027, 3, 5)  # the last date is over
    agenda = (await visitor.get("/events")).text
    assert "Aucun événement prévu" in agenda and "jeudi 4 mars 2027" in agenda  # among the past ones
    await visitor.aclose()
    await desk.aclose()


async def test_a_wrong_last_date_gets_a_french_message(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new",
                                 {**CAFE, "repeat_until": "2026-11-01"})
    assert response.status_code == 400
    assert alert_of(response.text) == "La dernière date tombe avant la première."
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new",
                                 {**CAFE, "repeat_until": "le 3 mars"})
    assert alert_of(response.text) == "La dernière date n&#39;est pas une date valide."
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new",
                                 {**CAFE, "starts_at": "0226-12-03T18:30"})
    assert alert_of(response.text) == "Indiquez la date et l&#39;heure de début de l&#39;événement."
    assert await storage.list_local_posts(site.db, site.actor_url, ("published", "draft"), 10) == []
    await desk.aclose()


async def test_an_english_visitor_reads_the_dates_in_english(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site, "julie", role="editor")
    await _announce(site, desk)
    _at(site, 2026, 11, 23)
    visitor = await browser_for(site)
    visitor.cookies.set("lang", "en")
    agenda = (await visitor.get("/events")).text
    assert "Thursday, December 3, 2026, 6:30\u202fPM – 8:00\u202fPM" in agenda
    assert "Takes place every three weeks" in agenda
    await visitor.aclose()
    await desk.aclose()


async def test_the_relay_has_no_agenda(make_instance):
    relay = await make_instance("relay", role="relay")
    visitor = await browser_for(relay)
    for path in ("/events", "/events.ics", "/events/abc.ics"):
        assert (await visitor.get(path)).status_code == 404
    assert (await visitor.get("/")).status_code == 200
    await visitor.aclose()


def _event_post(start: str, end: str | None, rule: str | None) -> Post:
    return Post(id=1, uri="https://avf.example/posts/1", author="https://avf.example/users/avf",
                is_local=True, type="Event", title="Café", content="<p>Bonjour</p>", source=None,
                in_reply_to=None, visibility="public", status="published", url=None, raw=None,
                published_at="2026-11-01T00:00:00Z", updated_at=None, deleted_at=None,
                event_start=start, event_end=end, event_recurrence=rule)
