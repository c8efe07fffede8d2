"""The members' space on the association's site, as a member without a Mastodon account uses it:
an invitation link, a name and a password, the space's posts, a comment; and what everyone
else sees of it: nothing but how to join."""

from __future__ import annotations

from html import unescape

import httpx

from desk_testing import HTML, csrf_of, log_in
from fedi import group_copies, invitations, members, outbox, storage
from space_testing import PASSWORD, invitation_path, join_on_site


async def test_an_invited_person_joins_reads_and_comments(make_instance):
    site = await make_instance("avf-lyon")
    post = await outbox.publish_post(site.instance, "L'ordre du jour est joint.", title="Assemblée générale",
                                     visibility="followers")
    browser = await join_on_site(site, await invitation_path(site))

    space = unescape((await browser.get("/members?done=joined")).text)
    assert "Bienvenue" in space and "Assemblée générale" in space and "0 commentaire" in space
    page = unescape((await browser.get(post.uri)).text)
    assert "L'ordre du jour est joint." in page and "Aucun commentaire pour l’instant." in page
    response = await browser.post("/members", data={
        "csrf": csrf_of(page), "in_reply_to": post.uri, "text": "Je viendrai, avec **Paul**."})
    assert response.status_code == 303

    page = unescape((await browser.get(post.uri)).text)
    assert "Je viendrai, avec <strong>Paul</strong>." in page and "Marie Martin" in page
    [comment] = await storage.list_group_discussion(site.db, site.instance.members.uri, post.uri)
    copy = await storage.get_group_copy(site.db, comment.uri)
    assert copy is not None  # the Group re-publishes it for members on Mastodon
    assert "1 commentaire" in unescape((await browser.get("/members")).text)
    await browser.aclose()


async def test_a_member_starts_a_discussion(make_instance):
    site = await make_instance("avf-lyon")
    browser = await join_on_site(site, await invitation_path(site))
    page = (await browser.get("/members")).text

    response = await browser.post("/members", data={"csrf": csrf_of(page), "text": "Qui covoiture samedi ?"})

    assert response.status_code == 303
    assert "Qui covoiture samedi ?" in unescape((await browser.get("/members")).text)
    [post] = await storage.list_group_posts(site.db, site.instance.members.uri, 10)
    assert post.author == (await storage.get_account_by_username(site.db, "marie")).actor_uri
    empty = await browser.post("/members", data={"csrf": csrf_of(page), "text": "   "})
    assert empty.status_code == 400
    await browser.aclose()


async def test_a_used_or_forged_link_shows_a_page_saying_so(make_instance):
    site = await make_instance("avf-lyon")
    path = await invitation_path(site)
    await (await join_on_site(site, path)).aclose()

    async with httpx.AsyncClient(base_url=site.url, headers=HTML) as browser:
        for link in (path, "/invitations/forged", "/password/forged"):
            answer = await browser.get(link)
            assert answer.status_code == 404 and "Ce lien ne fonctionne pas" in unescape(answer.text)
        again = await browser.post(path, data={"username": "paul", "display_name": "Paul", "town": "",
                                               "password": PASSWORD, "password_again": PASSWORD})
        assert again.status_code == 404
    assert await storage.get_account_by_username(site.db, "paul") is None


async def test_the_form_explains_in_french_and_keeps_what_was_typed(make_instance):
    site = await make_instance("avf-lyon")
    path = await invitation_path(site)
    async with httpx.AsyncClient(base_url=site.url, headers=HTML) as browser:
        differ = await browser.post(path, data={"username": "marie", "display_name": "Marie Martin",
                                                "town": "Lyon", "password": PASSWORD, "password_again": "autre"})
        taken = await browser.post(path, data={"username": "membres", "display_name": "Marie", "town": "",
                                               "password": PASSWORD, "password_again": PASSWORD})
    assert differ.status_code == 400 and "Les deux mots de passe diffèrent." in unescape(differ.text)
    assert 'value="Marie Martin"' in differ.text and PASSWORD not in differ.text
    assert taken.status_code == 400 and "Ce nom est déjà utilisé ici" in unescape(taken.text)
    [link] = await invitations.list_links(site.instance, "join")
    assert link.state("2000") == "waiting"


async def test_a_member_logs_in_to_the_space_never_to_the_desk(make_instance):
    site = await make_instance("avf-lyon")
    await (await join_on_site(site, await invitation_path(site))).aclose()
    member = await log_in(site, "marie", password=PASSWORD, create=False)

    landing = await member.client.get("/login")
    assert landing.headers["location"] == "/members"
    for desk_page in ("/desk", "/desk/members", "/desk/posts/new"):
        assert (await member.page(desk_page)).status_code == 404
    await member.aclose()


async def test_outsiders_and_removed_members_see_nothing_of_the_space(make_instance):
    site = await make_instance("avf-lyon")
    post = await outbox.publish_post(site.instance, "Texte secret des adhérents", title="Réservé",
                                     visibility="followers")
    await (await join_on_site(site, await invitation_path(site))).aclose()
    editor = await log_in(site, "jean", role="editor")
    assert "Texte secret des adhérents" in (await editor.page(post.uri)).text  # the desk writes it
    marie = await log_in(site, "marie", password=PASSWORD, create=False)
    assert "Texte secret des adhérents" in (await marie.page(post.uri)).text

    await members.remove(site.instance, (await storage.get_account_by_username(site.db, "marie")).actor_uri)

    async with httpx.AsyncClient(base_url=site.url, headers=HTML) as visitor:
        for browser in (visitor, marie.client):
            answer = await browser.get(post.uri)
            assert answer.status_code == 404 and "Texte secret" not in answer.text and "Réservé" not in answer.text
            space = unescape((await browser.get("/members")).text)
            assert "Texte secret" not in space and "Comment rejoindre" in space
            written = await browser.post("/members", data={"csrf": "x", "text": "intrus"})
            assert written.status_code in (303, 400, 403, 404)
    assert len(await storage.list_group_discussion(site.db, site.instance.members.uri, post.uri)) == 0
    assert await group_copies.original_of(site.instance, post.uri) == post.uri
    await editor.aclose()
    await marie.aclose()
