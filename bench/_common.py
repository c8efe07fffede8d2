"""Shared pieces of the benchmarks: CPU pinning, a server in its own process (uvicorn set up
like `fedi serve`), and an httpx load generator in its own process.

Only what pyproject.toml installs plus the stdlib. Every helper is bounded in time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

SPAWN = multiprocessing.get_context("spawn")
SERVER_CPU = 0  # the server under test (or the delivering process) runs here
LOAD_CPU = 1  # the load generator / receivers run there


def pin(cpu: int) -> None:
    """Pins this process to one CPU when there are several (so figures compare on one core)."""
    try:
        cpus = os.sched_getaffinity(0)
        if len(cpus) > 1:
            os.sched_setaffinity(0, {sorted(cpus)[cpu % len(cpus)]})
    except (AttributeError, OSError):
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> str:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {model}, Python {platform.python_version()}"


# ----------------------------------------------------------------------------- server process


def uvicorn_config(app: Any, port: int, host: str = "127.0.0.1", **extra: Any) -> uvicorn.Config:
    """Same settings as `fedi.server.run` (httptools + the header-timeout protocol, uvloop),
    except the log level: access logs off, for the app under test and the bare app alike.
    `extra`: more uvicorn settings (e.g. ssl_certfile/ssl_keyfile)."""
    from fedi.server import HeaderTimeoutProtocol

    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", proxy_headers=True,
        server_header=False, timeout_graceful_shutdown=2, limit_concurrency=1000,
        timeout_keep_alive=30, h11_max_incomplete_event_size=64 * 1024, http=HeaderTimeoutProtocol,
        loop="uvloop", **extra,
    )


def _serve(factory: Callable[..., Any], args: tuple[Any, ...], port: int, cpu: int,
           max_seconds: float) -> None:
    pin(cpu)
    import signal
    import threading

    # Never outlive the bench: exit on its own after max_seconds.
    threading.Timer(max_seconds, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    from fedi.server import _Server

    _Server(uvicorn_config(factory(*args), port)).run()
    os._exit(0)


class ServerProcess:
    """`factory(*args)` → ASGI app, served on 127.0.0.1:port in a spawned process."""

    def __init__(self, factory: Callable[..., Any], args: tuple[Any, ...], port: int,
                 cpu: int = SERVER_CPU, max_seconds: float = 120.0) -> None:
        self.port = port
        self.process = SPAWN.Process(target=_serve, args=(factory, args, port, cpu, max_seconds),
                                     daemon=True)

    def __enter__(self) -> ServerProcess:
        self.process.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not self.process.is_alive():
                raise RuntimeError(f"server on port {self.port} died at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server on port {self.port} did not start")

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def load(self, requests: list[Req], **options: Any) -> LoadResult:
        """`run_load` against this server; also records the share of a core the server used
        during the measured window."""
        return run_load(f"http://127.0.0.1:{self.port}", requests, server_pid=self.pid, **options)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()  # SIGTERM: uvicorn stops cleanly
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# ----------------------------------------------------------------------------- load generator

Req = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


@dataclass
class LoadResult:
    done: int  # requests answered 2xx during the measured window
    elapsed: float
    statuses: dict[int, int]
    errors: int
    server_busy: float = 0.0  # share of one core the server used in the window (server_pid given)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Requests per second of server CPU: what the server could do with a whole core,
        whether or not the load generator kept it busy."""
        return self.rate / self.server_busy if self.server_busy > 0 else 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(base: str, requests: list[Req], concurrency: int, warmup: float, duration: float,
                cycle: bool, server_pid: int | None) -> LoadResult:
    # One client (one connection) per worker: httpx's shared pool degrades under concurrency.
    clients = [httpx.AsyncClient(base_url=base, timeout=10.0,
                                 limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
               for _ in range(concurrency)]
    index = 0
    statuses: Counter[int] = Counter()
    errors = 0
    measuring = False
    stop = False
    start = time.perf_counter()

    def next_request() -> Req | None:
        nonlocal index
        if index >= len(requests):
            if not cycle:
                return None
            index = 0
        req = requests[index]
        index += 1
        return req

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not stop:
            req = next_request()
            if req is None:
                return
            method, path, headers, body = req
            try:
                response = await client.request(method, path, headers=headers, content=body or None)
                status = response.status_code
            except httpx.HTTPError:
                if measuring:
                    errors += 1
                continue
            if measuring:
                statuses[status] += 1

    tasks = [asyncio.create_task(worker(c)) for c in clients]
    await asyncio.wait(tasks, timeout=warmup)
    measuring = True
    cpu_start = cpu_seconds(server_pid) if server_pid else 0.0
    start = time.perf_counter()
    done_tasks, _ = await asyncio.wait(tasks, timeout=duration)
    elapsed = time.perf_counter() - start
    busy = (cpu_seconds(server_pid) - cpu_start) / elapsed if server_pid else 0.0
    counted = dict(statuses)  # what completed inside the window
    stop = True
    await asyncio.wait(tasks, timeout=15)
    for client in clients:
        await client.aclose()
    ok = sum(n for s, n in counted.items() if 200 <= s < 300)
    return LoadResult(ok, elapsed, counted, errors, busy)


def _load_process(queue: Any, cpu: int, args: tuple[Any, ...]) -> None:
    pin(cpu)
    # The load generator only: httpcore 1.0 runs `import sniffio` for every lock it makes;
    # without sniffio installed (not a dependency of anyio 4.x any more) each failed import
    # walks sys.path (~0.2 ms). A None entry makes that import fail at once.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    queue.put(asyncio.run(_load(*args)))


def run_load(base: str, requests: list[Req], *, concurrency: int = 16, warmup: float = 0.5,
             duration: float = 4.0, cycle: bool = True, cpu: int = LOAD_CPU,
             server_pid: int | None = None) -> LoadResult:
    """Drives `requests` (cycled, or each once) at `base` from a separate process, with
    `concurrency` connections; counts what completes during `duration` after `warmup`."""
    queue = SPAWN.Queue()
    process = SPAWN.Process(target=_load_process,
                            args=(queue, cpu, (base, requests, concurrency, warmup, duration, cycle,
                                               server_pid)),
                            daemon=True)
    process.start()
    try:
        result: LoadResult = queue.get(timeout=warmup + duration + 60)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    return result


def hello_app() -> Any:
    """The bare reference: a Starlette app answering 'hello'."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def hello(request: Any) -> HTMLResponse:
        return HTMLResponse("hello")

    return Starlette(routes=[Route("/", hello)])


NO_RATE_LIMIT = (1e9, 10**9)


def verifying_inbox_app(key_id: str, owner: str, public_pem: str, path: str,
                        stats: dict[str, int] | None = None) -> Any:
    """Inboxes at `path` that verify digest + signature with the sender's key held in memory
    (a peer that cached it), then answer 202; counts in `stats` ("ok", "refused") if given."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from activitypub.errors import SignatureError
    from activitypub.keys import load_public_key
    from activitypub.signatures import PublicKeyInfo, verify_request

    key = PublicKeyInfo(key_id, owner, load_public_key(public_pem))
    counts = stats if stats is not None else {}

    async def get_key(asked: str, refresh: bool) -> PublicKeyInfo:
        if asked != key.key_id:
            raise SignatureError("unknown key")
        return key

    async def inbox(request: Request) -> Response:
        body = await request.body()
        try:
            await verify_request(request.method, str(request.url), request.headers, body, get_key)
        except SignatureError:
            counts["refused"] = counts.get("refused", 0) + 1
            return Response(status_code=401)
        counts["ok"] = counts.get("ok", 0) + 1
        return Response(status_code=202)

    return Starlette(routes=[Route(path, inbox, methods=["POST"])])


def instance_app(directory: str, unlimited: bool = True) -> Any:
    """An instance's app exactly as `fedi serve` builds it (opened in the server's loop, workers
    running), the inbox rate limits lifted when `unlimited` (one loopback client would hit the
    per-IP 50/s limit; the limiter's own cost stays in)."""
    import functools
    from pathlib import Path

    from fedi.cli import _app_opened_at_startup
    from fedi.instance import open_instance
    from web.app import create_app

    kwargs = {"inbox_rate": NO_RATE_LIMIT, "host_rate": NO_RATE_LIMIT} if unlimited else {}
    return _app_opened_at_startup(lambda: open_instance(Path(directory)),
                                  functools.partial(create_app, **kwargs))


async def new_instance(directory: str, port: int, name: str = "bench") -> Any:
    """Creates (fedi init) and opens an instance at http://127.0.0.1:port."""
    from pathlib import Path

    from fedi.config import new_config
    from fedi.instance import create_instance_files, open_instance

    config = new_config(f"http://127.0.0.1:{port}", name, "Bench", allow_private=True)
    await create_instance_files(Path(directory), config)
    return await open_instance(Path(directory))
