"""Relay mode: instances subscribe, and each public post of one is announced to all the others.

`subscriptions` (who may send, the admin's answers, what the directory learns of each
subscriber), `fanout` (posts, edits and deletions re-distributed as `Announce`), `network` (the
directory and the news the relay shows), `statistics`, and `cli` (`fedi relay ...`). The inbox
runs a relay's activities with `HANDLERS`, once `check_sender` let them in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from activitypub.vocab import Activity

from ..instance import Instance
from .fanout import FORWARDED_TYPES, handle_forward
from .subscriptions import check_sender, handle_subscribe, handle_unsubscribe

__all__ = ["HANDLERS", "check_sender"]

HANDLERS: dict[str, Callable[[Instance, Activity], Awaitable[None]]] = {
    "Follow": handle_subscribe,
    "Undo": handle_unsubscribe,
    **{kind: handle_forward for kind in FORWARDED_TYPES},
}
