"""A visitor on a phone reads the association's public website."""

from __future__ import annotations

from playwright.async_api import expect

from fedi import outbox

TEXT = ("Rendez-vous **samedi 14 juin** au parc de la Tête d'Or pour le pique-nique des nouveaux "
        "arrivants. Inscriptions : [sur notre site](https://avf-lyon.example/inscription).")


async def test_a_visitor_on_a_phone_opens_the_home_page_then_a_post(
        site, phone, screenshot, assert_accessible, assert_fits_the_screen):
    """Given the association published a post, when a visitor on a phone opens its home page and
    taps the post's title, then both pages show it, fit the screen and pass the accessibility check."""
    post = await outbox.publish_post(site.instance, TEXT, title="Pique-nique de rentrée")

    await phone.goto("/")
    await expect(phone.get_by_role("heading", level=1)).to_have_text("AVF Lyon")
    await expect(phone.get_by_role("article")).to_contain_text("pique-nique des nouveaux arrivants")
    await screenshot(phone, "home")
    await assert_fits_the_screen(phone)
    await assert_accessible(phone)

    await phone.get_by_role("link", name="Pique-nique de rentrée").tap()
    await expect(phone).to_have_url(post.uri)
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Pique-nique de rentrée")
    await expect(phone.locator("article strong")).to_have_text("samedi 14 juin")
    await expect(phone.get_by_role("banner")).to_contain_text("AVF Lyon")
    await screenshot(phone, "post")
    await assert_fits_the_screen(phone)
    await assert_accessible(phone)
