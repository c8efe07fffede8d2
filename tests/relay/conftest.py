"""The relay's tests run twice: on SQLite (one small machine) and on PostgreSQL (a relay that
outgrew it). Only the relay moves; the associations around it keep their SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fedi.config import new_config
from fedi.instance import create_relay_files
from fedi_testing import Served, free_port, serve_instance
from pg_testing import PostgresCluster, start_cluster_for_tests


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL for the whole run (each test gets a database of its own)."""
    cluster = start_cluster_for_tests()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def relay_database_url(request: pytest.FixtureRequest) -> str | None:
    """None: the relay keeps DIR/fedi.sqlite3; else the URL of a new PostgreSQL database."""
    if request.param == "sqlite":
        return None
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return await cluster.new_database()


@pytest.fixture
async def make_instance(
    tmp_path: Path, relay_database_url: str | None
) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """As tests/conftest.py's, with the relay (role="relay") on the database being tested."""
    started: list[Served] = []

    async def make(name: str = "avf-test", *, role: str = "instance", **options: object) -> Served:
        directory = tmp_path / f"{name}-{len(started)}"
        if role == "relay":
            port = free_port()
            config = new_config(f"http://127.0.0.1:{port}", name, name.title(), role="relay",
                                allow_private=True)
            await create_relay_files(directory, replace(config, database_url=relay_database_url))
            options["port"] = port
        served = await serve_instance(directory, name, role=role, **options)  # type: ignore[arg-type]
        started.append(served)
        return served

    yield make
    for served in reversed(started):
        await served.stop()
