"""An admin moderates the comments that come from the fediverse: a reply waits for approval,
then shows under the post; it can be hidden or deleted; its author (or the author's whole
server) can be blocked; the accounts the association follows can be trusted to publish at once."""

from __future__ import annotations

import json
import re
import secrets
from html import unescape

import httpx

from activitypub.vocab import PUBLIC
from desk_testing import HTML, log_in
from fedi import following, outbox, storage
from fedi_testing import Served, settle, signer_of

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


async def reply(sender: Served, site: Served, post_uri: str, text: str,
                note_id: str | None = None, kind: str = "Create") -> httpx.Response:
    """`sender`'s association replies to a post of `site`, as Mastodon does: a signed Create
    (or, with `kind="Update"` and the `note_id` of its reply, a signed edit of it)."""
    note_id = note_id or f"{sender.url}/posts/{secrets.token_hex(8)}"
    note = {"id": note_id, "type": "Note", "attributedTo": sender.actor_url, "inReplyTo": post_uri,
            "content": f"<p>{text}</p>", "to": [PUBLIC], "cc": [f"{sender.actor_url}/followers"],
            "published": "2025-03-04T10:00:00Z"}
    if kind == "Update":
        note["updated"] = "2025-03-04T11:00:00Z"
    activity = {"@context": AS_CONTEXT, "id": f"{note_id}/{kind.lower()}/{secrets.token_hex(4)}",
                "type": kind, "actor": sender.actor_url, "object": note, "to": [PUBLIC]}
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(f"{site.url}/inbox", content=json.dumps(activity).encode(),
                                 auth=signer_of(sender.instance),
                                 headers={"Content-Type": "application/activity+json"})


async def public_page(post_uri: str) -> str:
    async with httpx.AsyncClient(timeout=20) as client:
        return (await client.get(post_uri, headers=HTML)).text


def comment_ids(page: str, action: str = "approve") -> list[int]:
    return [int(found) for found in re.findall(rf"/desk/comments/(\d+)/{action}", page)]


async def news_and_a_neighbour(make_instance) -> tuple[Served, Served, str]:
    """Lyon publishes news; Nantes follows Lyon."""
    site = await make_instance("avf-lyon")
    neighbour = await make_instance("avf-nantes")
    await following.follow(neighbour.instance, site.actor_url)
    post = await outbox.publish_post(site.instance, "Café d'accueil jeudi à 10 h.")
    await settle(site, neighbour)
    return site, neighbour, post.uri


