"""What real servers send is read right: every captured payload under tests/fixtures/payloads.

Each fixture keeps the shape one server really sends (its origin is in `_source`, a key the
parsers must ignore like any other unknown key). Given the payload, when it is parsed at the
boundary, then the activity, its post or its actor come out with the fields the rest of the code
relies on.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub.errors import BadRequest
from activitypub.keys import load_public_key
from activitypub.vocab import PUBLIC, parse_activity, parse_actor, parse_note

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
OUR_ACTOR = "https://avf-lyon.example/users/avf-lyon"
OUR_POST = "https://avf-lyon.example/posts/0123456789abcdef"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


ALL_FIXTURES = sorted(path.stem for path in PAYLOADS.glob("*.json"))
ACTOR_FIXTURES = sorted(name for name in ALL_FIXTURES if name.endswith("_actor"))
ACTIVITY_FIXTURES = sorted(name for name in ALL_FIXTURES
                           if not name.endswith("_actor") and name != "gotosocial_public_key")

# name → (type, actor, object id)
ACTIVITIES: dict[str, tuple[str, str, str]] = {
    "mastodon_create_note_reply": ("Create", "https://mastodon.example/users/alice",
                                   "https://mastodon.example/users/alice/statuses/113456789012345678"),
    "mastodon_like": ("Like", "https://mastodon.example/users/alice", OUR_POST),
    "mastodon_undo_like": ("Undo", "https://mastodon.example/users/alice",
                           "https://mastodon.example/users/alice#likes/2718281"),
    "mastodon_announce": ("Announce", "https://mastodon.example/users/alice", OUR_POST),
    "mastodon_follow": ("Follow", "https://mastodon.example/users/alice", OUR_ACTOR),
    "mastodon_undo_follow": ("Undo", "https://mastodon.example/users/alice",
                             "https://mastodon.example/7c6f2a1e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"),
    "mastodon_delete_note": ("Delete", "https://mastodon.example/users/alice",
                             "https://mastodon.example/users/alice/statuses/113456789012345678"),
    "mastodon_delete_account": ("Delete", "https://mastodon.example/users/alice",
                              "https://mastodon.example/users/alice"),
    "mastodon_update_note": ("Update", "https://mastodon.example/users/alice",
                             "https://mastodon.example/users/alice/statuses/113456789012345678"),
    "mastodon_update_person": ("Update", "https://mastodon.example/users/alice",
                               "https://mastodon.example/users/alice"),
    "gotosocial_create_note": ("Create", "https://gts.example/users/bob",
                               "https://gts.example/users/bob/statuses/01JCK4Z8V5T0M1N2P3Q4R5S6T7"),
    "akkoma_create_note": ("Create", "https://akkoma.example/users/carol",
                           "https://akkoma.example/objects/6f0e7a2c-9b1d-4c3e-8f5a-2d4b6c8e0a1f"),
    "misskey_create_note_reply": ("Create", "https://misskey.example/users/9x1c2v3b4n",
                                  "https://misskey.example/notes/9y8x7w6v5u"),
    "fedify_create_note": ("Create", "https://fedify.example/users/dave",
                           "https://fedify.example/users/dave/notes/0193a4b2-5c6d-7e8f-9a0b-1c2d3e4f5a6b"),
    "mobilizon_create_event": ("Create", "https://mobilizon.example/@grace",
                               "https://mobilizon.example/events/2f8d9c1a-7b6e-4d5c-a3f2-1e0d9c8b7a65"),
    "lemmy_create_page": ("Create", "https://lemmy.example/u/hugo", "https://lemmy.example/post/48213"),
    "peertube_create_video": ("Create", "https://peertube.example/accounts/ines",
                              "https://peertube.example/videos/watch/4b5c6d7e-8f90-4a1b-b2c3-d4e5f6a7b8c9"),
    "edge_to_single_string": ("Create", "https://odd.example/users/oscar", "https://odd.example/users/oscar/notes/1"),
    "edge_object_one_item_list": ("Create", "https://odd.example/users/oscar",
                                  "https://odd.example/users/oscar/notes/2"),
    "edge_type_list": ("Create", "https://odd.example/users/oscar", "https://odd.example/users/oscar/notes/3"),
    "edge_content_map_only": ("Create", "https://odd.example/users/oscar", "https://odd.example/users/oscar/notes/4"),
    "edge_published_without_timezone": ("Create", "https://odd.example/users/oscar",
                                        "https://odd.example/users/oscar/notes/5"),
    "edge_public_spellings": ("Create", "https://odd.example/users/oscar", "https://odd.example/users/oscar/notes/6"),
}


class Post:
    """What parse_note must find in a fixture's embedded object."""

    def __init__(self, type: str, text: str, *, in_reply_to: str | None = None, public: bool = True,
                 attachments: tuple[str, ...] = (), name: str | None = None,
                 published: datetime | None = None) -> None:
        self.type, self.text, self.in_reply_to, self.public = type, text, in_reply_to, public
        self.attachments, self.name, self.published = attachments, name, published


