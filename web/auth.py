"""Logging in to the desk: the login form, sessions in a cookie, CSRF tokens, rate limits."""

from __future__ import annotations

import math
import secrets
from urllib.parse import quote, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message

from activitypub.errors import NotFound, TooLarge
from fedi import accounts, media
from fedi.storage import Account, Session

from .context import instance_of
from .formatting import duration
from .login_limits import LoginLimits, address_key
from .rendering import gettext, language_of, render

SESSION_COOKIE = "fedi_session"
LOGIN_CSRF_COOKIE = "fedi_login"
MAX_FORM_FIELD = 100_000  # bytes of one text field
MAX_FORM_BODY = 4 * media.MAX_BYTES + 2 * 1024 * 1024  # a desk form: four photos and the text
MAX_FORM_FILES = 8  # uploaded files in one desk form
MAX_LOGIN_BODY = 8 * 1024  # the login form: its token, a name, a long passphrase, a path
MAX_LOGIN_FIELDS = 8


class LoginRequired(Exception):
    """The page needs a logged-in account (or an admin): the visitor goes to the login form."""


class Forbidden(Exception):
    """Logged in, but this needs an admin."""


class CsrfError(Exception):
    """A form came without the token of the session that displayed it."""


class ForeignOrigin(Exception):
    """A form came from another site: its `Origin` header is not this instance's."""


async def current_session(request: Request) -> Session | None:
    if "fedi.session" not in request.scope:
        token = request.cookies.get(SESSION_COOKIE)
        found = None
        if token:
            instance = instance_of(request)
            found = await accounts.find_session(instance.db, token, instance.clock())
        request.scope["fedi.session"] = found
    session: Session | None = request.scope["fedi.session"]
    return session


async def require_session(request: Request, *, admin: bool = False, desk: bool = True) -> Session:
    """The logged-in session; by default one of the desk (admins and editors): a member's
    account, which has no desk, gets 404 there."""
    session = await current_session(request)
    if session is None:
        raise LoginRequired()
    if desk and not session.account.uses_desk:
        raise NotFound("no such page")
    if admin and not session.account.is_admin:
        raise Forbidden()
    return session


async def read_form(request: Request, *, max_body: int = MAX_FORM_BODY,
                    max_files: int = MAX_FORM_FILES, max_field: int = MAX_FORM_FIELD,
                    desk: bool = True) -> FormData:
    """A posted form, checked against the session's CSRF token. A body over `max_body` bytes
    is refused (TooLarge, 413) before it is parsed; uploaded files are at most `max_files`,
    text fields at most `max_field` bytes. `desk` False: a form of the site, which members send."""
    session = await require_session(request, desk=desk)
    refuse_foreign_origin(request)
    form = await _body_at_most(request, max_body).form(max_part_size=max_field,
                                                        max_files=max_files)
    if not secrets.compare_digest(str(form.get("csrf", "")).encode(), session.csrf_token.encode()):
        raise CsrfError()
    return form


def refuse_foreign_origin(request: Request) -> None:
    """Browsers name the site a form is posted from in `Origin`; another site's is refused (a
    defence beside the CSRF tokens). The origin is the configured URL, not the Host header, which
    a reverse proxy may change. No Origin is let through (older browsers omit it); "null" is not."""
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() != origin_of(instance_of(request).config.url):
        raise ForeignOrigin()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _body_at_most(request: Request, max_body: int) -> Request:
    """`request` if its declared length fits; without one (chunked), a request whose body is
    counted as it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or int(declared) > max_body:
            raise TooLarge(f"the form is larger than {max_body} bytes")
        return request
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > max_body:
            raise TooLarge(f"the form is larger than {max_body} bytes")
        return message

    return Request(request.scope, receive)


def _secure(request: Request) -> bool:
    return instance_of(request).config.url.startswith("https://")


async def login_page(request: Request) -> Response:
    session = await current_session(request)
    if session:
        return RedirectResponse(landing_of(session.account), status_code=303)
    return _login_form(request)


def _login_form(request: Request, error: str = "", status_code: int = 200,
                headers: dict[str, str] | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "desk/login.html", {
        "error": error, "login_csrf": token, "next": _safe_next(request.query_params.get("next")),
    }, status_code=status_code, headers=headers)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure(request), path="/login")
    return response


async def login(request: Request) -> Response:
    refuse_foreign_origin(request)
    form = await _body_at_most(request, MAX_LOGIN_BODY).form(
        max_files=0, max_fields=MAX_LOGIN_FIELDS, max_part_size=MAX_LOGIN_BODY)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(str(form.get("csrf", "")).encode(), cookie.encode()):
        return _login_form(request, gettext(
            request, "The form has expired. Please try again."), status_code=400)
    username = str(form.get("username", "")).strip().lower()[:100]
    instance = instance_of(request)
    limits: LoginLimits = request.app.state.login_limits
    now = instance.clock()
    site = instance.config.host  # one process may serve several sites
    address = f"{site} {address_key(request.client.host if request.client else '?')}"
    name = f"{site} {username}"
    wait = limits.wait(address, name, now)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        return _login_form(request, gettext(
            request, "Too many attempts. Please try again in %(wait)s.",
            wait=duration(minutes * 60, language_of(request))),
            status_code=429, headers={"Retry-After": str(minutes * 60)})
    account = await accounts.authenticate(instance.db, username, str(form.get("password", "")))
    if account is None:
        limits.failed(address, name, now)
        return _login_form(request, gettext(request, "Wrong username or password."), status_code=401)
    limits.succeeded(address, name)
    wanted = _safe_next(str(form.get("next", ""))) if account.uses_desk else ""
    response = await start_session(request, account, wanted or landing_of(account))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def landing_of(account: Account) -> str:
    """Where a person lands once logged in: the desk, or (a member) the members' space."""
    return "/desk" if account.uses_desk else "/members"


async def start_session(request: Request, account: Account, target: str) -> Response:
    """Opens a session for `account` (its cookie set) and redirects to `target`."""
    instance = instance_of(request)
    token = await accounts.open_session(instance.db, account, instance.clock())
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=accounts.SESSION_SECONDS, httponly=True,
                        samesite="lax", secure=_secure(request), path="/")
    return response


async def logout(request: Request) -> Response:
    await read_form(request, desk=False)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await accounts.close_session(instance_of(request).db, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/desk") and "//" not in target and "\\" not in target:
        return target
    return ""


def login_redirect(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
