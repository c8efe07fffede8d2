"""Writing news and events: the dashboard, the editor with its live preview, publishing now,
later or as a draft, editing and deleting (which federate as Update and Delete)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub.errors import ActivityPubError, NotFound
from fedi import outbox, storage
from fedi.content import render_markdown
from fedi.instance import Instance
from fedi.outbox import MAX_TEXT_LENGTH, MAX_TITLE_LENGTH, AudienceFixed
from fedi.storage import Attachment, Post

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..rendering import gettext, render
from . import events, photos
from .forms import FormError, read_editor_form, text_field, too_long

DESK_LIST = 50
ACTIONS = ("publish", "draft", "schedule")
VISIBILITIES = {"public": "public", "members": "followers"}


@dataclass(frozen=True)
class PostFields:
    """The editor's form, checked. `visibility` is None when the form has no audience (a
    published post's is fixed); `status` is what the editor asked: published, draft, scheduled."""

    title: str
    text: str
    visibility: str | None
    status: str
    scheduled_at: str | None


async def dashboard(request: Request) -> Response:
    await require_session(request)
    instance = instance_of(request)
    if instance.config.role == "relay":
        return RedirectResponse("/desk/relay", status_code=303)
    waiting = await _posts_of_the_desk(instance, ("draft", "scheduled"))
    published = await _posts_of_the_desk(instance, ("published",))
    return render(request, "desk/dashboard.html", {
        "waiting": waiting, "published": published,
        "sent_to_every_follower": [post for post in published if _sent_to_every_follower(instance, post)],
    })


async def _posts_of_the_desk(instance: Instance, statuses: tuple[str, ...]) -> list[Post]:
    """The association's posts and the members' space's, newest first."""
    authors = [instance.association] + ([instance.members] if instance.members else [])
    posts = [post for author in authors
             for post in await storage.list_local_posts(instance.db, author.uri, statuses, DESK_LIST)]
    return sorted(posts, key=lambda post: (post.published_at, post.id), reverse=True)[:DESK_LIST]


def _sent_to_every_follower(instance: Instance, post: Post) -> bool:
    """A "members only" post from before the members' space: the association sent it to all its
    followers (anyone could follow), and nothing can recall it."""
    return post.author == instance.association.uri and post.visibility == "followers"


async def copy_for_members(request: Request) -> Response:
    await require_session(request)
    await read_form(request)
    post = await _desk_post(request)
    if not _sent_to_every_follower(instance_of(request), post):
        raise NotFound("not a post sent to every follower")
    copy = await outbox.copy_to_members_space(instance_of(request), post.uri)
    return RedirectResponse(f"/desk/posts/{copy.id}?saved=copied", status_code=303)


async def new_post(request: Request) -> Response:
    await require_session(request)
    kind = "event" if request.query_params.get("kind") == "event" else "news"
    return _editor(request, None, kind, {"visibility": "public"})


async def create_post(request: Request) -> Response:
    await require_session(request)
    try:
        form = await read_editor_form(request, MAX_TEXT_LENGTH)
    except FormError as error:
        kind = "event" if request.query_params.get("kind") == "event" else "news"
        return _editor(request, None, kind, {"visibility": "public"}, str(error), status_code=400)
    kind = "event" if text_field(form, "kind", 10) == "event" else "news"
    instance = instance_of(request)
    try:
        fields = _post_fields(request, form)
        event = events.event_from_form(request, form, instance.config.timezone) if kind == "event" else None
        media = await photos.attachments_from_form(request, instance, form, [])
        post = await outbox.publish_post(
            instance, fields.text, title=fields.title or None, visibility=fields.visibility or "public",
            media=media, event=event, status=fields.status, scheduled_at=fields.scheduled_at)
    except (FormError, ActivityPubError) as error:
        return _editor(request, None, kind, dict(form), str(error), status_code=400)
    return RedirectResponse(f"/desk/posts/{post.id}?saved={_saved(post, fields)}", status_code=303)


async def edit_form(request: Request) -> Response:
    await require_session(request)
    post = await _desk_post(request)
    instance = instance_of(request)
    return _editor(request, post, "event" if post.is_event else "news",
                   _stored_values(post, instance.config.timezone),
                   saved=request.query_params.get("saved", ""),
                   photos=await storage.list_attachments(instance.db, post.uri))


async def save_post(request: Request) -> Response:
    await require_session(request)
    post = await _desk_post(request)
    was_published = post.status == "published"
    instance = instance_of(request)
    try:
        form = await read_editor_form(request, MAX_TEXT_LENGTH)
    except FormError as error:
        return await _editor_of(request, post, str(error))
    try:
        fields = _post_fields(request, form)
        event = events.event_from_form(request, form, instance.config.timezone) if post.is_event else None
        current = await storage.list_attachments(instance.db, post.uri)
        media = await photos.attachments_from_form(request, instance, form, current)
        post = await outbox.save_post(instance, post.uri, fields.text, title=fields.title, media=media,
                                      event=event, visibility=fields.visibility, status=fields.status,
                                      scheduled_at=fields.scheduled_at)
    except AudienceFixed:
        message = gettext(request, "The audience of a post already published cannot change: delete it"
                          " and publish it again (button below). Nothing was changed.")
        return _editor(request, post, "event" if post.is_event else "news", dict(form), message,
                       status_code=400, photos=await storage.list_attachments(instance.db, post.uri))
    except (FormError, ActivityPubError) as error:
        return _editor(request, post, "event" if post.is_event else "news", dict(form), str(error),
                       status_code=400, photos=await storage.list_attachments(instance.db, post.uri))
    return RedirectResponse(f"/desk/posts/{post.id}?saved={_saved(post, fields, was_published)}",
                            status_code=303)


