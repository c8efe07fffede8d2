"""A public instance (no --allow-private) never lets a peer make it fetch private addresses."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from activitypub.auth import SignatureAuth
from activitypub.keys import generate_rsa_key, public_key_to_pem
from fedi.config import new_config
from fedi.instance import create_instance_files
from fedi_testing import serve_app, serve_instance, table_counts

KEY = generate_rsa_key()


def actor_app(hits: list[str]) -> Starlette:
    async def actor(request: Request) -> JSONResponse:
        hits.append(request.url.path)
        base = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse({"id": f"{base}/users/x", "type": "Person", "inbox": f"{base}/inbox",
                             "publicKey": {"id": f"{base}/users/x#main-key", "owner": f"{base}/users/x",
                                           "publicKeyPem": public_key_to_pem(KEY.public_key())}},
                            media_type="application/activity+json")

    return Starlette(routes=[Route("/users/x", actor)])


@pytest.fixture
async def public_instance(tmp_path):
    directory = tmp_path / "public"
    await create_instance_files(directory, new_config("https://avf.example", "avf", "AVF"))
    served = await serve_instance(directory, "avf")
    yield served
    await served.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_a_key_on_a_private_address_is_never_fetched_and_the_request_gets_401(public_instance, host):
    hits: list[str] = []
    async with serve_app(actor_app(hits)) as base:
        port = base.rsplit(":", 1)[1]
        actor = f"http://{host}:{port}/users/x"
        follow = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                  "id": f"http://{host}:{port}/follows/1", "actor": actor,
                  "object": "https://avf.example/users/avf"}
        before = await table_counts(public_instance.instance)
        port_of_target = public_instance.server.config.port
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port_of_target}/inbox", json=follow,
                auth=SignatureAuth(f"{actor}#main-key", KEY),
                headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 401
    assert hits == []  # not even one request reached the private address
    assert await table_counts(public_instance.instance) == before
