"""Real payloads from real servers reach one of our instances, signed, and a user sees the effect.

The remote server (Mastodon, Misskey, Fedify, Mobilizon...) is played by a small Starlette app on
loopback: it serves the captured actor document and objects rewritten to its own URL, with a
public key generated for the test, and records what we deliver to it. The captured activity is
POSTed to our shared inbox, signed with draft-cavage like Mastodon does; `settle()` then applies
it, and the test looks at what a member of the association would see.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.auth import SignatureAuth
from activitypub.keys import generate_rsa_key, public_key_to_pem
from activitypub.vocab import parse_actor
from fedi import outbox, storage
from fedi_testing import Served, serve_app, settle

PAYLOADS = Path(__file__).resolve().parent / "fixtures" / "payloads"
OUR_ORIGIN = "https://avf-lyon.example"  # how the fixtures spell our instance
OUR_ACTOR = f"{OUR_ORIGIN}/users/avf-lyon"
OUR_POST = f"{OUR_ORIGIN}/posts/0123456789abcdef"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


class Peer:
    """A remote server speaking with the captured payloads of one software, rewritten to its URL."""

    def __init__(self, origin: str, ours: Served, base: str) -> None:
        self.origin = origin  # the fixtures' spelling of this server, e.g. https://mastodon.example
        self.ours = ours
        self.base = base
        self.key = generate_rsa_key()
        self.reply_target = OUR_POST
        self.documents: dict[str, Any] = {}
        self.gone: set[str] = set()
        self.received: list[dict[str, Any]] = []
        self.key_id = ""

    def rewrite(self, data: Any) -> Any:
        """The fixture as this server would send it here: its origin is our loopback URL, and the
        placeholders for our instance point at the real instance under test."""
        text = json.dumps(data)
        for old, new in ((OUR_POST, self.reply_target), (OUR_ACTOR, self.ours.actor_url),
                         (OUR_ORIGIN, self.ours.url), (self.origin, self.base)):
            text = text.replace(old, new)
        return json.loads(text)

    def url(self, fixture_url: str) -> str:
        return str(self.rewrite(fixture_url))

    def serve(self, document: dict[str, Any], at: str | None = None) -> dict[str, Any]:
        self.documents[urlsplit(at or document["id"]).path] = document
        return document

    def serve_actor(self, fixture: str | dict[str, Any]) -> dict[str, Any]:
        """The actor document, with a key of ours in `publicKey`; returns it as served."""
        actor = self.rewrite(load(fixture) if isinstance(fixture, str) else fixture)
        actor["publicKey"]["publicKeyPem"] = public_key_to_pem(self.key)
        self.key_id = actor["publicKey"]["id"]
        return self.serve(actor)

    def activity(self, fixture: str) -> dict[str, Any]:
        activity: dict[str, Any] = self.rewrite(load(fixture))
        return activity

    async def deliver(self, activity: dict[str, Any]) -> httpx.Response:
        """POST to our shared inbox, signed with draft-cavage as Mastodon signs."""
        async with httpx.AsyncClient() as client:
            return await client.post(
                f"{self.ours.url}/inbox", content=json.dumps(activity).encode(),
                headers={"Content-Type": "application/activity+json"},
                auth=SignatureAuth(self.key_id, self.key),
            )

    async def deliver_and_settle(self, activity: dict[str, Any]) -> None:
        response = await self.deliver(activity)
        assert response.status_code == 202, response.text
        await settle(self.ours)

    async def follow_from_ours(self, actor: dict[str, Any]) -> None:
        """Our association already follows this actor (accepted)."""
        served = self.ours
        await storage.put_remote_actor(served.db, parse_actor(actor), served.instance.clock())
        async with served.db.transaction() as tx:
            await storage.put_follow(tx, served.actor_url, actor["id"], None, "accepted")


def peer_app(peer: Peer) -> Starlette:
    async def endpoint(request: Request) -> Response:
        if request.method == "POST":
            peer.received.append(json.loads(await request.body()))
            return Response(status_code=202)
        path = request.url.path
        if path in peer.gone:
            return Response(status_code=410)
        if path not in peer.documents:
            return Response(status_code=404)
        return Response(json.dumps(peer.documents[path]), media_type="application/activity+json")

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


@pytest.fixture
async def lyon(make_instance: Any) -> Served:
    served: Served = await make_instance("avf-lyon")
    return served


@pytest.fixture
async def remote(lyon: Served) -> AsyncIterator[Any]:
    """`peer = await remote("https://mastodon.example")`: a fake server of that software."""
    stack = contextlib.AsyncExitStack()

    async def start(origin: str) -> Peer:
        peer = Peer(origin, lyon, "")
        peer.base = await stack.enter_async_context(serve_app(peer_app(peer)))
        return peer

    async with stack:
        yield start


async def comments(served: Served, post_uri: str, status: str = "pending") -> list[storage.Post]:
    return await storage.list_replies(served.db, post_uri, (status,))


# --- replies become comments awaiting moderation ----------------------------------------------------


async def test_a_mastodon_reply_becomes_a_pending_comment_without_script(lyon, remote):
    """Given our published post, when Alice replies from Mastodon (with a script slipped into the
    HTML), then the post has one comment awaiting moderation: her words, no script."""
    post = await outbox.publish_post(lyon.instance, "Café-rencontre jeudi 10 h")
    peer = await remote("https://mastodon.example")
    peer.reply_target = post.uri
    alice = peer.serve_actor("mastodon_actor")
    create = peer.activity("mastodon_create_note_reply")
    create["object"]["content"] += "<script>alert('xss')</script>"
    create["object"]["contentMap"]["fr"] += "<script>alert('xss')</script>"

    await peer.deliver_and_settle(create)

    (comment,) = await comments(lyon, post.uri)
    assert comment.author == alice["id"] and comment.uri == create["object"]["id"]
    assert "Je viendrai jeudi au café-rencontre" in comment.content
    assert "<script" not in comment.content and "alert" not in comment.content
    assert comment.visibility == "public" and comment.published_at.startswith("2024-11-05T09:14:03")
    assert await comments(lyon, post.uri, "published") == []


async def test_a_misskey_reply_with_misskey_content_and_quote_is_a_pending_comment(lyon, remote):
    post = await outbox.publish_post(lyon.instance, "Appel aux bénévoles")
    peer = await remote("https://misskey.example")
    peer.reply_target = post.uri
    frank = peer.serve_actor("misskey_actor")

    await peer.deliver_and_settle(peer.activity("misskey_create_note_reply"))

    (comment,) = await comments(lyon, post.uri)
    assert comment.author == frank["id"]
    assert "Super initiative" in comment.content and "#bénévolat" in comment.content


async def test_a_fedify_reply_with_an_integrity_proof_and_ld_signature_is_accepted(lyon, remote):
    """Fedify adds `proof` (eddsa-jcs-2022) and an RsaSignature2017 and writes `to: "as:Public"`;
    the HTTP signature is what we check, the rest is carried politely."""
    post = await outbox.publish_post(lyon.instance, "Atelier conversation")
    peer = await remote("https://fedify.example")
    peer.reply_target = post.uri
    peer.serve_actor("fedify_actor")
    create = peer.activity("fedify_create_note")
    assert create["proof"]["cryptosuite"] == "eddsa-jcs-2022" and create["object"]["to"] == "as:Public"

    await peer.deliver_and_settle(create)

    (comment,) = await comments(lyon, post.uri)
    assert "Atelier conversation samedi" in comment.content and comment.visibility == "public"


async def test_a_mastodon_edit_changes_the_comment_and_a_tombstone_removes_it(lyon, remote):
    post = await outbox.publish_post(lyon.instance, "Café-rencontre jeudi 10 h")
    peer = await remote("https://mastodon.example")
    peer.reply_target = post.uri
    peer.serve_actor("mastodon_actor")
    await peer.deliver_and_settle(peer.activity("mastodon_create_note_reply"))

    await peer.deliver_and_settle(peer.activity("mastodon_update_note"))
    (edited,) = await comments(lyon, post.uri)
    assert "Je viendrai jeudi avec ma voisine" in edited.content
    assert edited.updated_at and edited.updated_at.startswith("2024-11-05T09:31:47")

    await peer.deliver_and_settle(peer.activity("mastodon_delete_note"))
    gone = await storage.get_post_by_uri(lyon.db, edited.uri)
    assert gone is not None and gone.is_deleted and gone.content == ""
    assert await comments(lyon, post.uri) == []


# --- likes, boosts, follows -----------------------------------------------------------------------


async def test_mastodon_like_and_boost_are_counted_and_undo_like_uncounts(lyon, remote):
    post = await outbox.publish_post(lyon.instance, "Sortie au musée des Confluences")
    peer = await remote("https://mastodon.example")
    peer.reply_target = post.uri
    peer.serve_actor("mastodon_actor")

    await peer.deliver_and_settle(peer.activity("mastodon_like"))
    await peer.deliver_and_settle(peer.activity("mastodon_announce"))
    assert await storage.count_reactions(lyon.db, post.uri) == {"Like": 1, "Announce": 1}

    await peer.deliver_and_settle(peer.activity("mastodon_undo_like"))
    assert await storage.count_reactions(lyon.db, post.uri) == {"Like": 0, "Announce": 1}


async def test_a_mastodon_follow_is_accepted_and_its_undo_removes_the_follower(lyon, remote):
    peer = await remote("https://mastodon.example")
    alice = peer.serve_actor("mastodon_actor")
    follow = peer.activity("mastodon_follow")

    await peer.deliver_and_settle(follow)

    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == [alice["id"]]
    assert await storage.count_deliveries(lyon.db) == {"done": 1}
    (accept,) = [a for a in peer.received if a.get("type") == "Accept"]
    assert accept["actor"] == lyon.actor_url and accept["object"]["id"] == follow["id"]

    await peer.deliver_and_settle(peer.activity("mastodon_undo_follow"))
    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == []


async def test_a_deleted_mastodon_account_loses_its_follow_and_its_comments(lyon, remote):
    """Given Alice follows us and commented, when her account is deleted (her actor now answers
    410 Gone, her key is known from before), then she is no follower and her comment is gone."""
    post = await outbox.publish_post(lyon.instance, "Café-rencontre jeudi 10 h")
    peer = await remote("https://mastodon.example")
    peer.reply_target = post.uri
    alice = peer.serve_actor("mastodon_actor")
    await peer.deliver_and_settle(peer.activity("mastodon_follow"))
    await peer.deliver_and_settle(peer.activity("mastodon_create_note_reply"))
    assert len(await comments(lyon, post.uri)) == 1

    peer.gone.add(urlsplit(alice["id"]).path)
    await peer.deliver_and_settle(peer.activity("mastodon_delete_account"))

    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == []
    assert await comments(lyon, post.uri) == []
    comment = await storage.get_post_by_uri(lyon.db, peer.url(
        "https://mastodon.example/users/alice/statuses/113456789012345678"))
    assert comment is not None and comment.is_deleted


async def test_a_mastodon_profile_update_is_refetched_from_its_origin(lyon, remote):
    peer = await remote("https://mastodon.example")
    alice = peer.serve_actor("mastodon_actor")
    await peer.deliver_and_settle(peer.activity("mastodon_follow"))
    alice["name"] = "Alice M."  # what the origin now serves; the embedded copy says otherwise

    await peer.deliver_and_settle(peer.activity("mastodon_update_person"))

    stored = await storage.get_remote_actor_by_uri(lyon.db, alice["id"])
    assert stored is not None and stored.name == "Alice M."


async def test_a_real_payload_signed_with_another_key_is_refused_and_changes_nothing(lyon, remote):
    post = await outbox.publish_post(lyon.instance, "Café-rencontre jeudi 10 h")
    peer = await remote("https://mastodon.example")
    peer.reply_target = post.uri
    peer.serve_actor("mastodon_actor")
    peer.key = generate_rsa_key()  # not the key the actor document publishes

    response = await peer.deliver(peer.activity("mastodon_create_note_reply"))

    assert response.status_code == 401
    await settle(lyon)
    assert await comments(lyon, post.uri) == []


# --- posts from followed actors reach the timeline ------------------------------------------------


def odd_actor() -> dict[str, Any]:
    """An actor for the edge-case payloads of https://odd.example (a Mastodon-shaped document)."""
    text = json.dumps(load("mastodon_actor"))
    text = text.replace("https://mastodon.example/users/alice", "https://odd.example/users/oscar")
    return dict(json.loads(text.replace("https://mastodon.example", "https://odd.example")))


