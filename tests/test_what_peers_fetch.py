"""What peers' fetchers really send (Accept headers, WebFinger resources, collection pages) and
what they get back."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from desk_testing import log_in
from fedi import outbox, storage
from fedi.config import new_config
from fedi.documents import COLLECTION_PAGE_SIZE
from fedi.instance import create_instance_files, open_instance
from fedi.storage import EventFields
from fedi_testing import fetch_json, free_port, serve_app
from web.app import create_app

CHROMIUM = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
AIOHTTP_DEFAULT = "*/*"


async def _get(url: str, accept: str | None, host: str | None = None) -> httpx.Response:
    headers = {"Host": host} if host else {}
    async with httpx.AsyncClient() as client:
        request = client.build_request("GET", url, headers=headers)
        if accept is None:
            del request.headers["Accept"]
        else:
            request.headers["Accept"] = accept
        return await client.send(request)


def _is_json_actor(response: httpx.Response, uri: str) -> bool:
    return (response.status_code == 200
            and response.headers["content-type"].startswith("application/activity+json")
            and response.json()["id"] == uri and "publicKeyPem" in response.json()["publicKey"])


def _is_html(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.headers["content-type"].startswith("text/html")


async def test_a_fetcher_sending_only_star_slash_star_reads_the_key_a_browser_the_page(instance):
    """Given an aiohttp-like fetcher that follows a keyId with `Accept: */*`, it gets the actor
    as JSON (the fragment is not sent); Chromium still gets the page; no Accept at all gets the
    page, as at Mastodon's actor URLs."""
    association = instance.instance.association
    key_url = association.key_id.split("#")[0]
    assert _is_json_actor(await _get(key_url, AIOHTTP_DEFAULT), association.uri)
    assert _is_json_actor(await _get(key_url, "application/json, */*"), association.uri)
    assert _is_html(await _get(association.uri, CHROMIUM))
    assert _is_html(await _get(association.uri, None))
    instance_actor = instance.instance.instance_actor
    assert _is_json_actor(await _get(instance_actor.key_id.split("#")[0], AIOHTTP_DEFAULT),
                          instance_actor.uri)


async def test_posts_and_events_keep_their_page_for_link_previews(instance):
    post = await outbox.publish_post(instance.instance, "Rendez-vous samedi", title="Sortie")
    event = await outbox.publish_post(instance.instance, "Café offert", title="Café",
                                      event=EventFields(start="2026-12-08T17:30:00"))
    for uri in (post.uri, event.uri):
        assert _is_html(await _get(uri, AIOHTTP_DEFAULT))
        response = await _get(uri, "application/activity+json")
        assert response.json()["id"] == uri


async def test_the_relay_actor_answers_json_to_star_slash_star(make_instance):
    relay = await make_instance("relais", role="relay")
    actor = relay.instance.instance_actor
    assert _is_json_actor(await _get(actor.key_id.split("#")[0], AIOHTTP_DEFAULT), actor.uri)


async def test_each_tenant_serves_its_own_actor_as_json_to_star_slash_star(tmp_path):
    port = free_port()
    instances = []
    for host, name in ((f"127.0.0.1:{port}", "avf-lyon"), (f"localhost:{port}", "avf-brest")):
        config = new_config(f"http://{host}", name, name, allow_private=True)
        await create_instance_files(tmp_path / name, config)
        instances.append(await open_instance(tmp_path / name))
    try:
        app = create_app(instances, run_workers=False)
        async with serve_app(app, port=port) as base:
            for served in instances:
                host, actor = served.config.host, served.association
                path = actor.key_id.split("#")[0].removeprefix(served.config.url)
                assert _is_json_actor(await _get(base + path, AIOHTTP_DEFAULT, host), actor.uri)
                assert _is_html(await _get(base + path, CHROMIUM, host))
    finally:
        for served in instances:
            await served.close()


