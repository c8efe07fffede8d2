"""Remote actors, keys and objects: fetched with a signed GET, checked, cached in storage.
Nothing is fetched from a blocked domain (`Rejected`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urldefrag

from activitypub.errors import BadRequest, FetchError, SignatureError
from activitypub.http import fetch_activitypub_object, fetch_json
from activitypub.keys import load_public_key
from activitypub.signatures import KeyRetriever, PublicKeyInfo
from activitypub.vocab import Note, as_id, parse_actor, parse_note, same_origin
from activitypub.webfinger import parse_handle, resolve_handle

from . import storage
from .blocks import refuse_blocked
from .instance import Instance
from .storage import RemoteActor

ACTOR_CACHE_SECONDS = 24 * 3600


async def fetch_object(instance: Instance, uri: str) -> dict[str, Any]:
    """A remote object by id, signed by the instance actor (servers in authorized-fetch mode
    require it); the answer must be ActivityStreams JSON with this very id."""
    await refuse_blocked(instance, uri)
    return await fetch_activitypub_object(
        instance.http, uri, auth=instance.signing_auth(), allow_private=instance.allow_private
    )


async def get_actor(instance: Instance, uri: str, *, refresh: bool = False) -> RemoteActor:
    """A remote actor, from the cache unless stale or `refresh`; fetched and stored otherwise."""
    uri = urldefrag(uri).url
    await refuse_blocked(instance, uri)
    if not refresh:
        cached = await storage.get_remote_actor_by_uri(instance.db, uri)
        if cached and instance.clock() - cached.fetched_at < ACTOR_CACHE_SECONDS:
            return cached
    data = await fetch_object(instance, uri)
    actor = parse_actor(data)
    if actor.id != uri:
        raise FetchError(f"actor document has id {actor.id!r}, expected {uri!r}")
    if not same_origin(actor.inbox, actor.id):
        raise BadRequest("actor inbox is on another host")
    await storage.put_remote_actor(instance.db, actor, instance.clock())
    stored = await storage.get_remote_actor_by_uri(instance.db, uri)
    assert stored is not None
    return stored


async def resolve_actor(instance: Instance, handle_or_url: str) -> RemoteActor:
    """`@name@host`, `name@host` or an actor URL → the stored remote actor."""
    target = handle_or_url.strip()
    if not target.startswith(("http://", "https://")):
        _, host = parse_handle(target)
        await refuse_blocked(instance, f"https://{host}/")  # before WebFinger asks that host
        target = await resolve_handle(instance.http, target, allow_private=instance.allow_private)
    return await get_actor(instance, target)


def key_retriever(instance: Instance) -> KeyRetriever:
    """The function signature verification calls to get the public key behind a keyId."""

    async def get_key(key_id: str, refresh: bool) -> PublicKeyInfo:
        remembered = None if refresh else instance.keys.get(key_id)
        if remembered is not None:
            await refuse_blocked(instance, remembered.owner)  # blocked since it was remembered
            return remembered
        actor = None if refresh else await storage.get_remote_actor_by_key_id(instance.db, key_id)
        if actor is None:
            try:
                actor = await _fetch_key_owner(instance, key_id)
            except ValueError as error:  # a malformed key id or URL in the key's documents
                raise SignatureError(f"cannot fetch key {key_id!r}: {error}") from error
        if actor.public_key_pem is None or actor.public_key_id != key_id:
            raise SignatureError(f"actor {actor.uri} does not publish key {key_id}")
        try:
            public_key = load_public_key(actor.public_key_pem)
        except ValueError as error:
            raise SignatureError(f"unreadable public key {key_id}") from error
        info = PublicKeyInfo(key_id=key_id, owner=actor.uri, public_key=public_key)
        instance.keys.put(key_id, info)
        return info

    return get_key


async def _fetch_key_owner(instance: Instance, key_id: str) -> RemoteActor:
    """The actor owning a key, fetched from its origin. Usually the key id is `actor#main-key`;
    otherwise the key id's document names its owner (a key document, or GoToSocial's actor stub
    with `publicKey.owner`). Either way the owner's own actor document must list the key."""
    owner = urldefrag(key_id).url
    if "#" not in key_id:
        owner = await _owner_named_by(instance, key_id)
    try:
        return await get_actor(instance, owner, refresh=True)
    except (FetchError, BadRequest) as error:
        raise SignatureError(f"cannot fetch the owner of key {key_id}: {error}") from error


async def _owner_named_by(instance: Instance, key_id: str) -> str:
    await refuse_blocked(instance, key_id)
    try:
        _, data = await fetch_json(instance.http, key_id, auth=instance.signing_auth(),
                                   allow_private=instance.allow_private)
    except FetchError as error:
        raise SignatureError(f"cannot fetch key {key_id}: {error}") from error
    key = data.get("publicKey")
    owner = as_id(data.get("owner")) or (as_id(key.get("owner")) if isinstance(key, dict) else None)
    owner = owner or as_id(data.get("id"))
    if owner is None or not same_origin(owner, key_id):
        raise SignatureError(f"key {key_id} has no owner on its own host")
    return owner


async def fetch_note(instance: Instance, uri: str) -> Note:
    """A post fetched from its origin: used for second-hand content (boosts, relayed posts)."""
    note = parse_note(await fetch_object(instance, uri))
    if not same_origin(note.id, note.attributed_to):
        raise BadRequest("object and its author are on different hosts")
    return note
