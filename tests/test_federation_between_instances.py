"""Two associations' instances federate with each other over real HTTP on loopback."""

from __future__ import annotations

from fedi import following, outbox, storage
from fedi_testing import fetch_json, settle


async def test_two_associations_follow_each_other_and_see_posts_edits_and_deletions(make_instance):
    lyon = await make_instance("avf-lyon")
    nantes = await make_instance("avf-nantes")

    await following.follow(lyon.instance, "@avf-nantes@" + nantes.instance.config.host)
    await following.follow(nantes.instance, lyon.actor_url)
    await settle(lyon, nantes)

    assert (await storage.get_follow(lyon.db, lyon.actor_url, nantes.actor_url)).state == "accepted"
    assert await storage.list_followers(nantes.db, nantes.actor_url, 10) == [lyon.actor_url]
    status, followers = await fetch_json(f"{lyon.actor_url}/followers")  # not listed: the count only
    assert status == 200 and followers["totalItems"] == 1
    status, followed = await fetch_json(f"{nantes.actor_url}/following?page=1")
    assert status == 200 and followed["orderedItems"] == [lyon.actor_url]

    post = await outbox.publish_post(nantes.instance, "Café-rencontre **jeudi** à 10 h", title="Café")
    await settle(lyon, nantes)
    timeline = await storage.list_timeline(lyon.db, 10)
    assert [p.uri for p in timeline] == [post.uri]
    assert "<strong>jeudi</strong>" in timeline[0].content and "Café" in timeline[0].content

    await outbox.edit_post(nantes.instance, post.uri, "Café-rencontre **vendredi** à 10 h")
    await settle(lyon, nantes)
    edited = await storage.get_post_by_uri(lyon.db, post.uri)
    assert "<strong>vendredi</strong>" in edited.content and edited.updated_at

    await outbox.delete_post(nantes.instance, post.uri)
    await settle(lyon, nantes)
    assert (await storage.get_post_by_uri(lyon.db, post.uri)).is_deleted
    assert await storage.list_timeline(lyon.db, 10) == []
    status, tombstone = await fetch_json(post.uri)
    assert status == 410 and tombstone["type"] == "Tombstone"


async def test_unfollow_removes_the_follower_and_stops_deliveries(make_instance):
    lyon = await make_instance("avf-lyon")
    nantes = await make_instance("avf-nantes")
    await following.follow(lyon.instance, nantes.actor_url)
    await settle(lyon, nantes)
    await following.unfollow(lyon.instance, nantes.actor_url)
    await settle(lyon, nantes)

    assert await storage.list_followers(nantes.db, nantes.actor_url, 10) == []
    await outbox.publish_post(nantes.instance, "Personne ne devrait recevoir ceci")
    await settle(lyon, nantes)
    assert await storage.count_deliveries(nantes.db) == {"done": 1}  # only the Accept went out
