"""An editor writes on the desk: drafts, publishing, scheduling, editing and deleting; what the
site's visitors and the followers' servers then see."""

from __future__ import annotations

import re

from desk_testing import alert_of, log_in
from fedi import following, outbox, storage
from fedi_testing import fetch_json, settle


def _post_id(response) -> int:
    match = re.search(r"/desk/posts/(\d+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


async def test_an_editor_publishes_news_that_reaches_a_following_instance(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    desk = await log_in(site, "julie", role="editor")

    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "kind": "news", "title": "Café d'accueil", "text": "Rendez-vous **jeudi** à 10 h.",
        "visibility": "public", "action": "publish"})
    assert response.status_code == 303
    edit_page = await desk.page(response.headers["location"])
    assert "Publiée. Les abonnés la reçoivent dans quelques instants." in edit_page.text

    home = await desk.page("/")
    assert "Café d&#39;accueil" in home.text and "<strong>jeudi</strong>" in home.text
    await settle(site, follower)
    received = await storage.list_timeline(follower.db, 10)
    assert len(received) == 1 and "<strong>jeudi</strong>" in received[0].content
    assert received[0].title == "Café d'accueil"
    await desk.aclose()


async def test_a_draft_stays_on_the_desk_until_it_is_published(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    desk = await log_in(site)

    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "title": "Brouillon", "text": "Pas encore prêt", "action": "draft"})
    post_id = _post_id(response)
    draft = await storage.get_post_by_id(site.db, post_id)
    assert "Brouillon enregistré" in (await desk.page(response.headers["location"])).text
    assert "Pas encore prêt" not in (await desk.page("/")).text
    status, _ = await fetch_json(draft.uri)
    assert status == 404
    await settle(site, follower)
    assert await storage.list_timeline(follower.db, 10) == []

    response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "title": "Prêt", "text": "Maintenant prêt", "action": "publish"})
    assert response.status_code == 303
    await settle(site, follower)
    assert [p.title for p in await storage.list_timeline(follower.db, 10)] == ["Prêt"]
    await desk.aclose()


async def test_a_scheduled_post_goes_out_when_its_time_comes(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "title": "Plus tard", "text": "Programmé", "action": "schedule",
        "scheduled_at": "2099-01-01T09:00"})
    post = await storage.get_post_by_id(site.db, _post_id(response))
    assert post.status == "scheduled" and post.scheduled_at == "2099-01-01T08:00:00Z"
    assert await outbox.publish_due_posts(site.instance) == 0
    async with site.db.transaction() as tx:  # its time comes
        await tx.execute("UPDATE posts SET scheduled_at = '2020-01-01T08:00:00Z' WHERE id = ?", (post.id,))
    assert await outbox.publish_due_posts(site.instance) == 1
    assert (await storage.get_post_by_id(site.db, post.id)).status == "published"
    assert "Programmé" in (await desk.page("/")).text
    await desk.aclose()


async def test_editing_and_deleting_federate(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    desk = await log_in(site)
    post_id = _post_id(await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "Version 1", "action": "publish"}))
    await settle(site, follower)

    await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": "Version 2", "action": "publish"})
    await settle(site, follower)
    received = (await storage.list_timeline(follower.db, 10))[0]
    assert "Version 2" in received.content and received.updated_at

    response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}/delete", {})
    assert response.status_code == 303
    await settle(site, follower)
    assert (await storage.get_post_by_uri(follower.db, received.uri)).is_deleted
    await desk.aclose()


async def test_an_event_federates_with_mobilizon_fields(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new", {
        "kind": "event", "title": "Café des nouveaux arrivants", "text": "Venez nous rencontrer.",
        "starts_at": "2026-12-03T18:30", "ends_at": "2026-12-03T20:00", "recurrence": "triweekly",
        "place_name": "Maison des associations", "place_street": "3 rue de la Paix",
        "place_postal_code": "69001", "place_locality": "Lyon", "action": "publish"})
    post = await storage.get_post_by_id(site.db, _post_id(response))
    status, event = await fetch_json(post.uri)
    assert status == 200 and event["type"] == "Event"
    assert event["startTime"] == "2026-12-03T17:30:00Z" and event["endTime"] == "2026-12-03T19:00:00Z"
    assert event["location"]["name"] == "Maison des associations"
    assert event["location"]["address"]["postalCode"] == "69001"
    assert "jeudi 3 décembre 2026, 18\u00a0h\u00a030" in event["content"]  # as French readers write it
    await desk.aclose()