POSTS: dict[str, Post] = {
    "mastodon_create_note_reply": Post(
        "Note", "Je viendrai jeudi au café-rencontre", in_reply_to=OUR_POST,
        attachments=("https://files.mastodon.example/media_attachments/files/113/456/789/012/345/678/original/3f2a1b9c8d7e6f50.jpg",),
        published=datetime(2024, 11, 5, 9, 14, 3, tzinfo=UTC)),
    "mastodon_update_note": Post("Note", "Je viendrai jeudi avec ma voisine", in_reply_to=OUR_POST,
                                 attachments=("https://files.mastodon.example/media_attachments/files/113/456/789/012/345/678/original/3f2a1b9c8d7e6f50.jpg",)),
    "gotosocial_create_note": Post("Note", "Sortie au marché de la Croix-Rousse"),
    "akkoma_create_note": Post("Note", "Atelier <strong>couture</strong> mardi"),
    "misskey_create_note_reply": Post(
        "Note", "Super initiative", in_reply_to=OUR_POST,
        attachments=("https://misskey.example/files/webpublic-2b3c4d5e-6f70-4a8b-9c0d-1e2f3a4b5c6d",)),
    "fedify_create_note": Post("Note", "Atelier conversation samedi", in_reply_to=OUR_POST),
    "mobilizon_create_event": Post("Event", "Pique-nique de rentrée des nouveaux arrivants",
                                   name="Pique-nique de rentrée"),
    "lemmy_create_page": Post("Page", "cours du soir", attachments=(OUR_POST,),
                              name="Bons plans pour apprendre le français à Lyon ?"),
    "peertube_create_video": Post("Video", "Une promenade dans les **traboules**",
                                  name="Visite guidée du Vieux-Lyon"),
    "edge_to_single_string": Post("Note", "Une seule adresse"),
    "edge_object_one_item_list": Post("Note", "Objet dans une liste"),
    "edge_type_list": Post("Note", "Deux types"),
    "edge_content_map_only": Post("Note", "Soirée d'accueil vendredi", name="Soirée d'accueil"),
    "edge_published_without_timezone": Post(
        "Note", "Sans fuseau", published=datetime(2024, 11, 8, 10, 0, tzinfo=UTC)),
    "edge_public_spellings": Post("Note", "Public, autrement écrit"),
}

