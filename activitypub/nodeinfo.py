"""NodeInfo 2.0 / 2.1: the discovery document, the schema document, and a client."""

from __future__ import annotations

import re
from typing import Any

import httpx

from activitypub.errors import FetchError
from activitypub.http import fetch_json

__all__ = [
    "NODEINFO_CONTENT_TYPE",
    "SCHEMA_REL",
    "fetch_nodeinfo",
    "nodeinfo_content_type",
    "nodeinfo_document",
    "nodeinfo_links",
]

SCHEMA_REL = "http://nodeinfo.diaspora.software/ns/schema/{version}"
NODEINFO_CONTENT_TYPE = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
VERSIONS = ("2.1", "2.0")  # preferred first

_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+")  # required by both schemas


def nodeinfo_content_type(version: str) -> str:
    """The content type to serve the `version` document with."""
    return f'application/json; profile="{SCHEMA_REL.format(version=version)}#"'


def nodeinfo_links(base_url: str) -> dict[str, Any]:
    """The /.well-known/nodeinfo document, pointing to `{base}/nodeinfo/2.1` and `/2.0`."""
    base = base_url.rstrip("/")
    return {
        "links": [
            {"rel": SCHEMA_REL.format(version=version), "href": f"{base}/nodeinfo/{version}"}
            for version in VERSIONS
        ]
    }


def nodeinfo_document(
    *,
    version: str = "2.1",
    software_name: str,
    software_version: str,
    repository: str | None,
    homepage: str | None,
    open_registrations: bool,
    users_total: int,
    users_active_month: int,
    users_active_halfyear: int,
    local_posts: int,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """A NodeInfo document; 2.0 has no `software.repository`/`homepage`, so they are dropped."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported NodeInfo version: {version!r}")
    if not _SOFTWARE_NAME.fullmatch(software_name):
        raise ValueError(f"software name must match [a-z0-9-]+: {software_name!r}")
    software: dict[str, str] = {"name": software_name, "version": software_version}
    if version == "2.1":
        software.update({k: v for k, v in (("repository", repository), ("homepage", homepage)) if v})
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": users_total,
                "activeMonth": users_active_month,
                "activeHalfyear": users_active_halfyear,
            },
            "localPosts": local_posts,
        },
        "metadata": metadata,
    }


async def fetch_nodeinfo(
    client: httpx.AsyncClient, base_url: str, *, allow_private: bool
) -> dict[str, Any]:
    """Discover and fetch a server's NodeInfo (2.1 preferred, then 2.0).

    Raises FetchError when there is none or it has no `software.name`.
    """
    accept = "application/json, application/jrd+json"
    well_known = f"{base_url.rstrip('/')}/.well-known/nodeinfo"
    _, links = await fetch_json(client, well_known, accept=accept, allow_private=allow_private)
    href = _preferred_href(links)
    if href is None:
        raise FetchError(f"{well_known} links to no NodeInfo 2.0 or 2.1 document")
    _, document = await fetch_json(client, href, accept=accept, allow_private=allow_private)
    software = document.get("software")
    if not isinstance(software, dict) or not isinstance(software.get("name"), str):
        raise FetchError(f"{href} is not a NodeInfo document (no software.name)")
    return document


def _preferred_href(links_document: dict[str, Any]) -> str | None:
    links = links_document.get("links")
    if not isinstance(links, list):
        return None
    hrefs = {
        link.get("rel"): link.get("href")
        for link in links
        if isinstance(link, dict) and isinstance(link.get("href"), str)
    }
    for version in VERSIONS:
        href = hrefs.get(SCHEMA_REL.format(version=version))
        if isinstance(href, str):
            return href
    return None
