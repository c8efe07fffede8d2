"""Nobody can act in someone else's name: each forged activity is signed validly by "mallory"
(one of our instances playing a remote server), about things that belong to an honest peer
or to us, and each test checks what a user would see: the post, comment, follower or count
is as it was.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from activitypub.vocab import PUBLIC
from fedi import following, outbox, storage
from fedi.storage import Post
from fedi_testing import Served, fetch_json, settle, signer_of, table_counts

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"
KEPT_TABLES = ("follows", "posts", "reactions", "deliveries")


async def deliver(sender: Served, target: Served, activity: dict[str, Any], *, shared: bool = False) -> httpx.Response:
    """POSTs `activity` to the target's inbox, signed by the sender's association actor."""
    inbox = f"{target.url}/inbox" if shared else f"{target.actor_url}/inbox"
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(inbox, content=json.dumps(activity).encode(), auth=signer_of(sender.instance),
                                 headers={"Content-Type": ACTIVITY_JSON})


def activity(sender: Served, kind: str, name: str, obj: Any, actor: str | None = None) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": f"{sender.url}/activities/{name}", "type": kind,
            "actor": actor or sender.actor_url, "object": obj, "to": [PUBLIC]}


def note(author: Served, name: str, in_reply_to: str | None, content: str, *,
         attributed_to: str | None = None, host: Served | None = None) -> dict[str, Any]:
    return {"id": f"{(host or author).url}/posts/{name}", "type": "Note",
            "attributedTo": attributed_to or author.actor_url, "inReplyTo": in_reply_to,
            "content": content, "to": [PUBLIC], "cc": [f"{author.actor_url}/followers"],
            "published": "2024-05-02T10:00:00Z"}


async def settle_checked(target: Served, *others: Served) -> None:
    """`settle`, then no activity the target received failed with an internal error (a refusal
    must come from a check, not from a crash)."""
    await settle(target, *others)
    rows = await target.db.fetchall(
        "SELECT type, last_error FROM inbox WHERE last_error LIKE 'internal error%'")
    assert not [tuple(row) for row in rows]


async def reactions(target: Served, uri: str) -> dict[str, int]:
    """The counts shown under a post (kinds with none left out)."""
    return {kind: n for kind, n in (await storage.count_reactions(target.db, uri)).items() if n}


def assert_answered(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)
    if response.status_code >= 400:
        assert response.json()["error"]


@pytest.fixture
async def commented(peers: tuple[Served, Served, Served]) -> tuple[Served, Served, Served, Post, Post]:
    """The peers plus one of our posts and the peer's (pending) reply to it."""
    target, peer, mallory = peers
    post = await outbox.publish_post(target.instance, "Permanence **mardi** à 14 h", title="Permanence")
    reply = note(peer, "reply-1", post.uri, "<p>Merci, je viendrai !</p>")
    assert_answered(await deliver(peer, target, activity(peer, "Create", "create-reply-1", reply)), 202)
    await settle_checked(target, peer, mallory)
    comment = await storage.get_post_by_uri(target.db, reply["id"])
    assert comment is not None and comment.status == "pending" and comment.author == peer.actor_url
    return target, peer, mallory, post, comment


# ------------------------------------------------------------------ Create


@pytest.mark.parametrize("claimed", ["peer", "target"])
async def test_a_create_attributed_to_someone_else_stores_nothing(commented, claimed):
    """Mallory's own object id, but attributed to the peer (or to our association)."""
    target, peer, mallory, post, _ = commented
    author = peer.actor_url if claimed == "peer" else target.actor_url
    forged = note(mallory, "forged-1", post.uri, "<p>Le rendez-vous est annulé.</p>", attributed_to=author)
    before = await table_counts(target.instance, KEPT_TABLES)
    response = await deliver(mallory, target, activity(mallory, "Create", "create-forged-1", forged))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    assert await storage.get_post_by_uri(target.db, forged["id"]) is None
    assert await table_counts(target.instance, KEPT_TABLES) == before


