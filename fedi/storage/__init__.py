"""Storage: the database (SQLite; PostgreSQL for a relay at scale) and its queries, one module
per entity, each listing its verbs in `__all__`; this package exposes exactly their union.

Functions that take a `Transaction` are steps of a larger transaction opened by the caller
(`async with db.transaction() as tx`); functions that take a `Database` commit on their own.
"""

from . import (
    accounts,
    actors,
    blocks,
    comments,
    db,
    deliveries,
    dialect,
    events,
    follows,
    groups,
    inbox,
    invitations,
    media,
    models,
    pages,
    posts,
    queues,
    reactions,
    relay,
    settings,
)
from .accounts import *  # noqa: F401,F403  (the desk's accounts and sessions)
from .actors import *  # noqa: F401,F403  (local and remote actors)
from .blocks import *  # noqa: F401,F403  (domain and account blocks)
from .comments import *  # noqa: F401,F403  (comments under review)
from .db import *  # noqa: F401,F403  (the database and its transactions)
from .deliveries import *  # noqa: F401,F403  (outgoing activities, deliveries, hosts)
from .dialect import *  # noqa: F401,F403  (the timestamp format)
from .events import *  # noqa: F401,F403  (the public calendar)
from .follows import *  # noqa: F401,F403
from .groups import *  # noqa: F401,F403  (members of Groups, the Groups' copies)
from .inbox import *  # noqa: F401,F403  (received activities)
from .invitations import *  # noqa: F401,F403  (one-time links: joining, password resets)
from .media import *  # noqa: F401,F403  (photos of posts)
from .models import *  # noqa: F401,F403  (rows as typed objects)
from .pages import *  # noqa: F401,F403  (static pages, booklet, greeters, contact messages)
from .posts import *  # noqa: F401,F403
from .queues import *  # noqa: F401,F403  (what the two queues share)
from .reactions import *  # noqa: F401,F403  (likes and boosts)
from .relay import *  # noqa: F401,F403  (the relay's subscriptions, allowlist, members)
from .settings import *  # noqa: F401,F403

__all__ = [
    name
    for module in (accounts, actors, blocks, comments, db, deliveries, dialect, events, follows, groups,
                   inbox, invitations, media, models, pages, posts, queues, reactions, relay, settings)
    for name in module.__all__
]
