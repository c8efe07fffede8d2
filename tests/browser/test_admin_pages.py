"""An admin on a phone: approves a comment from the fediverse, then opens the settings and the
accounts; every page is readable (axe) and fits the screen."""

from __future__ import annotations

import json

import httpx
from playwright.async_api import expect

from activitypub.vocab import PUBLIC
from desk_testing import PASSWORD
from fedi import accounts, outbox
from fedi_testing import Served, settle, signer_of


async def reply(sender: Served, site: Served, post_uri: str, text: str) -> None:
    """`sender`'s association replies to a post of `site`: a signed Create of a Note."""
    note = {"id": f"{sender.url}/posts/reply", "type": "Note", "attributedTo": sender.actor_url,
            "inReplyTo": post_uri, "content": f"<p>{text}</p>", "to": [PUBLIC]}
    activity = {"id": f"{sender.url}/activities/reply", "type": "Create", "actor": sender.actor_url,
                "object": note, "to": [PUBLIC]}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{site.url}/inbox", content=json.dumps(activity).encode(),
                                     auth=signer_of(sender.instance),
                                     headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 202


async def test_an_admin_on_a_phone_approves_a_comment_and_opens_the_settings(
        site, phone, screenshot, assert_accessible, assert_fits_the_screen, make_instance):
    neighbour = await make_instance("avf-nantes")
    post = await outbox.publish_post(site.instance, "Café d'accueil jeudi.")
    await reply(neighbour, site, post.uri, "Nous viendrons avec plaisir")
    await settle(site, neighbour)
    await accounts.create_account(site.db, "marie", "admin", PASSWORD)

    await phone.goto("/login?next=/desk/comments")
    await phone.get_by_label("Identifiant").fill("marie")
    await phone.get_by_label("Mot de passe").fill(PASSWORD)
    await phone.get_by_role("button", name="Se connecter").tap()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Commentaires")
    await assert_accessible(phone)
    await assert_fits_the_screen(phone)
    await screenshot(phone, "comments")
    await phone.get_by_role("button", name="Approuver").tap()
    await expect(phone.get_by_role("status")).to_contain_text("Le commentaire est approuvé")

    for path, heading, label in (("/desk/settings", "Réglages", "settings"),
                                 ("/desk/accounts", "Comptes", "accounts"),
                                 ("/desk/password", "Mon mot de passe", "password")):
        await phone.goto(path)
        await expect(phone.get_by_role("heading", level=1)).to_have_text(heading)
        await assert_accessible(phone)
        await assert_fits_the_screen(phone)
        await screenshot(phone, label)
