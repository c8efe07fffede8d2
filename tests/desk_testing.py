"""Test rig for the website and the desk: a logged-in browser-like client (cookies, CSRF tokens,
forms) over real HTTP to a served instance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from fedi import accounts
from fedi_testing import Served

PASSWORD = "un-mot-de-passe-solide"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
ALERT = re.compile(r'class="error" role="alert">([^<]*)<')
HTML = {"Accept": "text/html"}


def csrf_of(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def alert_of(page: str) -> str:
    """The error message a form shows (what the person reads)."""
    found = ALERT.search(page)
    return found.group(1) if found else ""


@dataclass
class Desk:
    client: httpx.AsyncClient

    async def page(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=HTML)

    async def submit(self, form_page: str, action: str, data: dict[str, Any],
                     files: Any = None) -> httpx.Response:
        """Sends a form shown on `form_page` (its CSRF token included) to `action`."""
        token = csrf_of((await self.page(form_page)).text)
        return await self.client.post(action, data={"csrf": token, **data}, files=files, headers=HTML)

    async def aclose(self) -> None:
        await self.client.aclose()


async def browser_for(served: Served) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=served.url, headers=HTML, timeout=30)


async def log_in(served: Served, username: str = "marie", role: str = "admin",
                 password: str = PASSWORD, *, create: bool = True) -> Desk:
    """An account (created unless `create` is False) logged in through the login form."""
    if create:
        await accounts.create_account(served.db, username, role, password)
    client = await browser_for(served)
    form = await client.get("/login")
    response = await client.post("/login", data={
        "csrf": csrf_of(form.text), "username": username, "password": password})
    assert response.status_code == 303, alert_of(response.text)
    return Desk(client)