@pytest.mark.parametrize("attributed_to", ["mallory", "peer"])
async def test_a_create_of_an_object_on_another_host_is_refused_at_once(commented, attributed_to):
    target, peer, mallory, post, _ = commented
    author = mallory.actor_url if attributed_to == "mallory" else peer.actor_url
    forged = note(mallory, "reply-2", post.uri, "<p>Faux</p>", attributed_to=author, host=peer)
    before = await table_counts(target.instance, KEPT_TABLES + ("inbox",))
    response = await deliver(mallory, target, activity(mallory, "Create", "create-reply-2", forged))
    assert_answered(response, 403)
    assert await table_counts(target.instance, KEPT_TABLES + ("inbox",)) == before
    await settle_checked(target, peer, mallory)
    assert await storage.get_post_by_uri(target.db, forged["id"]) is None


async def test_a_create_by_reference_to_someone_elses_post_stores_nothing(peers):
    """Mallory "creates" a real post of the peer by its URL: fetched from the peer, it is the
    peer's, not hers; our instance (which follows the peer) does not take it from her."""
    target, peer, mallory = peers
    theirs = await outbox.publish_post(peer.instance, "Sortie au musée samedi")
    await following.follow(target.instance, peer.actor_url)
    await settle_checked(target, peer, mallory)
    assert await storage.get_post_by_uri(target.db, theirs.uri) is None  # published before the follow
    response = await deliver(mallory, target, activity(mallory, "Create", "create-3", theirs.uri))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    assert await storage.get_post_by_uri(target.db, theirs.uri) is None


# ------------------------------------------------------------------ Update


async def test_an_update_of_someone_elses_comment_embedded_is_refused_at_once(commented):
    target, peer, mallory, _, comment = commented
    for author in (peer.actor_url, mallory.actor_url):
        edit = {**comment.raw, "attributedTo": author, "content": "<p>Spam spam spam</p>",
                "updated": "2024-05-03T10:00:00Z"}
        response = await deliver(mallory, target, activity(mallory, "Update", f"update-{author[-6:]}", edit))
        assert_answered(response, 403)
    await settle_checked(target, peer, mallory)
    assert (await storage.get_post_by_uri(target.db, comment.uri)).content == comment.content


async def test_an_update_of_someone_elses_comment_by_reference_changes_nothing(commented):
    target, peer, mallory, _, comment = commented
    response = await deliver(mallory, target, activity(mallory, "Update", "update-ref", comment.uri))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    after = await storage.get_post_by_uri(target.db, comment.uri)
    assert (after.content, after.updated_at, after.status) == (comment.content, None, "pending")


async def test_an_update_of_our_post_by_a_remote_actor_changes_nothing(commented):
    target, peer, mallory, post, _ = commented
    edit = {"id": post.uri, "type": "Note", "attributedTo": target.actor_url, "content": "<p>Annulé</p>"}
    response = await deliver(mallory, target, activity(mallory, "Update", "update-ours", edit))
    assert_answered(response, 403)
    response = await deliver(mallory, target, activity(mallory, "Update", "update-ours-ref", post.uri))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    status, document = await fetch_json(post.uri)
    assert status == 200 and "mardi" in document["content"] and "Annulé" not in document["content"]


async def test_an_update_of_someone_elses_profile_is_refused(commented):
    target, peer, mallory, _, _ = commented
    profile = {"id": peer.actor_url, "type": "Organization", "name": "Escroquerie",
               "inbox": f"{mallory.url}/inbox"}
    response = await deliver(mallory, target, activity(mallory, "Update", "update-profile", profile))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    cached = await storage.get_remote_actor_by_uri(target.db, peer.actor_url)
    assert cached.inbox == f"{peer.actor_url}/inbox" and cached.name != "Escroquerie"


# ------------------------------------------------------------------ Delete


