"""The members' space as the fediverse sees it, between our own instances on loopback: who may
fetch its posts and collections, how members' replies become the space's discussion, and what a
removed member stops receiving.

The site is "avf-lyon"; the associations of "avf-nantes" and "avf-rennes" are approved members,
"avf-brest" is an outsider (it follows the association, not the space)."""

from __future__ import annotations

import pytest

from activitypub.vocab import PUBLIC
from fedi import following, members, outbox, storage
from fedi_testing import Served, fetch_json, settle
from space_testing import (
    activity,
    copy_of,
    deliver,
    group_of,
    join,
    kept,
    mastodon_reply,
    signed_get,
)


@pytest.fixture
async def space(make_instance) -> tuple[Served, Served, Served, Served]:
    """(site, member, second member, outsider)."""
    site = await make_instance("avf-lyon")
    member = await make_instance("avf-nantes")
    second = await make_instance("avf-rennes")
    outsider = await make_instance("avf-brest")
    await following.follow(outsider.instance, site.actor_url)
    await settle(site, outsider)
    await join(site, member, second)
    return site, member, second, outsider


async def _members_post(site: Served, *others: Served, text: str = "Assemblée générale jeudi") -> str:
    post = await outbox.publish_post(site.instance, text, title="AG", visibility="followers")
    await settle(site, *others)
    return post.uri


# ------------------------------------------------------------------ fetching private objects


async def test_a_members_post_is_served_only_to_a_get_signed_by_a_member(space):
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)

    response = await signed_get(uri, member)
    assert response.status_code == 200
    document = response.json()
    assert document["id"] == uri and document["attributedTo"] == group_of(site)
    assert document["to"] == [f"{group_of(site)}/followers"] and PUBLIC not in str(document)
    assert "private" in response.headers["cache-control"]
    assert (await signed_get(uri, member.instance.signing_auth())).status_code == 200  # its server

    assert (await signed_get(uri, None)).status_code == 404
    assert (await signed_get(uri, outsider)).status_code == 404
    assert (await signed_get(uri, outsider.instance.signing_auth())).status_code == 404
    status, page = await fetch_json(uri, Accept="text/html")
    assert status == 404 and "Assemblée" not in str(page)

    await members.remove(site.instance, member.actor_url)
    await settle(site, member)
    assert (await signed_get(uri, member)).status_code == 404
    assert (await signed_get(uri, second)).status_code == 200


async def test_someone_waiting_for_approval_cannot_fetch_a_members_post(space):
    site, member, second, outsider = space
    await following.follow(outsider.instance, group_of(site))
    await settle(site, outsider)
    uri = await _members_post(site, member, second, outsider)
    assert [m.actor_uri for m in await members.list_requests(site.instance)] == [outsider.actor_url]
    assert (await signed_get(uri, outsider)).status_code == 404
    assert await storage.get_post_by_uri(outsider.db, uri) is None


async def test_a_deleted_members_post_answers_its_tombstone_to_members_only(space):
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)
    await outbox.delete_post(site.instance, uri)
    await settle(site, member, second, outsider)

    response = await signed_get(uri, member)
    assert response.status_code == 410 and response.json()["type"] == "Tombstone"
    assert (await signed_get(uri, None)).status_code == 404
    assert (await signed_get(uri, outsider)).status_code == 404
    assert (await storage.get_post_by_uri(member.db, uri)).is_deleted


async def test_the_spaces_followers_are_counted_for_members_and_hidden_from_others(space):
    site, member, second, outsider = space
    followers = f"{group_of(site)}/followers"
    for signer in (None, outsider, outsider.instance.signing_auth()):
        assert (await signed_get(followers, signer)).status_code == 404
        assert (await signed_get(f"{followers}?page=1", signer)).status_code == 404
    response = await signed_get(followers, member)
    assert response.status_code == 200
    assert response.json()["totalItems"] == 2 and "first" not in response.json()
    assert (await signed_get(f"{followers}?page=1", member)).status_code == 404
    assert member.actor_url not in response.text


async def test_the_spaces_outbox_lists_none_of_its_posts(space):
    site, member, second, outsider = space
    await _members_post(site, member, second, outsider)
    for signer in (None, member):
        response = await signed_get(f"{group_of(site)}/outbox", signer)
        assert response.status_code == 200 and response.json()["totalItems"] == 0
        page = await signed_get(f"{group_of(site)}/outbox?page=1", signer)
        assert page.json()["orderedItems"] == []


async def _activity_uris(served: Served, kind: str) -> list[str]:
    rows = await served.db.fetchall("SELECT uri FROM activities WHERE type = ? ORDER BY id", (kind,))
    return [row[0] for row in rows]


