"""Public home page (`GET /`, text/html, 20 posts) vs a bare uvicorn+Starlette "hello" app.

Both served in turn on CPU 0 with the same uvicorn settings (those of `fedi serve`), one
worker each; load from a separate httpx process on CPU 1. Target: ratio >= 0.4.
    .venv/bin/python bench/pages.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import ServerProcess, free_port, hello_app, instance_app, new_instance, pin  # noqa: E402

POSTS = 20
DURATION = 4.0
TARGET = 0.4


async def setup(directory: str, port: int) -> None:
    from fedi.outbox import publish_post

    instance = await new_instance(directory, port)
    try:
        for i in range(POSTS):
            await publish_post(instance, f"Nouvelle n°{i} : **permanence** le mardi, [plan](https://example.org/{i}).\n\n"
                               + "Bienvenue aux nouveaux arrivants ! " * 8, title=f"Permanence {i}")
    finally:
        await instance.close()


def main() -> None:
    pin(0)
    requests = [("GET", "/", {"Accept": "text/html"}, b"")]
    with tempfile.TemporaryDirectory(prefix="fedi-bench-") as tmp:
        port = free_port()
        asyncio.run(setup(tmp, port))
        with ServerProcess(instance_app, (tmp,), port) as server:
            page = server.load(requests, duration=DURATION)
        with ServerProcess(hello_app, (), free_port()) as server:
            hello = server.load(requests, duration=DURATION)
    bad = {s: n for s, n in page.statuses.items() if s != 200}
    ratio = page.rate / hello.rate if hello.rate else 0.0
    cpu_ratio = page.per_cpu_second / hello.per_cpu_second if hello.per_cpu_second else 0.0
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(f"pages: GET / (20 posts) {page.rate:.0f} req/s (server core {page.server_busy:.0%} busy); "
          f"bare hello {hello.rate:.0f} req/s (server core {hello.server_busy:.0%} busy); "
          f"ratio {ratio:.2f} (target >= {TARGET}) {verdict}"
          + (f"; non-200: {bad}, errors {page.errors}" if bad or page.errors else ""))
    print(f"pages: per server CPU-second {page.per_cpu_second:.0f} vs {hello.per_cpu_second:.0f} req; "
          f"CPU-normalised ratio {cpu_ratio:.2f} "
          "(the load generator caps the bare app when its core is not busy)")


if __name__ == "__main__":
    main()
