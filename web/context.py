"""Which instance a request is for. One process may serve several (chosen by Host header)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from activitypub.errors import NotFound
from fedi.instance import Instance

SCOPE_KEY = "fedi.instance"

Resolver = Callable[[str], "Instance | None"]


class InstanceMiddleware:
    """Puts the instance for the request's host into the ASGI scope; unknown hosts get 404."""

    def __init__(self, app: ASGIApp, resolve: Resolver) -> None:
        self.app = app
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            instance = self.resolve(host)
            if instance is None:
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"unknown host"})
                return
            scope[SCOPE_KEY] = instance
        await self.app(scope, receive, send)


def instance_of(request: Request) -> Instance:
    instance: Instance = request.scope[SCOPE_KEY]
    return instance


def relay_of(request: Request) -> Instance:
    """The instance, for pages only a relay has (an association's site answers 404)."""
    instance = instance_of(request)
    if instance.config.role != "relay":
        raise NotFound("only the relay has this page")
    return instance


def association_of(request: Request) -> Instance:
    """The instance, for pages only an association's site has (the relay answers 404)."""
    instance = instance_of(request)
    if instance.config.role == "relay":
        raise NotFound("only an association's site has this page")
    return instance


Endpoint = Callable[[Request], Awaitable[Response]]


class AssociationRoute(Route):
    """A route of the association's site or desk: on the relay it answers 404, whatever the
    method and before the page runs (the relay's own pages are declared with `Route`)."""

    def __init__(self, path: str, endpoint: Endpoint, **options: Any) -> None:
        super().__init__(path, _for_associations(endpoint), **options)


def _for_associations(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        association_of(request)
        return await endpoint(request)
    return guarded