async def _webfinger(served, resource: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{served.url}/.well-known/webfinger?resource={quote(resource)}")


async def test_webfinger_reads_acct_our_actor_urls_and_a_bare_handle_and_nothing_else(instance):
    host = instance.instance.config.host
    for resource in (f"acct:avf-lyon@{host}", instance.actor_url,
                     f"avf-lyon@{host}"):  # no scheme: read as acct:, a leniency Mastodon has too
        response = await _webfinger(instance, resource)
        assert response.status_code == 200, resource
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.json()["subject"] == f"acct:avf-lyon@{host}"
        assert {"rel": "self", "type": "application/activity+json",
                "href": instance.actor_url} in response.json()["links"]
    for resource in (f"mailto:avf-lyon@{host}", f"foo://{host}", f"xmpp:avf-lyon@{host}",
                     "https://elsewhere.example/users/avf-lyon", f"{instance.url}/users/nobody"):
        response = await _webfinger(instance, resource)
        assert response.status_code == 404, resource


async def _followed_by(served, count: int, pending_every: int) -> list[str]:
    """`count` remote accounts follow the association, every `pending_every`-th one still waiting."""
    accepted = []
    async with served.db.transaction() as tx:
        for n in range(count):
            follower = f"https://mastodon.example/users/u{n}"
            state = "pending" if n % pending_every == 0 else "accepted"
            await storage.put_follow(tx, follower, served.actor_url, None, state)
            await storage.put_follow(tx, served.actor_url, follower, None, state)
            if state == "accepted":
                accepted.append(follower)
    return accepted


async def _all_pages(collection: dict) -> list[dict]:
    pages, url = [], collection.get("first")
    while url:
        status, page = await fetch_json(url)
        assert status == 200
        pages.append(page)
        url = page.get("next")
    return pages


async def test_following_pages_are_full_and_agree_with_total_items(instance):
    accepted = await _followed_by(instance, COLLECTION_PAGE_SIZE * 2, pending_every=4)
    status, collection = await fetch_json(f"{instance.actor_url}/following")
    assert collection["totalItems"] == len(accepted) == 30
    pages = await _all_pages(collection)
    assert [len(page["orderedItems"]) for page in pages] == [COLLECTION_PAGE_SIZE, 10]
    assert sorted(item for page in pages for item in page["orderedItems"]) == sorted(accepted)


async def test_followers_are_listed_only_when_the_association_chose_so(instance):
    accepted = await _followed_by(instance, 25, pending_every=5)
    status, collection = await fetch_json(f"{instance.actor_url}/followers")
    assert status == 200 and collection["totalItems"] == len(accepted) == 20
    assert "first" not in collection and "orderedItems" not in collection
    status, page = await fetch_json(f"{instance.actor_url}/followers?page=1")
    assert status == 404

    desk = await log_in(instance)
    form = await desk.page("/desk/settings")
    assert form.status_code == 200
    current = instance.instance.settings
    response = await desk.submit("/desk/settings", "/desk/settings", {
        "name": instance.instance.association.name, "summary": instance.instance.association.summary,
        "colour": current.colour, "language": current.language, "town": current.town,
        "region": current.region, "list_followers": "1"})
    await desk.aclose()
    assert response.status_code in (200, 303) and instance.instance.settings.list_followers
    status, collection = await fetch_json(f"{instance.actor_url}/followers")
    pages = await _all_pages(collection)
    assert [len(page["orderedItems"]) for page in pages] == [COLLECTION_PAGE_SIZE]
    assert sorted(pages[0]["orderedItems"]) == sorted(accepted)



async def test_the_collections_named_by_the_instance_and_relay_actors_answer(make_instance):
    """Given the instance actor (and the relay's, which is one), each collection its document
    names answers; the relay's following is paged like any other, accepted follows only."""
    site = await make_instance("avf-lyon")
    relay = await make_instance("relais", role="relay")
    async with relay.db.transaction() as tx:
        for n in range(COLLECTION_PAGE_SIZE + 10):
            await storage.put_follow(tx, relay.instance.instance_actor.uri, f"https://r{n}.example/actor",
                                     None, "pending" if n % 5 == 0 else "accepted")
    for served in (site, relay):
        status, actor = await fetch_json(f"{served.url}/actor")
        for name in ("outbox", "followers", "following"):
            status, collection = await fetch_json(actor[name])
            assert status == 200 and collection["type"] == "OrderedCollection", (served.url, name)
            assert collection["id"] == actor[name]
    status, following = await fetch_json(f"{relay.url}/actor/following")
    pages = await _all_pages(following)
    assert following["totalItems"] == 24 and [len(page["orderedItems"]) for page in pages] == [20, 4]
