"""The members' space on the site: its posts and discussions for those who may read them
(members, and the desk's admins and editors), how to join for everyone else. A private post's
page answers 404 to anyone who may not read it: nothing says it exists."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import BadRequest, NotFound
from fedi import member_posts, members, storage
from fedi.instance import Instance
from fedi.storage import Account, Post

from .auth import current_session, read_form
from .context import AssociationRoute, instance_of
from .desk.forms import text_field
from .params import parse_int
from .rendering import gettext, render
from .site_news import post_views

PAGE_SIZE = 20
MAX_TEXT_FIELD = 60_000


async def reader_of(request: Request, instance: Instance) -> Account | None:
    """The logged-in account if it may read the space now: a member still approved, or a desk
    account (whose admins and editors write the space's posts)."""
    session = await current_session(request)
    account = session.account if session else None
    if not members.reads_space(account) or instance.members is None:
        return None
    assert account is not None
    if not account.uses_desk and not await members.is_member(instance, account.actor_uri or ""):
        return None
    return account


async def space_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    instance = instance_of(request)
    space = members.space_of(instance)
    reader = await reader_of(request, instance)
    context: dict[str, object] = {"space": space, "handle": f"@{space.username}@{instance.config.host}",
                                  "reader": reader, "error": error}
    if reader is not None:
        page = min(max(parse_int(request.query_params.get("page")) or 1, 1), 10_000)
        posts = await storage.list_group_posts(instance.db, space.uri, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        shown = posts[:PAGE_SIZE]
        context.update(
            posts=await post_views(instance, shown), page=page, has_next=len(posts) > PAGE_SIZE,
            replies=await storage.count_group_discussions(instance.db, space.uri, [p.uri for p in shown]),
            authors=await member_posts.authors(instance, shown))
    return render(request, "members.html", context, status_code=status_code)


async def write(request: Request) -> Response:
    """A member starts a discussion, or comments on a post of the space."""
    instance = instance_of(request)
    form = await read_form(request, desk=False, max_files=0)
    reader = await reader_of(request, instance)
    if reader is None or reader.actor_uri is None:
        raise NotFound("no such page")
    parent = text_field(form, "in_reply_to", 2000) or None
    try:
        await member_posts.write(instance, reader, text_field(form, "text", MAX_TEXT_FIELD),
                                 in_reply_to=parent)
    except BadRequest:
        message = gettext(request, "Write a text (at most 50,000 characters).")
        if parent is None:
            return await space_page(request, message, 400)
        found = await storage.get_post_by_uri(instance.db, parent)
        assert found is not None
        return await private_post_page(request, instance, found, message, 400)
    return RedirectResponse(f"{parent}#discussion" if parent else "/members?done=written", status_code=303)


async def private_post_page(request: Request, instance: Instance, post: Post, error: str = "",
                            status_code: int = 200) -> Response:
    """A post of the space and its discussion, for those who may read it; 404 to anyone else."""
    reader = await reader_of(request, instance)
    if reader is None or post.group_uri is None or post.is_deleted:
        raise NotFound("no such post")
    if await storage.get_group_original(instance.db, post.uri) is not None:
        # a copy made for Mastodon: the site shows the members' own words, in their discussion
        return RedirectResponse(await _start_of_thread(instance, post), status_code=303)
    discussion = await storage.list_group_discussion(instance.db, post.group_uri, post.uri)
    return render(request, "member_post.html", {
        "view": (await post_views(instance, [post]))[0], "discussion": discussion,
        "authors": await member_posts.authors(instance, [post, *discussion]),
        "reader": reader, "error": error,
    }, status_code=status_code)


async def _start_of_thread(instance: Instance, post: Post) -> str:
    for _ in range(100):
        parent = await storage.get_post_by_uri(instance.db, post.in_reply_to) if post.in_reply_to else None
        if parent is None or parent.group_uri != post.group_uri:
            break
        post = parent
    return post.uri


routes = [
    AssociationRoute("/members", space_page, methods=["GET"]),
    AssociationRoute("/members", write, methods=["POST"]),
]
