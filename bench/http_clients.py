"""Which HTTP client for deliveries: CPU per POST of httpx (as fedi's fetches use it) and of
aiohttp (as fedi's deliveries use it, `activitypub/poster.py`), under concurrency.

A bare Starlette inbox (reads the body, answers 202) on CPU 1; the clients on CPU 0, one after
the other, each at 4 and 16 requests in flight, 350 inbox paths on one host, a 1.5 kB body
(an activity), 200 warm-up requests then 3,000 measured. Printed: requests per second and
microseconds of the client process's CPU per request (what limits a fan-out).
    .venv/bin/python bench/http_clients.py
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import LOAD_CPU, SERVER_CPU, ServerProcess, free_port, pin  # noqa: E402

WARMUP, MEASURED = 200, 3000
BODY = b'{"type":"Create","content":"' + b"x" * 1500 + b'"}'
HEADERS = {"Content-Type": "application/activity+json"}


def inbox_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def inbox(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    return Starlette(routes=[Route("/inbox/{n}", inbox, methods=["POST"])])


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(post: Callable[[str], Awaitable[int]], base: str, concurrency: int) -> tuple[float, float]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            status = await post(f"{base}/inbox/{i % 350}")
            if status != 202:
                raise RuntimeError(f"inbox answered {status}")

    await asyncio.gather(*(one(i) for i in range(WARMUP)))
    started, cpu = time.perf_counter(), cpu_now()
    await asyncio.gather(*(one(i) for i in range(MEASURED)))
    return MEASURED / (time.perf_counter() - started), (cpu_now() - cpu) / MEASURED * 1e6


async def with_httpx(base: str, concurrency: int) -> tuple[float, float]:
    from activitypub.http import make_client

    async with make_client(allow_private=True, user_agent="bench") as client:
        async def post(url: str) -> int:
            return (await client.post(url, content=BODY, headers=HEADERS)).status_code

        return await measure(post, base, concurrency)


async def with_aiohttp(base: str, concurrency: int) -> tuple[float, float]:
    from activitypub.poster import Poster

    poster = Poster(allow_private=True, user_agent="bench", per_host=concurrency)
    try:
        async def post(url: str) -> int:
            return (await poster.post(url, BODY, HEADERS)).status_code

        return await measure(post, base, concurrency)
    finally:
        await poster.aclose()


def main() -> None:
    import uvloop

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ServerProcess(inbox_app, (), port, cpu=LOAD_CPU):
        pin(SERVER_CPU)
        results = {}
        for name, run in (("httpx", with_httpx), ("aiohttp", with_aiohttp)):
            for concurrency in (4, 16):
                results[name, concurrency] = uvloop.run(run(base, concurrency))
    for (name, concurrency), (rate, cpu_us) in results.items():
        print(f"http_clients: {name} {concurrency} in flight: {rate:.0f} POSTs/s, {cpu_us:.0f} µs client CPU per POST")
    ratio = results["httpx", 16][1] / results["aiohttp", 16][1]
    print(f"http_clients: httpx spends {ratio:.1f}× aiohttp's CPU per POST at 16 in flight")


if __name__ == "__main__":
    main()
