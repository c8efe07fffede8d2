"""RSS 2.0 and Atom feeds of the public news: an association's own posts or, on the relay,
the whole network's. The XML is written by feedgen, never by hand."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi import storage
from fedi.content import plain_text
from fedi.instance import Instance
from fedi.relay import network
from fedi.storage import Post

from .context import instance_of

if TYPE_CHECKING:  # feedgen pulls in lxml (~5 MB): imported when a feed is first asked for
    from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

__all__ = ["routes", "build_feed", "rss_feed", "atom_feed"]

ASSOCIATION_FEED_POSTS = 20
NETWORK_FEED_POSTS = 50
TITLE_EXCERPT_LENGTH = 80
RSS_MEDIA_TYPE = "application/rss+xml; charset=utf-8"
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
CACHE_HEADERS = {"Cache-Control": "public, max-age=300"}


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)  # "…Z" is UTC (Python 3.11+)


def entry_title(post: Post) -> str:
    """The post's title, else the start of its text (feeds require a non-empty title)."""
    text = " ".join(plain_text(post.content).split())
    return plain_text(post.title) or text[:TITLE_EXCERPT_LENGTH] or post.uri


async def _author_names(instance: Instance, posts: list[Post]) -> dict[str, str]:
    """Display names of the network's authors, as their actors last told the relay."""
    names = {}
    for uri in {post.author for post in posts}:
        actor = await storage.get_remote_actor_by_uri(instance.db, uri)
        names[uri] = (actor and (plain_text(actor.name) or actor.handle)) or uri
    return names


def _add_entry(feed: FeedGenerator, post: Post, author_name: str | None) -> None:
    entry = feed.add_entry(order="append")  # posts come newest first; keep that order
    entry.id(post.uri)
    entry.link(href=post.uri, rel="alternate")
    entry.title(entry_title(post))
    entry.content(post.content, type="html")
    entry.published(_timestamp(post.published_at))
    entry.updated(_timestamp(post.updated_at or post.published_at))
    if author_name is not None:
        entry.author(name=author_name, uri=post.author)
        entry.dc.dc_creator(author_name)


async def build_feed(instance: Instance, self_path: str, region: str = "") -> FeedGenerator:
    """The feed found at `self_path`: the association's latest public posts, or the network's
    on the relay, or one region's (each entry then names its author)."""
    actor = instance.association  # on a relay, the relay's own actor
    on_relay = instance.config.role == "relay"
    if on_relay:
        posts = await network.news(instance, NETWORK_FEED_POSTS, region)
        names = await _author_names(instance, posts)
    else:
        posts = await storage.list_posts_by_author(instance.db, actor.uri, ASSOCIATION_FEED_POSTS)
        names = {}
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)  # RSS <dc:creator> for the network's authors
    feed.id(actor.uri)
    feed.title(instance.config.title)
    feed.link(href=instance.config.url + self_path, rel="self")
    feed.link(href=instance.config.url + "/", rel="alternate")  # the last link is RSS's <link>
    feed.description(plain_text(actor.summary) or instance.config.title)
    if not on_relay:
        feed.author(name=instance.config.title, uri=actor.uri)
    for post in posts:
        _add_entry(feed, post, names.get(post.author))
    if posts:
        feed.updated(max(_timestamp(post.updated_at or post.published_at) for post in posts))
    return feed


def _region(request: Request) -> str:
    return request.query_params.get("region", "")[:100]


def _self_path(request: Request, path: str) -> str:
    region = _region(request)
    return f"{path}?{urlencode({'region': region})}" if region else path


async def rss_feed(request: Request) -> Response:
    feed = await build_feed(instance_of(request), _self_path(request, "/feed.rss"), _region(request))
    return Response(feed.rss_str(pretty=True), media_type=RSS_MEDIA_TYPE, headers=CACHE_HEADERS)


async def atom_feed(request: Request) -> Response:
    feed = await build_feed(instance_of(request), _self_path(request, "/feed.atom"), _region(request))
    return Response(feed.atom_str(pretty=True), media_type=ATOM_MEDIA_TYPE, headers=CACHE_HEADERS)


routes = [Route("/feed.rss", rss_feed), Route("/feed.atom", atom_feed)]
