"""Three associations and the national relay, all ours, on loopback: what one publishes
reaches the others through the relay; edits and deletions follow; nothing private leaks."""

from __future__ import annotations

import httpx
import pytest

from activitypub.vocab import PUBLIC
from fedi import blocks, following, outbox, storage
from fedi.relay.network import hide_post
from fedi.relay.subscriptions import set_subscription_state
from fedi_testing import settle, signer_of


@pytest.fixture
async def network(make_instance):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    nantes = await make_instance("avf-nantes")
    paris = await make_instance("avf-paris")
    for member in (lyon, nantes):
        await storage.put_relay_allowed(hub.db, member.instance.config.host)
    for member in (lyon, nantes, paris):
        await following.subscribe_to_relay(member.instance, hub.url)
    await settle(hub, lyon, nantes, paris)
    return hub, lyon, nantes, paris


async def test_allowlisted_instances_are_accepted_and_others_wait_for_the_admin(network):
    hub, lyon, nantes, paris = network
    states = {s.domain: s.state for s in await storage.list_relay_subscriptions(hub.db)}
    assert states == {lyon.instance.config.host: "accepted", nantes.instance.config.host: "accepted",
                      paris.instance.config.host: "pending"}
    follow = await storage.get_follow(lyon.db, lyon.instance.instance_actor.uri, f"{hub.url}/actor")
    assert follow.state == "accepted"
    pending = await storage.get_follow(paris.db, paris.instance.instance_actor.uri, f"{hub.url}/actor")
    assert pending.state == "pending"


async def test_a_public_post_reaches_the_other_subscribers_and_its_edit_and_deletion_follow(network):
    hub, lyon, nantes, paris = network
    post = await outbox.publish_post(lyon.instance, "Forum des associations **samedi**", title="Forum")
    await settle(hub, lyon, nantes, paris)

    received = await storage.get_post_by_uri(nantes.db, post.uri)
    assert received is not None and "<strong>samedi</strong>" in received.content
    assert await storage.get_post_by_uri(paris.db, post.uri) is None  # not approved: nothing
    kept = await storage.get_post_by_uri(hub.db, post.uri)
    assert kept is not None and kept.author == lyon.actor_url
    announced = await storage.list_deliveries_for_activity(hub.db, (await _last_announce(hub)).uri)
    assert [d["inbox"] for d in announced] == [f"{nantes.url}/inbox"]

    await outbox.edit_post(lyon.instance, post.uri, "Forum des associations **dimanche**")
    await settle(hub, lyon, nantes, paris)
    assert "<strong>dimanche</strong>" in (await storage.get_post_by_uri(nantes.db, post.uri)).content

    await outbox.delete_post(lyon.instance, post.uri)
    await settle(hub, lyon, nantes, paris)
    assert (await storage.get_post_by_uri(nantes.db, post.uri)).is_deleted
    assert (await storage.get_post_by_uri(hub.db, post.uri)).is_deleted


async def test_an_approved_instance_receives_what_comes_next(network):
    hub, lyon, nantes, paris = network
    await set_subscription_state(hub.instance, paris.instance.config.host, "approve")
    await settle(hub, lyon, nantes, paris)
    assert (await storage.get_follow(paris.db, paris.instance.instance_actor.uri,
                                     f"{hub.url}/actor")).state == "accepted"
    post = await outbox.publish_post(nantes.instance, "Pique-nique au parc")
    await settle(hub, lyon, nantes, paris)
    assert await storage.get_post_by_uri(paris.db, post.uri) is not None
    assert await storage.get_post_by_uri(lyon.db, post.uri) is not None


async def test_members_only_posts_never_reach_the_relay(network):
    hub, lyon, nantes, paris = network
    secret = await outbox.publish_post(lyon.instance, "Code de la porte : 1234", visibility="followers")
    await settle(hub, lyon, nantes, paris)
    assert await storage.get_post_by_uri(hub.db, secret.uri) is None
    assert await storage.get_post_by_uri(nantes.db, secret.uri) is None
    assert await storage.count_deliveries(lyon.db) == {"done": 1}  # only the relay Follow


async def test_the_relay_refuses_posts_from_non_subscribers(network):
    hub, lyon, nantes, paris = network
    create = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Create",
              "id": f"{paris.url}/activities/x", "actor": paris.actor_url, "to": [PUBLIC],
              "object": {"id": f"{paris.url}/posts/x", "type": "Note", "attributedTo": paris.actor_url,
                         "content": "spam", "to": [PUBLIC]}}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{hub.url}/inbox", json=create, auth=signer_of(paris.instance),
                                     headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 403
    assert await storage.get_post_by_uri(hub.db, f"{paris.url}/posts/x") is None


