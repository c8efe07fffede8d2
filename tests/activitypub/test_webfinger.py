"""WebFinger: the JRD we serve, resource parsing, and resolving a handle against a live server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from activitypub.errors import BadRequest, FetchError, UnsafeURL
from activitypub.http import make_client
from activitypub.webfinger import (
    JRD_CONTENT_TYPE,
    find_actor_link,
    parse_handle,
    parse_resource,
    resolve_handle,
    webfinger_document,
)
from fedi_testing import serve_app


def test_given_account_then_jrd_has_self_and_profile_links() -> None:
    doc = webfinger_document(
        "alice@example.org",
        "https://example.org/users/alice",
        "https://example.org/@alice",
        subscribe_template="https://example.org/authorize_interaction?uri={uri}",
    )
    assert doc["subject"] == "acct:alice@example.org"
    assert doc["aliases"] == ["https://example.org/@alice", "https://example.org/users/alice"]
    assert doc["links"] == [
        {"rel": "self", "type": "application/activity+json", "href": "https://example.org/users/alice"},
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://example.org/@alice"},
        {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": "https://example.org/authorize_interaction?uri={uri}"},
    ]
    assert find_actor_link(doc) == "https://example.org/users/alice"


def test_given_minimal_account_then_only_self_link() -> None:
    doc = webfinger_document("acct:a@h.example", "https://h.example/a", aliases=[])
    assert doc == {
        "subject": "acct:a@h.example",
        "aliases": [],
        "links": [{"rel": "self", "type": "application/activity+json", "href": "https://h.example/a"}],
    }


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("acct:alice@example.org", ("alice", "example.org")),
        ("ACCT:alice@Example.ORG", ("alice", "example.org")),
        ("alice@example.org", ("alice", "example.org")),
        ("@alice@example.org", ("alice", "example.org")),
        ("acct:alice@127.0.0.1:8000", ("alice", "127.0.0.1:8000")),
        ("acct:bob.smith-1_x@social.example.org:443", ("bob.smith-1_x", "social.example.org:443")),
        ("acct:a@[::1]:8080", ("a", "[::1]:8080")),
        ("acct:a@bücher.example", ("a", "xn--bcher-kva.example")),
    ],
)
def test_given_valid_resource_then_parsed(resource: str, expected: tuple[str, str]) -> None:
    assert parse_resource(resource) == expected


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "acct:",
        "alice",
        "acct:alice",
        "acct:alice@",
        "acct:@host.example",
        "@host.example",
        "acct:@alice@host.example",
        "alice@@host.example",
        "alice@bob@host.example",
        "al ice@host.example",
        "alice@host .example",
        " alice@host.example",
        "alice@host.example:99999",
        "alice@host.example:",
        "alice@-host.example",
        "https://host.example/users/alice",
        "alice@host.example/path",
        "a" * 1000 + "@host.example",
    ],
)
def test_given_invalid_resource_then_bad_request(resource: str) -> None:
    with pytest.raises(BadRequest):
        parse_resource(resource)


def test_given_typed_handle_with_spaces_then_parsed() -> None:
    assert parse_handle("  @alice@Example.org \n") == ("alice", "example.org")


def make_webfinger_app(seen: list[str]) -> Starlette:
    async def webfinger(request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        seen.append(resource)
        username, host = parse_resource(resource)
        if username == "ghost":
            return PlainTextResponse("not found", status_code=404)
        base = f"http://{host}"
        doc = webfinger_document(resource, f"{base}/users/{username}", f"{base}/@{username}")
        if username == "linkless":
            doc["links"] = doc["links"][1:]
        if username == "ld":
            doc["links"].insert(0, {"rel": "self", "type": "text/html", "href": "x"})
            doc["links"][1]["type"] = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
        if username == "sneaky":
            doc["links"][0]["href"] = "file:///etc/passwd"
        return JSONResponse(doc, media_type=JRD_CONTENT_TYPE)

    return Starlette(routes=[Route("/.well-known/webfinger", webfinger)])


@pytest.fixture
async def wf_server() -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []
    async with serve_app(make_webfinger_app(seen)) as base_url:
        yield httpx.URL(base_url).netloc.decode(), seen


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(allow_private=True, user_agent="fedi-test/1") as c:
        yield c


async def test_given_local_jrd_when_resolving_handle_then_actor_url(
    wf_server: tuple[str, list[str]], client: httpx.AsyncClient
) -> None:
    host, seen = wf_server
    for handle in (f"@alice@{host}", f"alice@{host}", f"acct:alice@{host}"):
        assert await resolve_handle(client, handle, allow_private=True) == f"http://{host}/users/alice"
    assert seen == [f"acct:alice@{host}"] * 3
    assert await resolve_handle(client, f"ld@{host}", allow_private=True) == f"http://{host}/users/ld"


@pytest.mark.parametrize("username", ["ghost", "linkless"])
async def test_given_unknown_or_linkless_account_then_fetch_error(
    wf_server: tuple[str, list[str]], client: httpx.AsyncClient, username: str
) -> None:
    host, _ = wf_server
    with pytest.raises(FetchError):
        await resolve_handle(client, f"{username}@{host}", allow_private=True)


async def test_given_jrd_pointing_to_file_url_then_unsafe(
    wf_server: tuple[str, list[str]], client: httpx.AsyncClient
) -> None:
    host, _ = wf_server
    with pytest.raises(UnsafeURL):
        await resolve_handle(client, f"sneaky@{host}", allow_private=True)


async def test_given_private_host_without_allow_private_then_unsafe_and_not_contacted(
    wf_server: tuple[str, list[str]],
) -> None:
    host, seen = wf_server
    async with make_client(allow_private=False, user_agent="t") as strict:
        with pytest.raises(UnsafeURL):
            await resolve_handle(strict, f"alice@{host}")
    assert seen == []


async def test_given_malformed_handle_then_bad_request(client: httpx.AsyncClient) -> None:
    with pytest.raises(BadRequest):
        await resolve_handle(client, "not a handle", allow_private=True)
