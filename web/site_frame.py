"""What every page's frame links to, on an association's site as on the relay's: the logo, the
accent colour and the language switch."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from .context import instance_of
from .i18n import LANGUAGE_COOKIE, LANGUAGES


async def logo(request: Request) -> Response:
    """The association's logo: DIR/logo.png when it has one, else the network's."""
    own = instance_of(request).directory / "logo.png"
    path = own if own.is_file() else Path(__file__).parent / "static" / "logo.png"
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


async def theme(request: Request) -> Response:
    """The association's accent colour over the network theme (validated when saved)."""
    colour = instance_of(request).settings.colour
    return Response(f":root {{ --accent: {colour}; }}\n", media_type="text/css",
                    headers={"Cache-Control": "public, max-age=300"})


async def choose_language(request: Request) -> Response:
    """The language switch: remembered in a cookie, back to the page the visitor was on."""
    language = request.query_params.get("to", "")
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax")
    return response


routes = [
    Route("/logo.png", logo),
    Route("/theme.css", theme),
    Route("/language", choose_language),
]