TIMELINE_CASES = {
    # fixture: (origin, actor fixture, text the member reads, type, title)
    "mobilizon_create_event": ("https://mobilizon.example", "mobilizon_actor",
                               "Pique-nique de rentrée des nouveaux arrivants", "Event", "Pique-nique de rentrée"),
    "gotosocial_create_note": ("https://gts.example", "gotosocial_actor", "Sortie au marché de la Croix-Rousse",
                               "Note", None),
    "akkoma_create_note": ("https://akkoma.example", "akkoma_actor", "Atelier <strong>couture</strong> mardi",
                           "Note", None),
    "lemmy_create_page": ("https://lemmy.example", None, "cours du soir", "Page",
                          "Bons plans pour apprendre le français à Lyon ?"),
    "peertube_create_video": ("https://peertube.example", "peertube_actor", "traboules", "Video",
                              "Visite guidée du Vieux-Lyon"),
    "edge_to_single_string": ("https://odd.example", "odd", "Une seule adresse", "Note", None),
    "edge_object_one_item_list": ("https://odd.example", "odd", "Objet dans une liste", "Note", None),
    "edge_type_list": ("https://odd.example", "odd", "Deux types", "Note", None),
    "edge_content_map_only": ("https://odd.example", "odd", "Soirée d'accueil vendredi", "Note", "Soirée d'accueil"),
    "edge_published_without_timezone": ("https://odd.example", "odd", "Sans fuseau", "Note", None),
    "edge_public_spellings": ("https://odd.example", "odd", "Public, autrement écrit", "Note", None),
}


