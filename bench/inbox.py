"""Signed POSTs accepted per second by our inbox vs a bare Starlette endpoint that only checks
the digest and the draft-cavage signature (same uvicorn settings, same requests).

Each request is a Like of our post with a unique id, signed (RSA-2048, draft-cavage) by a peer
whose actor (and key) is already in the instance's cache, as after its first request. The
instance runs as `fedi serve` builds it (workers on, so the Likes are also applied), with the
inbox rate limits lifted (one loopback client would hit 50 req/s per IP). Servers on CPU 0, one
after the other; load from a separate httpx process on CPU 1. Target: ratio >= 0.8.
    .venv/bin/python bench/inbox.py
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    SPAWN,
    ServerProcess,
    free_port,
    instance_app,
    new_instance,
    pin,
    verifying_inbox_app,
)

REQUESTS = 6000  # pre-signed, each sent once to the instance (unique ids)
DURATION = 4.0
TARGET = 0.8
PEER = "http://127.0.0.1:{port}/users/peer"
AP_JSON = "application/activity+json"


def peer_document(peer: str, public_pem: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": peer, "type": "Person", "preferredUsername": "peer", "inbox": f"{peer}/inbox",
        "publicKey": {"id": f"{peer}#main-key", "owner": peer, "publicKeyPem": public_pem},
    }


def sign_batch(args: tuple[str, str, str, str, range]) -> list[tuple[str, str, dict[str, str], bytes]]:
    """Signed Like requests number `numbers` (run in a pool: ~1 ms of RSA each)."""
    import httpx

    from activitypub.auth import sign_request
    from activitypub.keys import load_private_key

    private_pem, peer, inbox_url, post_uri, numbers = args
    key = load_private_key(private_pem)
    out = []
    for i in numbers:
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer}/likes/{i}",
                           "type": "Like", "actor": peer, "object": post_uri}).encode()
        request = httpx.Request("POST", inbox_url, content=body, headers={"Content-Type": AP_JSON})
        sign_request(request, f"{peer}#main-key", key, "cavage")  # type: ignore[arg-type]
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        out.append(("POST", request.url.raw_path.decode(), headers, body))
    return out


def bare_app(peer: str, public_pem: str) -> Any:
    """Digest + signature check with an in-memory key, then 202."""
    return verifying_inbox_app(f"{peer}#main-key", peer, public_pem, "/users/{username}/inbox")


async def setup(directory: str, port: int, peer: str, public_pem: str) -> str:
    from activitypub.vocab import parse_actor
    from fedi import storage
    from fedi.outbox import publish_post

    instance = await new_instance(directory, port)
    try:
        post = await publish_post(instance, "Une nouvelle à aimer.")
        peer_actor = parse_actor(peer_document(peer, public_pem))
        await storage.put_remote_actor(instance.db, peer_actor, instance.clock())
        return post.uri
    finally:
        await instance.close()


def main() -> None:
    pin(0)
    from activitypub.keys import generate_rsa_key, private_key_to_pem, public_key_to_pem

    key = generate_rsa_key()
    private_pem, public_pem = private_key_to_pem(key), public_key_to_pem(key.public_key())
    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as tmp:
        port = free_port()
        peer = PEER.format(port=free_port())  # never served: its key is in the cache already
        post_uri = asyncio.run(setup(tmp, port, peer, public_pem))
        inbox_url = f"http://127.0.0.1:{port}/users/bench/inbox"
        started = time.perf_counter()
        chunks = [range(i, min(i + 500, REQUESTS)) for i in range(0, REQUESTS, 500)]
        with SPAWN.Pool(2) as pool:
            batches = pool.map(sign_batch, [(private_pem, peer, inbox_url, post_uri, c) for c in chunks])
        requests = [r for batch in batches for r in batch]
        signing = time.perf_counter() - started
        # Both servers on the same port in turn, so the very same signed requests fit both.
        with ServerProcess(bare_app, (peer, public_pem), port) as server:
            bare = server.load(requests, duration=DURATION)
        with ServerProcess(instance_app, (tmp,), port) as server:
            ours = server.load(requests, duration=DURATION, cycle=False)
            time.sleep(1.5)  # let the workers apply what came in
        from fedi.config import database_path

        with sqlite3.connect(database_path(Path(tmp))) as db:
            stored = db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
            applied = db.execute("SELECT COUNT(*) FROM inbox WHERE state='done'").fetchone()[0]
    ratio = ours.rate / bare.rate if bare.rate else 0.0
    cpu_ratio = ours.per_cpu_second / bare.per_cpu_second if bare.per_cpu_second else 0.0
    verdict = "met" if ratio >= TARGET else "MISSED"
    odd = {s: n for s, n in ours.statuses.items() if s != 202}
    print(f"inbox: {ours.rate:.0f} signed POSTs/s accepted (server core {ours.server_busy:.0%} busy); "
          f"bare verify endpoint {bare.rate:.0f}/s (core {bare.server_busy:.0%} busy); "
          f"ratio {ratio:.2f} (target >= {TARGET}) {verdict}"
          + (f"; non-202: {odd}, errors {ours.errors}" if odd or ours.errors else ""))
    print(f"inbox: per server CPU-second {ours.per_cpu_second:.0f} vs {bare.per_cpu_second:.0f}; "
          f"CPU-normalised ratio {cpu_ratio:.2f}; {stored} activities stored, "
          f"{applied} applied by the workers; "
          f"{REQUESTS} requests pre-signed in {signing:.1f} s")


if __name__ == "__main__":
    main()
