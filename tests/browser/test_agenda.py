"""A visitor on a phone looks at the association's agenda and opens an event."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.async_api import expect

from fedi import outbox
from fedi.storage import EventFields

CAFE = EventFields(
    start="2026-12-03T17:30:00Z", end="2026-12-03T19:00:00Z", recurrence="FREQ=WEEKLY;INTERVAL=3",
    place={"name": "Maison des associations", "street": "3 rue de la Paix", "postal_code": "69001",
           "locality": "Lyon"})


async def test_a_visitor_on_a_phone_reads_the_agenda_then_an_event(
        site, phone, screenshot, assert_accessible, assert_fits_the_screen):
    """Given a café every three weeks, when a visitor on a phone opens the agenda and taps the
    event, then both pages give its next date in French, fit the screen and pass axe-core."""
    site.instance.clock = lambda: datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    post = await outbox.publish_post(site.instance, "Venez nous rencontrer, café offert.",
                                     title="Café des nouveaux arrivants", event=CAFE)

    await phone.goto("/events")
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Agenda")
    await expect(phone.get_by_role("article")).to_contain_text("jeudi 3 décembre 2026, 18 h 30 – 20 h 00")
    await expect(phone.get_by_role("article")).to_contain_text("toutes les trois semaines")
    await screenshot(phone, "agenda")
    await assert_fits_the_screen(phone)
    await assert_accessible(phone)

    await phone.get_by_role("link", name="Café des nouveaux arrivants").tap()
    await expect(phone).to_have_url(post.uri)
    await expect(phone.get_by_role("link", name="Ajouter à mon agenda")).to_be_visible()
    await expect(phone.locator(".event-place")).to_contain_text("3 rue de la Paix")
    await screenshot(phone, "event")
    await assert_fits_the_screen(phone)
    await assert_accessible(phone)
