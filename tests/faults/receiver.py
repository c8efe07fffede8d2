"""A scriptable receiving peer for fault tests: a real Starlette app served by uvicorn on loopback.

It serves actor documents (`/users/{n}`, type Person, with a public key it generated), so that
an instance of ours can deliver to them; its inboxes (`/inbox/{n}` per actor, `/inbox` shared)
VERIFY each request's HTTP signature with `activitypub.signatures.verify_request`, fetching the
sender's key over HTTP, then answer as the test scripted (`answers`, then `default`) and record
what came in (`received`), in arrival order.

    receiver = await Receiver.start_new(actors=2, shared_inbox=True)
    await receiver.become_follower_of(instance)        # rows in our instance's storage
    receiver.answers.extend([Answer(500), Answer(202)])
    ...
    await receiver.stop()                            # connection refused from now on
    await receiver.start()                           # back, same port
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.auth import SignatureAuth
from activitypub.errors import ActivityPubError, SignatureError
from activitypub.keys import generate_rsa_key, load_public_key, public_key_to_pem
from activitypub.signatures import PublicKeyInfo, verify_request
from activitypub.vocab import parse_actor
from fedi import storage
from fedi.instance import Instance
from fedi_testing import free_port

AP_JSON = "application/activity+json"


@dataclass(frozen=True)
class Answer:
    """What the inbox answers to one request: a status and headers, after `delay` seconds."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One POST to an inbox, as the receiver saw it."""

    path: str
    activity_id: str | None
    activity_type: str | None
    object_id: str | None
    scheme: str | None  # "cavage" | "rfc9421" if the signature verified, else None
    key_id: str | None
    error: str | None  # why the signature did not verify
    status: int  # what the receiver answered
    at: float  # time.monotonic() at arrival
    body: dict[str, Any] = field(repr=False)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class Receiver:
    def __init__(self, *, actors: int = 1, shared_inbox: bool = False, port: int | None = None,
                 refuse_cavage: bool = False, default: Answer | None = None) -> None:
        self.port = port or free_port()
        self.actors = actors
        self.shared_inbox = shared_inbox
        self.refuse_cavage = refuse_cavage  # answer 401 to draft-cavage, whatever the script
        self.default = default or Answer(202)
        self.answers: deque[Answer] = deque()
        self.respond: Callable[[Request, str | None], Answer | None] | None = None  # overrides
        self.received: list[Received] = []
        self.key = generate_rsa_key()
        self.public_key_pem = public_key_to_pem(self.key.public_key())
        self._keys: dict[str, PublicKeyInfo] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._http = httpx.AsyncClient(timeout=10.0)
        self.app = Starlette(routes=[
            Route("/users/{n:int}", self._actor),
            Route("/inbox", self._inbox, methods=["POST"]),
            Route("/inbox/{n:int}", self._inbox, methods=["POST"]),
        ])

    @classmethod
    async def start_new(cls, **options: Any) -> Receiver:
        receiver = cls(**options)
        await receiver.start()
        return receiver

    # --- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor_url(self, n: int = 0) -> str:
        return f"{self.url}/users/{n}"

    def inbox_url(self, n: int = 0) -> str:
        return f"{self.url}/inbox/{n}"

    @property
    def shared_inbox_url(self) -> str:
        return f"{self.url}/inbox"

    def actor_document(self, n: int = 0) -> dict[str, Any]:
        uri = self.actor_url(n)
        document: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri, "type": "Person", "preferredUsername": f"r{n}", "inbox": self.inbox_url(n),
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_key_pem},
        }
        if self.shared_inbox:
            document["endpoints"] = {"sharedInbox": self.shared_inbox_url}
        return document

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Serves (again) on the same port."""
        self._closing = asyncio.Event()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(250):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        raise RuntimeError("receiver did not start")

    async def stop(self) -> None:
        """Stops listening: connections are refused until `start()`. Sleeping answers end."""
        self._closing.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    async def close(self) -> None:
        await self.stop()
        await self._http.aclose()

    # --- storage helpers for our instance --------------------------------------------------

    async def become_follower_of(self, instance: Instance, actors: range | None = None) -> None:
        """Rows in our instance's storage: actor n (all by default) follows its association."""
        numbers = actors if actors is not None else range(self.actors)
        for n in numbers:
            await storage.put_remote_actor(instance.db, parse_actor(self.actor_document(n)), instance.clock())
        async with instance.db.transaction() as tx:
            for n in numbers:
                await storage.put_follow(tx, self.actor_url(n), instance.association.uri, None, "accepted")

    async def send(self, inbox: str, activity: dict[str, Any], n: int = 0, scheme: str = "cavage") -> int:
        """POSTs an activity signed as actor n; returns the status."""
        auth = SignatureAuth(f"{self.actor_url(n)}#main-key", self.key, scheme)  # type: ignore[arg-type]
        response = await self._http.post(inbox, content=json.dumps(activity).encode(), auth=auth,
                                         headers={"Content-Type": AP_JSON})
        return response.status_code

    # --- what was received -----------------------------------------------------------------

    def accepted(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if r.accepted and (path is None or r.path == path)]

    def accepted_objects(self, path: str | None = None) -> list[str | None]:
        return [r.object_id for r in self.accepted(path)]

    # --- routes ----------------------------------------------------------------------------

    async def _actor(self, request: Request) -> Response:
        n = request.path_params["n"]
        if n >= self.actors:
            return Response(status_code=404)
        return JSONResponse(self.actor_document(n), media_type=AP_JSON)

    async def _inbox(self, request: Request) -> Response:
        arrived = time.monotonic()
        body = await request.body()
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        scheme = key_id = error = None
        try:
            verified = await verify_request(request.method, str(request.url), request.headers, body, self._get_key)
            scheme, key_id = verified.scheme, verified.key.key_id
        except SignatureError as exc:
            error = str(exc)
        answer = self._answer(request, scheme)
        if error is not None:
            answer = Answer(401)
        if answer.delay:
            try:
                await asyncio.wait_for(self._closing.wait(), answer.delay)
            except TimeoutError:
                pass
        obj = data.get("object")
        self.received.append(Received(
            path=request.url.path, activity_id=data.get("id"), activity_type=data.get("type"),
            object_id=obj.get("id") if isinstance(obj, dict) else obj, scheme=scheme,
            key_id=key_id, error=error, status=answer.status, at=arrived, body=data,
        ))
        return Response(status_code=answer.status, headers=answer.headers)

    def _answer(self, request: Request, scheme: str | None) -> Answer:
        if self.refuse_cavage and scheme == "cavage":
            return Answer(401)
        if self.respond is not None:
            answer = self.respond(request, scheme)
            if answer is not None:
                return answer
        return self.answers.popleft() if self.answers else self.default

    async def _get_key(self, key_id: str, refresh: bool) -> PublicKeyInfo:
        if not refresh and key_id in self._keys:
            return self._keys[key_id]
        try:
            response = await self._http.get(urldefrag(key_id).url, headers={"Accept": AP_JSON})
            actor = parse_actor(response.json())
        except (httpx.HTTPError, ValueError, ActivityPubError) as exc:
            raise SignatureError(f"cannot fetch {key_id}: {exc!r}") from exc
        if actor.public_key_id != key_id or actor.public_key_pem is None:
            raise SignatureError(f"{actor.id} does not publish {key_id}")
        info = PublicKeyInfo(key_id, actor.id, load_public_key(actor.public_key_pem))
        self._keys[key_id] = info
        return info
