"""Test rig: real fedi instances on loopback (real SQLite, real HTTP), driven step by step.

Workers do not run in the background here: a test calls `settle()` to apply and deliver what
is queued, so that it can assert the outcome deterministically.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from activitypub.auth import SignatureAuth
from activitypub.keys import load_private_key
from fedi.config import new_config
from fedi.instance import Instance, create_instance_files, create_relay_files, open_instance
from fedi.workers import run_until_idle
from web.app import create_app

AP_HEADERS = {"Accept": "application/activity+json"}


@contextlib.asynccontextmanager
async def serve_app(app: Any, **config: Any) -> AsyncIterator[str]:
    """Run `app` with uvicorn on a free 127.0.0.1 port; yield its base URL (http or https)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, **config)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        scheme = "https" if "ssl_certfile" in config else "http"
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """One of our instances, served by uvicorn in the test's event loop."""

    instance: Instance
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return self.instance.config.url

    @property
    def actor_url(self) -> str:
        return self.instance.association.uri

    @property
    def db(self) -> Any:
        return self.instance.db

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task
        await self.instance.close()


async def serve_instance(directory: Path, name: str, *, port: int | None = None,
                         run_workers: bool = False, role: str = "instance") -> Served:
    """One of our instances (or, with role="relay", a relay) served on a free loopback port."""
    port = port or free_port()
    if not (directory / "fedi.toml").exists():
        config = new_config(f"http://127.0.0.1:{port}", name, name.replace("-", " ").title(),
                            role=role, allow_private=True)
        create = create_relay_files if role == "relay" else create_instance_files
        await create(directory, config)
    instance = await open_instance(directory)
    app = create_app(instance, run_workers=run_workers)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return Served(instance, server, task)


async def settle(*instances: Served | Instance, rounds: int = 20) -> None:
    """Applies and delivers all due work on every instance until none is left anywhere."""
    targets = [i.instance if isinstance(i, Served) else i for i in instances]
    for _ in range(rounds):
        for instance in targets:
            await run_until_idle(instance)
        if sum([await _pending(i) for i in targets]) == 0:
            return
    raise AssertionError("instances did not settle")


async def _pending(instance: Instance) -> int:
    now = instance.clock()
    row = await instance.db.fetchone(
        "SELECT (SELECT COUNT(*) FROM deliveries WHERE state='queued' AND next_attempt_at <= ?)"
        " + (SELECT COUNT(*) FROM inbox WHERE state='queued' AND next_attempt_at <= ?)",
        (now, now),
    )
    return int(row[0])


async def fetch_json(url: str, **headers: str) -> tuple[int, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers={**AP_HEADERS, **headers})
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


async def table_counts(instance: Instance, tables: Iterable[str] = (
        "remote_actors", "follows", "posts", "activities", "deliveries", "inbox", "reactions")) -> dict[str, int]:
    """Row counts, to show that a refused request changed nothing."""
    counts = {}
    for table in tables:
        row = await instance.db.fetchone(f"SELECT COUNT(*) FROM {table}")
        counts[table] = int(row[0])
    return counts


def signer_of(instance: Instance, scheme: str = "cavage") -> SignatureAuth:
    """Signs requests as an instance's association actor (to play a peer in tests)."""
    actor = instance.association
    return SignatureAuth(actor.key_id, load_private_key(actor.private_key_pem), scheme)  # type: ignore[arg-type]
