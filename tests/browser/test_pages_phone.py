"""On a phone: an editor writes the booklet from a suggested outline and adds a greeter with a
photo; a visitor reads the booklet, finds the greeter and writes to them."""

from __future__ import annotations

import io

from PIL import Image
from playwright.async_api import expect

from desk_testing import PASSWORD
from fedi import accounts, storage


def _portrait() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 1200), (90, 140, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_an_editor_writes_the_booklet_and_a_visitor_writes_to_a_greeter(
        site, phone, screenshot, assert_accessible, assert_fits_the_screen):
    await accounts.create_account(site.db, "julie", "editor", PASSWORD)
    await phone.goto("/login?next=/desk/pages")
    await phone.get_by_label("Identifiant").fill("julie")
    await phone.get_by_label("Mot de passe").fill(PASSWORD)
    await phone.get_by_role("button", name="Se connecter").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Pages")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "desk-pages")

    await phone.get_by_role("link", name="Santé").tap()
    await expect(phone.get_by_label("Titre")).to_have_value("Santé")
    await expect(phone.locator("#preview li").first).to_have_text("[Trouver un médecin traitant]")
    await phone.get_by_label("Texte").fill("Le **médecin de garde** : appelez le 15.")
    await expect(phone.locator("#preview strong")).to_have_text("médecin de garde")
    await assert_accessible(phone)
    await screenshot(phone, "section-editor")
    await phone.get_by_role("button", name="Enregistrer").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Enregistré")

    await phone.goto("/desk/greeters/new")
    await phone.get_by_label("Prénom").fill("Amina")
    await phone.get_by_label("Quartier ou village").fill("Croix-Rousse")
    await phone.get_by_label("Langues parlées").fill("français, arabe, English")
    await phone.get_by_label("E-mail (facultatif)").fill("amina.secret@example.org")
    await phone.get_by_label("Photo (facultative)").set_input_files(
        {"name": "amina.jpg", "mimeType": "image/jpeg", "buffer": _portrait()})
    await assert_accessible(phone)
    await phone.get_by_role("button", name="Enregistrer").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Enregistré")

    await phone.goto("/booklet")
    await phone.get_by_role("link", name="Santé").tap()
    await expect(phone).to_have_url(f"{site.url}/booklet#sante")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "booklet")

    await phone.goto("/greeters")
    await expect(phone.get_by_role("img", name="Photo\u202f: Amina")).to_be_visible()
    assert "amina.secret" not in await phone.content()
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "greeters")
    await phone.get_by_role("link", name="Écrire à Amina").tap()
    await phone.get_by_label("Votre nom").fill("Paul")
    await phone.get_by_label("Votre adresse e-mail").fill("paul@example.net")
    await phone.get_by_label("Votre message").fill("Bonjour, je viens d'arriver à Lyon.")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "contact")
    await phone.get_by_role("button", name="Envoyer").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Merci\u202f!")
    [message] = await storage.list_messages(site.db, 10)
    assert message.sender_email == "paul@example.net" and message.greeter_name == "Amina"

    await phone.goto("/desk/messages")
    await expect(phone.get_by_role("article")).to_contain_text("paul@example.net")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "messages")
