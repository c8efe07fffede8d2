"""Test rig for the members' space seen from the fediverse: our instances play members and
outsiders; what they send is what Mastodon sends, signed by their association's key."""

from __future__ import annotations

import json
from html import unescape
from typing import Any

import httpx

from activitypub.auth import SignatureAuth
from desk_testing import HTML
from fedi import following, invitations, members, storage
from fedi_testing import AP_HEADERS, Served, settle, signer_of

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PASSWORD = "une phrase assez longue"


def group_of(site: Served) -> str:
    assert site.instance.members is not None
    return site.instance.members.uri


async def join(site: Served, *people: Served) -> None:
    """Each one's association asks to join the site's members' space, and is approved."""
    for person in people:
        await following.follow(person.instance, group_of(site))
    await settle(site, *people)
    for person in people:
        await members.approve(site.instance, person.actor_url)
    await settle(site, *people)


async def signed_get(url: str, signer: Served | SignatureAuth | None) -> httpx.Response:
    """A GET for ActivityStreams JSON, signed as `signer`'s association (or by the given auth)."""
    auth = signer_of(signer.instance) if isinstance(signer, Served) else signer
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.get(url, headers=AP_HEADERS, auth=auth)


async def deliver(sender: Served, inbox: str, activity: dict[str, Any]) -> httpx.Response:
    """POSTs `activity` to `inbox`, signed by the sender's association."""
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.post(inbox, content=json.dumps(activity).encode(),
                                 auth=signer_of(sender.instance),
                                 headers={"Content-Type": "application/activity+json"})


def mastodon_reply(author: Served, name: str, in_reply_to: str, group: str, content: str,
                   *, actor: str | None = None) -> dict[str, Any]:
    """Mastodon's Create of a reply to a followers-only post of a Group: `to` the replier's
    followers, `cc` the Group, a Mention of it, and no LD signature."""
    person = actor or author.actor_url
    handle = "@membres@" + group.split("/")[2]
    audience = {"to": [f"{person}/followers"], "cc": [group]}
    note = {"id": f"{author.url}/statuses/{name}", "type": "Note", "attributedTo": person,
            "inReplyTo": in_reply_to, "published": "2024-05-02T10:00:00Z",
            "url": f"{author.url}/@{name}", "sensitive": False, "summary": None,
            "content": f'<p><span class="h-card"><a href="{group}" class="u-url mention">'
                       f"@<span>membres</span></a></span> {content}</p>",
            "tag": [{"type": "Mention", "href": group, "name": handle}], **audience}
    return {"@context": AS_CONTEXT, "id": f"{note['id']}/activity", "type": "Create",
            "actor": person, "published": note["published"], "object": note, **audience}


def activity(sender: Served, kind: str, name: str, obj: Any, *, to: list[str]) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": f"{sender.url}/activities/{name}", "type": kind,
            "actor": sender.actor_url, "object": obj, "to": to}


async def kept(site: Served) -> dict[str, int]:
    """What a refused activity must leave as it was: posts, reactions, follows, deliveries."""
    counts = {}
    for table in ("posts", "reactions", "follows", "deliveries", "group_copies"):
        row = await site.db.fetchone(f"SELECT COUNT(*) FROM {table}")
        counts[table] = int(row[0])
    return counts


async def copy_of(site: Served, original_uri: str) -> str:
    copy = await storage.get_group_copy(site.db, original_uri)
    assert copy is not None, f"the Group made no copy of {original_uri}"
    return copy


async def invitation_path(site: Served) -> str:
    """A new invitation link of the site's members' space, as a path."""
    link = await invitations.create_invitation(site.instance, "admin")
    return link.removeprefix(site.instance.config.url)


async def join_on_site(site: Served, path: str, username: str = "marie") -> httpx.AsyncClient:
    """A new person opens the invitation, fills it in, and is logged in (as "Marie Martin")."""
    browser = httpx.AsyncClient(base_url=site.url, headers=HTML, timeout=30)
    form = await browser.get(path)
    assert form.status_code == 200 and "Rejoindre l’espace adhérents" in unescape(form.text)
    response = await browser.post(path, data={
        "username": username, "display_name": "Marie Martin", "town": "Lyon",
        "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/members?done=joined"
    return browser