def _saved(post: Post, fields: PostFields, was_published: bool = False) -> str:
    """What the editor says once saved: a post scheduled at a time already past went out now."""
    if fields.status == "scheduled" and post.status == "published" and not was_published:
        return "past"
    return post.status


async def republish(request: Request) -> Response:
    """A published post is deleted and published again for the other audience."""
    await read_form(request)
    post = await _desk_post(request)
    again = await outbox.republish_for_other_audience(instance_of(request), post.uri)
    return RedirectResponse(f"/desk/posts/{again.id}?saved=republished", status_code=303)


async def delete(request: Request) -> Response:
    await read_form(request)
    post = await _desk_post(request)
    await outbox.delete_post(instance_of(request), post.uri)
    return RedirectResponse("/desk?deleted=1", status_code=303)


async def preview(request: Request) -> Response:
    """The live preview: the editor's Markdown as it will be shown (sanitised like the real thing),
    or, for a text over the limit, the message that says so before it is sent."""
    try:
        form = await read_editor_form(request, MAX_TEXT_LENGTH)
        text = text_field(form, "text", MAX_TEXT_LENGTH + 1)
        if len(text) > MAX_TEXT_LENGTH:
            raise too_long(request, MAX_TEXT_LENGTH)
    except FormError as error:
        return HTMLResponse(f'<p class="error" role="alert">{escape(str(error))}</p>')
    return HTMLResponse(render_markdown(text))


def _post_fields(request: Request, form: FormData) -> PostFields:
    title = text_field(form, "title", MAX_TITLE_LENGTH + 1)
    text = text_field(form, "text", MAX_TEXT_LENGTH + 1)
    if not text:
        raise FormError(gettext(request, "Write the text of the post."))
    if len(text) > MAX_TEXT_LENGTH:
        raise too_long(request, MAX_TEXT_LENGTH)
    if len(title) > MAX_TITLE_LENGTH:
        raise FormError(gettext(request, "The title is too long (at most %(count)s characters).",
                                count=MAX_TITLE_LENGTH))
    visibility = VISIBILITIES.get(text_field(form, "visibility", 20)) if "visibility" in form else None
    action = text_field(form, "action", 20)
    if action not in ACTIONS:
        action = "draft"
    scheduled_at = None
    if action == "schedule":
        try:
            scheduled_at = events.to_utc(text_field(form, "scheduled_at", 40),
                                         instance_of(request).config.timezone)
        except ValueError:
            raise FormError(gettext(request, "Give the date and time to publish at.")) from None
    status = {"publish": "published", "draft": "draft", "schedule": "scheduled"}[action]
    return PostFields(title, text, visibility, status, scheduled_at)


async def _desk_post(request: Request) -> Post:
    instance = instance_of(request)
    post = await storage.get_post_by_id(instance.db, request.path_params["post_id"])
    if post is None or not post.is_local or post.is_deleted or post.in_reply_to:
        raise NotFound("no such post")
    editors = {instance.association.uri, instance.members.uri if instance.members else ""}
    if post.author not in editors or await storage.get_group_original(instance.db, post.uri):
        raise NotFound("no such post")  # a member's own words, or the space's copy of them
    return post


async def _editor_of(request: Request, post: Post, error: str) -> Response:
    """The editor of a saved post as it is stored, with `error` (its form could not be read)."""
    instance = instance_of(request)
    return _editor(request, post, "event" if post.is_event else "news",
                   _stored_values(post, instance.config.timezone), error, status_code=400,
                   photos=await storage.list_attachments(instance.db, post.uri))


def _stored_values(post: Post, timezone: str) -> dict[str, object]:
    return {"title": post.title or "", "text": post.source or "", "visibility": post.visibility,
            "scheduled_at": events.to_local_input(post.scheduled_at, timezone),
            **events.event_form_values(post, timezone)}


def _editor(request: Request, post: Post | None, kind: str, values: dict[str, object],
            error: str = "", *, saved: str = "", status_code: int = 200,
            photos: list[Attachment] | None = None) -> Response:
    return render(request, "desk/editor.html", {
        "post": post, "kind": kind, "values": values, "error": error, "saved": saved,
        "recurrences": events.RECURRENCES, "photos": photos or [],
    }, status_code=status_code)


routes = [
    Route("/desk", dashboard),
    AssociationRoute("/desk/posts/new", new_post, methods=["GET"]),
    AssociationRoute("/desk/posts/new", create_post, methods=["POST"]),
    AssociationRoute("/desk/posts/{post_id:id}", edit_form, methods=["GET"]),
    AssociationRoute("/desk/posts/{post_id:id}", save_post, methods=["POST"]),
    AssociationRoute("/desk/posts/{post_id:id}/delete", delete, methods=["POST"]),
    AssociationRoute("/desk/posts/{post_id:id}/republish", republish, methods=["POST"]),
    AssociationRoute("/desk/posts/{post_id:id}/copy-for-members", copy_for_members, methods=["POST"]),
    AssociationRoute("/desk/preview", preview, methods=["POST"]),
]
