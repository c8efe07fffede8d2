"""An editor on a phone adds a photo to news: the desk asks for its description before sending,
then visitors see the photo with that description."""

from __future__ import annotations

import io

from PIL import Image
from playwright.async_api import expect

from desk_testing import PASSWORD
from fedi import accounts, storage


def photo() -> bytes:
    picture = Image.new("RGB", (1200, 900), (40, 110, 170))
    picture.paste((230, 180, 40), (300, 200, 900, 700))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG")
    return buffer.getvalue()


async def test_an_editor_on_a_phone_adds_a_described_photo_to_news(
        site, phone, screenshot, assert_accessible, assert_fits_the_screen):
    await accounts.create_account(site.db, "julie", "editor", PASSWORD)
    await phone.goto("/login?next=/desk/posts/new")
    await phone.get_by_label("Identifiant").fill("julie")
    await phone.get_by_label("Mot de passe").fill(PASSWORD)
    await phone.get_by_role("button", name="Se connecter").tap()

    await phone.get_by_label("Titre").fill("Pique-nique au parc")
    await phone.get_by_label("Texte", exact=True).fill("Rendez-vous samedi midi.")
    await phone.get_by_label("Nouvelle photo 1", exact=True).set_input_files(
        files=[{"name": "parc.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
    await phone.get_by_role("button", name="Publier maintenant").tap()
    description = phone.get_by_label("Description de la nouvelle photo 1")
    assert await description.evaluate("input => input.required && input.validity.valueMissing")
    assert await storage.list_local_posts(site.db, site.actor_url, ("published",), 10) == []

    await description.fill("Des familles sur l’herbe du parc de la Tête d’Or")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "editor")
    await phone.get_by_role("button", name="Publier maintenant").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Publié")
    await expect(phone.get_by_label("Description de cette photo")).to_have_value(
        "Des familles sur l’herbe du parc de la Tête d’Or")
    await assert_accessible(phone)
    await screenshot(phone, "saved")

    await phone.goto("/")
    image = phone.get_by_role("img", name="Des familles sur l’herbe du parc de la Tête d’Or")
    await expect(image).to_be_visible()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 1200
    await assert_fits_the_screen(phone)
    await screenshot(phone, "home")
