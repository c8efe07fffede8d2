"""A real, independent server subscribes to our relay the way Mastodon does: its instance actor
(an `Application`, here Fedify's) sends a Follow of the Public collection to the relay's inbox.
It then receives the network's posts as the relay's Announces, and what it sends the relay
reaches our associations."""

from __future__ import annotations

import pytest

from fedi import following, outbox, storage
from fedi.relay.subscriptions import set_subscription_state
from fedi_testing import settle

pytestmark = pytest.mark.interop


async def test_fedify_subscribes_mastodon_style_and_posts_flow_both_ways(make_instance, fedify_peer):
    hub = await make_instance("relay", role="relay")
    lyon = await make_instance("avf-lyon")
    peer_host = fedify_peer.base_url.split("//")[1]
    relay_actor, relay_inbox = f"{hub.url}/actor", f"{hub.url}/inbox"
    await storage.put_relay_allowed(hub.db, lyon.instance.config.host)
    await following.subscribe_to_relay(lyon.instance, hub.url)
    await settle(hub, lyon)

    # not on the allowlist: the subscription waits for the relay's admin
    await fedify_peer.subscribe_to_relay(relay_actor, relay_inbox)
    await settle(hub)
    waiting = await storage.get_relay_subscription(hub.db, peer_host)
    assert waiting.state == "pending" and waiting.actor == fedify_peer.instance_actor_url
    await set_subscription_state(hub.instance, peer_host, "approve")
    await settle(hub)
    accept = await fedify_peer.wait_for(lambda e: e["type"] == "Accept")
    assert accept["verified"] is True and accept["actor"] == relay_actor

    post = await outbox.publish_post(lyon.instance, "Forum des associations **samedi**")
    await settle(hub, lyon)
    announce = await fedify_peer.wait_for(lambda e: e["type"] == "Announce")
    assert announce["verified"] is True and announce["actor"] == relay_actor
    assert post.uri in str(announce["object"])

    note = await fedify_peer.post_to_relay(relay_actor, relay_inbox, "Bonjour de Fedify")
    await settle(hub, lyon)
    received = await storage.get_post_by_uri(lyon.db, note)
    assert received is not None and "Bonjour de Fedify" in received.content
