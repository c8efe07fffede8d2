"""Our association and a real Fedify 2.x server federate on loopback, both ways."""

from __future__ import annotations

import pytest

from activitypub.vocab import PUBLIC
from fedi import following, outbox, storage
from fedi_testing import settle

pytestmark = pytest.mark.interop


async def _followed_by_fedify(instance, peer):
    await peer.follow(instance.actor_url)
    await settle(instance)
    await peer.wait_for(lambda entry: entry["type"] == "Accept")


async def test_fedify_follows_our_association_and_gets_accepted(instance, fedify_peer):
    await _followed_by_fedify(instance, fedify_peer)

    assert await storage.list_followers(instance.db, instance.actor_url, 10) == [fedify_peer.actor_url]
    following = await fedify_peer.following()
    assert following == [{"target": instance.actor_url, "id": following[0]["id"], "accepted": True,
                          "rejected": False}]


async def test_our_post_edit_and_delete_reach_fedify_signed(instance, fedify_peer):
    await _followed_by_fedify(instance, fedify_peer)

    post = await outbox.publish_post(instance.instance, "Permanence **mardi** 14 h", title="Accueil")
    await settle(instance)
    create = await fedify_peer.wait_for(lambda e: e["type"] == "Create")
    note = create["object"]
    assert create["verified"] is True and create["actor"] == instance.actor_url
    assert note["id"] == post.uri and note["type"] == "Note"
    assert "<strong>mardi</strong>" in note["content"] and "Accueil" in note["content"]
    assert note["to"] == [PUBLIC] and note["cc"] == [f"{instance.actor_url}/followers"]

    await outbox.edit_post(instance.instance, post.uri, "Permanence **mercredi** 14 h")
    await settle(instance)
    update = await fedify_peer.wait_for(lambda e: e["type"] == "Update")
    assert update["verified"] is True and "<strong>mercredi</strong>" in update["object"]["content"]

    await outbox.delete_post(instance.instance, post.uri)
    await settle(instance)
    delete = await fedify_peer.wait_for(lambda e: e["type"] == "Delete")
    assert delete["verified"] is True and delete["object"]["id"] == post.uri


async def test_fedify_reply_becomes_a_comment_and_its_edit_and_deletion_apply(instance, fedify_peer):
    await _followed_by_fedify(instance, fedify_peer)
    post = await outbox.publish_post(instance.instance, "Qui vient au pique-nique ?")
    await settle(instance)

    reply_id = await fedify_peer.reply(post.uri, instance.actor_url, "<p>Moi, avec des crêpes !</p>")
    await settle(instance)
    pending = await storage.list_replies(instance.db, post.uri, ("pending",))
    assert [(c.uri, c.author) for c in pending] == [(reply_id, fedify_peer.actor_url)]
    assert "crêpes" in pending[0].content

    await fedify_peer.update(reply_id, "<p>Moi, avec des galettes !</p>")
    await settle(instance)
    edited = await storage.get_post_by_uri(instance.db, reply_id)
    assert "galettes" in edited.content and "crêpes" not in edited.content

    await fedify_peer.delete(reply_id)
    await settle(instance)
    assert (await storage.get_post_by_uri(instance.db, reply_id)).is_deleted


async def test_fedify_likes_and_boosts_are_counted_and_undone(instance, fedify_peer):
    await _followed_by_fedify(instance, fedify_peer)
    post = await outbox.publish_post(instance.instance, "Sortie au musée samedi")
    await settle(instance)

    like_id = await fedify_peer.like(post.uri, instance.actor_url)
    await fedify_peer.announce(post.uri, instance.actor_url)
    await settle(instance)
    assert await storage.count_reactions(instance.db, post.uri) == {"Like": 1, "Announce": 1}

    await fedify_peer.undo(like_id)
    await settle(instance)
    assert await storage.count_reactions(instance.db, post.uri) == {"Like": 0, "Announce": 1}


async def test_fedify_unfollow_removes_it_from_our_followers(instance, fedify_peer):
    await _followed_by_fedify(instance, fedify_peer)
    await fedify_peer.unfollow(instance.actor_url)
    await settle(instance)
    assert await storage.list_followers(instance.db, instance.actor_url, 10) == []


async def test_our_association_follows_fedify_and_receives_its_posts(instance, fedify_peer):
    await following.follow(instance.instance, fedify_peer.actor_url)
    await settle(instance)
    await fedify_peer.wait_for(lambda e: e["type"] == "Follow" and e["verified"])
    await settle(instance)  # Fedify's Accept arrived during our delivery of the Follow
    follow = await storage.get_follow(instance.db, instance.actor_url, fedify_peer.actor_url)
    assert follow.state == "accepted"
    assert await fedify_peer.followers() == [instance.actor_url]

    note_id = await fedify_peer.post("<p>Bonjour de la part d'Alice</p>")
    await settle(instance)
    timeline = await storage.list_timeline(instance.db, 10)
    assert [(p.uri, p.author) for p in timeline] == [(note_id, fedify_peer.actor_url)]
    assert "Bonjour" in timeline[0].content

    await following.unfollow(instance.instance, fedify_peer.actor_url)
    await settle(instance)
    await fedify_peer.wait_until(lambda: _no_followers(fedify_peer))


async def _no_followers(peer) -> bool:
    return await peer.followers() == []