# name → (inbox, shared inbox, key id, preferred username, icon url)
ACTORS: dict[str, tuple[str, str | None, str, str, str | None]] = {
    "mastodon_actor": (
        "https://mastodon.example/users/alice/inbox", "https://mastodon.example/inbox",
        "https://mastodon.example/users/alice#main-key", "alice",
        "https://files.mastodon.example/accounts/avatars/109/301/234/567/890/123/original/5e4d3c2b1a098f7e.png"),
    "gotosocial_actor": (
        "https://gts.example/users/bob/inbox", "https://gts.example/sharedInbox",
        "https://gts.example/users/bob/main-key", "bob",
        "https://gts.example/fileserver/01HZ4Q8N6A9X0B1C2D3E4F5G6H/attachment/original/01HZ4QB2M3N4P5Q6R7S8T9V0W1.jpeg"),
    "akkoma_actor": ("https://akkoma.example/users/carol/inbox", "https://akkoma.example/inbox",
                     "https://akkoma.example/users/carol#main-key", "carol", None),
    "pleroma_actor": (
        "https://pleroma.example/users/erin/inbox", "https://pleroma.example/inbox",
        "https://pleroma.example/users/erin#main-key", "erin",
        "https://pleroma.example/media/4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d.png"),
    "misskey_actor": (
        "https://misskey.example/users/9x1c2v3b4n/inbox", "https://misskey.example/inbox",
        "https://misskey.example/users/9x1c2v3b4n#main-key", "frank",
        "https://misskey.example/files/webpublic-0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9"),
    "fedify_actor": ("https://fedify.example/users/dave/inbox", "https://fedify.example/inbox",
                     "https://fedify.example/users/dave#main-key", "dave",
                     "https://fedify.example/media/avatars/dave.webp"),
    "peertube_actor": ("https://peertube.example/accounts/ines/inbox", "https://peertube.example/inbox",
                       "https://peertube.example/accounts/ines#main-key", "ines",
                       "https://peertube.example/lazy-static/avatars/48x48-1a2b3c.png"),
    "mobilizon_actor": ("https://mobilizon.example/@grace/inbox", "https://mobilizon.example/inbox",
                        "https://mobilizon.example/@grace#main-key", "grace",
                        "https://mobilizon.example/media/3e2d1c0b9a8f7e6d.png"),
}


def test_every_fixture_names_its_origin_and_is_covered_here():
    """Given the captured payloads, each says where it comes from, and each is checked below."""
    for name in ALL_FIXTURES:
        assert isinstance(load(name).get("_source"), str) and load(name)["_source"], name
    assert set(ACTIVITY_FIXTURES) == set(ACTIVITIES)
    assert set(ACTOR_FIXTURES) == set(ACTORS)
    assert set(POSTS) <= set(ACTIVITIES)


@pytest.mark.parametrize("name", ACTIVITY_FIXTURES)
def test_a_real_activity_parses_to_its_type_actor_and_object(name: str):
    activity = parse_activity(load(name))
    assert (activity.type, activity.actor, activity.object_id) == ACTIVITIES[name]
    assert activity.raw["_source"]  # unknown keys are kept, not refused


@pytest.mark.parametrize("name", sorted(POSTS))
def test_the_post_inside_a_real_create_or_update_reads_right(name: str):
    expected = POSTS[name]
    activity = parse_activity(load(name))
    assert activity.object is not None
    note = parse_note(activity.object)

    assert note.id == activity.object_id
    assert note.type == expected.type
    assert note.attributed_to == activity.actor
    assert expected.text in note.content
    assert note.in_reply_to == expected.in_reply_to
    assert (PUBLIC in note.audience) is expected.public
    assert [a.url for a in note.attachments] == list(expected.attachments)
    if expected.name is not None:
        assert note.name == expected.name
    if expected.published is not None:
        assert note.published == expected.published


@pytest.mark.parametrize("name", sorted(POSTS))
def test_public_is_recognised_in_every_spelling_and_always_comes_out_as_the_full_iri(name: str):
    activity = parse_activity(load(name))
    assert PUBLIC in activity.audience
    note = parse_note(activity.object)
    assert all(a not in ("as:Public", "Public") for a in note.audience + activity.audience)


def test_fedify_as_public_single_string_and_compact_spellings_are_public():
    """Fedify compacts `to` to the one string "as:Public"; SemApps-style peers also write "Public"."""
    fedify = parse_note(parse_activity(load("fedify_create_note")).object)
    assert fedify.to == [PUBLIC]
    spelled = parse_activity(load("edge_public_spellings"))
    assert spelled.to == [PUBLIC] and spelled.cc == [PUBLIC, "https://odd.example/users/oscar/followers"]
    note = parse_note(spelled.object)
    assert note.to == [PUBLIC] and note.cc == [PUBLIC]


def test_mastodon_reply_keeps_content_from_content_and_the_attachment_details():
    note = parse_note(parse_activity(load("mastodon_create_note_reply")).object)
    assert note.content.startswith('<p><span class="h-card"')
    assert note.sensitive is False and note.url == "https://mastodon.example/@alice/113456789012345678"
    (image,) = note.attachments
    assert image.media_type == "image/jpeg" and image.name == "Affiche du café-rencontre, jeudi 10 h"


