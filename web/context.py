"""Which instance a request is for. One process may serve several (chosen by Host header)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
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