async def test_follows_and_answers_of_the_space_are_not_served(space):
    """An Accept names a member, a Follow someone asking to be one, a Reject someone refused:
    none is served, whoever asks; the association's ordinary answers still are."""
    site, member, second, outsider = space
    await following.follow(outsider.instance, group_of(site))
    await settle(site, outsider)
    await members.reject(site.instance, outsider.actor_url)
    await _members_post(site, member, second, outsider)
    await settle(site, outsider)
    private = (await _activity_uris(site, "Accept"))[1:] + await _activity_uris(site, "Reject")
    private += await _activity_uris(site, "Create")
    private += await _activity_uris(member, "Follow") + (await _activity_uris(outsider, "Follow"))[1:]
    assert len(private) == 6
    for uri in private:
        for signer in (None, member, outsider):
            assert (await signed_get(uri, signer)).status_code == 404, uri
    association_accept, outsider_follow = (await _activity_uris(site, "Accept"))[0], (
        await _activity_uris(outsider, "Follow"))[0]
    for uri in (association_accept, outsider_follow):
        assert (await signed_get(uri, None)).status_code == 200


# ------------------------------------------------------------------ the discussion


async def test_a_members_reply_joins_the_space_and_reaches_every_member_as_its_copy(space):
    """The member's server addresses the reply as Mastodon does (its followers, cc the Group);
    the site keeps it for members only and the Group sends its own copy to every member."""
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)
    received = await storage.get_post_by_uri(member.db, uri)
    assert received is not None and received.visibility == "followers"

    reply = mastodon_reply(member, "r1", uri, group_of(site), "Je serai là jeudi.")
    assert (await deliver(member, f"{group_of(site)}/inbox", reply)).status_code == 202
    await settle(site, member, second, outsider)

    stored = await storage.get_post_by_uri(site.db, reply["object"]["id"])
    assert (stored.group_uri, stored.visibility, stored.status) == (group_of(site), "followers", "published")
    copy_uri = await copy_of(site, stored.uri)
    copy = await storage.get_post_by_uri(second.db, copy_uri)
    assert copy is not None and (copy.author, copy.in_reply_to) == (group_of(site), uri)
    assert "Je serai là jeudi." in copy.content and "Avf Nantes" in copy.content
    assert copy.visibility == "followers"
    assert await storage.get_post_by_uri(outsider.db, copy_uri) is None
    assert (await signed_get(copy_uri, second)).status_code == 200
    assert (await signed_get(copy_uri, outsider)).status_code == 404

    answer = mastodon_reply(second, "r2", copy_uri, group_of(site), "Moi aussi.")
    assert (await deliver(second, f"{site.instance.members.uri}/inbox", answer)).status_code == 202
    await settle(site, member, second, outsider)
    second_copy = await storage.get_post_by_uri(member.db, await copy_of(site, answer["object"]["id"]))
    assert second_copy.in_reply_to == copy_uri and "Moi aussi." in second_copy.content


async def test_a_reply_to_a_members_own_reply_answers_the_groups_copy_of_it(space):
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)
    first = mastodon_reply(member, "r1", uri, group_of(site), "Qui apporte le café ?")
    await deliver(member, f"{site.url}/inbox", first)
    await settle(site, member, second)
    answer = mastodon_reply(second, "r2", first["object"]["id"], group_of(site), "Moi !")
    await deliver(second, f"{site.url}/inbox", answer)
    await settle(site, member, second)
    stored = await storage.get_post_by_uri(site.db, answer["object"]["id"])
    assert stored.group_uri == group_of(site)
    copy = await storage.get_post_by_uri(member.db, await copy_of(site, stored.uri))
    assert copy.in_reply_to == await copy_of(site, first["object"]["id"])


async def test_a_reply_from_someone_who_is_not_a_member_is_not_kept(space):
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)
    await following.follow(outsider.instance, group_of(site))  # asking is not being a member
    await settle(site, outsider)
    before = await kept(site)
    reply = mastodon_reply(outsider, "r1", uri, group_of(site), "Je ne suis pas adhérent.")
    assert (await deliver(outsider, f"{group_of(site)}/inbox", reply)).status_code == 202
    await settle(site, member, second, outsider)
    assert await storage.get_post_by_uri(site.db, reply["object"]["id"]) is None
    assert await kept(site) == before


