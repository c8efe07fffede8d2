"""Our instances federate through a real ActivityRelay (PyPI `activityrelay`, pinned in
tests/interop/activityrelay/requirements.txt; `bash dev.sh test` installs it in its own venv).

ActivityRelay only speaks https on port 443 (it builds every URL as `https://{domain}/...`), so
each party gets its own loopback address with a certificate from a test CA made here:
ActivityRelay at 127.0.1.10 (its plain-HTTP server behind a small TLS terminator in this
process), our two instances at 127.0.1.11 and 127.0.1.12 (uvicorn with TLS). Our instances
subscribe with their instance actor (an `Application`, which ActivityRelay requires), and the
relay's whitelist admits exactly those two addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.poster import Poster
from activitypub.transport import SafeTransport
from fedi import following, outbox, storage
from fedi.config import new_config
from fedi.instance import create_instance_files, open_instance
from fedi_testing import Served, settle
from loopback_tls import LoopbackCA, TLSTerminator
from web.app import create_app

pytestmark = pytest.mark.interop

RELAY_VENV = Path(__file__).parent / "activityrelay" / ".venv"
ACTIVITYRELAY = RELAY_VENV / "bin" / "activityrelay"
RELAY_HOST, LYON_HOST, NANTES_HOST = "127.0.1.10", "127.0.1.11", "127.0.1.12"
RELAY_ACTOR = f"https://{RELAY_HOST}/actor"
DEADLINE = 20.0  # seconds, for each exchange that goes through the relay

if not ACTIVITYRELAY.exists():
    pytest.skip(f"ActivityRelay is not installed in {RELAY_VENV} (`bash dev.sh test` installs it)",
                allow_module_level=True)


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class ActivityRelay:
    directory: Path
    process: subprocess.Popen[bytes]
    terminator: TLSTerminator

    @property
    def full_log(self) -> str:
        path = self.directory / "activityrelay.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def log(self) -> str:
        """The end of its log, for failure messages."""
        return self.full_log[-6000:]

    def inboxes(self) -> list[str]:
        return self.cli("inbox", "list").splitlines()

    def cli(self, *args: str) -> str:
        return _cli(self.directory, *args)

    async def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # clean stop: its push workers end too
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):  # anything left in its process group
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        await self.terminator.stop()


def _cli(directory: Path, *args: str) -> str:
    done = subprocess.run([str(ACTIVITYRELAY), "-c", str(directory / "relay.yaml"), *args],
                          cwd=directory, env=_relay_env(directory), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"activityrelay {' '.join(args[:2])}: {done.stdout}{done.stderr}"
    return done.stdout


def _relay_env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_RUNNING", "SSL_CERT_DIR")}
    # aiohttp's default SSL context (ssl.create_default_context) honours SSL_CERT_FILE.
    return {**env, "SSL_CERT_FILE": str(directory / "ca.pem"),
            "LOG_FILE": str(directory / "activityrelay.log")}


async def start_activityrelay(directory: Path, ca: LoopbackCA, allowed: list[str]) -> ActivityRelay:
    directory.mkdir()
    (directory / "ca.pem").write_bytes(ca.ca_file.read_bytes())
    port = _free_port(RELAY_HOST)
    (directory / "relay.yaml").write_text(
        f"listen: {RELAY_HOST}\nport: {port}\ndomain: {RELAY_HOST}\nworkers: 1\n"
        "database_type: sqlite\ncache_type: database\nsqlite_path: relay.sqlite3\n"
    )
    # `activityrelay setup --skip-questions` would do the same, with a 4096-bit key (~5 s): the
    # relay's key is set through its CLI instead (a 2048-bit one), with the rest of its settings.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()

    def configure() -> None:
        _cli(directory, "config", "set", "--", "private-key", pem)
        _cli(directory, "config", "set", "whitelist-enabled", "true")
        _cli(directory, "config", "set", "log-level", "verbose")
        for domain in allowed:
            _cli(directory, "whitelist", "add", domain)

    await asyncio.to_thread(configure)
    terminator = TLSTerminator(ca.server_context(RELAY_HOST), RELAY_HOST, port)
    await terminator.start()
    log = open(directory / "activityrelay.out", "wb")  # noqa: SIM115 (the process keeps it)
    process = subprocess.Popen([str(ACTIVITYRELAY), "-c", str(directory / "relay.yaml"), "run"],
                               cwd=directory, env=_relay_env(directory), stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    relay = ActivityRelay(directory, process, terminator)
    async with httpx.AsyncClient(verify=ca.client_context()) as client:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                await relay.stop()
                raise AssertionError(f"activityrelay exited: {(directory / 'activityrelay.out').read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(RELAY_ACTOR)).status_code == 200:
                    return relay
            if time.monotonic() - started > 10:
                await relay.stop()
                raise AssertionError(f"activityrelay did not start: {relay.log}")
            await asyncio.sleep(0.1)


# --- our instances over https on their own loopback addresses ------------------------------------

async def serve_https_instance(directory: Path, address: str, name: str, ca: LoopbackCA) -> Served:
    config = new_config(f"https://{address}", name, name.replace("-", " ").title(), allow_private=True)
    await create_instance_files(directory, config)
    instance = await open_instance(directory)
    # make_client's transport builds its SSL context with httpx.create_ssl_context(trust_env=False),
    # which ignores SSL_CERT_FILE: the same client, trusting the test CA, is put in its place.
    default = instance.http
    instance.http = httpx.AsyncClient(
        transport=SafeTransport(allow_private=True, ssl_context=ca.client_context()),
        timeout=default.timeout, follow_redirects=False, headers=default.headers, trust_env=False,
    )
    await default.aclose()
    await instance.poster.aclose()
    instance.poster = Poster(allow_private=True, user_agent="fedi-test", ssl_context=ca.client_context())
    certfile, keyfile = ca.issue(address)
    server = uvicorn.Server(uvicorn.Config(
        create_app(instance, run_workers=False), host=address, port=443, log_level="warning",
        lifespan="on", ssl_certfile=str(certfile), ssl_keyfile=str(keyfile), timeout_graceful_shutdown=1,
    ))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await instance.close()
            task.result()
            raise AssertionError(f"uvicorn did not start on {address}:443")
        await asyncio.sleep(0.02)
    return Served(instance, server, task)


async def until(what: str, condition: Callable[[], Awaitable[bool]], *parties: Served,
                relay: ActivityRelay) -> None:
    """Drives our instances (settle) while ActivityRelay works on its own, until `condition`."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > DEADLINE:
            raise AssertionError(f"timed out waiting until {what}; activityrelay log:\n{relay.log}")
        assert relay.process.poll() is None, f"activityrelay died:\n{relay.log}"
        await settle(*parties)
        await asyncio.sleep(0.1)


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[tuple[ActivityRelay, Served, Served]]:
    ca = LoopbackCA.create(tmp_path)
    started: list[Served] = []
    relay = await start_activityrelay(tmp_path / "activityrelay", ca, [LYON_HOST, NANTES_HOST])
    try:
        for address, name in ((LYON_HOST, "avf-lyon"), (NANTES_HOST, "avf-nantes")):
            started.append(await serve_https_instance(tmp_path / name, address, name, ca))
        yield relay, started[0], started[1]
    finally:
        for served in reversed(started):
            await served.stop()
        await relay.stop()
        # its own session (start_new_session): nothing of it may be left running
        left = subprocess.run(["pgrep", "-s", str(relay.process.pid)], capture_output=True, text=True).stdout
        assert not left.strip(), f"activityrelay processes left running: {left}"


