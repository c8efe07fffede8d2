"""An admin runs the site: the settings page (name, presentation, logo, colour, language,
followers shown or not) whose changes reach the followers' servers, and the desk's accounts
(create, new password, delete, change one's own). Editors see none of it."""

from __future__ import annotations

import io
import re
import struct
import zlib
from html import unescape

import httpx
from PIL import Image

from desk_testing import HTML, PASSWORD, alert_of, log_in
from fedi import following, storage
from fedi_testing import Served, fetch_json, settle


def settings_of(site: Served, **changes: str) -> dict[str, str]:
    """The settings form as it is shown, with `changes`."""
    current = site.instance.settings
    values = {"name": site.instance.association.name, "summary": site.instance.association.summary,
              "colour": current.colour, "language": current.language, "town": current.town,
              "region": current.region}
    return {**values, **changes}


def png(width: int, height: int, colour: str = "#7a1f5c") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def visit(site: Served, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=site.url, timeout=20) as client:
        return await client.get(path, headers=HTML)


async def test_a_new_name_and_colour_show_on_the_site_and_reach_the_followers(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    desk = await log_in(site)

    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(
        site, name="AVF Lyon Métropole", summary="Accueil des nouveaux arrivants depuis 1975.",
        colour="#7A1F5C", town="Lyon", region="Auvergne-Rhône-Alpes"))
    assert response.status_code == 303
    assert "Les serveurs de vos abonnés reçoivent le nouveau nom" in (
        await desk.page(response.headers["location"])).text

    home = (await visit(site, "/")).text
    assert "AVF Lyon Métropole" in home and "Accueil des nouveaux arrivants depuis 1975." in home
    assert "#7a1f5c" in (await visit(site, "/theme.css")).text
    _, actor = await fetch_json(site.actor_url)
    assert actor["name"] == "AVF Lyon Métropole"

    await settle(site, follower)
    seen = await storage.get_remote_actor_by_uri(follower.db, site.actor_url)
    assert seen is not None and seen.name == "AVF Lyon Métropole"
    await desk.aclose()


async def test_a_colour_too_light_for_white_text_is_refused_in_french(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    before = site.instance.settings

    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(
        site, name="Un autre nom", colour="#ffcc00"))
    assert response.status_code == 400
    assert "Cette couleur est trop claire" in alert_of(response.text)
    assert "contraste de 1,5 pour 1" in alert_of(response.text)
    assert 'value="Un autre nom"' in response.text  # what was typed stays in the form

    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(site, colour="red"))
    assert "Choisissez la couleur avec le sélecteur" in alert_of(response.text)
    assert site.instance.settings == before
    assert (await storage.get_local_actor_by_uri(site.db, site.actor_url)).name != "Un autre nom"
    assert before.colour in (await visit(site, "/theme.css")).text
    await desk.aclose()


async def test_a_file_that_is_not_an_image_is_refused_as_logo(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(site, name="Nouveau"), files={
        "logo": ("logo.png", b"<?php system($_GET['c']); ?>", "image/png")})
    assert response.status_code == 400
    assert alert_of(response.text) == "Le logo doit être une image PNG ou JPEG."
    assert not (site.instance.directory / "logo.png").exists()
    assert site.instance.association.name != "Nouveau"
    await desk.aclose()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces a huge picture (a "decompression bomb") without its pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


async def test_a_logo_announcing_too_many_pixels_is_refused(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(site), files={
        "logo": ("bombe.png", png_header_only(30_000, 30_000), "image/png")})
    assert response.status_code == 400
    assert "Le logo a trop de pixels" in alert_of(response.text)
    assert not (site.instance.directory / "logo.png").exists()
    await desk.aclose()


async def test_a_new_logo_is_squared_served_as_png_and_announced(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    desk = await log_in(site)

    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(site), files={
        "logo": ("logo.png", png(1200, 600), "image/png")})
    assert response.status_code == 303
    assert (site.instance.directory / "logo.png").stat().st_mode & 0o777 == 0o600  # owner only
    served = await visit(site, "/logo.png")
    logo = Image.open(io.BytesIO(served.content))
    assert served.headers["content-type"] == "image/png" and logo.format == "PNG"
    assert logo.size == (512, 512)
    centre, corner = logo.getpixel((256, 256)), logo.getpixel((0, 0))
    assert all(abs(a - b) <= 3 for a, b in zip(centre[:3], (0x7a, 0x1f, 0x5c), strict=True))
    assert corner[3] == 0  # a wide logo is centred on a transparent square
    updates = await site.db.fetchall("SELECT type FROM activities WHERE type = 'Update'")
    assert len(updates) == 1
    await settle(site, follower)
    remote = await storage.get_remote_actor_by_uri(follower.db, site.actor_url)
    icon = remote.raw["icon"]["url"]
    assert icon.startswith(f"{site.url}/logo.png?v=")  # a new URL, so Mastodon fetches it again
    assert (await visit(site, icon.removeprefix(site.url))).content == served.content
    await desk.aclose()


