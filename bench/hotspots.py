"""cProfile of our side of each benchmark, in one process, to name the hot spots.

    .venv/bin/python bench/hotspots.py fanout|pages|inbox [N [CALLERS_REGEX]]

fanout: publish one post to 350 followers (receivers as in fanout.py) and deliver it.
pages:  N (default 300) `GET /` with 20 posts, through httpx's ASGI transport (no socket).
inbox:  N (default 1000) signed Likes POSTed through httpx's ASGI transport, then applied.
Prints the functions with the most own time and the project functions with the most
cumulative time. Only the event-loop thread is profiled: time spent waiting for aiosqlite's
thread shows up as the selector's (epoll) own time.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import LOAD_CPU, ServerProcess, free_port, new_instance, pin  # noqa: E402


def report(profile: cProfile.Profile, wall: float, what: str) -> None:
    print(f"--- {what}: {wall:.2f} s wall in the profiled section")
    for key, title in (("tottime", "own time"), ("cumulative", "cumulative, project code")):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats(key)
        if key == "cumulative":
            stats.print_stats(r"/work/main/(fedi|web|activitypub)/", 18)
        else:
            stats.print_stats(18)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
        print(f"[{title}]")
        print("\n".join(lines[start:]))
    if len(sys.argv) > 3:  # a regex: who calls the matching functions
        pstats.Stats(profile).sort_stats("cumulative").print_callers(sys.argv[3])


async def profile_fanout(tmp: str) -> None:
    import fanout

    from activitypub.keys import generate_rsa_key, load_private_key, public_key_to_pem
    from activitypub.vocab import parse_actor
    from fedi import storage
    from fedi.outbox import publish_post
    from fedi.workers import run_until_idle

    instance = await new_instance(tmp, free_port())
    actor = instance.association
    public_pem = public_key_to_pem(load_private_key(actor.private_key_pem).public_key())  # type: ignore[arg-type]
    ports = [free_port() for _ in range(fanout.RECEIVERS)]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    servers = [ServerProcess(fanout.receiver_app, (actor.key_id, actor.uri, public_pem), p, cpu=LOAD_CPU)
               for p in ports]
    try:
        for server in servers:
            server.__enter__()
        pem = public_key_to_pem(generate_rsa_key().public_key())
        docs = [fanout.actor_document(bases[n % len(bases)], n, pem) for n in range(fanout.FOLLOWERS)]
        for doc in docs:
            await storage.put_remote_actor(instance.db, parse_actor(doc), instance.clock())
        async with instance.db.transaction() as tx:
            for doc in docs:
                await storage.put_follow(tx, doc["id"], actor.uri, None, "accepted")
        await publish_post(instance, "échauffement")
        await run_until_idle(instance)  # connections opened
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        await publish_post(instance, "Nouvelle pour les abonnés.")
        await run_until_idle(instance)
        profile.disable()
        report(profile, time.perf_counter() - start, "fanout of one post to 350 inboxes")
    finally:
        for server in servers:
            server.__exit__()
        await instance.close()


async def profile_pages(tmp: str, n: int) -> None:
    import httpx
    import pages

    from fedi.instance import open_instance
    from web.app import create_app

    port = free_port()
    await pages.setup(tmp, port)
    instance = await open_instance(Path(tmp))
    app = create_app(instance, run_workers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
        assert (await client.get("/", headers={"Accept": "text/html"})).status_code == 200
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        await asyncio.gather(*(client.get("/", headers={"Accept": "text/html"}) for _ in range(n)))
        profile.disable()
        report(profile, time.perf_counter() - start, f"{n} GET / (20 posts)")
    await instance.close()


async def profile_inbox(tmp: str, n: int) -> None:
    import httpx
    import inbox
    from _common import NO_RATE_LIMIT

    from activitypub.keys import generate_rsa_key, private_key_to_pem, public_key_to_pem
    from fedi.instance import open_instance
    from fedi.workers import run_until_idle
    from web.app import create_app

    key = generate_rsa_key()
    port = free_port()
    peer = inbox.PEER.format(port=free_port())
    post_uri = await inbox.setup(tmp, port, peer, public_key_to_pem(key.public_key()))
    requests = inbox.sign_batch((private_key_to_pem(key), peer, f"http://127.0.0.1:{port}/users/bench/inbox",
                                 post_uri, range(n)))
    instance = await open_instance(Path(tmp))
    app = create_app(instance, run_workers=False, inbox_rate=NO_RATE_LIMIT, host_rate=NO_RATE_LIMIT)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
        semaphore = asyncio.Semaphore(16)

        async def post(req: tuple) -> int:
            method, path, headers, body = req
            async with semaphore:
                return (await client.request(method, path, headers=headers, content=body)).status_code

        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        statuses = await asyncio.gather(*(post(r) for r in requests))
        await run_until_idle(instance)
        profile.disable()
        assert set(statuses) == {202}, set(statuses)
        report(profile, time.perf_counter() - start, f"{n} signed Likes received, then applied")
    await instance.close()


def main() -> None:
    pin(0)
    # The in-process httpx client (ASGI transport) would otherwise try `import sniffio` (not
    # installed) on every request; that is the client's cost, not the server's.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    which = sys.argv[1] if len(sys.argv) > 1 else "fanout"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as tmp:
        if which == "fanout":
            asyncio.run(profile_fanout(tmp))
        elif which == "pages":
            asyncio.run(profile_pages(tmp, n or 300))
        elif which == "inbox":
            asyncio.run(profile_inbox(tmp, n or 1000))
        else:
            raise SystemExit("usage: hotspots.py fanout|pages|inbox [N]")


if __name__ == "__main__":
    main()
