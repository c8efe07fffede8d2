"""The pages behind the one-time links an admin hands out: an invitation makes its user a member
(a name, a password, and they are in), a reset link sets a new password. A link that cannot be
used answers 404 with a page that says so, and nothing is stored. Tokens carry 144 random bits:
guessing one is out of reach, so these pages need no rate limit of their own."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fedi import invitations
from fedi.accounts import MIN_PASSWORD_LENGTH, AccountError
from fedi.invitations import InvitationError

from .auth import MAX_LOGIN_BODY, refuse_foreign_origin, start_session
from .context import AssociationRoute, instance_of
from .rendering import gettext, render

MAX_FIELDS = 8


async def invitation_form(request: Request) -> Response:
    return await _form(request, "invitation.html", "join")


async def password_form(request: Request) -> Response:
    return await _form(request, "password_reset.html", "reset")


async def _form(request: Request, template: str, purpose: str, values: dict[str, str] | None = None,
                error: str = "", status_code: int = 200) -> Response:
    try:
        await invitations.usable(instance_of(request), request.path_params["token"], purpose)
    except InvitationError:
        return render(request, "link_unusable.html", status_code=404)
    return render(request, template, {"values": values or {}, "error": error,
                                      "min_length": MIN_PASSWORD_LENGTH}, status_code=status_code)


async def join(request: Request) -> Response:
    refuse_foreign_origin(request)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_LOGIN_BODY)
    values = {name: str(form.get(name, ""))[:200] for name in ("username", "display_name", "town")}
    password = str(form.get("password", ""))[:1000]
    if password != str(form.get("password_again", ""))[:1000]:
        return await _form(request, "invitation.html", "join", values,
                           gettext(request, "The two passwords differ."), 400)
    try:
        account = await invitations.join(instance_of(request), request.path_params["token"],
                                         password=password, **values)
    except InvitationError:
        return render(request, "link_unusable.html", status_code=404)
    except AccountError as error:
        return await _form(request, "invitation.html", "join", values, _explained(request, error), 400)
    return await start_session(request, account, "/members?done=joined")


async def reset(request: Request) -> Response:
    refuse_foreign_origin(request)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_LOGIN_BODY)
    password = str(form.get("password", ""))[:1000]
    if password != str(form.get("password_again", ""))[:1000]:
        return await _form(request, "password_reset.html", "reset", None,
                           gettext(request, "The two passwords differ."), 400)
    try:
        await invitations.reset_password(instance_of(request), request.path_params["token"], password)
    except InvitationError:
        return render(request, "link_unusable.html", status_code=404)
    except AccountError as error:
        return await _form(request, "password_reset.html", "reset", None, _explained(request, error), 400)
    return RedirectResponse("/login", status_code=303)


def _explained(request: Request, error: AccountError) -> str:
    """The reason a name or a password was refused, in the visitor's language."""
    text = str(error)
    if "password" in text:
        return gettext(request, "The password must have at least %(count)s characters.",
                       count=MIN_PASSWORD_LENGTH)
    if "taken" in text or "reserved" in text:
        return gettext(request, "This name is already used here: choose another one.")
    if "town" in text:
        return gettext(request, "The name and the town have at most 80 characters each.")
    return gettext(request, "A name has 2 to 40 characters: lower-case letters without accents, "
                            "digits, '.', '_' or '-'.")


routes = [
    AssociationRoute("/invitations/{token}", invitation_form, methods=["GET"]),
    AssociationRoute("/invitations/{token}", join, methods=["POST"]),
    AssociationRoute("/password/{token}", password_form, methods=["GET"]),
    AssociationRoute("/password/{token}", reset, methods=["POST"]),
]
