"""NodeInfo: the documents we serve and discovering a live server's NodeInfo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.errors import FetchError, UnsafeURL
from activitypub.http import make_client
from activitypub.nodeinfo import (
    NODEINFO_CONTENT_TYPE,
    fetch_nodeinfo,
    nodeinfo_content_type,
    nodeinfo_document,
    nodeinfo_links,
)
from fedi_testing import serve_app

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/"


def document(version: str = "2.1") -> dict[str, Any]:
    return nodeinfo_document(
        version=version,
        software_name="fedi",
        software_version="0.1.0",
        repository="https://example.org/fedi.git",
        homepage="https://example.org/fedi",
        open_registrations=False,
        users_total=5,
        users_active_month=3,
        users_active_halfyear=4,
        local_posts=42,
        metadata={"nodeName": "Accueil Lyon"},
    )


def assert_schema_shape(doc: dict[str, Any]) -> None:
    """The required properties and types of the NodeInfo 2.0/2.1 JSON schemas."""
    assert set(doc) == {"version", "software", "protocols", "services", "openRegistrations", "usage", "metadata"}
    assert doc["software"]["name"].replace("-", "").isalnum() and doc["software"]["name"].islower()
    assert isinstance(doc["software"]["version"], str)
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert isinstance(doc["openRegistrations"], bool)
    users = doc["usage"]["users"]
    assert all(isinstance(users[k], int) and users[k] >= 0 for k in ("total", "activeMonth", "activeHalfyear"))
    assert isinstance(doc["usage"]["localPosts"], int)
    assert isinstance(doc["metadata"], dict)


def test_given_2_1_then_document_has_repository_and_homepage() -> None:
    doc = document("2.1")
    assert_schema_shape(doc)
    assert doc["version"] == "2.1"
    assert doc["software"] == {
        "name": "fedi",
        "version": "0.1.0",
        "repository": "https://example.org/fedi.git",
        "homepage": "https://example.org/fedi",
    }
    assert doc["usage"] == {"users": {"total": 5, "activeMonth": 3, "activeHalfyear": 4}, "localPosts": 42}


def test_given_2_0_then_software_has_only_name_and_version() -> None:
    doc = document("2.0")
    assert_schema_shape(doc)
    assert doc["software"] == {"name": "fedi", "version": "0.1.0"}


def test_given_bad_version_or_name_then_value_error() -> None:
    with pytest.raises(ValueError):
        document("3.0")
    with pytest.raises(ValueError):
        nodeinfo_document(
            software_name="Fedi Server", software_version="1", repository=None, homepage=None,
            open_registrations=True, users_total=0, users_active_month=0,
            users_active_halfyear=0, local_posts=0, metadata={},
        )  # fmt: skip


def test_links_and_content_types() -> None:
    assert nodeinfo_links("https://example.org/") == {
        "links": [
            {"rel": SCHEMA + "2.1", "href": "https://example.org/nodeinfo/2.1"},
            {"rel": SCHEMA + "2.0", "href": "https://example.org/nodeinfo/2.0"},
        ]
    }
    assert NODEINFO_CONTENT_TYPE == nodeinfo_content_type("2.1")
    assert nodeinfo_content_type("2.0") == f'application/json; profile="{SCHEMA}2.0#"'


LinksFor = Callable[[str], dict[str, Any]]


def make_nodeinfo_app(served: dict[str, Any], links_for: LinksFor = nodeinfo_links) -> Starlette:
    async def well_known(request: Request) -> Response:
        return JSONResponse(links_for(str(request.base_url).rstrip("/")))

    async def nodeinfo(request: Request) -> Response:
        version = request.path_params["version"]
        served.setdefault("versions", []).append(version)
        return JSONResponse(served.get("body") or document(version), media_type=nodeinfo_content_type(version))

    return Starlette(
        routes=[
            Route("/.well-known/nodeinfo", well_known),
            Route("/nodeinfo/{version}", nodeinfo),
        ]
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(allow_private=True, user_agent="fedi-test/1") as c:
        yield c


async def test_given_server_with_both_versions_then_2_1_fetched(client: httpx.AsyncClient) -> None:
    served: dict[str, Any] = {}
    async with serve_app(make_nodeinfo_app(served)) as base:
        doc = await fetch_nodeinfo(client, base, allow_private=True)
    assert doc["version"] == "2.1" and doc["software"]["name"] == "fedi"
    assert served["versions"] == ["2.1"]


async def test_given_server_with_only_2_0_then_2_0_fetched(client: httpx.AsyncClient) -> None:
    def only_2_0(base: str) -> dict[str, Any]:
        return {
            "links": [
                {"rel": "http://example.org/unrelated", "href": f"{base}/nodeinfo/9.9"},
                {"rel": SCHEMA + "2.0", "href": f"{base}/nodeinfo/2.0"},
            ]
        }

    served: dict[str, Any] = {}
    async with serve_app(make_nodeinfo_app(served, only_2_0)) as base:
        doc = await fetch_nodeinfo(client, base + "/", allow_private=True)
    assert doc["version"] == "2.0"
    assert served["versions"] == ["2.0"]


async def test_given_no_known_link_then_fetch_error(client: httpx.AsyncClient) -> None:
    async with serve_app(make_nodeinfo_app({}, lambda base: {"links": [{"rel": "x", "href": "y"}]})) as base:
        with pytest.raises(FetchError, match="no NodeInfo"):
            await fetch_nodeinfo(client, base, allow_private=True)


async def test_given_document_without_software_name_then_fetch_error(client: httpx.AsyncClient) -> None:
    served: dict[str, Any] = {"body": {"version": "2.1", "software": {"version": "1"}}}
    async with serve_app(make_nodeinfo_app(served)) as base:
        with pytest.raises(FetchError, match="software.name"):
            await fetch_nodeinfo(client, base, allow_private=True)


async def test_given_private_server_without_allow_private_then_unsafe() -> None:
    served: dict[str, Any] = {}
    async with serve_app(make_nodeinfo_app(served)) as base:
        async with make_client(user_agent="t") as strict:
            with pytest.raises(UnsafeURL):
                await fetch_nodeinfo(strict, base, allow_private=False)
    assert served == {}
