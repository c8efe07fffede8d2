"""What an association's admin sets on the settings page (kept in the database, cached on the
instance). The association's name and presentation live on its actor, which federates."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from . import storage

COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#1b5e8c"


@dataclass(frozen=True)
class SiteSettings:
    colour: str = DEFAULT_COLOUR  # the accent colour of the network theme (#rrggbb)
    language: str = "fr"
    town: str = ""
    region: str = ""
    list_followers: bool = False  # show who follows the association on its page
    auto_approve_followed: bool = False  # comments from accounts the association follows skip review

    @classmethod
    def from_values(cls, values: dict[str, str]) -> SiteSettings:
        """Reads stored values, keeping the default for anything missing or malformed."""
        known: dict[str, Any] = {}
        for field in fields(cls):
            raw = values.get(field.name)
            if raw is not None:
                known[field.name] = raw == "1" if field.type in (bool, "bool") else raw
        settings = cls(**known)
        if not COLOUR_PATTERN.match(settings.colour):
            settings = replace(settings, colour=DEFAULT_COLOUR)
        return settings

    def to_values(self) -> dict[str, str]:
        return {key: ("1" if value else "0") if isinstance(value, bool) else str(value)
                for key, value in asdict(self).items()}


async def load_settings(db: storage.Reader) -> SiteSettings:
    return SiteSettings.from_values(await storage.get_settings(db))
