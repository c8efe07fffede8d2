"""RSS 2.0 and Atom feeds: an association's latest public news, and the network's on the relay.
The feeds are fetched over HTTP and read back with a real XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from fedi import following, outbox, storage
from fedi_testing import Served, settle

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"


async def get_feed(served: Served, path: str) -> tuple[httpx.Response, ET.Element]:
    async with httpx.AsyncClient() as client:
        response = await client.get(served.url + path)
    assert response.status_code == 200, response.text
    return response, ET.fromstring(response.content)


def rss_items(root: ET.Element) -> list[dict[str, str | None]]:
    return [{"title": item.findtext("title"), "link": item.findtext("link"),
             "guid": item.findtext("guid"), "description": item.findtext("description"),
             "creator": item.findtext(f"{DC}creator")}
            for item in root.iter("item")]


def atom_entries(root: ET.Element) -> list[dict[str, str | None]]:
    return [{"title": entry.findtext(f"{ATOM}title"), "id": entry.findtext(f"{ATOM}id"),
             "link": entry.find(f"{ATOM}link").get("href"),  # type: ignore[union-attr]
             "content": entry.findtext(f"{ATOM}content"),
             "author": entry.findtext(f"{ATOM}author/{ATOM}uri")}
            for entry in root.iter(f"{ATOM}entry")]


@pytest.fixture
async def association(make_instance):
    return await make_instance("avf-lyon")


async def test_given_an_association_with_posts_its_feeds_list_its_public_news_newest_first(association):
    instance = association.instance
    first = await outbox.publish_post(instance, "Permanence **mardi** à la maison des associations",
                                      title="Permanence")
    second = await outbox.publish_post(instance, "Une sortie au musée des Confluences est prévue "
                                       "pour tous les nouveaux arrivants le samedi 14 juin, rendez-vous "
                                       "à 10 heures devant l'entrée.")
    expected_title = ("Une sortie au musée des Confluences est prévue pour tous les nouveaux arrivants "
                      "le samedi 14 juin, rendez-vous à 10 heures devant l'entrée.")[:80]

    response, rss = await get_feed(association, "/feed.rss")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel is not None
    assert channel.findtext("title") == instance.config.title
    assert channel.findtext("link") == association.url + "/"
    assert rss_items(rss) == [
        {"title": expected_title, "link": second.uri, "guid": second.uri,
         "description": second.content, "creator": None},
        {"title": "Permanence", "link": first.uri, "guid": first.uri,
         "description": first.content, "creator": None},
    ]
    assert "<strong>mardi</strong>" in rss_items(rss)[1]["description"]

    response, atom = await get_feed(association, "/feed.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert atom.tag == f"{ATOM}feed"
    assert atom.findtext(f"{ATOM}title") == instance.config.title
    assert atom.findtext(f"{ATOM}id") == association.actor_url
    links = {link.get("rel"): link.get("href") for link in atom.findall(f"{ATOM}link")}
    assert links == {"alternate": association.url + "/", "self": association.url + "/feed.atom"}
    assert atom.findtext(f"{ATOM}author/{ATOM}uri") == association.actor_url
    assert atom_entries(atom) == [
        {"title": expected_title, "id": second.uri, "link": second.uri,
         "content": second.content, "author": None},
        {"title": "Permanence", "id": first.uri, "link": first.uri,
         "content": first.content, "author": None},
    ]
    assert atom.find(f"{ATOM}entry/{ATOM}content").get("type") == "html"  # type: ignore[union-attr]


async def test_deleted_and_members_only_posts_and_scripts_never_appear_in_the_feeds(association):
    instance = association.instance
    kept = await outbox.publish_post(instance, "Bonjour <script>alert('feed')</script> à tous")
    deleted = await outbox.publish_post(instance, "Annonce retirée", title="Retirée")
    await outbox.delete_post(instance, deleted.uri)
    members = await outbox.publish_post(instance, "Code de la porte : 1234", visibility="followers")

    for path in ("/feed.rss", "/feed.atom"):
        response, root = await get_feed(association, path)
        body = response.text
        assert kept.uri in body
        assert deleted.uri not in body and "Retirée" not in body
        assert members.uri not in body and "1234" not in body
        assert not [element for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "script"]
        entries = rss_items(root) if path == "/feed.rss" else atom_entries(root)
        assert [entry["link"] for entry in entries] == [kept.uri]
        html = entries[0]["description" if path == "/feed.rss" else "content"] or ""
        assert "<script" not in html.lower()  # the HTML a reader renders shows it as text at most
        assert html == kept.content


async def test_an_association_without_posts_serves_valid_empty_feeds(association):
    _, rss = await get_feed(association, "/feed.rss")
    channel = rss.find("channel")
    assert channel is not None and channel.findtext("title") == association.instance.config.title
    assert rss_items(rss) == []

    _, atom = await get_feed(association, "/feed.atom")
    assert atom.findtext(f"{ATOM}id") == association.actor_url
    assert atom.findtext(f"{ATOM}updated")  # required by Atom, even with no entry
    assert atom_entries(atom) == []


async def test_only_the_latest_twenty_posts_are_listed(association):
    posts = [await outbox.publish_post(association.instance, f"Nouvelle numéro {n}") for n in range(22)]
    _, atom = await get_feed(association, "/feed.atom")
    assert [entry["id"] for entry in atom_entries(atom)] == [post.uri for post in reversed(posts[2:])]


@pytest.fixture
async def network(make_instance):
    """The relay and two associations subscribed to it (as in tests/relay/test_relay_fanout.py)."""
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    nantes = await make_instance("avf-nantes")
    for member in (lyon, nantes):
        await storage.put_relay_allowed(hub.db, member.instance.config.host)
        await following.subscribe_to_relay(member.instance, hub.url)
    await settle(hub, lyon, nantes)
    return hub, lyon, nantes


async def test_the_relay_feeds_list_the_network_news_with_their_authors(network):
    hub, lyon, nantes = network
    forum = await outbox.publish_post(lyon.instance, "Forum des associations samedi", title="Forum")
    await settle(hub, lyon, nantes)
    picnic = await outbox.publish_post(nantes.instance, "Pique-nique au parc", title="Pique-nique")
    withdrawn = await outbox.publish_post(nantes.instance, "Annulé", title="Annulé")
    secret = await outbox.publish_post(lyon.instance, "Code de la porte : 1234", visibility="followers")
    await settle(hub, lyon, nantes)
    await outbox.delete_post(nantes.instance, withdrawn.uri)
    await settle(hub, lyon, nantes)

    response, rss = await get_feed(hub, "/feed.rss")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert rss.findtext("channel/title") == hub.instance.config.title
    assert rss.findtext("channel/link") == hub.url + "/"
    items = rss_items(rss)
    assert [(item["title"], item["link"]) for item in items] == [
        ("Pique-nique", picnic.uri), ("Forum", forum.uri)]
    assert [item["creator"] for item in items] == ["Avf Nantes", "Avf Lyon"]

    response, atom = await get_feed(hub, "/feed.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert atom.findtext(f"{ATOM}id") == hub.actor_url
    entries = atom_entries(atom)
    assert [(entry["id"], entry["author"]) for entry in entries] == [
        (picnic.uri, nantes.actor_url), (forum.uri, lyon.actor_url)]
    for body in (response.text,):
        assert secret.uri not in body and withdrawn.uri not in body


async def test_the_relay_without_news_serves_valid_empty_feeds(network):
    hub, _, _ = network
    _, rss = await get_feed(hub, "/feed.rss")
    assert rss.find("channel") is not None and rss_items(rss) == []
    _, atom = await get_feed(hub, "/feed.atom")
    assert atom.findtext(f"{ATOM}title") == hub.instance.config.title and atom_entries(atom) == []
