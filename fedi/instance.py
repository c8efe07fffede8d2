"""An open instance: its settings, database, HTTP client, local actors and queue wake-ups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from activitypub.auth import SignatureAuth
from activitypub.http import make_client
from activitypub.keys import generate_rsa_key, load_private_key, private_key_to_pem, public_key_to_pem
from activitypub.poster import Poster
from activitypub.signatures import PublicKeyInfo

from . import __version__, storage
from .config import (
    Config,
    ConfigError,
    database_location,
    database_path,
    load_config,
    make_private_directory,
    save_config,
)
from .memo import Memo
from .settings import SiteSettings, load_settings
from .storage import Database, LocalActor
from .urls import Urls

USER_AGENT = f"fedi/{__version__}"
KEY_MEMO_SECONDS = 300.0  # a rotated key fails to verify and is fetched again at once anyway
HOST_MEMO_SECONDS = 60.0
MEMO_SIZE = 4096
MEMBERS_USERNAME = "membres"  # the members' space: acct:membres@DOMAIN


@dataclass
class Wakeups:
    """Set when new work is queued, so workers need not poll."""

    delivery: asyncio.Event = field(default_factory=asyncio.Event)
    inbox: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Instance:
    config: Config
    directory: Path
    db: Database
    http: httpx.AsyncClient  # fetches
    poster: Poster  # deliveries
    association: LocalActor
    instance_actor: LocalActor
    members: LocalActor | None = None  # the members' space (a Group); a relay has none
    settings: SiteSettings = field(default_factory=SiteSettings)
    wakeups: Wakeups = field(default_factory=Wakeups)
    blocklist: Any = None  # fedi.blocks.Blocklist, cached for the inbox (see there)
    keys: Memo[PublicKeyInfo] = field(default_factory=lambda: Memo(KEY_MEMO_SECONDS, MEMO_SIZE))
    hosts_heard: Memo[bool] = field(default_factory=lambda: Memo(HOST_MEMO_SECONDS, MEMO_SIZE))
    clock: Callable[[], float] = time.time

    @property
    def urls(self) -> Urls:
        return Urls(self.config.url)

    @property
    def allow_private(self) -> bool:
        return self.config.allow_private

    def signing_auth(self, actor: LocalActor | None = None, scheme: str = "cavage") -> SignatureAuth:
        """Signs as `actor`, by default the instance actor (used for signed GETs)."""
        signer = actor or self.instance_actor
        return SignatureAuth(signer.key_id, _private_key(signer.private_key_pem), scheme)  # type: ignore[arg-type]

    @property
    def logo_version(self) -> str:
        """Changes whenever DIR/logo.png does ("" while the network's logo stands in)."""
        try:
            return str((self.directory / "logo.png").stat().st_mtime_ns)
        except OSError:
            return ""

    async def get_local_actor(self, uri: str) -> LocalActor | None:
        if uri == self.association.uri:
            return self.association
        if uri == self.instance_actor.uri:
            return self.instance_actor
        if self.members is not None and uri == self.members.uri:
            return self.members
        return await storage.get_local_actor_by_uri(self.db, uri)

    async def close(self) -> None:
        await self.http.aclose()
        await self.poster.aclose()
        await self.db.close()


@lru_cache(maxsize=4096)  # every local actor of every tenant: a key parsed once, not per signature
def _private_key(pem: str) -> RSAPrivateKey:
    return load_private_key(pem, own=True)  # type: ignore[return-value]


async def create_instance_files(directory: Path, config: Config, summary: str = "") -> None:
    """`fedi init`: settings, database, the association's actor and the instance actor."""
    if database_path(directory).exists():
        raise ConfigError(f"{directory} already holds a fedi database; refusing to overwrite it")
    if config.name == MEMBERS_USERNAME:
        raise ConfigError(f"the name {MEMBERS_USERNAME} is the members' space's; choose another")
    summary = summary.strip() or f"{config.title} : accueil des nouveaux arrivants."
    save_config(directory, config)
    db = await Database.open(database_location(directory, config))
    try:
        urls = Urls(config.url)
        async with db.transaction() as tx:
            await _put_new_actor(tx, config.name, urls.actor(config.name), "association",
                                 "Organization", config.title, summary)
            await _put_new_actor(tx, config.domain, urls.instance_actor, "instance",
                                 "Application", config.domain)
            await _put_members_space(tx, config)
    finally:
        await db.close()


def members_space_profile(title: str) -> tuple[str, str]:
    """The members' space's name and presentation until the admin writes their own."""
    return (f"Espace adhérents – {title}",
            f"L’espace réservé aux adhérents de {title} : nouvelles et discussions entre adhérents."
            " Demandez à suivre ce compte : l’association valide chaque demande. Sans compte sur le"
            " fédivers, demandez un lien d’invitation à l’accueil de l’association.")


async def _put_members_space(tx: storage.Transaction, config: Config) -> None:
    name, summary = members_space_profile(config.title)
    await _put_new_actor(tx, MEMBERS_USERNAME, Urls(config.url).actor(MEMBERS_USERNAME), "members",
                         "Group", name, summary, manually_approves=True)


async def _members_space(db: Database, config: Config) -> LocalActor | None:
    """The instance's members' space, created on first open for an instance made before it
    existed (unless its association itself is named "membres")."""
    if config.role != "instance":
        return None
    space = await storage.get_local_actor_by_kind(db, "members")
    if space is None and await storage.get_local_actor_by_username(db, MEMBERS_USERNAME) is None:
        async with db.transaction() as tx:
            await _put_members_space(tx, config)
        space = await storage.get_local_actor_by_kind(db, "members")
    return space


async def create_relay_files(directory: Path, config: Config) -> None:
    """`fedi relay init`: settings, database and the relay's actor (an Application at /actor).
    The database is DIR/fedi.sqlite3, or the PostgreSQL database of `config.database_url`."""
    if database_path(directory).exists():
        raise ConfigError(f"{directory} already holds a fedi database; refusing to overwrite it")
    make_private_directory(directory)
    db = await Database.open(database_location(directory, config))
    try:
        if await storage.get_local_actor_by_kind(db, "instance") is not None:
            raise ConfigError("the database of database_url already holds a fedi relay or instance;"
                              " refusing to overwrite it (give an empty database)")
        save_config(directory, config)
        async with db.transaction() as tx:
            await _put_new_actor(tx, config.name, Urls(config.url).instance_actor, "instance",
                                 "Application", config.title,
                                 "Relais du réseau : les nouvelles publiques de toutes les associations.")
    finally:
        await db.close()


async def _put_new_actor(tx: storage.Transaction, username: str, uri: str, kind: str,
                         ap_type: str, name: str, summary: str = "", manually_approves: bool = False) -> None:
    key = generate_rsa_key()
    await storage.put_local_actor(
        tx, username=username, uri=uri, kind=kind, ap_type=ap_type, name=name, summary=summary,
        manually_approves=manually_approves, private_key_pem=private_key_to_pem(key),
        public_key_pem=public_key_to_pem(key.public_key()),
    )


async def open_instance(directory: Path, *, http: httpx.AsyncClient | None = None,
                        poster: Poster | None = None, **overrides: Any) -> Instance:
    """Opens an instance's directory. `http` and `poster` let several instances of one process
    share clients (and their connections); by default each has its own."""
    config = load_config(directory)
    db = await Database.open(database_location(directory, config))
    instance_actor = await storage.get_local_actor_by_kind(db, "instance")
    association = await storage.get_local_actor_by_kind(db, "association")
    if config.role == "relay":
        association = instance_actor  # a relay's one actor speaks for it
    if association is None or instance_actor is None:
        await db.close()
        raise ConfigError(f"{directory}: the database has no actors; was `fedi init` interrupted?")
    user_agent = f"{USER_AGENT} (+{config.url})"
    http = http or make_client(allow_private=config.allow_private, user_agent=user_agent)
    poster = poster or Poster(allow_private=config.allow_private, user_agent=user_agent)
    settings = await load_settings(db)
    members = await _members_space(db, config)
    return Instance(config=config, directory=directory, db=db, http=http, poster=poster,
                    association=association, instance_actor=instance_actor, members=members,
                    settings=settings, **overrides)
