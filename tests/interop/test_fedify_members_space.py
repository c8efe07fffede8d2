"""The members' space against real Fedify servers on loopback: a locked Group that approves
each member, sends its posts to them alone, answers fetches only for them, and passes their
replies on to every other member — with Mastodon's own addressing, not one made for us."""

from __future__ import annotations

import json

import httpx
import pytest

from activitypub.vocab import PUBLIC
from fedi import members, outbox, storage
from fedi_testing import settle

pytestmark = pytest.mark.interop


def _addressed(entry: dict) -> set[str]:
    """Every recipient an activity and its object name, whatever the shape."""
    found: set[str] = set()
    for document in (entry.get("raw") or {}, entry.get("object") if isinstance(entry.get("object"), dict) else {}):
        for field in ("to", "cc", "bto", "bcc", "audience"):
            value = document.get(field) or []
            found.update([value] if isinstance(value, str) else value)
    return found


async def _space_url(instance) -> str:
    """What a Mastodon user finds by searching @membres@DOMAIN (WebFinger, then the actor)."""
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{instance.url}/.well-known/webfinger",
                                  params={"resource": f"acct:membres@{instance.instance.config.host}"})
    links = [link["href"] for link in answer.json()["links"] if link.get("rel") == "self"]
    assert links == [instance.instance.members.uri]
    return links[0]


async def _approved(instance, peer, space: str) -> None:
    await peer.follow(space)
    await settle(instance)
    await members.approve(instance.instance, peer.actor_url)
    await settle(instance)
    await peer.wait_for(lambda e: e["type"] == "Accept")


async def test_fedify_asks_to_join_and_is_accepted_only_once_approved(instance, fedify_peer):
    space = await _space_url(instance)
    group = await fedify_peer.fetch(space, signed=False)
    document = json.loads(group[1])
    assert (document["type"], document["manuallyApprovesFollowers"]) == ("Group", True)

    await fedify_peer.follow(space)
    await settle(instance)

    assert [e["type"] for e in await fedify_peer.inbox()] == []
    assert [m.actor_uri for m in await members.list_requests(instance.instance)] == [fedify_peer.actor_url]
    [waiting] = await fedify_peer.following()
    assert (waiting["accepted"], waiting["rejected"]) == (False, False)

    await members.approve(instance.instance, fedify_peer.actor_url)
    await settle(instance)
    accept = await fedify_peer.wait_for(lambda e: e["type"] == "Accept")
    assert accept["verified"] is True and accept["actor"] == space
    [member] = await fedify_peer.following()
    assert member["accepted"] is True


async def test_a_members_post_reaches_members_only_and_is_fetched_by_them_only(instance, fedify_peer_factory):
    alice = await fedify_peer_factory("alice")
    outsider = await fedify_peer_factory("olivier")
    space = await _space_url(instance)
    await _approved(instance, alice, space)
    await outsider.follow(space)  # waits, never approved
    await outsider.follow(instance.actor_url)  # follows the association: public posts only
    await settle(instance)

    post = await outbox.publish_post(instance.instance, "Ordre du jour de l'assemblée", visibility="followers",
                                     title="Assemblée générale")
    await settle(instance)

    create = await alice.wait_for(lambda e: e["type"] == "Create")
    assert create["verified"] is True and create["actor"] == space
    assert create["object"]["id"] == post.uri and create["object"]["attributedTo"] == space
    assert _addressed(create) == {f"{space}/followers"}
    assert PUBLIC not in json.dumps(create["raw"]) and "as:Public" not in json.dumps(create["raw"])
    assert [e for e in await outsider.inbox() if e["type"] == "Create"] == []

    status, body = await alice.fetch(post.uri)
    assert status == 200 and json.loads(body)["id"] == post.uri
    assert (await outsider.fetch(post.uri))[0] == 404
    assert (await alice.fetch(post.uri, signed=False))[0] == 404


async def test_a_reply_with_mastodons_addressing_reaches_every_other_member(instance, fedify_peer_factory):
    alice = await fedify_peer_factory("alice")
    bob = await fedify_peer_factory("bob")
    space = await _space_url(instance)
    await _approved(instance, alice, space)
    await _approved(instance, bob, space)
    post = await outbox.publish_post(instance.instance, "Qui tient le stand samedi ?", visibility="followers")
    await settle(instance)
    await alice.wait_for(lambda e: e["type"] == "Create")

    reply_id = await alice.reply(post.uri, space, "<p>Moi, le matin.</p>", followers_only=True)
    await settle(instance)

    kept = await storage.get_post_by_uri(instance.db, reply_id)
    assert kept is not None and kept.group_uri == space and kept.visibility == "followers"
    copy = await bob.wait_for(lambda e: e["type"] == "Create" and e["object"].get("inReplyTo") == post.uri)
    note = copy["object"]
    assert copy["verified"] is True and note["attributedTo"] == space
    assert "Moi, le matin." in note["content"] and alice.actor_url in note["content"]
    assert _addressed(copy) == {f"{space}/followers"}
    assert not [tag for tag in note.get("tag") or [] if tag.get("type") == "Mention"]


async def test_a_removed_member_gets_reject_and_nothing_more(instance, fedify_peer_factory):
    alice = await fedify_peer_factory("alice")
    bob = await fedify_peer_factory("bob")
    space = await _space_url(instance)
    await _approved(instance, alice, space)
    await _approved(instance, bob, space)
    [follow] = await alice.following()

    await members.remove(instance.instance, alice.actor_url)
    await settle(instance)

    reject = await alice.wait_for(lambda e: e["type"] == "Reject")
    assert reject["verified"] is True
    inner = reject["object"]
    assert (inner["id"] if isinstance(inner, dict) else inner) == follow["id"]
    [ended] = await alice.following()
    assert ended["rejected"] is True
    await alice.clear()
    post = await outbox.publish_post(instance.instance, "Réservé aux adhérents", visibility="followers")
    await settle(instance)
    await bob.wait_for(lambda e: e["type"] == "Create" and e["object"]["id"] == post.uri)
    assert [e for e in await alice.inbox() if e["type"] == "Create"] == []
    assert (await alice.fetch(post.uri))[0] == 404