async def test_a_reply_waits_for_approval_then_shows_and_can_be_hidden_or_deleted(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    assert (await reply(neighbour, site, post_uri, "Nous viendrons avec plaisir")).status_code == 202
    await settle(site, neighbour)
    assert "Nous viendrons avec plaisir" not in await public_page(post_uri)

    desk = await log_in(site)
    review = (await desk.page("/desk/comments")).text
    assert "Nous viendrons avec plaisir" in review and "@avf-nantes@127.0.0.1:" in review
    (comment_id,) = comment_ids(review)

    response = await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/approve", {})
    assert response.status_code == 303
    assert "Le commentaire est approuvé" in (await desk.page(response.headers["location"])).text
    assert "Nous viendrons avec plaisir" in await public_page(post_uri)

    await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/hide", {})
    assert "Nous viendrons avec plaisir" not in await public_page(post_uri)
    assert comment_ids((await desk.page("/desk/comments")).text) == [comment_id]  # can come back

    await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/delete", {})
    review = (await desk.page("/desk/comments")).text
    assert "Nous viendrons avec plaisir" not in review and comment_ids(review, "delete") == []
    await desk.aclose()


async def test_an_approved_reply_edited_by_its_author_waits_again_showing_what_changed(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    await reply(neighbour, site, post_uri, "Merci pour l'accueil")
    await settle(site, neighbour)
    desk = await log_in(site)
    (comment_id,) = comment_ids((await desk.page("/desk/comments")).text)
    await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/approve", {})
    note_id = (await storage.get_post_by_id(site.db, comment_id)).uri

    response = await reply(neighbour, site, post_uri, "Achetez des montres pas chères", note_id, "Update")
    assert response.status_code == 202
    await settle(site, neighbour)
    page = await public_page(post_uri)
    assert "montres" not in page and "Merci pour" not in page
    review = unescape((await desk.page("/desk/comments")).text)
    assert comment_ids(review) == [comment_id]
    waiting = review.split("En attente d'approbation")[1].split("<h2>")[0]
    assert "Modifié par son auteur après votre approbation." in waiting
    assert re.search(r"Texte approuvé :</p>\s*<div class=\"content before\"><p>Merci pour l'accueil</p>", waiting)
    assert re.search(r"Nouveau texte :</p>\s*<div class=\"content\"><p>Achetez des montres pas chères</p>", waiting)

    await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/approve", {})
    assert "Achetez des montres" in await public_page(post_uri)
    assert "Texte approuvé" not in (await desk.page("/desk/comments")).text
    await desk.aclose()


async def test_an_edit_of_a_pending_reply_or_one_from_a_trusted_account_keeps_its_state(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    await following.follow(site.instance, neighbour.actor_url)
    await settle(site, neighbour)
    desk = await log_in(site)
    await desk.submit("/desk/settings", "/desk/settings", {
        "name": site.instance.association.name, "summary": "", "colour": "#1b5e8c",
        "language": "fr", "auto_approve_followed": "1"})
    await reply(neighbour, site, post_uri, "Bravo")
    await settle(site, neighbour)
    (shown,) = await storage.list_comments(site.db, "published", 10)
    await reply(neighbour, site, post_uri, "Bravo à toute l'équipe", shown.post.uri, "Update")
    await settle(site, neighbour)
    assert "Bravo à toute l'équipe" in unescape(await public_page(post_uri))
    assert await storage.list_comments(site.db, "pending", 10) == []
    await desk.aclose()


async def test_a_blocked_account_can_no_longer_reply_nor_follow(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    await reply(neighbour, site, post_uri, "Achetez nos montres pas chères")
    await settle(site, neighbour)
    desk = await log_in(site)
    (comment_id,) = comment_ids((await desk.page("/desk/comments")).text)

    response = await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/block-account", {})
    assert response.status_code == 303
    review = (await desk.page(response.headers["location"])).text
    assert "Le compte est bloqué" in review and "Comptes bloqués" in review
    assert await storage.count_comments(site.db, "pending") == 0
    assert await storage.count_followers(site.db, site.actor_url) == 0

    refused = await reply(neighbour, site, post_uri, "Encore des montres")
    assert refused.status_code == 403
    await settle(site, neighbour)
    assert "Encore des montres" not in (await desk.page("/desk/comments")).text

    await desk.submit("/desk/comments", "/desk/comments/unblock", {"actor": neighbour.actor_url})
    assert (await reply(neighbour, site, post_uri, "Pardon, une vraie question")).status_code == 202
    await desk.aclose()


async def test_blocking_the_whole_server_of_a_comment_removes_it_and_refuses_the_next(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    await reply(neighbour, site, post_uri, "Du spam de tout un serveur")
    await settle(site, neighbour)
    desk = await log_in(site)
    (comment_id,) = comment_ids((await desk.page("/desk/comments")).text)

    response = await desk.submit("/desk/comments", f"/desk/comments/{comment_id}/block-domain", {})
    review = (await desk.page(response.headers["location"])).text
    assert "Le serveur est bloqué" in review and "Du spam de tout un serveur" not in review
    assert (await reply(neighbour, site, post_uri, "Encore du spam")).status_code == 403
    await desk.aclose()


async def test_with_auto_approve_the_reply_of_a_followed_account_shows_at_once(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    stranger = await make_instance("avf-paris")
    await following.follow(site.instance, neighbour.actor_url)
    await settle(site, neighbour)
    desk = await log_in(site)
    response = await desk.submit("/desk/settings", "/desk/settings", {
        "name": site.instance.association.name, "summary": "", "colour": "#1b5e8c",
        "language": "fr", "auto_approve_followed": "1"})
    assert response.status_code == 303

    await reply(neighbour, site, post_uri, "Bravo, une association amie")
    await reply(stranger, site, post_uri, "Bonjour, un inconnu")
    await settle(site, neighbour, stranger)
    page = await public_page(post_uri)
    assert "Bravo, une association amie" in page and "Bonjour, un inconnu" not in page
    waiting = await storage.list_comments(site.db, "pending", 10)
    assert [comment.author_handle.split("@")[1] for comment in waiting] == ["avf-paris"]
    await desk.aclose()


async def test_an_editor_cannot_moderate(make_instance):
    site, neighbour, post_uri = await news_and_a_neighbour(make_instance)
    await reply(neighbour, site, post_uri, "Une question")
    await settle(site, neighbour)
    (comment,) = await storage.list_comments(site.db, "pending", 10)
    editor = await log_in(site, "julie", role="editor")
    assert (await editor.page("/desk/comments")).status_code == 403
    response = await editor.submit("/desk", f"/desk/comments/{comment.post.id}/approve", {})
    assert response.status_code == 403
    assert await storage.count_comments(site.db, "pending") == 1
    await editor.aclose()
