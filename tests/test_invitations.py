"""One-time links as the admin hands them out and a newcomer uses them (fedi.invitations)."""

from __future__ import annotations

import asyncio

import pytest

from fedi import accounts, invitations, members, storage
from fedi.accounts import AccountError
from fedi.invitations import InvitationError


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_an_invitation_makes_one_member_and_then_opens_nothing(make_instance):
    site = await make_instance("avf-lyon")
    link = await invitations.create_invitation(site.instance, "admin")
    assert link.startswith(f"{site.instance.config.url}/invitations/")

    account = await invitations.join(site.instance, _token(link), username="Marie", display_name=" Marie  Martin ",
                                     town="Lyon", password="un mot de passe long")

    assert (account.username, account.role, account.roles) == ("marie", "member", frozenset({"member"}))
    person = await storage.get_local_actor_by_uri(site.db, account.actor_uri)
    assert (person.ap_type, person.name, person.summary) == ("Person", "Marie Martin", "Lyon")
    assert await members.is_member(site.instance, person.uri)
    assert await accounts.authenticate(site.db, "marie", "un mot de passe long") is not None
    with pytest.raises(InvitationError, match="used"):
        await invitations.join(site.instance, _token(link), username="paul", display_name="Paul",
                               town="", password="un autre mot de passe")
    assert await storage.get_account_by_username(site.db, "paul") is None
    made = await invitations.list_links(site.instance, "join")
    assert [(link.account_name, link.state("9999")) for link in made] == [("marie", "used")]


async def test_two_people_using_one_link_at_once_make_one_account(make_instance):
    site = await make_instance("avf-lyon")
    token = _token(await invitations.create_invitation(site.instance, "admin"))

    results = await asyncio.gather(*(
        invitations.join(site.instance, token, username=name, display_name=name, town="",
                         password="un mot de passe long") for name in ("anne", "bruno")),
        return_exceptions=True)

    assert sorted(type(result).__name__ for result in results) == ["Account", "InvitationError"]
    assert len(await members.list_members(site.instance)) == 1
    assert len([a for a in await storage.list_accounts(site.db) if a.role == "member"]) == 1


async def test_a_forged_revoked_or_expired_link_is_refused_and_nothing_is_stored(make_instance):
    site = await make_instance("avf-lyon")
    revoked = await invitations.create_invitation(site.instance, "admin")
    [waiting] = await invitations.list_links(site.instance, "join")
    assert await invitations.revoke(site.instance, waiting.id)
    expired = await invitations.create_invitation(site.instance, "admin")
    site.instance.clock = lambda: 4_000_000_000.0  # 2096: every link made today has expired

    for token, reason in ((_token(revoked), "revoked"), (_token(expired), "expired"),
                          ("forged-token", "not valid"), (_token(revoked) + "x", "not valid")):
        with pytest.raises(InvitationError, match=reason):
            await invitations.join(site.instance, token, username="zoe", display_name="Zoé", town="",
                                   password="un mot de passe long")
    assert await storage.get_account_by_username(site.db, "zoe") is None
    assert await members.list_members(site.instance) == []


@pytest.mark.parametrize("name", ["membres", "avf-lyon", "admin", "x", "Zoé!"])
async def test_a_name_taken_reserved_or_malformed_is_refused(make_instance, name):
    site = await make_instance("avf-lyon")
    token = _token(await invitations.create_invitation(site.instance, "admin"))

    with pytest.raises(AccountError):
        await invitations.join(site.instance, token, username=name, display_name="Zoé", town="",
                               password="un mot de passe long")
    [link] = await invitations.list_links(site.instance, "join")
    assert link.state("2000") == "waiting"  # still usable with another name


async def test_a_reset_link_sets_a_new_password_once_and_ends_the_sessions(make_instance):
    site = await make_instance("avf-lyon")
    token = _token(await invitations.create_invitation(site.instance, "admin"))
    member = await invitations.join(site.instance, token, username="marie", display_name="Marie",
                                    town="", password="un mot de passe long")
    session = await accounts.open_session(site.db, member, site.instance.clock())
    reset = _token(await invitations.create_reset_link(site.instance, member, "admin"))

    await invitations.reset_password(site.instance, reset, "un nouveau mot de passe")

    assert await accounts.authenticate(site.db, "marie", "un mot de passe long") is None
    assert await accounts.authenticate(site.db, "marie", "un nouveau mot de passe") is not None
    assert await accounts.find_session(site.db, session, site.instance.clock()) is None
    with pytest.raises(InvitationError, match="used"):
        await invitations.reset_password(site.instance, reset, "encore un autre mot de passe")