async def test_the_authors_edit_and_deletion_reach_the_groups_copy(space):
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)
    reply = mastodon_reply(member, "r1", uri, group_of(site), "Je viens à 18 h.")
    await deliver(member, f"{site.url}/inbox", reply)
    await settle(site, member, second)
    copy_uri = await copy_of(site, reply["object"]["id"])

    edited = {**reply["object"], "content": "<p>Je viens à 19 h.</p>", "updated": "2024-05-02T11:00:00Z"}
    update = {**reply, "id": f"{edited['id']}#updates/1", "type": "Update", "object": edited}
    assert (await deliver(member, f"{site.url}/inbox", update)).status_code == 202
    await settle(site, member, second)
    original = await storage.get_post_by_uri(site.db, edited["id"])
    assert "19 h" in original.content and original.status == "published"
    copy = await storage.get_post_by_uri(second.db, copy_uri)
    assert "19 h" in copy.content and "18 h" not in copy.content

    delete = {**reply, "id": f"{edited['id']}#delete", "type": "Delete",
              "object": {"id": edited["id"], "type": "Tombstone"}}
    assert (await deliver(member, f"{site.url}/inbox", delete)).status_code == 202
    await settle(site, member, second)
    assert (await storage.get_post_by_uri(site.db, edited["id"])).is_deleted
    assert (await storage.get_post_by_uri(site.db, copy_uri)).is_deleted
    assert (await storage.get_post_by_uri(second.db, copy_uri)).is_deleted


async def test_boosts_of_the_spaces_posts_are_ignored_and_only_members_likes_count(space):
    site, member, second, outsider = space
    uri = await _members_post(site, member, second, outsider)
    reply = mastodon_reply(member, "r1", uri, group_of(site), "Merci pour l'info.")
    await deliver(member, f"{site.url}/inbox", reply)
    await settle(site, member, second)
    await following.follow(site.instance, outsider.actor_url)  # the association follows the booster
    await settle(site, outsider)
    targets = [uri, reply["object"]["id"], await copy_of(site, reply["object"]["id"])]
    before = await kept(site)
    for n, target in enumerate(targets):
        for booster in (member, outsider):
            boost = activity(booster, "Announce", f"boost-{n}", target, to=[PUBLIC])
            assert (await deliver(booster, f"{site.url}/inbox", boost)).status_code == 202
        like = activity(outsider, "Like", f"like-{n}", target, to=[group_of(site)])
        assert (await deliver(outsider, f"{site.url}/inbox", like)).status_code == 202
    await settle(site, member, second, outsider)
    assert await kept(site) == before
    assert (await storage.get_post_by_uri(site.db, reply["object"]["id"])).status == "published"

    like = activity(second, "Like", "like-member", uri, to=[group_of(site)])
    await deliver(second, f"{site.url}/inbox", like)
    await settle(site, second)
    assert (await storage.count_reactions(site.db, uri))["Like"] == 1


# ------------------------------------------------------------------ membership


async def test_a_member_who_follows_again_is_accepted_again(space):
    site, member, second, outsider = space
    again = activity(member, "Follow", "follow-again", group_of(site), to=[group_of(site)])
    assert (await deliver(member, f"{group_of(site)}/inbox", again)).status_code == 202
    await settle(site, member)
    accepts = [row for row in await site.db.fetchall(
        "SELECT body FROM activities WHERE type = 'Accept' ORDER BY id DESC LIMIT 1")]
    assert '"id": "' + again["id"] + '"' in accepts[0][0]
    assert await members.is_member(site.instance, member.actor_url)
    assert (await storage.get_follow(member.db, member.actor_url, group_of(site))).state == "accepted"


async def test_a_follow_of_the_space_waits_for_the_admin(make_instance):
    site = await make_instance("avf-lyon")
    asking = await make_instance("avf-nantes")
    await following.follow(asking.instance, "@membres@" + site.instance.config.host)
    await settle(site, asking)
    assert (await storage.get_follow(asking.db, asking.actor_url, group_of(site))).state == "pending"
    uri = await _members_post(site, asking)
    assert await storage.get_post_by_uri(asking.db, uri) is None
    await members.approve(site.instance, asking.actor_url)
    await settle(site, asking)
    assert (await storage.get_follow(asking.db, asking.actor_url, group_of(site))).state == "accepted"


async def test_a_removed_member_gets_reject_of_its_follow_and_nothing_more(space):
    site, member, second, outsider = space
    follow = await storage.get_follow(site.db, member.actor_url, group_of(site))
    await members.remove(site.instance, member.actor_url)
    await settle(site, member, second)
    row = await site.db.fetchone("SELECT body FROM activities WHERE type = 'Reject'")
    assert f'"id": "{follow.activity_uri}"' in row[0]
    assert await storage.get_follow(member.db, member.actor_url, group_of(site)) is None

    uri = await _members_post(site, member, second, outsider, text="Après le départ")
    assert await storage.get_post_by_uri(member.db, uri) is None
    assert await storage.get_post_by_uri(second.db, uri) is not None
