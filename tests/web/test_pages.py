"""The association's own pages: editors write "who we are" and the welcome booklet, add greeters;
visitors read them and write to a greeter, whose e-mail (and theirs) never shows on the site."""

from __future__ import annotations

import io
import re

from PIL import Image

from desk_testing import HTML, alert_of, browser_for, csrf_of, log_in
from fedi import storage

SECRET = "amina.secret@example.org"
SENDER = "visiteur@example.net"
PUBLIC_PAGES = ("/", "/about", "/meet", "/booklet", "/greeters")


def _id_in(response, prefix: str) -> int:
    match = re.search(rf"{prefix}/(\d+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


def _png(width: int = 1200, height: int = 900) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


async def _add_greeter(desk, **fields) -> int:
    values = {"first_name": "Amina", "area": "Croix-Rousse", "languages": "français, arabe",
              "interests": "cuisine, randonnée", "email": SECRET, **fields}
    response = await desk.submit("/desk/greeters/new", "/desk/greeters/new", values,
                                 files={"photo": ("amina.png", _png(), "image/png")})
    assert response.status_code == 303, alert_of(response.text)
    return _id_in(response, "/desk/greeters")


async def _write_to(visitor, greeter_id: int, **fields):
    form = await visitor.get(f"/greeters/{greeter_id}/contact")
    assert form.status_code == 200
    values = {"name": "Paul", "email": SENDER, "message": "Bonjour, je viens d'arriver.", **fields}
    return await visitor.post(f"/greeters/{greeter_id}/contact", data={"csrf": csrf_of(form.text), **values})


async def test_pages_not_written_yet_show_a_friendly_french_placeholder(instance):
    visitor = await browser_for(instance)
    for path, placeholder in (("/about", "Cette page est en cours de rédaction"),
                              ("/meet", "Cette page est en cours de rédaction"),
                              ("/booklet", "Le livret d'accueil est en cours de rédaction"),
                              ("/greeters", "Nos bénévoles d'accueil se présenteront bientôt ici")):
        page = await visitor.get(path)
        assert page.status_code == 200 and placeholder in page.text, path
    await visitor.aclose()


async def test_an_editor_writes_who_we_are_and_the_booklet_and_visitors_read_them(instance):
    desk = await log_in(instance, "julie", role="editor")
    form = (await desk.page("/desk/pages/about")).text
    assert "Voici un plan suggéré" in form and "## Notre association" in form
    response = await desk.submit("/desk/pages/about", "/desk/pages/about", {
        "title": "Qui sommes-nous ?",
        "text": "Nous accueillons les **nouveaux arrivants**.<script>alert(1)</script>"})
    assert response.status_code == 303
    assert "Enregistré" in (await desk.page(response.headers["location"])).text

    suggested = (await desk.page("/desk/pages/booklet/new?suggested=1")).text
    assert 'value="Santé"' in suggested and "Trouver un médecin traitant" in suggested
    health = _id_in(await desk.submit("/desk/pages/booklet/new", "/desk/pages/booklet/new", {
        "title": "Santé", "text": "- Médecin de garde : **15**"}), "/desk/pages/booklet")
    housing = _id_in(await desk.submit("/desk/pages/booklet/new", "/desk/pages/booklet/new", {
        "title": "Se loger", "text": "Voir la CAF <script>alert(2)</script>"}), "/desk/pages/booklet")

    visitor = await browser_for(instance)
    about = (await visitor.get("/about")).text
    assert "Qui sommes-nous ?" in about and "<strong>nouveaux arrivants</strong>" in about
    assert "<script>alert" not in about
    booklet = (await visitor.get("/booklet")).text
    assert 'href="#sante"' in booklet and 'id="sante"' in booklet and 'href="#se-loger"' in booklet
    assert "<strong>15</strong>" in booklet and "Voir la CAF" in booklet and "<script>alert" not in booklet
    assert booklet.index('id="sante"') < booklet.index('id="se-loger"')

    await desk.submit("/desk/pages", f"/desk/pages/booklet/{housing}/move", {"direction": "up"})
    booklet = (await visitor.get("/booklet")).text
    assert booklet.index('id="se-loger"') < booklet.index('id="sante"')
    overview = (await desk.page("/desk/pages")).text
    assert "?suggested=2" in overview and "?suggested=1" not in overview  # "Santé" is written

    response = await desk.submit(f"/desk/pages/booklet/{health}", f"/desk/pages/booklet/{health}/delete", {})
    assert response.status_code == 303
    assert 'id="sante"' not in (await visitor.get("/booklet")).text
    await visitor.aclose()
    await desk.aclose()


async def test_a_page_text_longer_than_allowed_gets_the_limit_and_is_kept(instance):
    desk = await log_in(instance, "julie", role="editor")
    too_long = "é" * 60_000  # 120 kB, more than a form field may hold elsewhere
    for path in ("/desk/pages/about", "/desk/pages/booklet/new"):
        response = await desk.submit(path, path, {"title": "Qui sommes-nous ?", "text": too_long})
        assert response.status_code == 400
        assert alert_of(response.text) == "Le texte est trop long (50\N{NARROW NO-BREAK SPACE}000 caractères au plus)."
        assert f">{too_long}</textarea>" in response.text
    assert "é" * 100 not in (await desk.page("/about")).text
    await desk.aclose()


async def test_a_greeters_email_is_never_on_the_public_pages(instance):
    desk = await log_in(instance, "julie", role="editor")
    greeter = await _add_greeter(desk)
    assert f'value="{SECRET}"' in (await desk.page(f"/desk/greeters/{greeter}")).text  # the desk keeps it

    visitor = await browser_for(instance)
    cards = (await visitor.get("/greeters")).text
    assert "Amina" in cards and "Croix-Rousse" in cards and "français, arabe" in cards
    assert 'alt="Photo\u202f: Amina"' in cards and f'href="/greeters/{greeter}/contact"' in cards
    photo = re.search(r'src="(/media/[^"]+)"', cards).group(1)
    picture = await visitor.get(photo)
    assert picture.status_code == 200 and max(Image.open(io.BytesIO(picture.content)).size) <= 800
    for path in (*PUBLIC_PAGES, f"/greeters/{greeter}/contact"):
        page = await visitor.get(path)
        assert SECRET not in page.text and "amina.secret" not in page.text, path
    await visitor.aclose()
    await desk.aclose()


async def test_a_visitor_writes_to_a_greeter_and_only_the_desk_sees_the_sender(instance):
    desk = await log_in(instance, "julie", role="editor")
    greeter = await _add_greeter(desk)
    visitor = await browser_for(instance)

    response = await _write_to(visitor, greeter, message="Bonjour <b>Amina</b>,\nun café ?")
    assert response.status_code == 303
    sent = await visitor.get(response.headers["location"])
    assert "Merci\u202f! Votre message a bien été envoyé à l'association" in sent.text
    assert SENDER not in sent.text

    messages = (await desk.page("/desk/messages")).text
    assert "Pour Amina" in messages and "De\u202f: Paul" in messages and f'href="mailto:{SENDER}"' in messages
    assert "1 nouveau message" in messages and "&lt;b&gt;Amina&lt;/b&gt;" in messages
    for path in (*PUBLIC_PAGES, f"/greeters/{greeter}/contact"):
        page = (await visitor.get(path)).text
        assert SENDER not in page and SECRET not in page, path

    [message] = await storage.list_messages(instance.db, 10)
    await desk.submit("/desk/messages", f"/desk/messages/{message.id}/read", {})
    assert "nouveau message" not in (await desk.page("/desk/messages")).text
    await desk.submit("/desk/messages", f"/desk/messages/{message.id}/delete", {})
    assert "Aucun message pour le moment." in (await desk.page("/desk/messages")).text
    await visitor.aclose()
    await desk.aclose()


async def test_a_robot_filling_the_hidden_field_sees_the_confirmation_and_nothing_is_stored(instance):
    desk = await log_in(instance)
    greeter = await _add_greeter(desk)
    visitor = await browser_for(instance)
    response = await _write_to(visitor, greeter, website="https://spam.example")
    assert response.status_code == 303
    assert "Merci\u202f!" in (await visitor.get(response.headers["location"])).text
    assert await storage.list_messages(instance.db, 10) == []
    await visitor.aclose()
    await desk.aclose()


async def test_too_many_messages_from_one_connection_get_a_french_message(instance):
    desk = await log_in(instance)
    greeter = await _add_greeter(desk)
    visitor = await browser_for(instance)
    for number in range(5):
        assert (await _write_to(visitor, greeter, message=f"Message {number}")).status_code == 303
    response = await _write_to(visitor, greeter, message="Encore un")
    assert response.status_code == 429 and response.headers["retry-after"]
    assert alert_of(response.text).startswith("Plusieurs messages ont été envoyés depuis votre connexion")
    assert "Encore un" in response.text  # what was typed is kept
    assert len(await storage.list_messages(instance.db, 10)) == 5
    await visitor.aclose()
    await desk.aclose()


async def test_a_form_without_its_token_or_with_hostile_input_stores_nothing(instance):
    desk = await log_in(instance)
    greeter = await _add_greeter(desk)
    visitor = await browser_for(instance)
    await visitor.get(f"/greeters/{greeter}/contact")
    action = f"/greeters/{greeter}/contact"
    fields = {"name": "Paul", "email": SENDER, "message": "Bonjour"}

    for token in ("", "forged-token-from-elsewhere", "é" * 30):
        response = await visitor.post(action, data={"csrf": token, **fields})
        assert response.status_code == 400
        assert alert_of(response.text) == "Le formulaire a expiré. Veuillez réessayer."
    cases = [
        ({"email": "pas-une-adresse"}, "Indiquez votre adresse e-mail"),
        ({"email": "javascript:alert(1)@x.fr"}, "Indiquez votre adresse e-mail"),
        ({"name": " \x00 "}, "Indiquez votre nom"),
        ({"message": "   "}, "Écrivez votre message."),
        ({"message": "x" * 5_001}, "Un champ est trop long (5\u202f000 caractères au plus)."),
    ]
    for changed, expected in cases:
        response = await _write_to(visitor, greeter, **changed)
        assert response.status_code == 400 and alert_of(response.text).startswith(expected), changed
    token = csrf_of((await visitor.get(action)).text)
    response = await visitor.post(action, data={"csrf": token, **fields, "message": "x" * 40_000})
    assert response.status_code == 413 and "trop long" in alert_of(response.text)
    response = await visitor.post(action, data={"csrf": token, **fields},
                                  files={"message": ("a.txt", b"x", "text/plain")})
    assert response.status_code == 400 and "n&#39;a pas pu être lu" in alert_of(response.text)
    response = await visitor.post(action, content=b"csrf=" + token.encode() + b"&name=%FF%FE",
                                  headers={**HTML, "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert (await visitor.get("/greeters/999/contact")).status_code == 404
    assert (await visitor.post("/greeters/999/contact", data=fields)).status_code == 404
    assert await storage.list_messages(instance.db, 10) == []
    await visitor.aclose()
    await desk.aclose()


async def test_the_desk_refuses_bad_input_with_a_french_message(instance):
    desk = await log_in(instance, "julie", role="editor")
    response = await desk.submit("/desk/greeters/new", "/desk/greeters/new", {
        "first_name": "  ", "email": SECRET})
    assert response.status_code == 400 and alert_of(response.text) == "Indiquez le prénom du bénévole."
    response = await desk.submit("/desk/greeters/new", "/desk/greeters/new", {
        "first_name": "Amina", "area": "Croix-Rousse", "email": "amina chez example"})
    assert alert_of(response.text).startswith("L&#39;adresse e-mail ne semble pas correcte")
    assert 'value="Croix-Rousse"' in response.text  # what was typed is kept
    response = await desk.submit("/desk/greeters/new", "/desk/greeters/new", {"first_name": "Amina"},
                                 files={"photo": ("virus.jpg", b"MZ\x90\x00 not a picture", "image/jpeg")})
    assert response.status_code == 400 and "virus.jpg" in alert_of(response.text)
    response = await desk.submit("/desk/pages/booklet/new", "/desk/pages/booklet/new", {
        "title": "", "text": "Sans titre"})
    assert alert_of(response.text) == "Donnez un titre à la rubrique."
    response = await desk.submit("/desk/pages/meet", "/desk/pages/meet", {"title": "Nous voir", "text": ""})
    assert alert_of(response.text) == "Écrivez le texte de la page."
    response = await desk.client.post("/desk/greeters/new", data={"first_name": "Sans jeton"})
    assert response.status_code == 400 and "Le formulaire a expiré" in response.text
    assert await storage.list_greeter_cards(instance.db) == []
    assert await storage.list_booklet_sections(instance.db) == []
    assert await storage.get_page_by_kind(instance.db, "meet") is None
    await desk.aclose()


async def test_greeters_can_be_reordered_edited_and_removed(instance):
    desk = await log_in(instance, "julie", role="editor")
    amina = await _add_greeter(desk)
    louis = await _add_greeter(desk, first_name="Louis", email="")
    visitor = await browser_for(instance)
    cards = (await visitor.get("/greeters")).text
    assert cards.index("Amina") < cards.index("Louis")
    await desk.submit("/desk/greeters", f"/desk/greeters/{louis}/move", {"direction": "up"})
    cards = (await visitor.get("/greeters")).text
    assert cards.index("Louis") < cards.index("Amina")

    response = await desk.submit(f"/desk/greeters/{amina}", f"/desk/greeters/{amina}", {
        "first_name": "Amina", "area": "Vaise", "remove_photo": "1"})
    assert response.status_code == 303
    cards = (await visitor.get("/greeters")).text
    assert "Vaise" in cards and "Photo\u202f: Amina" not in cards
    await _write_to(visitor, amina)
    await desk.submit(f"/desk/greeters/{amina}", f"/desk/greeters/{amina}/delete", {})
    assert "Amina" not in (await visitor.get("/greeters")).text
    messages = (await desk.page("/desk/messages")).text
    assert "Pour un bénévole dont la fiche a été retirée" in messages and "De\u202f: Paul" in messages
    await visitor.aclose()
    await desk.aclose()
