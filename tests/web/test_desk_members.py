"""The members' space on the desk, as an admin runs it from a phone: requests, members,
invitation and password links, the space's name."""

from __future__ import annotations

import re
from html import unescape

import httpx

from desk_testing import log_in
from fedi import following, invitations, members, storage
from fedi_testing import settle

LINK = re.compile(r'<output id="new-link" class="link-to-copy">([^<]+)</output>')


async def _asking(make_instance, site, name: str):
    """Another association whose account asks to join `site`'s members' space."""
    peer = await make_instance(name)
    await following.follow(peer.instance, site.instance.members.uri)
    await settle(site, peer)
    return peer


async def test_an_admin_sees_a_request_and_approves_it(make_instance):
    site = await make_instance("avf-lyon")
    peer = await _asking(make_instance, site, "avf-nantes")
    desk = await log_in(site)

    page = unescape((await desk.page("/desk/members")).text)
    assert f"@membres@{site.instance.config.host}" in page
    assert "1 demande en attente" in page and f"@avf-nantes@{peer.instance.config.host}" in page
    response = await desk.submit("/desk/members", "/desk/members/decide",
                                 {"actor": peer.actor_url, "decision": "approve"})
    assert response.status_code == 303
    page = unescape((await desk.page(response.headers["location"])).text)
    assert "cette personne reçoit désormais les publications des adhérents" in page
    assert "1 adhérent" in page
    await settle(site, peer)
    follow = await storage.get_follow(peer.db, peer.actor_url, site.instance.members.uri)
    assert follow is not None and follow.state == "accepted"
    await desk.aclose()


async def test_an_admin_refuses_a_request_and_removes_a_member(make_instance):
    site = await make_instance("avf-lyon")
    refused = await _asking(make_instance, site, "avf-nantes")
    member = await _asking(make_instance, site, "avf-brest")
    await members.approve(site.instance, member.actor_url)
    await settle(site, member)
    desk = await log_in(site)

    await desk.submit("/desk/members", "/desk/members/decide", {"actor": refused.actor_url, "decision": "reject"})
    await desk.submit("/desk/members", "/desk/members/decide", {"actor": member.actor_url, "decision": "remove"})

    await settle(site, refused, member)
    group = site.instance.members.uri
    for peer in (refused, member):
        assert await storage.get_follow(site.db, peer.actor_url, group) is None
        assert await storage.get_follow(peer.db, peer.actor_url, group) is None
    page = unescape((await desk.page("/desk/members")).text)
    assert "0 demande en attente" in page and "Pas encore d’adhérent." in page
    await desk.aclose()


async def test_an_invitation_link_is_shown_once_works_once_and_can_be_revoked(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)

    page = (await desk.submit("/desk/members", "/desk/members/invite", {})).text
    link = unescape(LINK.search(page).group(1))
    assert link.startswith(f"{site.instance.config.url}/invitations/")
    assert link not in (await desk.page("/desk/members")).text  # only its hash is kept
    await invitations.join(site.instance, link.rsplit("/", 1)[1], username="paul", display_name="Paul",
                           town="Lyon", password="un mot de passe long")
    page = unescape((await desk.page("/desk/members")).text)
    assert "utilisé par paul" in page and "compte sur ce site\u202f: paul" in page

    await desk.submit("/desk/members", "/desk/members/invite", {})
    [waiting, _used] = await invitations.list_links(site.instance, "join")
    response = await desk.submit("/desk/members", "/desk/members/revoke", {"invitation": str(waiting.id)})
    assert response.status_code == 303
    assert "révoqué" in unescape((await desk.page("/desk/members")).text)
    again = await desk.submit("/desk/members", "/desk/members/revoke", {"invitation": str(waiting.id)})
    assert again.status_code == 404 and "Ce lien ne peut plus être révoqué." in unescape(again.text)
    await desk.aclose()


async def test_a_password_link_for_a_local_member(make_instance):
    site = await make_instance("avf-lyon")
    token = (await invitations.create_invitation(site.instance, "admin")).rsplit("/", 1)[1]
    await invitations.join(site.instance, token, username="paul", display_name="Paul", town="",
                           password="un mot de passe long")
    desk = await log_in(site)

    page = (await desk.submit("/desk/members", "/desk/members/password-link", {"username": "paul"})).text
    link = unescape(LINK.search(page).group(1))
    await invitations.reset_password(site.instance, link.rsplit("/", 1)[1], "un nouveau mot de passe")
    refused = await desk.submit("/desk/members", "/desk/members/password-link", {"username": "marie"})
    assert refused.status_code == 404  # marie is a desk account, not a member
    await desk.aclose()


async def test_renaming_the_space_keeps_its_handle_and_tells_its_members(make_instance):
    site = await make_instance("avf-lyon")
    member = await _asking(make_instance, site, "avf-nantes")
    await members.approve(site.instance, member.actor_url)
    await settle(site, member)
    desk = await log_in(site)

    response = await desk.submit("/desk/members", "/desk/members/rename", {
        "name": "Les adhérents de l'AVF", "summary": "Demandez à nous suivre."})

    assert response.status_code == 303
    assert site.instance.members.name == "Les adhérents de l'AVF"
    assert site.instance.members.username == "membres"
    await settle(site, member)
    known = await storage.get_remote_actor_by_uri(member.db, site.instance.members.uri)
    assert known is not None and known.name == "Les adhérents de l'AVF"
    await desk.aclose()


async def test_only_an_admin_acts_and_a_forged_form_changes_nothing(make_instance):
    site = await make_instance("avf-lyon")
    peer = await _asking(make_instance, site, "avf-nantes")
    editor = await log_in(site, "jean", role="editor")
    assert (await editor.page("/desk/members")).status_code in (403, 404)
    admin = await log_in(site)
    forged = await admin.client.post("/desk/members/decide", data={
        "csrf": "forged", "actor": peer.actor_url, "decision": "approve"})
    assert forged.status_code in (400, 403)
    unknown = await admin.submit("/desk/members", "/desk/members/decide",
                                 {"actor": "https://nowhere.example/users/x", "decision": "approve"})
    assert unknown.status_code == 404
    assert "ne demande plus à rejoindre" in unescape(unknown.text)
    follow = await storage.get_follow(site.db, peer.actor_url, site.instance.members.uri)
    assert follow is not None and follow.state == "pending"
    async with httpx.AsyncClient(base_url=site.url) as anonymous:
        visitor = await anonymous.get("/desk/members")
    assert visitor.status_code == 303 and "/login" in visitor.headers["location"]
    await editor.aclose()
    await admin.aclose()