async def test_followers_show_on_the_home_page_only_when_the_association_chooses(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    assert "@avf-nantes@" not in (await visit(site, "/")).text

    desk = await log_in(site)
    await desk.submit("/desk/settings", "/desk/settings", settings_of(site, list_followers="1"))
    assert "@avf-nantes@127.0.0.1:" in (await visit(site, "/")).text
    await desk.aclose()


async def test_the_site_language_is_the_default_for_visitors(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    await desk.submit("/desk/settings", "/desk/settings", settings_of(site, language="en"))
    assert '<html lang="en">' in (await visit(site, "/")).text
    response = await desk.submit("/desk/settings", "/desk/settings", settings_of(site, language="xx"))
    assert response.status_code == 400 and unescape(alert_of(response.text)) == "Choose the site's language."
    await desk.aclose()


async def test_an_editor_gets_403_on_the_admin_pages(make_instance):
    site = await make_instance("avf-lyon")
    editor = await log_in(site, "julie", role="editor")
    for path in ("/desk/settings", "/desk/accounts"):
        assert (await editor.page(path)).status_code == 403
    response = await editor.submit("/desk", "/desk/settings", settings_of(site, name="Piraté"))
    assert response.status_code == 403
    assert site.instance.association.name != "Piraté"
    response = await editor.submit("/desk", "/desk/accounts", {"username": "intrus", "role": "admin"})
    assert response.status_code == 403
    assert await storage.get_account_by_username(site.db, "intrus") is None
    await editor.aclose()


# --- accounts -----------------------------------------------------------------------------------


def shown_password(page: str) -> str:
    found = re.search(r'<code class="password">([^<]+)</code>', page)
    assert found, "no password on the page"
    return found.group(1)


async def test_an_admin_creates_an_editor_who_logs_in_with_the_password_shown_once(make_instance):
    site = await make_instance("avf-lyon")
    admin = await log_in(site)
    response = await admin.submit("/desk/accounts", "/desk/accounts", {"username": "Julie", "role": "editor"})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    password = shown_password(response.text)
    assert "il ne sera plus affiché" in response.text
    assert password not in (await admin.page("/desk/accounts")).text

    editor = await log_in(site, "julie", password=password, create=False)
    assert (await editor.page("/desk")).status_code == 200

    again = await admin.submit("/desk/accounts", "/desk/accounts", {"username": "julie", "role": "editor"})
    assert again.status_code == 400 and alert_of(again.text) == "Le compte julie existe déjà."
    bad = await admin.submit("/desk/accounts", "/desk/accounts", {"username": "jé rôme", "role": "editor"})
    assert "Un identifiant a de 2 à 40 caractères" in alert_of(bad.text)
    await admin.aclose()
    await editor.aclose()


async def test_a_new_password_ends_the_old_one_and_the_last_admin_stays(make_instance):
    site = await make_instance("avf-lyon")
    admin = await log_in(site)
    editor = await log_in(site, "julie", role="editor")
    julie = await storage.get_account_by_username(site.db, "julie")

    response = await admin.submit("/desk/accounts", f"/desk/accounts/{julie.id}/password", {})
    password = shown_password(response.text)
    assert (await editor.page("/desk")).status_code == 303  # her session ended
    await log_in(site, "julie", password=password, create=False)

    marie = await storage.get_account_by_username(site.db, "marie")
    refused = await admin.submit("/desk/accounts", f"/desk/accounts/{marie.id}/delete", {})
    assert refused.status_code == 400
    assert "seul compte administrateur" in alert_of(refused.text)
    deleted = await admin.submit("/desk/accounts", f"/desk/accounts/{julie.id}/delete", {})
    assert deleted.status_code == 303
    assert await storage.get_account_by_username(site.db, "julie") is None
    await admin.aclose()
    await editor.aclose()


async def test_everyone_changes_their_own_password_knowing_the_current_one(make_instance):
    site = await make_instance("avf-lyon")
    editor = await log_in(site, "julie", role="editor")
    wrong = await editor.submit("/desk/password", "/desk/password", {
        "current_password": "pas le bon", "new_password": "une-phrase-nouvelle",
        "confirm_password": "une-phrase-nouvelle"})
    assert wrong.status_code == 400 and alert_of(wrong.text) == "Le mot de passe actuel est incorrect."
    short = await editor.submit("/desk/password", "/desk/password", {
        "current_password": PASSWORD, "new_password": "court", "confirm_password": "court"})
    assert "au moins 10 caractères" in alert_of(short.text)

    changed = await editor.submit("/desk/password", "/desk/password", {
        "current_password": PASSWORD, "new_password": "une-phrase-nouvelle",
        "confirm_password": "une-phrase-nouvelle"})
    assert changed.status_code == 303
    assert "Votre mot de passe est changé" in (await editor.page(changed.headers["location"])).text
    await log_in(site, "julie", password="une-phrase-nouvelle", create=False)
    await editor.aclose()