async def test_mastodon_style_subscription_follows_the_public_collection(make_instance):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    await storage.put_relay_allowed(hub.db, lyon.instance.config.host)
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
              "id": f"{lyon.url}/activities/relay-follow", "actor": lyon.actor_url, "object": PUBLIC}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{hub.url}/inbox", json=follow, auth=signer_of(lyon.instance),
                                     headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 202
    await settle(hub, lyon)
    [subscription] = await storage.list_relay_subscriptions(hub.db)
    assert subscription.state == "accepted" and subscription.actor == lyon.actor_url


async def _last_announce(hub):
    row = await hub.db.fetchone("SELECT uri FROM activities WHERE type = 'Announce' ORDER BY id DESC LIMIT 1")
    return await storage.get_activity_by_uri(hub.db, row["uri"])


async def test_the_relay_home_page_shows_the_network_news(network):
    hub, lyon, nantes, paris = network
    await outbox.publish_post(lyon.instance, "Vide-grenier <script>alert(1)</script> **dimanche**")
    await settle(hub, lyon, nantes, paris)
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{hub.url}/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<strong>dimanche</strong>" in page.text and "<script>alert" not in page.text
    assert "2 associations" in page.text


async def test_the_relay_directory_lists_the_subscribed_associations(network):
    """Given subscriptions (no post yet), the relay knows each instance's association from its
    NodeInfo; only accepted subscriptions are listed."""
    hub, lyon, nantes, paris = network
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{hub.url}/associations", headers={"Accept": "text/html"})
        missing = await client.get(f"{lyon.url}/associations", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Avf Lyon" in page.text and f"@avf-lyon@{lyon.instance.config.host}" in page.text
    assert "Avf Nantes" in page.text and "Avf Paris" not in page.text  # paris still waits
    assert missing.status_code == 404


async def test_a_subscriber_that_is_down_does_not_hold_up_the_others(network):
    hub, lyon, nantes, paris = network
    await set_subscription_state(hub.instance, paris.instance.config.host, "approve")
    await settle(hub, lyon, nantes, paris)
    paris.server.should_exit = True  # paris's server goes down (its data stays)
    await paris.task

    post = await outbox.publish_post(lyon.instance, "Assemblée générale mardi")
    await settle(hub, lyon, nantes)
    assert await storage.get_post_by_uri(nantes.db, post.uri) is not None
    announce = await _last_announce(hub)
    states = {d["inbox"]: (d["state"], d["attempts"])
              for d in await storage.list_deliveries_for_activity(hub.db, announce.uri)}
    assert states[f"{nantes.url}/inbox"] == ("done", 1)
    assert states[f"{paris.url}/inbox"] == ("queued", 1)  # retried later, with backoff


async def test_blocking_a_domain_on_the_relay_ends_its_subscription_and_its_posts(network):
    hub, lyon, nantes, paris = network
    post = await outbox.publish_post(lyon.instance, "Avant le blocage")
    await settle(hub, lyon, nantes, paris)
    assert (await storage.get_post_by_uri(hub.db, post.uri)).status == "published"

    # every instance here is on 127.0.0.1, and a block covers every port of its host
    await blocks.block_domain(hub.instance, blocks.parse_domain(lyon.url), "spam")
    assert await storage.list_relay_subscriptions(hub.db) == []
    assert (await storage.get_post_by_uri(hub.db, post.uri)).is_deleted
    later = await outbox.publish_post(lyon.instance, "Après le blocage")
    await settle(hub, lyon, nantes, paris)
    assert await storage.get_post_by_uri(nantes.db, later.uri) is None


async def test_a_hidden_post_leaves_the_relay_pages(network):
    hub, lyon, nantes, paris = network
    post = await outbox.publish_post(lyon.instance, "Publicité déguisée")
    await settle(hub, lyon, nantes, paris)
    assert await hide_post(hub.instance, post.uri)
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{hub.url}/", headers={"Accept": "text/html"})
    assert "Publicité déguisée" not in page.text
    assert not await hide_post(hub.instance, f"{lyon.url}/posts/unknown")


async def test_a_relayed_deletion_of_a_post_never_received_is_done_at_once(network):
    """Given nantes never got a post (it was published before approval), when the relay passes
    on its deletion, the origin answers 410 and the announce is done, not retried for hours."""
    hub, lyon, nantes, paris = network
    post = await outbox.publish_post(paris.instance, "Publié avant l'approbation")
    await set_subscription_state(hub.instance, paris.instance.config.host, "approve")
    await settle(hub, lyon, nantes, paris)
    await outbox.delete_post(paris.instance, post.uri)
    await settle(hub, lyon, nantes, paris)
    assert await storage.get_post_by_uri(nantes.db, post.uri) is None
    assert await storage.count_inbox_items(nantes.db) == {"done": 2}  # the Accept and this Announce
