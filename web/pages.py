"""HTML pages (a minimal public site; the full website and desk build on these)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from activitypub.errors import NotFound
from fedi import storage
from fedi.content import plain_text
from fedi.instance import Instance
from fedi.storage import LocalActor, Post

from .context import instance_of

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
HOME_POSTS = 20


async def _post_views(instance: Instance, posts: list[Post]) -> list[dict[str, object]]:
    """Posts with their likes and boosts (one query for the whole page)."""
    reactions = await storage.count_reactions_of(instance.db, [post.uri for post in posts])
    return [{"post": post, "reactions": reactions[post.uri]} for post in posts]


async def home(request: Request) -> Response:
    instance = instance_of(request)
    if instance.config.role == "relay":
        return await network_page(request, instance)
    return await actor_page(request, instance, instance.association)


async def network_page(request: Request, instance: Instance) -> Response:
    """The relay's home: the latest public news of every association in the network."""
    posts = await storage.list_network_posts(instance.db, HOME_POSTS)
    subscriptions = await storage.list_relay_subscriptions(instance.db, "accepted")
    return templates.TemplateResponse(request, "network.html", {
        "instance": instance, "posts": posts, "associations": len(subscriptions),
    })


async def actor_page(request: Request, instance: Instance, actor: LocalActor) -> Response:
    posts = await storage.list_posts_by_author(instance.db, actor.uri, HOME_POSTS)
    return templates.TemplateResponse(request, "actor.html", {
        "instance": instance,
        "actor": actor,
        "handle": f"@{actor.username}@{instance.config.host}",
        "followers": await storage.count_followers(instance.db, actor.uri),
        "posts": await _post_views(instance, posts),
    })


async def post_page(request: Request, instance: Instance, post: Post) -> Response:
    comments = await storage.list_replies(instance.db, post.uri, ("published",))
    return templates.TemplateResponse(request, "post.html", {
        "instance": instance,
        "view": (await _post_views(instance, [post]))[0],
        "comments": [comment for comment in comments if comment.visibility in ("public", "unlisted")],
    }, status_code=410 if post.is_deleted else 200)


async def logo(request: Request) -> Response:
    """The association's logo: DIR/logo.png when it has one, else the network's."""
    own = instance_of(request).directory / "logo.png"
    path = own if own.is_file() else Path(__file__).parent / "static" / "logo.png"
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


async def directory(request: Request) -> Response:
    """The relay's directory of associations: name, handle and link, from their own actors."""
    instance = instance_of(request)
    if instance.config.role != "relay":
        raise NotFound("only the relay has a directory")
    actors = await storage.list_subscribed_actors(instance.db)
    return templates.TemplateResponse(request, "directory.html", {
        "instance": instance,
        "associations": [{"name": plain_text(actor.name) or actor.preferred_username or actor.host,
                          "handle": actor.handle, "url": actor.uri}
                         for actor in actors],
    })


routes = [Route("/", home), Route("/logo.png", logo), Route("/associations", directory)]
