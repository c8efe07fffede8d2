"""On a phone: the admin creates an invitation on the desk; a new person opens it, chooses a
password, reads a members' post and comments; the admin approves a request from Mastodon."""

from __future__ import annotations

from playwright.async_api import expect

from desk_testing import PASSWORD
from fedi import accounts, following, outbox
from fedi_testing import settle


async def test_an_invited_person_joins_reads_and_comments(
        site, phone, phone_at, make_instance, screenshot, assert_accessible, assert_fits_the_screen):
    await accounts.create_account(site.db, "julie", "admin", PASSWORD)
    post = await outbox.publish_post(site.instance, "L'assemblée générale aura lieu jeudi.",
                                     title="Assemblée générale", visibility="followers")
    asking = await make_instance("avf-nantes")
    await following.follow(asking.instance, site.instance.members.uri)
    await settle(site, asking)

    await phone.goto("/login?next=/desk/members")
    await phone.get_by_label("Identifiant").fill("julie")
    await phone.get_by_label("Mot de passe").fill(PASSWORD)
    await phone.get_by_role("button", name="Se connecter").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Espace adhérents")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await phone.get_by_role("button", name="Approuver").tap()
    await expect(phone.get_by_role("status")).to_contain_text("reçoit désormais")
    await phone.get_by_role("button", name="Créer un lien d’invitation").tap()
    link = await phone.locator("#new-link").text_content()
    assert link and link.startswith(f"{site.url}/invitations/")
    await assert_fits_the_screen(phone)
    await screenshot(phone, "desk-members")

    page = await phone_at(site.url)  # the newcomer's own phone
    await page.goto(link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Rejoindre l’espace adhérents")
    await page.get_by_label("Votre nom, tel que les adhérents le verront").fill("Marie Martin")
    await page.get_by_label("Votre ville (facultatif)").fill("Lyon")
    await page.get_by_label("Nom de connexion").fill("marie")
    await page.get_by_label("Mot de passe", exact=True).fill("une phrase assez longue")
    await page.get_by_label("Le même mot de passe, à nouveau").fill("une phrase assez longue")
    await assert_accessible(page)
    await assert_fits_the_screen(page)
    await page.get_by_role("button", name="Rejoindre").tap()
    await expect(page.get_by_role("status")).to_contain_text("Bienvenue")
    await page.get_by_role("link", name="Assemblée générale").tap()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Assemblée générale")
    await page.get_by_label("Votre commentaire (visible des adhérents seulement)").fill("J'y serai.")
    await page.get_by_role("button", name="Commenter").tap()
    await expect(page.locator("#discussion .comment")).to_contain_text("J'y serai.")
    await expect(page.locator("#discussion .comment")).to_contain_text("Marie Martin")
    assert page.url.startswith(post.uri)
    await assert_accessible(page)
    await assert_fits_the_screen(page)
    await screenshot(page, "members-post")
