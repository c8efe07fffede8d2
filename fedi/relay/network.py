"""The network as the relay shows it: its associations with their town and region (the
directory), and its news, for the whole network or one region; the admin hides a post from it."""

from __future__ import annotations

from dataclasses import dataclass

from .. import storage
from ..content import plain_text
from ..instance import Instance
from ..storage import Post


@dataclass(frozen=True)
class Association:
    name: str
    handle: str
    url: str
    domain: str
    town: str
    region: str


async def associations(instance: Instance, region: str = "") -> list[Association]:
    """The directory, by name; only the given region's when one is asked for."""
    members = await storage.list_network_members(instance.db)
    found = []
    for actor in await storage.list_subscribed_actors(instance.db):
        member = members.get(actor.host)
        town, where = (member.town, member.region) if member else ("", "")
        if region and where != region:
            continue
        found.append(Association(
            name=plain_text(actor.name) or actor.preferred_username or actor.host,
            handle=actor.handle, url=actor.uri, domain=actor.host, town=town, region=where))
    return found


async def regions(instance: Instance) -> list[str]:
    members = await storage.list_network_members(instance.db)
    return sorted({member.region for member in members.values() if member.region})


async def news(instance: Instance, limit: int, region: str = "", offset: int = 0) -> list[Post]:
    """The network's latest public posts; only those of the region's associations when asked."""
    if not region:
        return await storage.list_network_posts(instance.db, limit, offset)
    members = await storage.list_network_members(instance.db)
    authors = [m.association for m in members.values() if m.region == region and m.association]
    return await storage.list_network_posts_by(instance.db, authors, limit, offset) if authors else []


async def hide_post(instance: Instance, uri: str) -> bool:
    """The relay admin's moderation: a post no longer shows on the relay's pages."""
    post = await storage.get_post_by_uri(instance.db, uri)
    if post is None:
        return False
    async with instance.db.transaction() as tx:
        await storage.set_post_status(tx, uri, "hidden")
    return True
