"""The members' space: a `Group` whose approved members alone read its posts and discussions.

Membership is an accepted follow of the Group. A remote account asks by following it; the admin
approves (`Accept`) or refuses (`Reject`), and may later remove a member (`Reject` of the
accepted follow, which Mastodon applies as a removal). Local people join by an invitation link
(see `invitations`) and follow the Group from their own `Person` actor, accepted at once.
The same machinery will serve the activity groups.
"""

from __future__ import annotations

from collections.abc import Mapping

from activitypub.errors import ActivityPubError, NotFound
from activitypub.signatures import verify_request
from activitypub.vocab import Activity, as_id, host_of

from . import storage
from .following import accept_follow, reject_follow
from .instance import Instance
from .outbox import update_actor
from .remote import key_retriever
from .storage import Account, LocalActor, Membership

MAX_LISTED = 5000


def space_of(instance: Instance) -> LocalActor:
    """The instance's members' space (NotFound on a relay, which has none)."""
    if instance.members is None:
        raise NotFound("this server has no members' space")
    return instance.members


async def list_requests(instance: Instance, group: LocalActor | None = None) -> list[Membership]:
    group = group or space_of(instance)
    return await storage.list_memberships(instance.db, group.uri, "pending", MAX_LISTED)


async def list_members(instance: Instance, group: LocalActor | None = None) -> list[Membership]:
    group = group or space_of(instance)
    return await storage.list_memberships(instance.db, group.uri, "accepted", MAX_LISTED)


async def find_membership(instance: Instance, target: str, group: LocalActor | None = None) -> Membership:
    """A member or a request by actor URL, `@name@host` (`name@host`) or local name."""
    group = group or space_of(instance)
    actor_uri = await _actor_uri_of(instance, target.strip())
    for state in ("pending", "accepted"):
        for membership in await storage.list_memberships(instance.db, group.uri, state, MAX_LISTED):
            if membership.actor_uri == actor_uri:
                return membership
    raise NotFound(f"{target} is neither a member nor asking to be one")


async def _actor_uri_of(instance: Instance, target: str) -> str:
    if target.startswith(("http://", "https://")):
        return target
    name, _, host = target.lstrip("@").partition("@")
    if not host or host.lower() in (instance.config.host, instance.config.domain):
        local = await storage.get_local_actor_by_username(instance.db, name)
        return local.uri if local else target
    remote = await storage.get_remote_actor_by_handle(instance.db, name, host)
    return remote.uri if remote else target


async def approve(instance: Instance, target: str, group: LocalActor | None = None) -> Membership:
    """A waiting request becomes a membership: `Accept` sent to its server."""
    group = group or space_of(instance)
    membership = await find_membership(instance, target, group)
    if membership.state != "pending":
        return membership
    follower = await storage.get_remote_actor_by_uri(instance.db, membership.actor_uri)
    if follower is None:
        raise NotFound(f"{target} is not a remote account")
    async with instance.db.transaction() as tx:
        await accept_follow(instance, tx, group, follower, _follow_of(membership, group))
    return await find_membership(instance, target, group)


async def reject(instance: Instance, target: str, group: LocalActor | None = None) -> Membership:
    """A waiting request is refused (`Reject`); an existing member is not touched (see `remove`)."""
    group = group or space_of(instance)
    membership = await find_membership(instance, target, group)
    if membership.state != "pending":
        raise NotFound(f"{target} is not asking to join (remove a member instead)")
    await _end(instance, membership, group)
    return membership


async def remove(instance: Instance, target: str, group: LocalActor | None = None) -> Membership:
    """A member stops being one: a remote one gets `Reject` of its follow and nothing more from
    the space; a local person keeps their account but no longer reads the space."""
    group = group or space_of(instance)
    membership = await find_membership(instance, target, group)
    if membership.state != "accepted":
        raise NotFound(f"{target} is not a member (refuse the request instead)")
    await _end(instance, membership, group)
    return membership


async def _end(instance: Instance, membership: Membership, group: LocalActor) -> None:
    follower = await storage.get_remote_actor_by_uri(instance.db, membership.actor_uri)
    async with instance.db.transaction() as tx:
        if follower is None or membership.is_local:
            await storage.delete_follow(tx, membership.actor_uri, group.uri)
        else:
            await reject_follow(instance, tx, group, follower, _follow_of(membership, group))


def _follow_of(membership: Membership, group: LocalActor) -> dict[str, str]:
    """The member's Follow as our answers name it: its id, which is what Mastodon matches."""
    follow = {"type": "Follow", "actor": membership.actor_uri, "object": group.uri}
    return {"id": membership.follow_uri, **follow} if membership.follow_uri else follow


async def is_member(instance: Instance, actor_uri: str, group: LocalActor | None = None) -> bool:
    group = group or space_of(instance)
    return await storage.is_group_member(instance.db, group.uri, actor_uri)


async def may_fetch(instance: Instance, group_uri: str, signer_uri: str, signer_type: str) -> bool:
    """Whether a signed GET may read a Group's private objects: signed by an approved member, or
    by the instance actor (an `Application`, which people cannot create) of a server where an
    approved member has their account — servers fetch that way on their users' behalf."""
    if await storage.is_group_member(instance.db, group_uri, signer_uri):
        return True
    return signer_type == "Application" and await storage.has_member_on_host(
        instance.db, group_uri, host_of(signer_uri))


async def may_read_signed(instance: Instance, group_uri: str, method: str, url: str,
                          headers: Mapping[str, str]) -> bool:
    """Whether a fetch of a Group's private object is signed by someone who may read it (see
    `may_fetch`). No signature, a bad one, a key that cannot be had or a blocked signer are all
    a no: the caller answers 404, which tells nothing."""
    try:
        verified = await verify_request(method, url, headers, b"", key_retriever(instance))
    except ActivityPubError:
        return False
    signer = await storage.get_remote_actor_by_uri(instance.db, verified.key.owner)
    return signer is not None and await may_fetch(instance, group_uri, signer.uri, signer.type)


async def reveals_membership(instance: Instance, activity: Activity) -> bool:
    """Whether an activity tells who follows, or asks to follow, an actor that approves its
    followers by hand (a Follow of it, its Accept or Reject, their Undo): who belongs to a
    members' space is nobody else's business."""
    inner = activity.object or {}
    named = {activity.actor, activity.object_id, as_id(inner.get("actor")), as_id(inner.get("object"))}
    for uri in filter(None, named):
        local = await instance.get_local_actor(uri)
        if local is not None and local.manually_approves:
            return True
        remote = await storage.get_remote_actor_by_uri(instance.db, uri)
        if remote is not None and remote.raw.get("manuallyApprovesFollowers") is True:
            return True
    return False


def reads_space(account: Account | None) -> bool:
    """Whether a logged-in person reads the members' space on the site: its members, and the
    desk's admins and editors, who write its posts."""
    return account is not None and (account.uses_desk or account.actor_uri is not None)


async def rename(instance: Instance, name: str, summary: str, group: LocalActor | None = None) -> LocalActor:
    """The space's display name and presentation change (its handle and id never do); its
    members' servers are sent an Update of it."""
    group = group or space_of(instance)
    async with instance.db.transaction() as tx:
        await storage.set_local_actor_profile(tx, group.uri, name, summary)
        renamed = await storage.get_local_actor_by_uri(tx, group.uri) or group
        await update_actor(instance, tx, renamed)
    if instance.members is not None and instance.members.uri == renamed.uri:
        instance.members = renamed
    return renamed
