"""Drive the Fedify peer (tests/interop/fedify/peer.mjs) from Python tests.

    peer = await FedifyPeer().start()
    try:
        await peer.follow(our_actor_url)
        entry = await peer.wait_for(lambda a: a["type"] == "Accept")
    finally:
        peer.stop()

The peer is a real, independent ActivityPub server (Fedify 2.x on Node 22) on loopback.
It has no delivery queue: a control call returns once its deliveries are done, and an
incoming Follow is accepted (Accept delivered) before the Follow's POST is answered.
Its node_modules are installed by `bash dev.sh test` (npm ci in tests/interop/fedify).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, cast

import httpx

PEER_DIR = Path(__file__).resolve().parent / "fedify"
NODE = PEER_DIR / "node_modules" / ".bin" / "node"
SCRIPT = PEER_DIR / "peer.mjs"

Entry = dict[str, Any]


class FedifyPeerError(RuntimeError):
    """The peer could not start, or a control call failed (status and message from the peer)."""

    def __init__(self, message: str, status: int | None = None, detail: str | None = None):
        super().__init__(message if status is None else f"{status}: {message}")
        self.status = status
        self.detail = detail


class FedifyPeer:
    """One Fedify peer process with one actor (default ``alice``)."""

    def __init__(self, username: str = "alice", log_level: str | None = None) -> None:
        self.username = username
        self.log_level = log_level  # None: env FEDIFY_PEER_LOG_LEVEL, else "warning"
        self.port: int | None = None
        self.actor_url: str = ""
        self.base_url: str = ""
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._final_log = ""

    # ------------------------------------------------------------------ process

    async def start(self, port: int | None = None, timeout: float = 20.0) -> "FedifyPeer":
        """Start the peer on 127.0.0.1 (``port=None``: the system picks a free one), wait until
        it answers its health check, and return self."""
        if self._proc is not None:
            raise FedifyPeerError("this peer is already started")
        if not NODE.exists() or not (PEER_DIR / "node_modules" / "@fedify" / "fedify").is_dir():
            raise FedifyPeerError(
                f"the Fedify peer is not installed ({PEER_DIR / 'node_modules'} is missing or "
                "incomplete): run `bash dev.sh test`, or `npm ci` in tests/interop/fedify"
            )
        env = dict(os.environ)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                     "all_proxy", "NODE_USE_ENV_PROXY"):
            env.pop(name, None)
        if self.log_level:
            env["FEDIFY_PEER_LOG_LEVEL"] = self.log_level
        self._log_file = tempfile.NamedTemporaryFile(
            prefix=f"fedify-peer-{self.username}-", suffix=".log", delete=False
        )
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [str(NODE), str(SCRIPT), "--port", str(port or 0), "--username", self.username,
             "--exit-on-stdin-close"],
            cwd=PEER_DIR,
            env=env,
            stdin=subprocess.PIPE,  # closed when this process dies: the peer then exits too
            stdout=subprocess.PIPE,
            stderr=self._log_file,
        )
        _running.add(self)
        try:
            stdout = self._proc.stdout
            assert stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(stdout.readline), timeout)
            parts = line.decode("utf-8", "replace").split()
            if len(parts) != 3 or parts[0] != "LISTENING":
                raise FedifyPeerError(f"the peer did not start (said {line!r})\n{self.log_text()}")
            self.port = int(parts[1])
            self.actor_url = parts[2]
            self.base_url = f"http://127.0.0.1:{self.port}"
            deadline = time.monotonic() + timeout
            while True:
                try:
                    health = await self.health()
                    break
                except (httpx.TransportError, FedifyPeerError):
                    if time.monotonic() > deadline or self._proc.poll() is not None:
                        raise
                    await asyncio.sleep(0.02)
            self.actor_url = health["actor"]
        except BaseException as exc:
            log = self.log_text()
            self.stop()
            if isinstance(exc, asyncio.TimeoutError):
                raise FedifyPeerError(f"the peer did not start within {timeout} s\n{log}") from exc
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the peer: SIGTERM, then SIGKILL after ``timeout`` seconds. Idempotent."""
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        if self._log_file is not None:
            self._final_log = self.log_text(tail=1_000_000)
            self._log_file.close()
            if not os.environ.get("FEDIFY_PEER_KEEP_LOGS"):
                Path(self._log_file.name).unlink(missing_ok=True)
            self._log_file = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self, tail: int = 20000) -> str:
        """The peer's stderr (Fedify's and the peer's own logs), last ``tail`` characters.
        Kept after stop(); the file itself is removed then unless FEDIFY_PEER_KEEP_LOGS is set."""
        if self._log_file is None:
            return self._final_log[-tail:]
        try:
            text = Path(self._log_file.name).read_text("utf-8", "replace")
        except OSError:
            return ""
        return text[-tail:]

    async def __aenter__(self) -> "FedifyPeer":
        return await self.start() if self._proc is None else self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ control API

    @property
    def inbox_url(self) -> str:
        return f"{self.actor_url}/inbox"

    @property
    def shared_inbox_url(self) -> str:
        return f"{self.base_url}/inbox"

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
                    timeout: float = 30.0) -> Any:
        if not self.base_url:
            raise FedifyPeerError("the peer is not started")
        async with httpx.AsyncClient(trust_env=False, timeout=timeout) as client:
            response = await client.request(method, f"{self.base_url}/_control/{path}", json=body)
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else str(data)
            detail = data.get("detail") if isinstance(data, dict) else None
            raise FedifyPeerError(error or "error", response.status_code, detail)
        return data

    async def health(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("GET", "health", timeout=5.0))

    async def follow(self, target: str) -> str:
        """Send Follow(target) from the peer's actor; returns the Follow's id."""
        return str((await self._call("POST", "follow", {"target": target}))["id"])

    async def unfollow(self, target: str) -> str:
        """Send Undo(Follow) to target; returns the Undo's id."""
        return str((await self._call("POST", "unfollow", {"target": target}))["id"])

    async def post(self, content: str) -> str:
        """Create(Note) to Public, cc followers, delivered to the followers; returns the note id."""
        return str((await self._call("POST", "post", {"content": content}))["id"])

    @property
    def instance_actor_url(self) -> str:
        """The peer's Mastodon-style instance actor (an Application), which subscribes to relays."""
        return f"{self.base_url}/users/instance.actor"

    async def subscribe_to_relay(self, relay_actor: str, relay_inbox: str) -> str:
        """Mastodon's way: the instance actor's Follow of the Public collection, to the relay's inbox."""
        body = {"relay": relay_actor, "inbox": relay_inbox}
        return str((await self._call("POST", "relay-subscribe", body))["id"])

    async def post_to_relay(self, relay_actor: str, relay_inbox: str, content: str) -> str:
        """A public Note of the actor, its Create also sent to the relay's inbox; returns the note id."""
        body = {"relay": relay_actor, "inbox": relay_inbox, "content": content}
        return str((await self._call("POST", "relay-post", body))["id"])

    async def reply(self, in_reply_to: str, to: str, content: str, *, followers_only: bool = False) -> str:
        """Create(Note inReplyTo) to Public, cc + Mention ``to``, delivered to ``to``; note id.
        ``followers_only``: Mastodon's addressing of a reply to a followers-only post (to the
        peer's followers collection instead of Public)."""
        body = {"inReplyTo": in_reply_to, "to": to, "content": content, "followersOnly": followers_only}
        return str((await self._call("POST", "reply", body))["id"])

    async def fetch(self, url: str, *, signed: bool = True) -> tuple[int, str]:
        """GET ``url`` as the peer's server would for its user (signed with her key), or unsigned;
        returns (status, body)."""
        answer = await self._call("POST", "fetch", {"url": url, "unsigned": not signed})
        return int(answer["status"]), str(answer["body"])

    async def update(self, note_id: str, content: str) -> str:
        """Update(Note) to the note's recipients; returns the Update's id."""
        return str((await self._call("POST", "update", {"id": note_id, "content": content}))["activity"])

    async def delete(self, note_id: str) -> str:
        """Delete(Tombstone) to the note's recipients; returns the Delete's id."""
        return str((await self._call("POST", "delete", {"id": note_id}))["activity"])

    async def like(self, object_url: str, to: str) -> str:
        """Like(object) delivered to ``to``; returns the Like's id."""
        return str((await self._call("POST", "like", {"object": object_url, "to": to}))["id"])

    async def announce(self, object_url: str, to: str) -> str:
        """Announce(object) to Public, cc ``to`` and followers, delivered to ``to``; its id."""
        return str((await self._call("POST", "announce", {"object": object_url, "to": to}))["id"])

    async def undo(self, activity_id: str) -> str:
        """Undo one of our activities (like, announce, follow) to its recipients; the Undo's id."""
        return str((await self._call("POST", "undo", {"id": activity_id}))["id"])

    async def inbox(self) -> list[Entry]:
        """Activities received, oldest first: dicts with type, id, actor, object (JSON or id),
        raw (compacted JSON-LD), verified (bool), recipient, receivedAt, and reason when
        verification failed (those were answered 401)."""
        return cast(list[Entry], await self._call("GET", "inbox"))

    async def followers(self) -> list[str]:
        return cast(list[str], await self._call("GET", "followers"))

    async def following(self) -> list[dict[str, Any]]:
        """[{target, id (the Follow's), accepted, rejected}]"""
        return cast(list[dict[str, Any]], await self._call("GET", "following"))

    async def requests(self) -> list[dict[str, Any]]:
        """Every non-control request served: method, path, headers, body, status, at."""
        return cast(list[dict[str, Any]], await self._call("GET", "requests"))

    async def errors(self) -> list[dict[str, Any]]:
        """Errors raised by inbox listeners."""
        return cast(list[dict[str, Any]], await self._call("GET", "errors"))

    async def clear(self) -> None:
        """Forget received activities, the request log and errors (not followers/following)."""
        await self._call("POST", "clear")

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Callable[[Entry], bool], timeout: float = 10.0,
                       interval: float = 0.05) -> Entry:
        """Poll the inbox until an entry matches ``predicate``; return the first match."""
        deadline = time.monotonic() + timeout
        while True:
            entries = await self.inbox()
            for entry in entries:
                if predicate(entry):
                    return entry
            if time.monotonic() > deadline:
                summary = [(e.get("type"), e.get("id"), e.get("verified")) for e in entries]
                raise TimeoutError(
                    f"no matching activity in the Fedify peer's inbox after {timeout} s; "
                    f"it has {summary}\n--- peer log ---\n{self.log_text(4000)}"
                )
            await asyncio.sleep(interval)

    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0,
                         interval: float = 0.05) -> Any:
        """Poll ``check`` (sync or async, no argument) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met after {timeout} s")
            await asyncio.sleep(interval)


_running: set[FedifyPeer] = set()


@atexit.register
def _stop_all() -> None:
    for peer in list(_running):
        peer.stop(timeout=2.0)
