"""Content negotiation and JSON responses for ActivityPub endpoints."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

AP_MEDIA_TYPES = ("application/activity+json", "application/ld+json")
ACTIVITY_JSON = "application/activity+json"


def wants_activitypub(request: Request) -> bool:
    """True when the client asks for ActivityStreams JSON rather than a web page."""
    accept = request.headers.get("accept", "").lower()
    return any(media_type in accept for media_type in AP_MEDIA_TYPES)


class ActivityJSONResponse(Response):
    media_type = ACTIVITY_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False).encode()


def vary_accept(response: Response) -> Response:
    response.headers["Vary"] = "Accept"
    return response