async def test_bad_input_gets_a_french_message_and_keeps_what_was_typed(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "title": "Sans texte", "text": "   ", "action": "publish"})
    assert response.status_code == 400
    assert alert_of(response.text) == "Écrivez le texte de la publication."
    assert 'value="Sans texte"' in response.text
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "x" * 50_001, "action": "publish"})
    assert "trop long" in alert_of(response.text)
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new", {
        "kind": "event", "title": "Sans date", "text": "Quand ?", "action": "publish"})
    assert alert_of(response.text) == "Indiquez la date et l&#39;heure de début de l&#39;événement."
    assert await storage.list_local_posts(site.db, site.actor_url, ("published", "draft"), 10) == []
    await desk.aclose()


async def test_scripts_in_the_text_are_never_run(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "title": "<script>alert(1)</script>",
        "text": "Bonjour <script>alert(2)</script><iframe src=https://evil.example></iframe>",
        "action": "publish"})
    home = (await desk.page("/")).text
    assert "<script>alert" not in home and "<iframe" not in home
    assert "Bonjour" in home  # the rest of the text is kept
    await desk.aclose()


def _textarea(page: str) -> str:
    found = re.search(r'<textarea id="text"[^>]*>([^<]*)</textarea>', page)
    assert found, "no text field on the page"
    return found.group(1)


async def test_a_text_longer_than_allowed_gets_a_message_naming_the_limit_and_is_kept(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    too_long = "é" * 60_000  # 120 kB: over the limit in characters as well as in bytes
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": too_long, "action": "publish"}, files={"photos": ("", b"")})
    assert response.status_code == 400
    assert alert_of(response.text) == "Le texte est trop long (50\N{NARROW NO-BREAK SPACE}000 caractères au plus)."
    assert _textarea(response.text) == too_long

    post_id = _post_id(await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "Court", "action": "draft"}))
    desk.client.cookies.set("lang", "en")
    response = await desk.submit(f"/desk/posts/{post_id}", f"/desk/posts/{post_id}", {
        "text": too_long, "action": "draft"}, files={"photos": ("", b"")})
    assert response.status_code == 400
    assert alert_of(response.text) == "The text is too long (at most 50,000 characters)."
    assert _textarea(response.text) == too_long
    assert (await storage.get_post_by_id(site.db, post_id)).source == "Court"
    assert await storage.list_local_posts(site.db, site.actor_url, ("published",), 10) == []

    desk.client.cookies.set("lang", "fr")
    preview = await desk.submit("/desk/posts/new", "/desk/preview", {"text": too_long},
                                files={"photos": ("", b"")})
    assert alert_of(preview.text) == "Le texte est trop long (50\N{NARROW NO-BREAK SPACE}000 caractères au plus)."
    await desk.aclose()


async def test_a_text_at_the_limit_in_characters_of_several_bytes_is_taken(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    text = "€" * 50_000  # 150 kB in UTF-8
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": text, "action": "draft"}, files={"photos": ("", b"")})
    assert response.status_code == 303, alert_of(response.text)
    assert (await storage.get_post_by_id(site.db, _post_id(response))).source == text
    await desk.aclose()


async def test_a_field_beyond_what_the_editor_reads_still_gets_the_editor_and_the_limit(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "x" * 3_000_000, "action": "publish"}, files={"photos": ("", b"")})
    assert response.status_code == 400
    assert alert_of(response.text) == "Le texte est trop long (50\N{NARROW NO-BREAK SPACE}000 caractères au plus)."
    assert 'id="editor"' in response.text
    response = await desk.submit("/desk/posts/new?kind=event", "/desk/posts/new?kind=event", {
        "kind": "event", "text": "x" * 3_000_000, "action": "publish"}, files={"photos": ("", b"")})
    assert "trop long" in alert_of(response.text) and 'name="starts_at"' in response.text
    await desk.aclose()


async def test_a_scheduled_date_already_past_publishes_now_and_says_so(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", {
        "text": "Programmée trop tard", "action": "schedule", "scheduled_at": "2020-01-01T09:00"})
    post = await storage.get_post_by_id(site.db, _post_id(response))
    assert post.status == "published"
    page = (await desk.page(response.headers["location"])).text
    assert "La date choisie est déjà passée : la publication est partie tout de suite." in page
    assert "Programmée trop tard" in (await desk.page("/")).text
    await desk.aclose()
