"""Runs an ASGI application with uvicorn until SIGTERM/SIGINT, then stops it cleanly."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp


def run(app: ASGIApp, host: str, port: int, *, log_level: str = "info") -> None:
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", proxy_headers=True,
        server_header=False, timeout_graceful_shutdown=10, limit_concurrency=1000,
        timeout_keep_alive=30, h11_max_incomplete_event_size=64 * 1024,
    )
    uvicorn.Server(config).run()
