"""Who can see a post: the audience chosen on the desk is the one it goes out with, whichever way
it is published; once published its audience is fixed (peers would ignore a change), and the
editor offers to delete it and publish it again for the other audience."""

from __future__ import annotations

import re
from html import unescape

import httpx

from desk_testing import HTML, alert_of, log_in
from fedi import following, members, outbox, storage
from fedi_testing import AP_HEADERS, settle, signer_of


def _post_id(response: httpx.Response) -> int:
    match = re.search(r"/desk/posts/(\d+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


async def _answers(url: str, outsider) -> list[int]:
    """What an unsigned visitor (page and JSON) and a signed outsider's server get for `url`."""
    async with httpx.AsyncClient() as client:
        return [(await client.get(url, headers=HTML)).status_code,
                (await client.get(url, headers=AP_HEADERS)).status_code,
                (await client.get(url, headers=AP_HEADERS, auth=signer_of(outsider.instance))).status_code]


async def _draft(desk, visibility: str, text: str = "Assemblée générale jeudi") -> int:
    return _post_id(await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": text, "visibility": visibility, "action": "draft"}))


async def test_a_public_draft_switched_to_members_only_is_published_for_members_only(make_instance):
    site = await make_instance("avf-lyon")
    outsider = await make_instance("avf-brest")
    desk = await log_in(site)
    post_id = await _draft(desk, "public")
    response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Assemblée générale jeudi", "visibility": "members", "action": "publish"})
    assert response.status_code == 303
    post = await storage.get_post_by_id(site.db, post_id)
    assert (post.status, post.visibility) == ("published", "followers")
    assert await _answers(post.uri, outsider) == [404, 404, 404]
    assert "Assemblée générale" not in (await desk.page("/")).text
    await desk.aclose()


async def test_a_draft_scheduled_as_members_only_is_published_so_by_the_scheduler(make_instance):
    site = await make_instance("avf-lyon")
    outsider = await make_instance("avf-brest")
    desk = await log_in(site)
    post_id = await _draft(desk, "public")
    await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Assemblée générale jeudi", "visibility": "members", "action": "schedule",
        "scheduled_at": "2099-01-01T09:00"})
    assert (await storage.get_post_by_id(site.db, post_id)).visibility == "followers"
    async with site.db.transaction() as tx:  # its time comes
        await tx.execute("UPDATE posts SET scheduled_at = '2020-01-01T08:00:00Z' WHERE id = ?", (post_id,))
    assert await outbox.publish_due_posts(site.instance) == 1
    post = await storage.get_post_by_id(site.db, post_id)
    assert (post.status, post.visibility) == ("published", "followers")
    assert await _answers(post.uri, outsider) == [404, 404, 404]
    await desk.aclose()


async def test_a_scheduled_post_edited_to_members_only_then_published_stays_members_only(make_instance):
    site = await make_instance("avf-lyon")
    outsider = await make_instance("avf-brest")
    desk = await log_in(site)
    post_id = _post_id(await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "Assemblée générale jeudi", "visibility": "public", "action": "schedule",
        "scheduled_at": "2099-01-01T09:00"}))
    await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Assemblée générale jeudi", "visibility": "members", "action": "schedule",
        "scheduled_at": "2099-01-01T09:00"})
    editor = (await desk.page(f"/desk/posts/{post_id}")).text
    assert re.search(r'value="members"\s+checked', editor)
    await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Assemblée générale jeudi", "visibility": "members", "action": "publish"})
    post = await storage.get_post_by_id(site.db, post_id)
    assert (post.status, post.visibility) == ("published", "followers")
    assert await _answers(post.uri, outsider) == [404, 404, 404]
    await desk.aclose()


async def test_a_members_only_draft_switched_to_public_is_published_publicly(make_instance):
    site = await make_instance("avf-lyon")
    outsider = await make_instance("avf-brest")
    desk = await log_in(site)
    post_id = await _draft(desk, "members", "Fête de quartier")
    await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Fête de quartier", "visibility": "public", "action": "publish"})
    post = await storage.get_post_by_id(site.db, post_id)
    assert (post.status, post.visibility) == ("published", "public")
    assert await _answers(post.uri, outsider) == [200, 200, 200]
    await desk.aclose()


async def test_a_published_post_shows_its_audience_as_fixed_and_a_forged_change_is_refused(make_instance):
    site = await make_instance("avf-lyon")
    outsider = await make_instance("avf-brest")
    desk = await log_in(site)
    post_id = _post_id(await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "Version publique", "visibility": "public", "action": "publish"}))
    editor = unescape((await desk.page(f"/desk/posts/{post_id}")).text)
    assert "Visible par tout le monde. Une fois publiée, l'audience ne peut plus changer." in editor
    assert "Supprimer et republier pour les adhérents seulement" in editor
    assert 'name="visibility"' not in editor

    response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Version modifiée", "visibility": "members", "action": "publish"})
    assert response.status_code == 400
    assert unescape(alert_of(response.text)) == (
        "L'audience d'une publication déjà publiée ne peut pas changer : supprimez-la "
        "et republiez-la (bouton plus bas). Rien n'a été modifié.")
    post = await storage.get_post_by_id(site.db, post_id)
    assert (post.visibility, post.source) == ("public", "Version publique")
    assert await _answers(post.uri, outsider) == [200, 200, 200]

    response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Version modifiée", "action": "publish"})
    assert response.status_code == 303
    assert (await storage.get_post_by_id(site.db, post_id)).source == "Version modifiée"
    await desk.aclose()


async def test_delete_and_publish_again_for_members_only(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    outsider = await make_instance("avf-brest")
    await following.follow(follower.instance, site.actor_url)
    await following.follow(follower.instance, site.instance.members.uri)
    await following.follow(outsider.instance, site.actor_url)
    await settle(site, follower, outsider)
    await members.approve(site.instance, follower.actor_url)
    await settle(site, follower)
    desk = await log_in(site)
    old_id = _post_id(await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "title": "Réunion", "text": "Réservé aux adhérents, publié par erreur", "visibility": "public",
        "action": "publish"}))
    await settle(site, follower)
    old = await storage.get_post_by_id(site.db, old_id)
    assert (await storage.get_post_by_uri(follower.db, old.uri)) is not None

    response = await desk.submit(f"/desk/posts/{old_id}", f"/desk/posts/{old_id}/republish", {})
    assert response.status_code == 303
    new_id = _post_id(response)
    page = unescape((await desk.page(response.headers["location"])).text)
    assert "Publiée à nouveau pour les adhérents seulement ; l'ancienne version a été supprimée" in page
    new = await storage.get_post_by_id(site.db, new_id)
    assert (new.status, new.visibility, new.title, new.source) == (
        "published", "followers", "Réunion", "Réservé aux adhérents, publié par erreur")
    assert new.author == site.instance.members.uri
    assert (await storage.get_post_by_id(site.db, old_id)).is_deleted
    assert await _answers(new.uri, outsider) == [404, 404, 404]
    assert (await _answers(old.uri, outsider))[0] == 410
    await settle(site, follower)
    assert (await storage.get_post_by_uri(follower.db, old.uri)).is_deleted
    received = await storage.get_post_by_uri(follower.db, new.uri)
    assert received is not None and received.visibility == "followers"
    await settle(site, outsider)
    assert await storage.get_post_by_uri(outsider.db, new.uri) is None  # follows the association only
    await desk.aclose()