def test_content_from_content_map_prefers_french_then_english():
    """Given only a contentMap (en + fr), the French text is chosen; with only en, English."""
    data = load("edge_content_map_only")["object"]
    assert parse_note(data).content == "<p>Soirée d'accueil vendredi</p>"
    del data["contentMap"]["fr"]
    assert parse_note(data).content == "<p>Welcome evening on Friday</p>"
    assert parse_note(data, languages=("en",)).name == "Welcome evening"


def test_published_without_timezone_is_read_as_utc():
    note = parse_note(parse_activity(load("edge_published_without_timezone")).object)
    assert note.published == datetime(2024, 11, 8, 10, 0, tzinfo=UTC)
    assert note.updated == datetime(2024, 11, 8, 11, 30, 0, 250000, tzinfo=UTC)


def test_a_type_list_yields_the_activitystreams_type_even_when_an_extension_comes_first():
    activity = parse_activity(load("edge_type_list"))
    assert activity.type == "Create"
    assert parse_note(activity.object).type == "Note"


def test_embedded_follow_and_like_in_undos_are_kept_for_the_handlers():
    undo_follow = parse_activity(load("mastodon_undo_follow"))
    assert undo_follow.object is not None and undo_follow.object["type"] == "Follow"
    assert undo_follow.object["object"] == OUR_ACTOR
    undo_like = parse_activity(load("mastodon_undo_like"))
    assert undo_like.object is not None and undo_like.object["object"] == OUR_POST


def test_delete_of_a_note_carries_a_tombstone_and_delete_of_an_account_names_the_actor():
    note_delete = parse_activity(load("mastodon_delete_note"))
    assert note_delete.object is not None and note_delete.object["type"] == "Tombstone"
    actor_delete = parse_activity(load("mastodon_delete_account"))
    assert actor_delete.object_id == actor_delete.actor and actor_delete.object is None


def test_announce_audience_is_public_plus_the_booster_followers():
    announce = parse_activity(load("mastodon_announce"))
    assert announce.to == [PUBLIC]
    assert announce.cc == [OUR_ACTOR, "https://mastodon.example/users/alice/followers"]


@pytest.mark.parametrize("name", ACTOR_FIXTURES)
def test_a_real_actor_document_parses_to_what_delivery_and_verification_need(name: str):
    inbox, shared_inbox, key_id, username, icon = ACTORS[name]
    data = load(name)
    actor = parse_actor(data)
    assert actor.id == data["id"]
    assert (actor.inbox, actor.shared_inbox, actor.public_key_id) == (inbox, shared_inbox, key_id)
    assert actor.preferred_username == username
    assert actor.icon_url == icon
    assert actor.delivery_inbox == (shared_inbox or inbox)
    assert actor.public_key_pem is not None
    load_public_key(actor.public_key_pem)  # a real PEM


def test_mastodon_actor_extras_are_kept_raw_and_ignored_by_the_parser():
    actor = parse_actor(load("mastodon_actor"))
    assert actor.type == "Person" and actor.name == "Alice Martin :blobcat:"
    assert actor.followers == "https://mastodon.example/users/alice/followers"
    assert actor.url == "https://mastodon.example/@alice" and not actor.manually_approves_followers
    assert actor.raw["featuredTags"].endswith("/collections/tags")
    assert actor.raw["attachment"][0]["type"] == "PropertyValue"


def test_update_person_embeds_a_parseable_actor():
    update = parse_activity(load("mastodon_update_person"))
    assert update.object is not None
    assert parse_actor(update.object).name == "Alice Martin"


def test_misskey_and_fedify_actor_extras_do_not_disturb_the_key():
    misskey = parse_actor(load("misskey_actor"))
    assert misskey.raw["isCat"] is True and misskey.raw["_misskey_summary"]
    fedify = parse_actor(load("fedify_actor"))
    assert [m["type"] for m in fedify.raw["assertionMethod"]] == ["Multikey", "Multikey"]
    assert fedify.public_key_id == "https://fedify.example/users/dave#main-key"


