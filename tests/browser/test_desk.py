"""An editor on a phone uses the desk: logs in, writes news with the live preview, publishes it,
and finds it on the home page; the association's followers receive it."""

from __future__ import annotations

from playwright.async_api import expect

from desk_testing import PASSWORD
from fedi import accounts, following, storage
from fedi_testing import settle


async def test_an_editor_on_a_phone_writes_and_publishes_news(
        site, phone, screenshot, assert_accessible, assert_fits_the_screen, make_instance):
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    await accounts.create_account(site.db, "julie", "editor", PASSWORD)

    await phone.goto("/desk")
    await expect(phone).to_have_url(f"{site.url}/login?next=/desk")
    await assert_accessible(phone)
    await screenshot(phone, "login")
    await phone.get_by_label("Identifiant").fill("julie")
    await phone.get_by_label("Mot de passe").fill(PASSWORD)
    await phone.get_by_role("button", name="Se connecter").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Espace rédaction")
    await assert_accessible(phone)

    await phone.get_by_role("link", name="Écrire une actualité").first.tap()
    await phone.get_by_label("Titre").fill("Café d'accueil")
    await phone.get_by_label("Texte").fill("Rendez-vous **jeudi** à 10 h à la Maison des associations.")
    await expect(phone.locator("#preview strong")).to_have_text("jeudi")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "editor")
    await phone.get_by_role("button", name="Publier maintenant").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Publié")

    await phone.goto("/")
    await expect(phone.get_by_role("article").first).to_contain_text("Rendez-vous jeudi à 10 h")
    await screenshot(phone, "home")
    await settle(site, follower)
    received = await storage.list_timeline(follower.db, 10)
    assert [post.title for post in received] == ["Café d'accueil"]


async def test_a_wrong_password_shows_a_french_message(site, phone, assert_accessible):
    await accounts.create_account(site.db, "julie", "editor", PASSWORD)
    await phone.goto("/login")
    await phone.get_by_label("Identifiant").fill("julie")
    await phone.get_by_label("Mot de passe").fill("pas le bon")
    await phone.get_by_role("button", name="Se connecter").tap()
    await expect(phone.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    await assert_accessible(phone)
