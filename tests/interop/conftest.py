"""Fixtures for interop tests: real, independent ActivityPub peers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

try:  # tests/interop as a package, or (default) as a rootdir-relative folder on sys.path
    from .fedify_peer import FedifyPeer  # type: ignore[import-not-found]
except ImportError:
    from fedify_peer import FedifyPeer


@pytest.fixture
async def fedify_peer_factory() -> AsyncIterator[Callable[..., Awaitable[FedifyPeer]]]:
    """Start as many Fedify peers as a test needs: ``peer = await fedify_peer_factory()``
    (keyword arguments: username, log_level, port). All are stopped after the test."""
    peers: list[FedifyPeer] = []

    async def start(username: str = "alice", log_level: str | None = None,
                    port: int | None = None) -> FedifyPeer:
        peer = FedifyPeer(username=username, log_level=log_level)
        peers.append(peer)
        return await peer.start(port=port)

    try:
        yield start
    finally:
        for peer in peers:
            peer.stop()


@pytest.fixture
async def fedify_peer(
    fedify_peer_factory: Callable[..., Awaitable[FedifyPeer]],
) -> FedifyPeer:
    """One Fedify peer (actor ``alice``), fresh for each test (it starts in about 0.5 s)."""
    return await fedify_peer_factory()