def test_a_peertube_video_is_attributed_to_the_account_not_the_channel():
    """PeerTube sends attributedTo [account Person, channel Group]; the account is the author."""
    video = parse_note(parse_activity(load("peertube_create_video")).object)
    assert video.attributed_to == "https://peertube.example/accounts/ines"
    assert video.url is None  # several Links (HTML page, HLS playlist): no single page URL


def test_gotosocial_key_stub_is_not_an_actor():
    """GoToSocial answers a GET of its key id with a stub (no inbox): not to be taken for the actor."""
    with pytest.raises(BadRequest):
        parse_actor(load("gotosocial_public_key"))


# --- malformed variants of real payloads ---------------------------------------------------------


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    del data[key]
    return data


def _with(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data[key] = value
    return data


_create = load("mastodon_create_note_reply")
MALFORMED_ACTIVITIES = {
    "missing type": _without(_create, "type"),
    "type empty list": _with(_create, "type", []),
    "type a number": _with(_create, "type", 7),
    "missing actor": _without(_create, "actor"),
    "actor a number": _with(_create, "actor", 42),
    "actor not a URL": _with(_create, "actor", "alice@mastodon.example"),
    "actor a two-item list": _with(_create, "actor", ["https://mastodon.example/users/alice",
                                                      "https://mastodon.example/users/bob"]),
    "id not a URL": _with(_create, "id", "113456789012345678"),
    "id a javascript: URL": _with(_create, "id", "javascript:alert(1)"),
    "id a number": _with(_create, "id", 113456789012345678),
    "id far too long": _with(_create, "id", "https://mastodon.example/" + "a" * 3000),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_ACTIVITIES))
def test_a_malformed_activity_is_a_bad_request(case: str):
    with pytest.raises(BadRequest):
        parse_activity(MALFORMED_ACTIVITIES[case])


def test_an_object_as_a_nested_list_is_a_bad_request():
    """`object: [[{...}]]` is no shape any server sends: a Create with no usable object is
    refused, and reading such an object as a post is a bad request too."""
    with pytest.raises(BadRequest):
        parse_activity(_with(_create, "object", [[_create["object"]]]))
    with pytest.raises(BadRequest):
        parse_note([[_create["object"]]])


_note = _create["object"]
MALFORMED_NOTES = {
    "missing type": _without(_note, "type"),
    "missing id": _without(_note, "id"),
    "id not a URL": _with(_note, "id", "tag:mastodon.example,2024:status"),
    "missing attributedTo": _without(_note, "attributedTo"),
    "attributedTo a number": _with(_note, "attributedTo", 42),
    "not an object": [_note],
}


@pytest.mark.parametrize("case", sorted(MALFORMED_NOTES))
def test_a_malformed_post_is_a_bad_request(case: str):
    with pytest.raises(BadRequest):
        parse_note(MALFORMED_NOTES[case])


_actor = load("mastodon_actor")
MALFORMED_ACTORS = {
    "missing type": _without(_actor, "type"),
    "missing id": _without(_actor, "id"),
    "id not a URL": _with(_actor, "id", "acct:alice@mastodon.example"),
    "missing inbox": _without(_actor, "inbox"),
    "inbox a number": _with(_actor, "inbox", 1),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_ACTORS))
def test_a_malformed_actor_is_a_bad_request(case: str):
    with pytest.raises(BadRequest):
        parse_actor(MALFORMED_ACTORS[case])


def test_a_key_owned_by_someone_else_is_not_the_actor_key():
    data = copy.deepcopy(_actor)
    data["publicKey"]["owner"] = "https://evil.example/users/mallory"
    actor = parse_actor(data)
    assert actor.public_key_id is None and actor.public_key_pem is None


@pytest.mark.parametrize("public", ["https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"])
def test_a_relay_subscription_names_the_public_collection_however_it_is_spelled(public):
    follow = parse_activity({"id": "https://m.example/f/1", "type": "Follow",
                             "actor": "https://m.example/actor", "object": public})
    assert follow.object_id == PUBLIC
