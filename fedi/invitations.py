"""One-time links for people without a fediverse account: an invitation makes its user a member
of the members' space (an account, a `Person` actor, an accepted follow of the Group); a reset
link lets a member who has no e-mail set a new password. No e-mail is needed: the admin prints
the link, sends it by SMS or reads it out. Only the hash of a link's token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from activitypub.keys import generate_rsa_key, private_key_to_pem, public_key_to_pem

from . import accounts, storage
from .accounts import AccountError
from .instance import Instance
from .members import space_of
from .names import NameTaken, check_actor_name
from .storage import Account, Invitation, utc_now_iso

INVITATION_DAYS = 30
RESET_DAYS = 3
MAX_NAME_LENGTH = 80
MAX_TOWN_LENGTH = 80


class InvitationError(ValueError):
    """A link that cannot be used (unknown, used, revoked, expired), or a form to correct."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _in_days(instance: Instance, days: int) -> str:
    moment = datetime.fromtimestamp(instance.clock(), UTC) + timedelta(days=days)
    return moment.isoformat(timespec="seconds")


def _now(instance: Instance) -> str:
    return datetime.fromtimestamp(instance.clock(), UTC).isoformat(timespec="seconds")


async def create_invitation(instance: Instance, created_by: str) -> str:
    """A new invitation to the members' space; returns its URL (shown once, never stored)."""
    token = secrets.token_urlsafe(18)
    async with instance.db.transaction() as tx:
        await storage.put_invitation(tx, token_hash=_hash(token), purpose="join",
                                     group_uri=space_of(instance).uri, account_id=None,
                                     created_by=created_by, expires_at=_in_days(instance, INVITATION_DAYS))
    return f"{instance.config.url}/invitations/{token}"


async def create_reset_link(instance: Instance, account: Account, created_by: str) -> str:
    """A one-time link to set a new password for `account`; returns its URL."""
    token = secrets.token_urlsafe(18)
    async with instance.db.transaction() as tx:
        await storage.put_invitation(tx, token_hash=_hash(token), purpose="reset",
                                     group_uri=space_of(instance).uri, account_id=account.id,
                                     created_by=created_by, expires_at=_in_days(instance, RESET_DAYS))
    return f"{instance.config.url}/password/{token}"


async def usable(instance: Instance, token: str, purpose: str) -> Invitation:
    """The waiting link of this token, or InvitationError saying why it cannot be used."""
    found = await storage.get_invitation_by_token_hash(instance.db, _hash(token))
    if found is None or found.purpose != purpose:
        raise InvitationError("this link is not valid")
    state = found.state(_now(instance))
    if state == "expired":
        raise InvitationError("this link has expired")
    if state != "waiting":
        raise InvitationError(f"this link has been {state}")
    return found


async def join(instance: Instance, token: str, *, username: str, display_name: str, town: str,
               password: str) -> Account:
    """The invitation's user becomes a member: account, Person actor (display name and town
    only) and membership, all at once or nothing; the link then opens nothing."""
    invitation = await usable(instance, token, "join")
    username, display_name, town = _checked_profile(username, display_name, town)
    accounts.check_new_password(password)
    await _check_name_free(instance, username)
    password_hash = await accounts.hash_password(password)
    uri = instance.urls.actor(username)
    key = generate_rsa_key()
    async with instance.db.transaction() as tx:
        account_id = await storage.put_member_account(tx, username, password_hash, uri)
        if not await storage.use_invitation(tx, invitation.id, account_id, _now(instance)):
            raise InvitationError("this link has just been used")
        await storage.put_local_actor(
            tx, username=username, uri=uri, kind="person", ap_type="Person", name=display_name,
            summary=town, manually_approves=True, private_key_pem=private_key_to_pem(key),
            public_key_pem=public_key_to_pem(key.public_key()))
        await storage.put_follow(tx, uri, invitation.group_uri, None, "accepted")
    account = await storage.get_account(instance.db, account_id)
    assert account is not None
    return account


def _checked_profile(username: str, display_name: str, town: str) -> tuple[str, str, str]:
    username = username.strip().lower()
    if not accounts.USERNAME.match(username):
        raise AccountError("a username has 2 to 40 lower-case letters, digits, '.', '_' or '-'")
    display_name = " ".join(display_name.split()) or username
    town = " ".join(town.split())
    if len(display_name) > MAX_NAME_LENGTH or len(town) > MAX_TOWN_LENGTH:
        raise AccountError(f"the name and the town have at most {MAX_NAME_LENGTH} characters")
    return username, display_name, town


async def _check_name_free(instance: Instance, username: str) -> None:
    if username in (instance.config.name, instance.config.domain):
        raise AccountError(f"the name {username} is taken")
    try:
        await check_actor_name(instance.db, username)
    except NameTaken as error:
        raise AccountError(str(error)) from error
    if await storage.get_account_by_username(instance.db, username) is not None:
        raise AccountError(f"the name {username} is taken")


async def reset_password(instance: Instance, token: str, password: str) -> Account:
    """The link's account gets `password` (its open sessions end); the link then opens nothing."""
    invitation = await usable(instance, token, "reset")
    accounts.check_new_password(password)
    password_hash = await accounts.hash_password(password)
    assert invitation.account_id is not None
    async with instance.db.transaction() as tx:
        if not await storage.use_invitation(tx, invitation.id, invitation.account_id, _now(instance)):
            raise InvitationError("this link has just been used")
        await storage.reset_account_password(tx, invitation.account_id, password_hash)
    account = await storage.get_account(instance.db, invitation.account_id)
    assert account is not None
    return account


async def list_links(instance: Instance, purpose: str, limit: int = 200) -> list[Invitation]:
    return await storage.list_invitations(instance.db, purpose, limit)


async def revoke(instance: Instance, invitation_id: int) -> bool:
    """A link not yet used stops working; False if it was used or revoked already."""
    async with instance.db.transaction() as tx:
        return await storage.revoke_invitation(tx, invitation_id, utc_now_iso())
