"""The instance's pictures, served from DIR/media: only names that `fedi.media` gives (random
hex and .jpg/.png, so no path can be walked), with their real type, never sniffed, and cached
for a year (a picture never changes under its name)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from activitypub.errors import NotFound
from fedi.media import media_directory, media_type_of

from .context import instance_of

CACHE_FOREVER = "public, max-age=31536000, immutable"
MEDIA_HEADERS = {
    "Cache-Control": CACHE_FOREVER,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",  # opened on its own: no script
    "Cross-Origin-Resource-Policy": "cross-origin",  # remote servers and apps may show it
}


async def media_file(request: Request) -> Response:
    filename = request.path_params["filename"]
    media_type = media_type_of(filename)
    if media_type is None:
        raise NotFound("no such picture")
    path = media_directory(instance_of(request).directory) / filename
    if not path.is_file():
        raise NotFound("no such picture")
    return FileResponse(path, media_type=media_type, headers=MEDIA_HEADERS)


routes: list[BaseRoute] = [Route("/media/{filename}", media_file, methods=["GET", "HEAD"])]
