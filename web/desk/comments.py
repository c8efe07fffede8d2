"""Moderating comments (admins): replies from the fediverse waiting for approval, the ones
shown and the ones hidden; approve, hide, delete, block an account or its whole server. What
members write in the members' space is listed apart: shown at once, it can be hidden or deleted."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import BadRequest, NotFound
from fedi import members, moderation, storage

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..rendering import gettext, render
from .forms import text_field

LISTED = 50  # comments shown per state
DONE = ("approved", "hidden", "deleted", "blocked", "domain-blocked", "unblocked")
COMMENT_ACTIONS = {  # button → what it does, the notice shown after
    "approve": (moderation.approve_comment, "approved"),
    "hide": (moderation.hide_comment, "hidden"),
    "delete": (moderation.delete_comment, "deleted"),
}


async def overview(request: Request) -> Response:
    await require_session(request, admin=True)
    return await _page(request)


async def _page(request: Request, error: str = "", status_code: int = 200) -> Response:
    instance = instance_of(request)
    db, space = instance.db, members.space_of(instance).uri
    done = request.query_params.get("done", "")
    return render(request, "desk/comments.html", {
        "pending": await storage.list_comments(db, "pending", LISTED),
        "published": await storage.list_comments(db, "published", LISTED),
        "hidden": await storage.list_comments(db, "hidden", LISTED),
        "space_shown": await storage.list_space_comments(db, space, "published", LISTED),
        "space_hidden": await storage.list_space_comments(db, space, "hidden", LISTED),
        "blocked": await storage.list_account_blocks(db),
        "done": done if done in DONE else "", "error": error,
    }, status_code=status_code)


async def moderate(request: Request) -> Response:
    """One button of a comment: approve, hide, delete, block its author or its author's server."""
    await require_session(request, admin=True)
    await read_form(request)
    instance = instance_of(request)
    comment_id: int = request.path_params["comment_id"]
    action = request.path_params["action"]
    if action in COMMENT_ACTIONS:
        change, done = COMMENT_ACTIONS[action]
        await change(instance, comment_id)
        return _done(done)
    comment = await moderation.get_comment(instance, comment_id)
    if action == "block-account":
        await moderation.block_account(instance, comment.post.author)
        return _done("blocked")
    if action == "block-domain":
        try:
            await moderation.block_domain_of(instance, comment.post.author)
        except BadRequest:
            return await _page(request, gettext(
                request, "This server cannot be blocked: it is this site's own."), status_code=400)
        return _done("domain-blocked")
    raise NotFound(f"no action {action}")


async def unblock(request: Request) -> Response:
    await require_session(request, admin=True)
    form = await read_form(request)
    await moderation.unblock_account(instance_of(request), text_field(form, "actor", 2000))
    return _done("unblocked")


def _done(what: str) -> Response:
    return RedirectResponse(f"/desk/comments?done={what}", status_code=303)


routes = [
    AssociationRoute("/desk/comments", overview, methods=["GET"]),
    AssociationRoute("/desk/comments/unblock", unblock, methods=["POST"]),
    AssociationRoute("/desk/comments/{comment_id:id}/{action}", moderate, methods=["POST"]),
]
