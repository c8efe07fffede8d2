"""The ASGI application of an instance: routes, error mapping, workers started with the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from activitypub.errors import ActivityPubError
from fedi.instance import Instance
from fedi.storage import StorageError
from fedi.workers import Workers

from . import federation, feeds, pages
from .admission import BODY_TIMEOUT_SECONDS, InboxLimits
from .context import InstanceMiddleware
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


async def activitypub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ActivityPubError)
    headers: dict[str, str] | None = getattr(exc, "headers", None)  # Retry-After, Connection...
    return JSONResponse({"error": str(exc) or type(exc).__name__}, status_code=exc.status,
                        headers=headers)


async def storage_error(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", exc)
    return JSONResponse({"error": "temporarily unavailable"}, status_code=503,
                        headers={"Retry-After": "60"})


def create_app(
    instance: Instance, *, run_workers: bool = True, close_instance: bool = False,
    inbox_rate: tuple[float, int] = (50.0, 200), host_rate: tuple[float, int] = (50.0, 500),
    body_timeout: float = BODY_TIMEOUT_SECONDS,
) -> Starlette:
    """One instance's web application; its workers run while the app is served. With
    `close_instance`, the app owns the instance and closes it once the workers have stopped.

    The inbox takes at most `inbox_rate` = (requests per second, burst) from one client IP and
    `host_rate` from one sending server (generous: a peer's fan-out must never be refused), and
    gives up on a body that takes more than `body_timeout` seconds to arrive."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        workers = Workers(instance)
        if run_workers:
            await workers.start()
        try:
            yield
        finally:
            await workers.stop()
            if close_instance:
                await instance.close()

    app = Starlette(
        routes=[*federation.routes, *pages.routes, *feeds.routes,
                Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")],
        middleware=[Middleware(InstanceMiddleware, resolve=lambda host: instance)],
        exception_handlers={ActivityPubError: activitypub_error, StorageError: storage_error},
        lifespan=lifespan,
    )
    app.state.inbox_limits = InboxLimits(
        by_ip=RateLimiter(*inbox_rate), by_host=RateLimiter(*host_rate), body_timeout=body_timeout)
    return app
