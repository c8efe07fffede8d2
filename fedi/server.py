"""Runs an ASGI application with uvicorn until SIGTERM/SIGINT, then stops it cleanly (exit 0)."""

from __future__ import annotations

import signal
from collections.abc import Generator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """uvicorn re-raises the stopping signal after a graceful shutdown, which makes the process
    die "killed by SIGTERM"; a service manager should see a clean exit instead."""

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.handle_exit(sig, frame)


def run(app: ASGIApp, host: str, port: int, *, log_level: str = "info") -> None:
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", proxy_headers=True,
        server_header=False, timeout_graceful_shutdown=10, limit_concurrency=1000,
        timeout_keep_alive=30, h11_max_incomplete_event_size=64 * 1024,
    )
    _Server(config).run()
