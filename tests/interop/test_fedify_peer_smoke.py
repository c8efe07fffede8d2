"""The Fedify peer harness works on its own (no fedi server involved): two peers federate."""

from __future__ import annotations

import json
import os

import httpx
import pytest

pytestmark = pytest.mark.interop

AP = "application/activity+json"


async def get_json(url: str, accept: str = AP) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.get(url, headers={"Accept": accept})


async def test_health_and_actor_document(fedify_peer):
    health = await fedify_peer.health()
    assert health["ok"] is True
    assert health["actor"] == fedify_peer.actor_url == f"http://127.0.0.1:{fedify_peer.port}/users/alice"
    assert health["node"].startswith("v22.")
    assert health["fedify"].startswith("2.")

    response = await get_json(fedify_peer.actor_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(AP)
    actor = response.json()
    assert actor["id"] == fedify_peer.actor_url
    assert actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice"
    assert actor["inbox"] == fedify_peer.inbox_url
    assert actor["endpoints"]["sharedInbox"] == fedify_peer.shared_inbox_url
    assert actor["publicKey"]["id"] == f"{fedify_peer.actor_url}#main-key"
    assert actor["publicKey"]["owner"] == fedify_peer.actor_url
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    methods = actor["assertionMethod"]
    methods = methods if isinstance(methods, list) else [methods]
    assert all(m["type"] == "Multikey" and m["controller"] == fedify_peer.actor_url for m in methods)
    # Ed25519 public keys in multibase (base58btc, multicodec 0xed01) start with "z6Mk".
    assert any(m["publicKeyMultibase"].startswith("z6Mk") for m in methods)

    # Not an ActivityPub request: Fedify answers 406 rather than JSON.
    assert (await get_json(fedify_peer.actor_url, accept="text/html")).status_code == 406


async def test_unsigned_delivery_is_refused_and_recorded(fedify_peer):
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://127.0.0.1:9/activities/1",
        "type": "Like",
        "actor": "http://127.0.0.1:9/users/nobody",
        "object": fedify_peer.actor_url,
    }
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        response = await client.post(
            fedify_peer.inbox_url, content=json.dumps(activity), headers={"Content-Type": AP}
        )
    assert response.status_code == 401
    entry = await fedify_peer.wait_for(lambda e: e["id"] == activity["id"])
    assert entry["verified"] is False
    assert entry["reason"]["type"] == "noSignature"
    requests = await fedify_peer.requests()
    assert requests[-1]["method"] == "POST" and requests[-1]["status"] == 401


async def test_two_peers_federate(fedify_peer_factory):
    a = await fedify_peer_factory()
    b = await fedify_peer_factory(username="bob")

    # a follows b: b accepts at once (before answering the Follow's POST).
    follow_id = await a.follow(b.actor_url)
    accept = await a.wait_for(lambda e: e["type"] == "Accept")
    assert accept["verified"] is True
    assert accept["actor"] == b.actor_url
    assert accept["object"]["id"] == follow_id
    assert await a.following() == [
        {"target": b.actor_url, "id": follow_id, "accepted": True, "rejected": False}
    ]
    assert await b.followers() == [a.actor_url]
    follow = await b.wait_for(lambda e: e["type"] == "Follow")
    assert follow["id"] == follow_id and follow["verified"] is True
    # The Follow is dereferenceable at its id.
    assert (await get_json(follow_id)).json()["type"] == "Follow"

    # b posts: it reaches its follower a.
    note_id = await b.post("<p>Hello from <b>bob</b></p>")
    create = await a.wait_for(lambda e: e["type"] == "Create")
    assert create["verified"] is True
    assert create["actor"] == b.actor_url
    assert create["object"]["id"] == note_id
    assert create["object"]["content"] == "<p>Hello from <b>bob</b></p>"
    assert create["raw"]["to"] == "https://www.w3.org/ns/activitystreams#Public"  # as sent
    assert create["parsed"]["to"] == "as:Public"  # as Fedify compacts it again
    assert create["raw"]["cc"] == f"{b.actor_url}/followers"
    assert create["raw"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    note = (await get_json(note_id)).json()
    assert note["type"] == "Note" and note["attributedTo"] == b.actor_url

    # a replies, likes, announces, undoes the like; b sees them all, verified.
    reply_id = await a.reply(note_id, b.actor_url, "<p>Hi bob</p>")
    reply = await b.wait_for(lambda e: e["type"] == "Create" and e["object"]["id"] == reply_id)
    assert reply["object"]["inReplyTo"] == note_id
    like_id = await a.like(note_id, b.actor_url)
    announce_id = await a.announce(note_id, b.actor_url)
    undo_id = await a.undo(like_id)
    undo = await b.wait_for(lambda e: e["id"] == undo_id)
    assert undo["type"] == "Undo" and undo["object"]["id"] == like_id
    types = {e["id"]: e["type"] for e in await b.inbox()}
    assert types[like_id] == "Like" and types[announce_id] == "Announce"

    # b edits then deletes its note.
    update_id = await b.update(note_id, "<p>Edited</p>")
    update = await a.wait_for(lambda e: e["id"] == update_id)
    assert update["type"] == "Update" and update["object"]["content"] == "<p>Edited</p>"
    delete_id = await b.delete(note_id)
    delete = await a.wait_for(lambda e: e["id"] == delete_id)
    assert delete["type"] == "Delete" and delete["object"]["type"] == "Tombstone"
    assert (await get_json(note_id)).status_code == 410

    # a unfollows b.
    await a.unfollow(b.actor_url)
    await b.wait_for(lambda e: e["type"] == "Undo" and e["actor"] == a.actor_url)
    assert await b.followers() == []
    assert await a.following() == []
    assert all(e["verified"] for e in await a.inbox() + await b.inbox())
    assert await a.errors() == [] and await b.errors() == []


async def test_stop_leaves_no_process(fedify_peer_factory):
    peer = await fedify_peer_factory(username="carol")
    pid = peer._proc.pid
    assert peer.startup_seconds is not None and peer.startup_seconds < 10
    peer.stop()
    assert not peer.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    peer.stop()  # idempotent
