"""Lists the editors put in order on the desk (the greeters, the booklet's sections): the
buttons that delete one item and move one up or down work the same for every such list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fedi.storage import Database

from ..auth import read_form
from ..context import instance_of
from .forms import text_field


class Item(Protocol):
    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class OrderedList:
    """One such list: how to find the item a URL names (NotFound if none), delete it and move it
    (step -1 up, +1 down), and where the browser goes afterwards (`moved_url` with `{id}`)."""

    find: Callable[[Request], Awaitable[Item]]
    delete: Callable[[Database, int], Awaitable[object]]
    move: Callable[[Database, int, int], Awaitable[None]]
    deleted_url: str
    moved_url: str

    async def delete_item(self, request: Request) -> Response:
        await read_form(request)
        item = await self.find(request)
        await self.delete(instance_of(request).db, item.id)
        return RedirectResponse(self.deleted_url, status_code=303)

    async def move_item(self, request: Request) -> Response:
        form = await read_form(request)
        item = await self.find(request)
        step = -1 if text_field(form, "direction", 10) == "up" else 1
        await self.move(instance_of(request).db, item.id, step)
        return RedirectResponse(self.moved_url.format(id=item.id), status_code=303)
