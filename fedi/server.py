"""Runs an ASGI application with uvicorn until SIGTERM/SIGINT, then stops it cleanly (exit 0)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Generator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from .header_limits import HeaderLimitProtocol

HEADER_TIMEOUT_SECONDS = 10.0


class HeaderTimeoutProtocol(HeaderLimitProtocol):
    """uvicorn arms no timer while a request's headers trickle in (timeout_keep_alive only runs
    between requests), so a client sending one header line every few seconds ("slowloris")
    holds a connection forever. This closes a connection whose headers take too long (and,
    through HeaderLimitProtocol, one whose headers are too large)."""

    header_timeout = HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


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
        timeout_keep_alive=30, http=HeaderTimeoutProtocol,
    )
    _Server(config).run()
