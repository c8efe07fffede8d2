"""The ASGI application of an instance: routes, error mapping, workers started with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from activitypub.errors import ActivityPubError
from fedi.instance import Instance
from fedi.storage import StorageError
from fedi.workers import IDLE_POLL_SECONDS, TENANT_IDLE_POLL_SECONDS, Workers

from . import (
    agenda,
    auth,
    desk,
    federation,
    feeds,
    invitation_pages,
    media,
    relay_site,
    site_about,
    site_frame,
    site_greeters,
    site_members,
    site_news,
)
from .admission import BODY_TIMEOUT_SECONDS, InboxLimits
from .auth import CsrfError, Forbidden, ForeignOrigin, LoginRequired, login_redirect
from .context import InstanceMiddleware
from .headers import SecurityHeadersMiddleware
from .i18n import N_
from .login_limits import LoginLimits
from .ratelimit import RateLimiter
from .rendering import gettext, render

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"

ROUTES = [  # one module per area of the site; README.md ("Web routes") lists their URLs
    *federation.routes,     # WebFinger, NodeInfo, actors, inboxes, collections, objects
    *site_news.routes,      # the home page, the news archive
    *site_about.routes,     # who we are, meet us, the welcome booklet
    *site_greeters.routes,  # the greeters and the contact form
    *site_members.routes,   # the members' space
    *invitation_pages.routes,  # joining by an invitation link, a new password by a reset link
    *agenda.routes,         # the agenda and its calendar files
    *feeds.routes,          # RSS and Atom
    *site_frame.routes,     # the logo, the accent colour, the language switch
    *media.routes,          # the photos
    *relay_site.routes,     # the relay's directory, association pages, statistics
    *auth.routes,           # log in, log out
    *desk.routes,           # the desk, one module per area in web/desk/
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]


ERROR_MESSAGES = {
    400: N_("The request is not valid."),
    403: N_("This page is for the association's administrators."),
    404: N_("This page does not exist (or no longer does)."),
    405: N_("The request is not valid."),
    410: N_("This page was deleted."),
    413: N_("What you sent is too large."),
    429: N_("Too many requests. Please wait a moment and try again."),
    503: N_("The site is temporarily unavailable. Please try again in a minute."),
}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    message = gettext(request, ERROR_MESSAGES.get(status, N_("Something went wrong.")))
    return render(request, "error.html", {"status": status, "message": message},
                  status_code=status, headers=headers)


async def activitypub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ActivityPubError)
    headers: dict[str, str] | None = getattr(exc, "headers", None)  # Retry-After, Connection...
    if _wants_html(request):
        return error_page(request, exc.status, headers)
    return JSONResponse({"error": str(exc) or type(exc).__name__}, status_code=exc.status,
                        headers=headers)


async def storage_error(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", exc)
    headers = {"Retry-After": "60"}
    if _wants_html(request):
        return error_page(request, 503, headers)
    return JSONResponse({"error": "temporarily unavailable"}, status_code=503, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, wrong method): a page for browsers."""
    assert isinstance(exc, HTTPException)
    if _wants_html(request):
        return error_page(request, exc.status_code, dict(exc.headers) if exc.headers else None)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def login_required(request: Request, exc: Exception) -> Response:
    return login_redirect(request)


async def forbidden(request: Request, exc: Exception) -> Response:
    return error_page(request, 403)


async def csrf_error(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"status": 400, "message": gettext(
        request, "The form has expired (or was sent from another site). Go back, reload the page "
                 "and try again.")}, status_code=400)


async def foreign_origin(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"status": 403, "message": gettext(
        request, "This form comes from another site, so it was not taken. Open the association's "
                 "site yourself and try again there.")}, status_code=403)


def create_app(
    instances: Instance | Sequence[Instance], *, run_workers: bool = True, close_instance: bool = False,
    inbox_rate: tuple[float, int] = (50.0, 200), host_rate: tuple[float, int] = (50.0, 500),
    body_timeout: float = BODY_TIMEOUT_SECONDS,
) -> Starlette:
    """The web application of one instance, or of several ("tenants", chosen by the request's
    Host header); their workers run while the app is served. With `close_instance`, the app
    owns the instances and closes them once the workers have stopped.

    The inbox takes at most `inbox_rate` = (requests per second, burst) from one client IP and
    `host_rate` from one sending server (generous: a peer's fan-out must never be refused), and
    gives up on a body that takes more than `body_timeout` seconds to arrive."""
    served = [instances] if isinstance(instances, Instance) else list(instances)
    if not served:
        raise ValueError("no instance to serve")
    by_host = {instance.config.host: instance for instance in served}
    if len(served) == 1:
        resolve: Callable[[str], Instance | None] = lambda host: served[0]  # noqa: E731 (any Host: behind a proxy)
    else:
        resolve = by_host.get
    idle_poll = IDLE_POLL_SECONDS if len(served) == 1 else TENANT_IDLE_POLL_SECONDS

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        workers = [Workers(instance, idle_poll=idle_poll) for instance in served]
        if run_workers:
            for worker in workers:
                await worker.start()
        try:
            yield
        finally:
            await asyncio.gather(*(worker.stop() for worker in workers))
            if close_instance:
                for instance in served:
                    await instance.close()

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(SecurityHeadersMiddleware),  # outermost: on "unknown host" too
                    Middleware(InstanceMiddleware, resolve=resolve)],
        exception_handlers={ActivityPubError: activitypub_error, StorageError: storage_error,
                            HTTPException: http_error, LoginRequired: login_required,
                            Forbidden: forbidden, CsrfError: csrf_error,
                            ForeignOrigin: foreign_origin},
        lifespan=lifespan,
    )
    app.state.login_limits = LoginLimits()
    app.state.inbox_limits = InboxLimits(
        by_ip=RateLimiter(*inbox_rate), by_host=RateLimiter(*host_rate), body_timeout=body_timeout)
    return app
