"""The URL layout of an instance. Ids never change once published."""

from __future__ import annotations

import secrets


class Urls:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def logo(self) -> str:
        return f"{self.base}/logo.png"

    def new_post(self) -> str:
        return f"{self.base}/posts/{secrets.token_hex(8)}"

    def new_activity(self) -> str:
        return f"{self.base}/activities/{secrets.token_hex(8)}"

    def is_local(self, uri: str) -> bool:
        return uri.startswith(self.base + "/")