@pytest.mark.parametrize("form", ["id", "tombstone"])
async def test_a_delete_of_someone_elses_comment_leaves_it(commented, form):
    target, peer, mallory, _, comment = commented
    obj: Any = comment.uri if form == "id" else {"id": comment.uri, "type": "Tombstone"}
    response = await deliver(mallory, target, activity(mallory, "Delete", "delete-1", obj))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    assert (await storage.get_post_by_uri(target.db, comment.uri)).status == "pending"


@pytest.mark.parametrize("sender", ["mallory", "peer"])
async def test_a_delete_of_our_post_by_a_remote_actor_leaves_it(commented, sender):
    target, peer, mallory, post, _ = commented
    remote_actor = mallory if sender == "mallory" else peer
    response = await deliver(remote_actor, target, activity(remote_actor, "Delete", "delete-ours", post.uri))
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    assert (await storage.get_post_by_uri(target.db, post.uri)).status == "published"
    status, document = await fetch_json(post.uri)
    assert status == 200 and document["type"] == "Note"


async def test_a_forged_account_deletion_of_the_peer_removes_nothing(commented):
    """"The peer's account is gone", said by mallory: signed by her (refused), or unsigned
    (a self-Delete whose key cannot be checked is acknowledged, but never applied)."""
    target, peer, mallory, _, comment = commented
    await following.follow(peer.instance, target.actor_url)
    await settle_checked(target, peer, mallory)
    gone = activity(peer, "Delete", "delete-account", peer.actor_url)
    assert_answered(await deliver(mallory, target, gone), 401, 403)
    async with httpx.AsyncClient() as client:
        unsigned = await client.post(f"{target.url}/inbox", json=gone)
    assert_answered(unsigned, 202, 401)
    await settle_checked(target, peer, mallory)
    assert await storage.list_followers(target.db, target.actor_url, 10) == [peer.actor_url]
    assert (await storage.get_post_by_uri(target.db, comment.uri)).status == "pending"


# ------------------------------------------------------------------ Undo


async def _peer_follows(target: Served, peer: Served, mallory: Served) -> str:
    await following.follow(peer.instance, target.actor_url)
    await settle_checked(target, peer, mallory)
    follow = await storage.get_follow(target.db, peer.actor_url, target.actor_url)
    assert follow is not None and follow.state == "accepted" and follow.activity_uri
    return follow.activity_uri


def _undo_objects(follow_uri: str, peer: Served, mallory: Served, target: Served) -> list[Any]:
    return [
        {"id": follow_uri, "type": "Follow", "actor": peer.actor_url, "object": target.actor_url},
        follow_uri,
        {"id": follow_uri, "type": "Follow", "actor": mallory.actor_url, "object": target.actor_url},
        {"id": follow_uri, "type": "Follow", "object": target.actor_url},
        {"type": "Follow", "actor": peer.actor_url, "object": target.actor_url},
    ]


@pytest.mark.parametrize("form", range(5))
async def test_an_undo_of_someone_elses_follow_keeps_the_follower(peers, form):
    target, peer, mallory = peers
    follow_uri = await _peer_follows(target, peer, mallory)
    obj = _undo_objects(follow_uri, peer, mallory, target)[form]
    response = await deliver(mallory, target, activity(mallory, "Undo", f"undo-{form}", obj), shared=True)
    assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    assert await storage.list_followers(target.db, target.actor_url, 10) == [peer.actor_url]
    status, followers = await fetch_json(f"{target.actor_url}/followers")  # not listed: the count
    assert status == 200 and followers["totalItems"] == 1


async def test_an_undo_of_someone_elses_like_keeps_the_like(commented):
    target, peer, mallory, post, _ = commented
    like = activity(peer, "Like", "like-1", post.uri)
    assert_answered(await deliver(peer, target, like), 202)
    await settle_checked(target, peer, mallory)
    assert await reactions(target, post.uri) == {"Like": 1}
    for n, obj in enumerate([like["id"], {k: v for k, v in like.items() if k != "actor"}, like]):
        response = await deliver(mallory, target, activity(mallory, "Undo", f"undo-like-{n}", obj))
        assert_answered(response, 202, 403)
    await settle_checked(target, peer, mallory)
    assert await reactions(target, post.uri) == {"Like": 1}


