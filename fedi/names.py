"""One namespace for every actor name of an instance (people, the association, the members'
space, later groups): a WebFinger name never names two things. Some names are reserved."""

from __future__ import annotations

from . import storage
from .storage import Reader

RESERVED_NAMES = frozenset({
    "membres", "members", "adherents", "admin", "administrateur", "root", "actor", "relay", "relais",
    "inbox", "outbox", "users", "posts", "activities", "desk", "login", "logout", "static", "media",
    "www", "webmaster", "postmaster", "hostmaster", "abuse", "support", "contact", "security",
    "association", "accueil", "bureau", "moderation", "noreply", "no-reply", "info",
})


class NameTaken(ValueError):
    """The name belongs to another actor of this instance, or is reserved."""


async def check_actor_name(db: Reader, name: str) -> None:
    """Raises NameTaken unless `name` (lower case) may be given to a new actor."""
    if name in RESERVED_NAMES:
        raise NameTaken(f"the name {name} is reserved")
    if await storage.get_local_actor_by_username(db, name) is not None:
        raise NameTaken(f"the name {name} is taken")
