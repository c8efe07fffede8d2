"""French typography wherever a person reads: dates in the long French form ('mardi 8 décembre
2026, 18 h 30', never '2026-12-08') on the association's site, its desk and the relay's pages;
numbers with a narrow no-break space ('50 000'); '1 minute', not '1 minutes'."""

from __future__ import annotations

import re
from html import unescape

from desk_testing import alert_of, browser_for, csrf_of, log_in
from fedi import following, outbox, storage
from fedi_testing import settle

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TAG = re.compile(r"<[^>]*>")
LONG_FRENCH_DATE = re.compile(
    r"(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d{1,2} \w+ \d{4}, \d{1,2}\u00a0h\u00a0\d\d")
NARROW_NO_BREAK_SPACE = "\u202f"


def visible_text(page: str) -> str:
    """What a reader sees: the text between the tags (a <time>'s datetime attribute is not shown)."""
    return unescape(TAG.sub(" ", page))


def iso_dates_in(page: str) -> list[str]:
    return ISO_DATE.findall(visible_text(page))


async def test_the_association_site_and_its_desk_write_dates_in_french(make_instance):
    site = await make_instance("avf-lyon")
    post = await outbox.publish_post(site.instance, "Forum des associations samedi", title="Forum")
    await outbox.edit_post(site.instance, post.uri, "Forum des associations samedi à 14 h")
    greeter = await storage.put_greeter(site.db, "Amina", "Croix-Rousse", "arabe", "cuisine", "a@example.org")
    await storage.put_message(site.db, greeter, "Paul", "paul@example.org", "Bonjour, je viens d'arriver.")
    desk = await log_in(site)

    for path in ("/", "/news", post.uri.removeprefix(site.url), "/desk", "/desk/messages"):
        page = (await desk.page(path)).text
        assert iso_dates_in(page) == [], path
        assert LONG_FRENCH_DATE.search(visible_text(page)), path
    await desk.aclose()


async def test_the_relay_pages_and_its_desk_write_dates_in_french(make_instance):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    await storage.put_relay_allowed(hub.db, lyon.instance.config.host)
    await following.subscribe_to_relay(lyon.instance, hub.url)
    await settle(hub, lyon)
    await outbox.publish_post(lyon.instance, "Pique-nique au parc dimanche")
    await settle(hub, lyon)
    desk = await log_in(hub)

    for path in ("/", f"/associations/{lyon.instance.config.host}", "/desk/relay"):
        page = (await desk.page(path)).text
        assert "Pique-nique au parc" in page, path
        assert iso_dates_in(page) == [], path
        assert LONG_FRENCH_DATE.search(visible_text(page)), path
    stats = (await desk.page("/stats")).text
    assert iso_dates_in(stats) == [] and "/20" not in visible_text(stats)  # no '30/11/2026' either
    await desk.aclose()


async def test_numbers_of_thousands_have_a_narrow_no_break_space(instance):
    desk = await log_in(instance)
    response = await desk.submit("/desk/pages/about", "/desk/pages/about",
                                 {"title": "Qui sommes-nous ?", "text": "a" * 50_001})
    assert response.status_code == 400
    assert f"50{NARROW_NO_BREAK_SPACE}000 caractères" in alert_of(response.text)
    await desk.aclose()


async def test_a_wait_of_one_minute_is_written_in_the_singular(instance):
    client = await browser_for(instance)
    for _ in range(30):
        form = await client.get("/login")
        response = await client.post("/login", data={
            "csrf": csrf_of(form.text), "username": "marie", "password": "mauvais"})
        if response.status_code == 429:
            break
    assert response.status_code == 429
    assert alert_of(response.text).endswith("dans 1 minute.")
    await client.aclose()


async def test_names_are_never_glued_to_a_word_that_would_need_elision(instance):
    """'connecté·e en tant que admin', 'Photo de Amina', 'De Élodie' are wrong French whatever
    the name: the messages are written so that no elision depends on it."""
    desk = await log_in(instance, "admin")
    page = visible_text((await desk.page("/desk")).text)
    assert "que admin" not in page and "Connecté·e avec le compte admin" in page
    await desk.aclose()


async def test_a_post_agrees_in_the_feminine(instance):
    post = await outbox.publish_post(instance.instance, "Forum samedi")
    await outbox.edit_post(instance.instance, post.uri, "Forum samedi à 14 h")
    desk = await log_in(instance)
    assert "modifiée le " in visible_text((await desk.page(post.uri.removeprefix(instance.url))).text)
    await desk.aclose()
