"""One post delivered to 350 follower inboxes vs the RSA-2048 signing ceiling of the same core.

350 distinct inbox URLs (70 each on 5 loopback receiver processes, on CPU 1) that verify each
request's draft-cavage signature and digest. The followers are rows made through the storage
API; the post is published with `fedi.outbox.publish_post`, then `fedi.workers.run_until_idle`
is timed (this process, pinned to CPU 0) until all 350 are delivered. The ceiling: raw RSA-2048
PKCS#1 v1.5 signatures of a 300-byte string on CPU 0 over ~2 s. Target: ratio >= 0.7.
    .venv/bin/python bench/fanout.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import LOAD_CPU, ServerProcess, free_port, new_instance, pin, verifying_inbox_app  # noqa: E402

FOLLOWERS = 350
RECEIVERS = 5
ROUNDS = 3
TARGET = 0.7


def receiver_app(key_id: str, owner: str, public_pem: str) -> Any:
    """Inboxes /inbox/{n} verifying signatures with the sender's key held in memory (as a peer
    that cached it); /stats says how many verified and how many did not."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    stats = {"ok": 0, "refused": 0}
    app = verifying_inbox_app(key_id, owner, public_pem, "/inbox/{n:int}", stats)

    async def get_stats(request: Request) -> Response:
        return JSONResponse(stats)

    app.router.routes.append(Route("/stats", get_stats))
    return app


def actor_document(base: str, n: int, public_pem: str) -> dict[str, Any]:
    uri = f"{base}/users/{n}"
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": uri, "type": "Person",
            "preferredUsername": f"r{n}", "inbox": f"{base}/inbox/{n}",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem}}


def signing_ceiling(private_pem: str, seconds: float = 2.0) -> float:
    """RSA-2048 signatures per second of a 300-byte string, this core only."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from activitypub.keys import load_private_key

    key = load_private_key(private_pem)
    message = b"x" * 300
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            key.sign(message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
        count += 20
    return count / elapsed


async def create(directory: str) -> tuple[str, str, str]:
    """`fedi init`; returns the association's private key, key id and actor URI."""
    instance = await new_instance(directory, free_port())
    try:
        actor = instance.association
        return actor.private_key_pem, actor.key_id, actor.uri
    finally:
        await instance.close()


async def deliver(directory: str, receivers: list[str]) -> tuple[list[float], dict[str, int], float]:
    from activitypub.keys import generate_rsa_key, public_key_to_pem
    from activitypub.vocab import parse_actor
    from fedi import storage
    from fedi.instance import open_instance
    from fedi.outbox import publish_post
    from fedi.workers import run_until_idle

    instance = await open_instance(Path(directory))
    try:
        follower_pem = public_key_to_pem(generate_rsa_key().public_key())
        actors = [actor_document(receivers[n % len(receivers)], n, follower_pem) for n in range(FOLLOWERS)]
        for document in actors:
            await storage.put_remote_actor(instance.db, parse_actor(document), instance.clock())
        async with instance.db.transaction() as tx:
            for document in actors:
                await storage.put_follow(tx, document["id"], instance.association.uri, None, "accepted")
        times, cpu = [], 0.0
        for round_ in range(ROUNDS):
            start, start_cpu = time.perf_counter(), time.process_time()
            await publish_post(instance, f"Nouvelle n°{round_} pour les {FOLLOWERS} abonnés.")
            await run_until_idle(instance)
            times.append(time.perf_counter() - start)
            cpu += time.process_time() - start_cpu
        rows = await instance.db.fetchall("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        return times, {row[0]: row[1] for row in rows}, cpu / sum(times)
    finally:
        await instance.close()


def main() -> None:
    pin(0)
    import uvloop

    from activitypub.keys import load_private_key, public_key_to_pem

    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as tmp:
        private_pem, key_id, owner = asyncio.run(create(tmp))
        public_pem = public_key_to_pem(load_private_key(private_pem).public_key())  # type: ignore[arg-type]
        ports = [free_port() for _ in range(RECEIVERS)]
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        servers = [ServerProcess(receiver_app, (key_id, owner, public_pem), p, cpu=LOAD_CPU) for p in ports]
        try:
            for server in servers:
                server.__enter__()
            times, states, busy = uvloop.run(deliver(tmp, bases))
            stats = [json.load(urllib.request.urlopen(f"{b}/stats", timeout=5)) for b in bases]
        finally:
            for server in servers:
                server.__exit__()
        ceiling = signing_ceiling(private_pem)
    median = statistics.median(times)
    rate = FOLLOWERS / median
    ratio = rate / ceiling
    verified = sum(s["ok"] for s in stats)
    refused = sum(s["refused"] for s in stats)
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(f"fanout: {FOLLOWERS} deliveries in {median:.2f} s = {rate:.0f}/s (median of {ROUNDS} posts: "
          + ", ".join(f"{t:.2f}" for t in times) + f" s); signing ceiling {ceiling:.0f}/s; "
          f"ratio {ratio:.2f} (target >= {TARGET}) {verdict}")
    print(f"fanout: deliveries by state {states}; receivers verified {verified}, refused {refused}; "
          f"delivering process used {busy:.0%} of its core = {busy / rate * 1000:.2f} ms CPU per delivery "
          f"(a signature: {1000 / ceiling:.2f} ms)")


if __name__ == "__main__":
    main()
