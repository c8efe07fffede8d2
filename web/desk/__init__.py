"""The desk: where editors write news and events and admins run the site (login required)."""

from __future__ import annotations

from . import accounts, comments, events, pages, photos, posts, settings

routes = [*posts.routes, *photos.routes, *events.routes, *pages.routes, *comments.routes,
          *settings.routes, *accounts.routes]
