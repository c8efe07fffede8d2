"""The association's news on its site: the home page (on the relay, the relay's home), the
news archive and a post's page (also what its ActivityPub id shows in a browser)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi import storage
from fedi.instance import Instance
from fedi.storage import LocalActor, Post

from . import agenda, relay_site
from .context import AssociationRoute, instance_of
from .params import parse_int
from .rendering import render

HOME_POSTS = 10
LISTED_FOLLOWERS = 100  # on the home page, when the association chose to show them
ARCHIVE_PAGE = 20


async def post_views(instance: Instance, posts: list[Post]) -> list[dict[str, object]]:
    """Posts with their photos, likes and boosts (one query each for the whole page)."""
    uris = [post.uri for post in posts]
    reactions = await storage.count_reactions_of(instance.db, uris)
    photos = await storage.list_attachments_of(instance.db, uris)
    return [{"post": post, "reactions": reactions[post.uri], "photos": photos[post.uri]}
            for post in posts]


async def home(request: Request) -> Response:
    instance = instance_of(request)
    if instance.config.role == "relay":
        return await relay_site.home(request, instance)
    return await actor_page(request, instance, instance.association)


async def actor_page(request: Request, instance: Instance, actor: LocalActor) -> Response:
    """The association's home page (also what its actor URL shows in a browser)."""
    posts = await storage.list_posts_by_author(instance.db, actor.uri, HOME_POSTS)
    counted = actor.ap_type != "Group"  # a Group's followers are its members: not even their number
    return render(request, "home.html", {
        "actor": actor,
        "handle": f"@{actor.username}@{instance.config.host}",
        "followers": await storage.count_followers(instance.db, actor.uri) if counted else None,
        "follower_list": await storage.list_follower_handles(instance.db, actor.uri, LISTED_FOLLOWERS)
        if counted and instance.settings.list_followers else [],
        "posts": await post_views(instance, [post for post in posts if not post.is_event]),
        "upcoming": await agenda.upcoming_on_home(request, instance),
    })


async def news(request: Request) -> Response:
    """Every public post of the association, newest first, a page at a time."""
    instance = instance_of(request)
    page = _page_number(request)
    author = instance.association.uri
    posts = await storage.list_posts_by_author(instance.db, author, ARCHIVE_PAGE + 1,
                                               (page - 1) * ARCHIVE_PAGE)
    return render(request, "news.html", {
        "posts": await post_views(instance, posts[:ARCHIVE_PAGE]),
        "page": page, "has_next": len(posts) > ARCHIVE_PAGE,
    })


def _page_number(request: Request) -> int:
    page = parse_int(request.query_params.get("page")) or 1
    return min(max(page, 1), 10_000)


async def post_page(request: Request, instance: Instance, post: Post) -> Response:
    return render(request, "post.html", {
        "view": (await post_views(instance, [post]))[0],
        "comments": await storage.list_public_replies(instance.db, post.uri),
        "event": agenda.event_details(request, instance, post),
    }, status_code=410 if post.is_deleted else 200)


routes = [
    Route("/", home),
    AssociationRoute("/news", news),
]
