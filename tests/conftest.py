"""Shared fixtures: our own instances served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from fedi_testing import Served, serve_instance


@pytest.fixture
async def make_instance(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Start instances of ours: `a = await make_instance("avf-lyon")`; stopped after the test."""
    started: list[Served] = []

    async def make(name: str = "avf-test", **options: object) -> Served:
        served = await serve_instance(tmp_path / f"{name}-{len(started)}", name, **options)  # type: ignore[arg-type]
        started.append(served)
        return served

    yield make
    for served in reversed(started):
        await served.stop()


@pytest.fixture
async def instance(make_instance: Callable[..., Awaitable[Served]]) -> Served:
    return await make_instance("avf-lyon")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-examples", type=int, default=None, metavar="N",
                     help="hypothesis examples for the fuzz tests (parser: N, inbox: N // 5); "
                          "default: a short run fit for CI")
