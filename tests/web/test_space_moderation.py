"""An admin moderates what members write in the members' space: it shows at once; hidden or
deleted on the desk, it leaves the site and the Group's copy is withdrawn from the members on
Mastodon; shown again, a new copy reaches them. Blocking a member's account also ends its
membership."""

from __future__ import annotations

from html import unescape

from desk_testing import csrf_of, log_in
from fedi import following, members, outbox, storage
from fedi_testing import Served, settle
from space_testing import (
    copy_of,
    deliver,
    group_of,
    invitation_path,
    join,
    join_on_site,
    mastodon_reply,
    signed_get,
)


async def _space(make_instance) -> tuple[Served, Served, Served]:
    """(site, member, second member): the two members are other associations' accounts."""
    site = await make_instance("avf-lyon")
    member = await make_instance("avf-nantes")
    second = await make_instance("avf-rennes")
    await join(site, member, second)
    return site, member, second


async def _replied(site: Served, member: Served, second: Served, text: str) -> tuple[str, str]:
    """A members' post and a member's reply to it, as Mastodon sends it; (post, reply) ids."""
    post = await outbox.publish_post(site.instance, "Ordre du jour joint.", title="AG",
                                     visibility="followers")
    await settle(site, member, second)
    reply = mastodon_reply(member, "r1", post.uri, group_of(site), text)
    assert (await deliver(member, f"{group_of(site)}/inbox", reply)).status_code == 202
    await settle(site, member, second)
    return post.uri, reply["object"]["id"]


async def _card_action(desk, reply_uri: str, site: Served, action: str):
    stored = await storage.get_post_by_uri(site.db, reply_uri)
    return await desk.submit("/desk/comments", f"/desk/comments/{stored.id}/{action}", {})


async def test_a_hidden_reply_leaves_the_site_and_mastodon_and_comes_back_when_shown(make_instance):
    site, member, second = await _space(make_instance)
    post_uri, reply_uri = await _replied(site, member, second, "Un message hors sujet.")
    first_copy = await copy_of(site, reply_uri)
    reader = await join_on_site(site, await invitation_path(site), username="louise")
    desk = await log_in(site)

    page = unescape((await desk.page("/desk/comments")).text)
    space = page[page.index("Dans l’espace adhérents"):]
    assert "Un message hors sujet." in space and "Un message hors sujet." not in page[:page.index("Dans l’espace")]
    response = await _card_action(desk, reply_uri, site, "hide")
    assert response.status_code == 303
    await settle(site, member, second)

    assert "Un message hors sujet." not in unescape((await reader.get(post_uri)).text)
    assert (await storage.get_post_by_uri(second.db, first_copy)).is_deleted
    assert (await signed_get(first_copy, second)).status_code == 410
    page = unescape((await desk.page("/desk/comments")).text)
    assert "Masqué aux adhérents" in page and "Afficher de nouveau" in page

    await _card_action(desk, reply_uri, site, "approve")
    await settle(site, member, second)
    new_copy = await copy_of(site, reply_uri)
    assert new_copy != first_copy
    received = await storage.get_post_by_uri(second.db, new_copy)
    assert received is not None and not received.is_deleted and "Un message hors sujet." in received.content
    assert received.in_reply_to == post_uri
    assert "Un message hors sujet." in unescape((await reader.get(post_uri)).text)
    await reader.aclose()
    await desk.aclose()


async def test_a_deleted_local_members_comment_is_gone_for_every_member(make_instance):
    site, member, second = await _space(make_instance)
    post = await outbox.publish_post(site.instance, "Qui vient ?", title="Pique-nique", visibility="followers")
    await settle(site, member, second)
    writer = await join_on_site(site, await invitation_path(site), username="louise")
    page = (await writer.get(post.uri)).text
    await writer.post("/members", data={"csrf": csrf_of(page), "in_reply_to": post.uri,
                                        "text": "Mon numéro : 06 12 34 56 78"})
    await settle(site, member, second)
    [comment] = await storage.list_group_discussion(site.db, group_of(site), post.uri)
    copy = await copy_of(site, comment.uri)
    assert await storage.get_post_by_uri(second.db, copy) is not None
    desk = await log_in(site)
    page = unescape((await desk.page("/desk/comments")).text)
    assert "Marie Martin" in page and "@louise@" in page and "Une nouvelle discussion" not in page

    await _card_action(desk, comment.uri, site, "delete")
    await settle(site, member, second)

    assert "06 12 34 56 78" not in unescape((await writer.get(post.uri)).text)
    assert (await writer.get(comment.uri)).status_code == 404
    assert (await storage.get_post_by_uri(second.db, copy)).is_deleted
    assert "06 12 34 56 78" not in unescape((await desk.page("/desk/comments")).text)
    await writer.aclose()
    await desk.aclose()


async def test_blocking_a_members_account_ends_its_membership_and_withdraws_its_words(make_instance):
    site, member, second = await _space(make_instance)
    _, reply_uri = await _replied(site, member, second, "Achetez mes montres.")
    copy = await copy_of(site, reply_uri)
    desk = await log_in(site)

    response = await desk.submit("/desk/comments", f"/desk/comments/"
                                 f"{(await storage.get_post_by_uri(site.db, reply_uri)).id}/block-account", {})
    assert response.status_code == 303
    await settle(site, member, second)

    assert not await members.is_member(site.instance, member.actor_url)
    assert await storage.get_follow(member.db, member.actor_url, group_of(site)) is None  # told by Reject
    assert (await storage.get_post_by_uri(second.db, copy)).is_deleted
    await following.follow(member.instance, group_of(site))
    await settle(site, member)
    assert not await members.is_member(site.instance, member.actor_url)
    await desk.aclose()
