"""Many associations in one process: a TENANTS directory holds one instance directory per site,
and `fedi serve --tenants TENANTS` serves them all, choosing by the request's Host header.

For a regional webmaster hosting a few dozen small associations on one VPS, and for the
network benchmark (350 associations on one machine)."""

from __future__ import annotations

from pathlib import Path

import httpx

from activitypub.http import make_client
from activitypub.poster import Poster

from .config import Config, ConfigError, config_path, load_config
from .instance import USER_AGENT, Instance, create_instance_files, open_instance


def tenant_directory(tenants: Path, config: Config) -> Path:
    """TENANTS/<host>, with a port written as host_port (a file name cannot hold ':')."""
    return tenants / config.host.replace(":", "_")


async def add_tenant(tenants: Path, config: Config, summary: str = "") -> Path:
    directory = tenant_directory(tenants, config)
    if directory.exists():
        raise ConfigError(f"{config.host} is already a tenant ({directory})")
    await create_instance_files(directory, config, summary)
    return directory


def tenant_directories(tenants: Path) -> list[Path]:
    if not tenants.is_dir():
        raise ConfigError(f"{tenants} is not a directory of tenants: add one with `fedi tenant add`")
    return sorted(path for path in tenants.iterdir() if config_path(path).is_file())


async def open_tenants(tenants: Path) -> list[Instance]:
    """Every tenant, sharing one HTTP client per network policy (connections are reused across
    sites that talk to the same servers)."""
    directories = tenant_directories(tenants)
    if not directories:
        raise ConfigError(f"{tenants} holds no tenant yet: add one with `fedi tenant add`")
    clients: dict[bool, httpx.AsyncClient] = {}
    posters: dict[bool, Poster] = {}
    opened: list[Instance] = []
    try:
        for directory in directories:
            policy = load_config(directory).allow_private
            if policy not in clients:
                clients[policy] = make_client(allow_private=policy, user_agent=USER_AGENT)
                posters[policy] = Poster(allow_private=policy, user_agent=USER_AGENT)
            opened.append(await open_instance(directory, http=clients[policy], poster=posters[policy]))
    except BaseException:
        for instance in opened:
            await instance.close()
        raise
    return opened
