"""An instance's settings, kept in DIR/fedi.toml (written by `fedi init`, read at start)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

CONFIG_FILE = "fedi.toml"
DATABASE_FILE = "fedi.sqlite3"
USERNAME_PATTERN = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,63}$")


class ConfigError(Exception):
    """The configuration is missing or wrong; the message says what to fix."""


@dataclass(frozen=True)
class Config:
    url: str  # base URL, e.g. https://avf-lyon.example (no trailing slash)
    name: str  # the association's username: @name@domain
    title: str  # its display name
    role: str = "instance"  # "instance" or "relay"
    allow_private: bool = False  # talk http to loopback/private addresses: tests and demo only
    language: str = "fr"
    timezone: str = "Europe/Paris"  # events are entered and shown in this zone
    database_url: str | None = None  # postgresql://... (a relay at scale); none: DIR/fedi.sqlite3

    @property
    def host(self) -> str:
        """The authority (host[:port]) as used in handles and ids."""
        return urlsplit(self.url).netloc.lower()

    @property
    def domain(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def default_port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)


def normalise_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"URL must look like https://example.org, not {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ConfigError("URL must be the site root, without a path, query or user")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def check_username(name: str) -> str:
    name = name.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise ConfigError(
            f"name {name!r}: use lower-case letters, digits, '_', '-' or '.', at most 64"
        )
    return name


def new_config(
    url: str, name: str, title: str | None, *, role: str = "instance", allow_private: bool = False
) -> Config:
    url = normalise_url(url)
    if urlsplit(url).scheme == "http" and not allow_private:
        raise ConfigError("plain http is only for local tests: use https, or --allow-private")
    name = check_username(name)
    return Config(url=url, name=name, title=(title or name).strip(), role=role, allow_private=allow_private)


def config_path(directory: Path) -> Path:
    return directory / CONFIG_FILE


def database_path(directory: Path) -> Path:
    return directory / DATABASE_FILE


def database_location(directory: Path, config: Config) -> Path | str:
    """The SQLite file in DIR, or the PostgreSQL URL that fedi.toml names."""
    if config.database_url is None:
        return database_path(directory)
    if not config.database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"database_url must be a postgresql:// URL, not {config.database_url!r}")
    return config.database_url


def make_private_directory(directory: Path) -> None:
    """DIRECTORY, created if needed, that only its owner can list or enter (even one the admin
    made beforehand with the usual 0755)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)


def save_config(directory: Path, config: Config) -> None:
    make_private_directory(directory)
    lines = ["# fedi settings. Restart the server after a change.\n"]
    for key, value in asdict(config).items():
        if value is None:
            continue  # TOML has no null: an unset option is left out
        rendered = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
        lines.append(f"{key} = {rendered}\n")
    tmp = config_path(directory).with_suffix(".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(config_path(directory))


def load_config(directory: Path) -> Config:
    path = config_path(directory)
    if not path.exists():
        raise ConfigError(f"{directory} is not a fedi directory: run `fedi init --dir {directory}` first")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Config(**data)
    except (tomllib.TOMLDecodeError, TypeError) as error:
        raise ConfigError(f"{path}: {error}") from error
