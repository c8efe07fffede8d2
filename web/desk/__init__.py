"""The desk: where editors write news and events and admins run the site (login required)."""

from __future__ import annotations

from . import (
    accounts,
    comments,
    events,
    greeters,
    members,
    messages,
    network,
    pages,
    photos,
    posts,
    relay,
    settings,
)

routes = [*posts.routes, *photos.routes, *events.routes, *pages.routes, *greeters.routes,
          *messages.routes, *comments.routes, *settings.routes, *accounts.routes, *relay.routes,
          *network.routes, *members.routes]
