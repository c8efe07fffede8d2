"""The members' space on the desk (admins): requests to approve or refuse, members to remove,
one-time invitation links and password links for local members, the space's name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from activitypub.errors import NotFound
from fedi import invitations, members, profile, storage
from fedi.storage import utc_now_iso

from ..auth import read_form, require_session
from ..context import AssociationRoute, instance_of
from ..params import parse_int
from ..rendering import gettext, render
from .forms import text_field

DECISIONS = ("approve", "reject", "remove")


async def members_page(request: Request, error: str = "", status_code: int = 200,
                       link: str = "", link_for: str = "") -> Response:
    session = await require_session(request, admin=True)
    instance = instance_of(request)
    space = members.space_of(instance)
    return render(request, "desk/members.html", {
        "space": space, "handle": f"@{space.username}@{instance.config.host}",
        "requests": await members.list_requests(instance),
        "members": await members.list_members(instance),
        "invitations": await invitations.list_links(instance, "join"),
        "now": utc_now_iso(), "link": link, "link_for": link_for, "session": session,
        "error": error, "done": request.query_params.get("done", ""),
    }, status_code=status_code)


async def decide(request: Request) -> Response:
    await require_session(request, admin=True)
    instance = instance_of(request)
    form = await read_form(request)
    decision = text_field(form, "decision", 10)
    actor = text_field(form, "actor", 2000)
    if decision not in DECISIONS:
        return await members_page(request, gettext(request, "Unknown decision."), 400)
    try:
        await getattr(members, decision)(instance, actor)
    except NotFound:
        return await members_page(request, gettext(
            request, "This person is no longer asking to join, or no longer a member."), 404)
    return RedirectResponse(f"/desk/members?done={decision}", status_code=303)


async def invite(request: Request) -> Response:
    session = await require_session(request, admin=True)
    await read_form(request)
    link = await invitations.create_invitation(instance_of(request), session.account.username)
    return await members_page(request, link=link)


async def revoke(request: Request) -> Response:
    await require_session(request, admin=True)
    form = await read_form(request)
    invitation_id = parse_int(text_field(form, "invitation", 20))
    if invitation_id is None or not await invitations.revoke(instance_of(request), invitation_id):
        return await members_page(request, gettext(request, "This link can no longer be revoked."), 404)
    return RedirectResponse("/desk/members?done=revoked", status_code=303)


async def password_link(request: Request) -> Response:
    session = await require_session(request, admin=True)
    instance = instance_of(request)
    form = await read_form(request)
    account = await storage.get_account_by_username(instance.db, text_field(form, "username", 100))
    if account is None or account.actor_uri is None:
        return await members_page(request, gettext(request, "This member has no account here."), 404)
    link = await invitations.create_reset_link(instance, account, session.account.username)
    return await members_page(request, link=link, link_for=account.username)


async def rename(request: Request) -> Response:
    await require_session(request, admin=True)
    form = await read_form(request)
    name = " ".join(text_field(form, "name", profile.MAX_NAME_LENGTH + 1).split())
    summary = text_field(form, "summary", profile.MAX_SUMMARY_LENGTH + 1).strip()
    if not name or len(name) > profile.MAX_NAME_LENGTH or len(summary) > profile.MAX_SUMMARY_LENGTH:
        return await members_page(request, gettext(
            request, "Give a name of at most %(name)s characters and a presentation of at most "
                     "%(summary)s characters.", name=profile.MAX_NAME_LENGTH,
            summary=profile.MAX_SUMMARY_LENGTH), 400)
    await members.rename(instance_of(request), name, summary)
    return RedirectResponse("/desk/members?done=renamed", status_code=303)


routes = [
    AssociationRoute("/desk/members", members_page, methods=["GET"]),
    AssociationRoute("/desk/members/decide", decide, methods=["POST"]),
    AssociationRoute("/desk/members/invite", invite, methods=["POST"]),
    AssociationRoute("/desk/members/revoke", revoke, methods=["POST"]),
    AssociationRoute("/desk/members/password-link", password_link, methods=["POST"]),
    AssociationRoute("/desk/members/rename", rename, methods=["POST"]),
]