async def _subscribed(relay: ActivityRelay, lyon: Served, nantes: Served) -> None:
    for member in (lyon, nantes):
        await following.subscribe_to_relay(member.instance, f"https://{RELAY_HOST}/inbox")

    async def accepted() -> bool:
        states = [await storage.get_follow(m.db, m.instance.instance_actor.uri, RELAY_ACTOR)
                  for m in (lyon, nantes)]
        return all(s is not None and s.state == "accepted" for s in states)

    await until("both subscriptions are accepted", accepted, lyon, nantes, relay=relay)


async def test_a_post_reaches_the_other_instance_through_activityrelay(
        network: tuple[ActivityRelay, Served, Served]) -> None:
    relay, lyon, nantes = network
    await _subscribed(relay, lyon, nantes)
    inboxes = relay.inboxes()
    assert any(f"https://{LYON_HOST}/inbox" in line for line in inboxes), inboxes
    assert any(f"https://{NANTES_HOST}/inbox" in line for line in inboxes), inboxes

    post = await outbox.publish_post(lyon.instance, "Forum des associations **samedi**", title="Forum")

    async def received() -> bool:
        return await storage.get_post_by_uri(nantes.db, post.uri) is not None

    await until("nantes has lyon's post", received, lyon, nantes, relay=relay)
    copy = await storage.get_post_by_uri(nantes.db, post.uri)
    assert copy is not None
    assert copy.author == lyon.actor_url and "<strong>samedi</strong>" in copy.content
    # it came as ActivityRelay's Announce of the post's id, and was fetched from lyon
    announce = await nantes.db.fetchone("SELECT actor, body FROM inbox WHERE type = 'Announce'")
    assert announce is not None and announce["actor"] == RELAY_ACTOR
    # and never back to its author's instance
    assert await lyon.db.fetchone("SELECT 1 FROM inbox WHERE type = 'Announce'") is None

    # ActivityRelay forwards an Update or a Delete as it is (not as an Announce), re-signed with
    # its own key. From a relay we follow, that is taken as an Announce of the object, which is
    # fetched again from its origin: the edit, then the deletion, reach nantes.
    await outbox.edit_post(lyon.instance, post.uri, "Forum des associations **dimanche**")

    async def edited() -> bool:
        copy = await storage.get_post_by_uri(nantes.db, post.uri)
        return copy is not None and "<strong>dimanche</strong>" in copy.content

    await until("nantes has lyon's edit", edited, lyon, nantes, relay=relay)
    await outbox.delete_post(lyon.instance, post.uri)

    async def deleted() -> bool:
        copy = await storage.get_post_by_uri(nantes.db, post.uri)
        return copy is not None and copy.is_deleted

    await until("nantes has lyon's deletion", deleted, lyon, nantes, relay=relay)
