"""Fixtures for the hostile-input suites: our instance, a well-behaved peer, and mallory."""

from __future__ import annotations

from typing import Any

import pytest

from fedi import remote
from fedi_testing import Served


@pytest.fixture
async def peers(make_instance: Any) -> tuple[Served, Served, Served]:
    """(target, peer, mallory); the target already knows both remote actors, so a valid
    signature check adds no row and table counts stay comparable."""
    target = await make_instance("avf-lyon")
    peer = await make_instance("avf-nantes")
    mallory = await make_instance("mallory")
    for other in (peer, mallory):
        await remote.get_actor(target.instance, other.actor_url)
    return target, peer, mallory
