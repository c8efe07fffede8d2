"""Every page of the relay and of an association, its desk included, fits a 390 px phone even
with what volunteers and peers really write: long words, bare URLs, long handles and e-mails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page

from desk_testing import PASSWORD
from fedi import accounts, following, outbox, storage
from fedi.content import render_markdown
from fedi.storage import EventFields
from fedi_testing import Served, settle

LONG_NAME = "avf-saint-remy-de-provence-et-alentours"
LONG_WORD = "Anticonstitutionnellementextraordinairementintercommunautaires"
LONG_URL = ("https://www.service-public.fr/particuliers/vosdroits/F12345?parcours=nouveaux-arrivants"
            "&etape=inscription-sur-les-listes-electorales-de-la-mairie")
LONG_EMAIL = "marie-christine.dupont-de-la-villardiere@association-des-nouveaux-arrivants.example"
TEXT = f"Inscrivez-vous : {LONG_URL} {LONG_WORD} et écrivez à {LONG_EMAIL}."
ASSOCIATION_PAGES = ["/", "/news", "/events", "/about", "/meet", "/booklet", "/greeters", "/login"]
DESK_PAGES = ["/desk", "/desk/posts/new", "/desk/comments", "/desk/greeters", "/desk/greeters/new",
              "/desk/messages", "/desk/network", "/desk/pages", "/desk/pages/booklet/new",
              "/desk/pages/about", "/desk/pages/meet", "/desk/settings", "/desk/accounts",
              "/desk/password"]
RELAY_PAGES = ["/", "/associations", "/stats", "/login", "/desk/relay"]


async def _fill_association(site: Served) -> list[str]:
    """An association's content, long words everywhere; returns the paths of its own items."""
    db = site.db
    news = await outbox.publish_post(site.instance, TEXT, title=f"Nouveaux arrivants : {LONG_WORD}")
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = await outbox.publish_post(site.instance, TEXT, title="Café d'accueil", event=EventFields(
        start=start, place={"name": f"Maison des associations {LONG_WORD}", "locality": "Lyon"}))
    for kind in ("about", "meet"):
        await storage.put_single_page(db, kind, LONG_WORD, TEXT, render_markdown(TEXT))
    section = await storage.put_booklet_section(db, LONG_WORD, TEXT, render_markdown(TEXT))
    greeter = await storage.put_greeter(db, LONG_WORD, LONG_WORD, "français, English", TEXT, LONG_EMAIL)
    await storage.put_message(db, greeter, LONG_WORD, LONG_EMAIL, TEXT)
    await accounts.create_account(db, "julie", "admin", PASSWORD)
    await accounts.create_account(db, LONG_WORD.lower()[:40], "editor", PASSWORD)
    return [news.uri.removeprefix(site.url), event.uri.removeprefix(site.url),
            f"/greeters/{greeter}/contact", f"/desk/pages/booklet/{section}",
            f"/desk/greeters/{greeter}", f"/desk/posts/{news.id}", f"/desk/posts/{event.id}"]


async def _log_in(page: Page, username: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Identifiant").fill(username)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").tap()
    await page.wait_for_url("**/desk**")


async def _too_wide(page: Page, paths: list[str]) -> dict[str, int]:
    """The pages whose document is wider than the phone's screen, with their width."""
    wide = {}
    for path in paths:
        response = await page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > page.viewport_size["width"]:
            wide[path] = width
    return wide


async def test_no_page_of_the_relay_or_of_an_association_is_wider_than_a_phone(
        phone_at: Callable[[str], Awaitable[Page]], make_instance):
    hub = await make_instance("relay", role="relay")
    site = await make_instance(LONG_NAME)
    waiting = await make_instance(f"{LONG_NAME}-nord")
    await storage.put_relay_allowed(hub.db, site.instance.config.host)
    for member in (site, waiting):
        await following.subscribe_to_relay(member.instance, hub.url)
    own_paths = await _fill_association(site)
    await following.follow(site.instance, waiting.actor_url)
    await settle(hub, site, waiting)
    await accounts.create_account(hub.db, "admin", "admin", PASSWORD)

    phone = await phone_at(site.url)
    wide = await _too_wide(phone, ASSOCIATION_PAGES + own_paths[:3])
    await _log_in(phone, "julie")
    wide |= await _too_wide(phone, DESK_PAGES + own_paths[3:])

    phone = await phone_at(hub.url)
    await _log_in(phone, "admin")
    wide |= {f"relay {path}": width for path, width in (await _too_wide(
        phone, [*RELAY_PAGES, f"/associations/{site.instance.config.host}"])).items()}
    assert wide == {}
