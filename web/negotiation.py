"""Content negotiation and JSON responses for ActivityPub endpoints."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

AP_MEDIA_TYPES = ("application/activity+json", "application/ld+json")
ACTIVITY_JSON = "application/activity+json"
ANY_JSON = ("*/*", "application/*", "application/json")


def accepted_media_types(request: Request) -> list[str]:
    """The media types the Accept header names, lowercased, without those refused by `q=0`."""
    accepted = []
    for entry in request.headers.get("accept", "").lower().split(","):
        media_type, *parameters = (part.strip() for part in entry.split(";"))
        if media_type and not any(_refuses(parameter) for parameter in parameters):
            accepted.append(media_type)
    return accepted


def _refuses(parameter: str) -> bool:
    name, _, value = parameter.partition("=")
    if name.strip() != "q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False


def wants_activitypub(request: Request) -> bool:
    """True when the client asks for ActivityStreams JSON rather than a web page."""
    return any(media_type in AP_MEDIA_TYPES for media_type in accepted_media_types(request))


def wants_actor_document(request: Request) -> bool:
    """At actor (and key) ids, JSON also for `Accept: */*` alone: aiohttp sends that by default and
    some verifiers fetch a keyId so. Browsers always name text/html and keep the page; so does a
    request without any Accept header, as at Mastodon's actor URLs."""
    accepted = accepted_media_types(request)
    if any(media_type in AP_MEDIA_TYPES for media_type in accepted):
        return True
    return "text/html" not in accepted and any(media_type in ANY_JSON for media_type in accepted)


class ActivityJSONResponse(Response):
    media_type = ACTIVITY_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False).encode()


def vary_accept(response: Response) -> Response:
    response.headers["Vary"] = "Accept"
    return response
