"""What a remote server (or a browser) sees when it looks an association up."""

from __future__ import annotations

import httpx

from activitypub.vocab import PUBLIC
from fedi import outbox
from fedi.documents import COLLECTION_PAGE_SIZE
from fedi_testing import fetch_json


async def test_webfinger_finds_the_association_with_its_port(instance):
    host = instance.instance.config.host
    status, jrd = await fetch_json(f"{instance.url}/.well-known/webfinger?resource=acct:avf-lyon@{host}")
    assert status == 200
    assert jrd["subject"] == f"acct:avf-lyon@{host}"
    assert {"rel": "self", "type": "application/activity+json", "href": instance.actor_url} in jrd["links"]


async def test_webfinger_refuses_unknown_accounts_and_other_hosts(instance):
    host = instance.instance.config.host
    for resource, expected in [(f"acct:nobody@{host}", 404), ("acct:avf-lyon@elsewhere.example", 404),
                               ("", 400), ("acct:@" + host, 400)]:
        status, body = await fetch_json(f"{instance.url}/.well-known/webfinger?resource={resource}")
        assert status == expected, resource
        assert "error" in body


async def test_nodeinfo_2_1_describes_the_server(instance):
    await outbox.publish_post(instance.instance, "Bienvenue")
    status, links = await fetch_json(f"{instance.url}/.well-known/nodeinfo")
    href = next(link["href"] for link in links["links"] if link["rel"].endswith("/2.1"))
    status, info = await fetch_json(href)
    assert status == 200 and info["version"] == "2.1"
    assert info["software"]["name"] == "fedi" and info["protocols"] == ["activitypub"]
    assert info["usage"]["localPosts"] == 1 and info["usage"]["users"]["total"] == 1


async def test_actor_document_has_what_mastodon_needs(instance):
    status, actor = await fetch_json(instance.actor_url)
    assert status == 200
    assert actor["type"] == "Organization" and actor["preferredUsername"] == "avf-lyon"
    for key in ("inbox", "outbox", "followers", "following", "summary", "url", "icon"):
        assert actor[key], key
    assert actor["endpoints"]["sharedInbox"] == f"{instance.url}/inbox"
    assert actor["publicKey"]["owner"] == instance.actor_url
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    async with httpx.AsyncClient() as client:
        icon = await client.get(actor["icon"]["url"])
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"


async def test_instance_actor_is_an_application_with_a_shared_inbox(instance):
    status, actor = await fetch_json(f"{instance.url}/actor")
    assert status == 200 and actor["type"] == "Application"
    assert actor["endpoints"]["sharedInbox"] == f"{instance.url}/inbox"


async def test_same_url_serves_html_to_browsers_and_json_to_servers(instance):
    post = await outbox.publish_post(instance.instance, "Rendez-vous **samedi**", title="Sortie")
    async with httpx.AsyncClient() as client:
        page = await client.get(post.uri, headers={"Accept": "text/html"})
        ld = await client.get(post.uri, headers={
            "Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<strong>samedi</strong>" in page.text and "Sortie" in page.text
    assert ld.status_code == 200 and ld.headers["content-type"].startswith("application/activity+json")
    note = ld.json()
    assert note["id"] == post.uri and note["to"] == [PUBLIC]
    assert note["cc"] == [f"{instance.actor_url}/followers"]
    assert note["attributedTo"] == instance.actor_url


async def test_outbox_is_paged_newest_first(instance):
    uris = [(await outbox.publish_post(instance.instance, f"Nouvelle {n}")).uri for n in range(25)]
    status, collection = await fetch_json(f"{instance.actor_url}/outbox")
    assert status == 200 and collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == 25
    status, first = await fetch_json(collection["first"])
    assert len(first["orderedItems"]) == COLLECTION_PAGE_SIZE
    assert first["orderedItems"][0]["object"]["id"] == uris[-1]
    status, second = await fetch_json(first["next"])
    assert [item["object"]["id"] for item in second["orderedItems"]] == list(reversed(uris[:5]))
    assert "next" not in second


async def test_deleted_post_answers_410_with_a_tombstone(instance):
    post = await outbox.publish_post(instance.instance, "Annulé")
    await outbox.delete_post(instance.instance, post.uri)
    status, tombstone = await fetch_json(post.uri)
    assert status == 410 and tombstone["type"] == "Tombstone" and tombstone["id"] == post.uri


async def test_unknown_objects_and_bad_pages_are_clear_errors(instance):
    for url, expected in [(f"{instance.url}/posts/nope", 404), (f"{instance.url}/users/nobody", 404),
                          (f"{instance.actor_url}/outbox?page=abc", 400),
                          (f"{instance.url}/activities/nope", 404)]:
        status, body = await fetch_json(url)
        assert status == expected, url
        assert "error" in body


async def test_followers_only_posts_are_not_served_publicly(instance):
    post = await outbox.publish_post(instance.instance, "Réservé aux membres", visibility="followers")
    status, _ = await fetch_json(post.uri)
    assert status == 404
