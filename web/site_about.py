"""The association's own pages for visitors: who we are, where and when to meet us, and the
welcome booklet (its sections, each with a readable anchor)."""

from __future__ import annotations

import re
import unicodedata

from starlette.requests import Request
from starlette.responses import Response

from fedi import storage
from fedi.storage import Page

from .context import AssociationRoute, instance_of
from .rendering import render


async def about(request: Request) -> Response:
    page = await storage.get_page_by_kind(instance_of(request).db, "about")
    return render(request, "about.html", {"page": page})


async def meet(request: Request) -> Response:
    page = await storage.get_page_by_kind(instance_of(request).db, "meet")
    return render(request, "meet.html", {"page": page})


async def booklet(request: Request) -> Response:
    sections = await storage.list_booklet_sections(instance_of(request).db)
    return render(request, "booklet.html", {"sections": with_anchors(sections)})


def with_anchors(sections: list[Page]) -> list[tuple[str, Page]]:
    """Each section with a readable, unique anchor made of its title ("Santé" → "sante")."""
    seen: set[str] = set()
    anchored = []
    for section in sections:
        anchor = base = anchor_of(section.title)
        count = 1
        while anchor in seen:
            count += 1
            anchor = f"{base}-{count}"
        seen.add(anchor)
        anchored.append((anchor, section))
    return anchored


def anchor_of(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60] or "section"


routes = [
    AssociationRoute("/about", about, methods=["GET"]),
    AssociationRoute("/meet", meet, methods=["GET"]),
    AssociationRoute("/booklet", booklet, methods=["GET"]),
]
