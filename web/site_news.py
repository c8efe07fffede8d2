"""The public website: home, news archive, a post's page, the relay's network pages, the logo,
the theme colour and the language switch."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub.errors import NotFound
from fedi import storage
from fedi.instance import Instance
from fedi.relay import network
from fedi.storage import LocalActor, Post

from . import agenda
from .context import instance_of
from .i18n import LANGUAGE_COOKIE, LANGUAGES
from .params import parse_int
from .rendering import render

HOME_POSTS = 10
LISTED_FOLLOWERS = 100  # on the home page, when the association chose to show them
ARCHIVE_PAGE = 20
NETWORK_POSTS = 20


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
        return await network_page(request, instance)
    return await actor_page(request, instance, instance.association)


async def network_page(request: Request, instance: Instance) -> Response:
    """The relay's home: the latest public news of every association in the network, or of
    one region's (`?region=`)."""
    region = request.query_params.get("region", "")[:100]
    posts = await network.news(instance, NETWORK_POSTS, region)
    subscriptions = await storage.list_relay_subscriptions(instance.db, "accepted")
    members = {member.url: member for member in await network.associations(instance)}
    return render(request, "network.html", {
        "posts": posts, "members": members, "associations": len(subscriptions), "region": region,
        "regions": await network.regions(instance)})


async def actor_page(request: Request, instance: Instance, actor: LocalActor) -> Response:
    """The association's home page (also what its actor URL shows in a browser)."""
    posts = await storage.list_posts_by_author(instance.db, actor.uri, HOME_POSTS)
    return render(request, "home.html", {
        "actor": actor,
        "handle": f"@{actor.username}@{instance.config.host}",
        "followers": await storage.count_followers(instance.db, actor.uri),
        "follower_list": await storage.list_follower_handles(instance.db, actor.uri, LISTED_FOLLOWERS)
        if instance.settings.list_followers else [],
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
    comments = await storage.list_replies(instance.db, post.uri, ("published",))
    return render(request, "post.html", {
        "view": (await post_views(instance, [post]))[0],
        "comments": [comment for comment in comments if comment.visibility in ("public", "unlisted")],
        "event": agenda.event_details(request, instance, post),
    }, status_code=410 if post.is_deleted else 200)


async def logo(request: Request) -> Response:
    """The association's logo: DIR/logo.png when it has one, else the network's."""
    own = instance_of(request).directory / "logo.png"
    path = own if own.is_file() else Path(__file__).parent / "static" / "logo.png"
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


async def theme(request: Request) -> Response:
    """The association's accent colour over the network theme (validated when saved)."""
    colour = instance_of(request).settings.colour
    return Response(f":root {{ --accent: {colour}; }}\n", media_type="text/css",
                    headers={"Cache-Control": "public, max-age=300"})


async def choose_language(request: Request) -> Response:
    """The language switch: remembered in a cookie, back to the page the visitor was on."""
    language = request.query_params.get("to", "")
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax")
    return response


async def directory(request: Request) -> Response:
    """The relay's directory of associations: name, handle and link, from their own actors."""
    instance = instance_of(request)
    if instance.config.role != "relay":
        raise NotFound("only the relay has a directory")
    region = request.query_params.get("region", "")[:100]
    return render(request, "directory.html", {
        "associations": await network.associations(instance, region),
        "region": region, "regions": await network.regions(instance),
    })


routes = [
    Route("/", home),
    Route("/news", news),
    Route("/logo.png", logo),
    Route("/theme.css", theme),
    Route("/language", choose_language),
    Route("/associations", directory),
]