def lemmy_actor() -> dict[str, Any]:
    """Lemmy 0.19's Person (no fixture of its own: only what verification and parsing need)."""
    hugo = "https://lemmy.example/u/hugo"
    return {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Person", "id": hugo, "preferredUsername": "hugo", "inbox": f"{hugo}/inbox",
            "outbox": f"{hugo}/outbox", "endpoints": {"sharedInbox": "https://lemmy.example/inbox"},
            "publicKey": {"id": f"{hugo}#main-key", "owner": hugo, "publicKeyPem": ""},
            "published": "2023-01-10T09:00:00Z"}


@pytest.mark.parametrize("fixture", sorted(TIMELINE_CASES))
async def test_a_post_from_an_actor_we_follow_lands_in_the_timeline(lyon, remote, fixture):
    """Given our association follows the author, when its post arrives, then it is in our
    timeline as a published public post with its text (and title, for events and pages)."""
    origin, actor_fixture, text, kind, title = TIMELINE_CASES[fixture]
    peer = await remote(origin)
    actor_doc = {"odd": odd_actor(), None: lemmy_actor()}.get(actor_fixture, actor_fixture)
    author = peer.serve_actor(actor_doc)
    await peer.follow_from_ours(author)
    create = peer.activity(fixture)

    await peer.deliver_and_settle(create)

    (post,) = await storage.list_timeline(lyon.db, 10)
    assert post.author == author["id"] and post.type == kind and post.title == title
    assert text in post.content
    assert post.status == "published" and post.visibility == "public"


async def test_a_post_from_an_actor_nobody_follows_is_not_kept(lyon, remote):
    peer = await remote("https://akkoma.example")
    peer.serve_actor("akkoma_actor")
    create = peer.activity("akkoma_create_note")

    await peer.deliver_and_settle(create)

    assert await storage.get_post_by_uri(lyon.db, create["object"]["id"]) is None


async def test_a_first_follow_from_gotosocial_is_accepted(lyon, remote):
    """Given a GoToSocial account we never saw, when it follows us (keyId = its /main-key
    path), then its key is found through the stub and the follow is accepted."""
    peer = await remote("https://gts.example")
    bob = peer.serve_actor("gotosocial_actor")
    stub = peer.rewrite(load("gotosocial_public_key"))
    stub["publicKey"]["publicKeyPem"] = bob["publicKey"]["publicKeyPem"]
    peer.serve(stub, at=bob["publicKey"]["id"])
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "actor": bob["id"],
              "id": f"{peer.base}/users/bob/follow/01JCK7A0B1C2D3E4F5G6H7J8K9", "object": lyon.actor_url,
              "type": "Follow"}

    await peer.deliver_and_settle(follow)

    assert await storage.list_followers(lyon.db, lyon.actor_url, 10) == [bob["id"]]
