"""Desk accounts. Admins list them, create one (its password is generated and shown once),
give one a new password, or delete one (never the last admin); everyone can change their own
password, after typing the current one."""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from activitypub.errors import NotFound
from fedi import accounts, storage
from fedi.storage import Account

from ..auth import SESSION_COOKIE, read_form, require_session
from ..context import instance_of
from ..rendering import gettext, render
from .forms import FormError, text_field

NO_STORE = {"Cache-Control": "no-store"}  # a page showing a password is never kept by a cache
DONE = ("deleted",)


async def accounts_page(request: Request) -> Response:
    await require_session(request, admin=True)
    done = request.query_params.get("done", "")
    return await _page(request, done=done if done in DONE else "")


async def _page(request: Request, *, error: str = "", new_password: tuple[str, str] | None = None,
                values: dict[str, str] | None = None, done: str = "", status_code: int = 200) -> Response:
    """The list and the creation form; `new_password` is (username, password), shown once."""
    return render(request, "desk/accounts.html", {
        "accounts": await storage.list_accounts(instance_of(request).db), "roles": accounts.ROLES,
        "error": error, "new_password": new_password, "values": values or {}, "done": done,
    }, status_code=status_code, headers=NO_STORE if new_password else None)


async def create(request: Request) -> Response:
    await require_session(request, admin=True)
    form = await read_form(request)
    db = instance_of(request).db
    username = text_field(form, "username", 100).lower()
    role = text_field(form, "role", 20)
    values = {"username": username, "role": role}
    try:
        if not accounts.USERNAME.match(username):
            raise FormError(gettext(request, "A username has 2 to 40 characters: lower-case letters "
                                             "without accents, digits, dots or dashes."))
        if role not in accounts.ROLES:
            raise FormError(gettext(request, "Choose a role."))
        if await storage.get_account_by_username(db, username):
            raise FormError(gettext(request, "The account %(name)s already exists.", name=username))
        account, password = await accounts.create_account(db, username, role)
    except FormError as error:
        return await _page(request, error=str(error), values=values, status_code=400)
    except accounts.AccountError:  # created meanwhile by another admin
        return await _page(request, error=gettext(request, "The account %(name)s already exists.",
                                                  name=username), values=values, status_code=400)
    return await _page(request, new_password=(account.username, password))


async def reset_password(request: Request) -> Response:
    """A new password for someone else (yours is changed on your own page, knowing the old one)."""
    session = await require_session(request, admin=True)
    await read_form(request)
    account = await _account(request)
    if account.id == session.account.id:
        return RedirectResponse("/desk/password", status_code=303)
    password = accounts.new_password()
    await storage.set_account_password(instance_of(request).db, account.id,
                                       await accounts.hash_password(password))
    return await _page(request, new_password=(account.username, password))


async def delete(request: Request) -> Response:
    await require_session(request, admin=True)
    await read_form(request)
    db = instance_of(request).db
    account = await _account(request)
    try:
        await accounts.delete_account(db, account)
    except accounts.LastAdmin:
        return await _page(request, error=gettext(
            request, "This is the only admin account: create another admin before deleting it."),
            status_code=400)
    return RedirectResponse("/desk/accounts?done=deleted", status_code=303)


async def _account(request: Request) -> Account:
    account = await storage.get_account(instance_of(request).db, request.path_params["account_id"])
    if account is None:
        raise NotFound("no such account")
    return account


async def password_page(request: Request) -> Response:
    await require_session(request)
    return _password_form(request, saved=bool(request.query_params.get("saved")))


def _password_form(request: Request, error: str = "", *, saved: bool = False,
                   status_code: int = 200) -> Response:
    return render(request, "desk/password.html", {
        "error": error, "saved": saved, "min_length": accounts.MIN_PASSWORD_LENGTH,
    }, status_code=status_code)


async def change_password(request: Request) -> Response:
    """Your own password: the current one, then the new one twice. Your other sessions end."""
    session = await require_session(request)
    form = await read_form(request)
    db = instance_of(request).db
    new = text_field(form, "new_password", 1000)
    try:
        if await accounts.authenticate(db, session.account.username,
                                       text_field(form, "current_password", 1000)) is None:
            raise FormError(gettext(request, "The current password is wrong."))
        if len(new) < accounts.MIN_PASSWORD_LENGTH:
            raise FormError(gettext(request, "The new password needs at least %(count)s characters.",
                                    count=accounts.MIN_PASSWORD_LENGTH))
        if not secrets.compare_digest(new, text_field(form, "confirm_password", 1000)):
            raise FormError(gettext(request, "The two new passwords are not the same."))
    except FormError as error:
        return _password_form(request, str(error), status_code=400)
    await storage.set_account_password(db, session.account.id, await accounts.hash_password(new))
    response = RedirectResponse("/desk/password?saved=1", status_code=303)
    _keep_logged_in(request, response, await accounts.open_session(db, session.account, time.time()))
    return response


def _keep_logged_in(request: Request, response: Response, token: str) -> None:
    """A new password ends every session of the account: this browser gets a new one."""
    response.set_cookie(SESSION_COOKIE, token, max_age=accounts.SESSION_SECONDS, httponly=True,
                        samesite="lax", secure=instance_of(request).config.url.startswith("https://"),
                        path="/")


routes = [
    Route("/desk/accounts", accounts_page, methods=["GET"]),
    Route("/desk/accounts", create, methods=["POST"]),
    Route("/desk/accounts/{account_id:id}/password", reset_password, methods=["POST"]),
    Route("/desk/accounts/{account_id:id}/delete", delete, methods=["POST"]),
    Route("/desk/password", password_page, methods=["GET"]),
    Route("/desk/password", change_password, methods=["POST"]),
]