# ------------------------------------------------------------------ Announce and Like


async def test_an_announce_of_a_non_public_post_is_not_counted(commented):
    target, peer, mallory, _, comment = commented
    members_only = await outbox.publish_post(target.instance, "Réunion des bénévoles", visibility="followers")
    deleted = await outbox.publish_post(target.instance, "Erreur")
    await outbox.delete_post(target.instance, deleted.uri)
    await settle_checked(target, peer, mallory)
    before = await table_counts(target.instance, KEPT_TABLES)
    for n, uri in enumerate([members_only.uri, deleted.uri, comment.uri]):
        response = await deliver(mallory, target, activity(mallory, "Announce", f"boost-{n}", uri))
        assert_answered(response, 202)
    await settle_checked(target, peer, mallory)
    for uri in (members_only.uri, deleted.uri, comment.uri):
        assert await reactions(target, uri) == {}
    assert await table_counts(target.instance, KEPT_TABLES) == before


async def test_an_announce_of_a_public_post_is_counted(commented):
    """The control for the test above."""
    target, peer, mallory, post, _ = commented
    assert_answered(await deliver(mallory, target, activity(mallory, "Announce", "boost", post.uri)), 202)
    await settle_checked(target, peer, mallory)
    assert await reactions(target, post.uri) == {"Announce": 1}


async def test_a_like_of_a_post_that_does_not_exist_stores_nothing(commented):
    target, peer, mallory, _, comment = commented
    before = await table_counts(target.instance, KEPT_TABLES)
    for n, uri in enumerate([f"{target.url}/posts/does-not-exist", f"{peer.url}/posts/elsewhere",
                             comment.uri]):
        response = await deliver(mallory, target, activity(mallory, "Like", f"like-{n}", uri))
        assert_answered(response, 202)
    await settle_checked(target, peer, mallory)
    assert await table_counts(target.instance, KEPT_TABLES) == before


async def test_a_like_in_someone_elses_name_is_refused(commented):
    target, peer, mallory, post, _ = commented
    forged = activity(peer, "Like", "like-forged", post.uri)
    assert_answered(await deliver(mallory, target, forged), 401, 403)
    await settle_checked(target, peer, mallory)
    assert await reactions(target, post.uri) == {}


# ------------------------------------------------------------------ the control: the owner can


async def test_the_owner_itself_can_edit_and_delete_its_comment_and_undo_its_follow(commented):
    """What mallory could not do above, the peer does to its own things (so the refusals are
    the checks at work, not a path that never works)."""
    target, peer, mallory, _, comment = commented
    follow_uri = await _peer_follows(target, peer, mallory)
    edit = {**comment.raw, "content": "<p>Finalement, je viendrai mercredi.</p>",
            "updated": "2024-05-03T10:00:00Z"}
    assert_answered(await deliver(peer, target, activity(peer, "Update", "update-own", edit)), 202)
    await settle_checked(target, peer, mallory)
    assert "mercredi" in (await storage.get_post_by_uri(target.db, comment.uri)).content

    assert_answered(await deliver(peer, target, activity(peer, "Delete", "delete-own", comment.uri)), 202)
    undo = activity(peer, "Undo", "undo-own", {"id": follow_uri, "type": "Follow",
                                               "actor": peer.actor_url, "object": target.actor_url})
    assert_answered(await deliver(peer, target, undo), 202)
    await settle_checked(target, peer, mallory)
    assert (await storage.get_post_by_uri(target.db, comment.uri)).is_deleted
    assert await storage.list_followers(target.db, target.actor_url, 10) == []
