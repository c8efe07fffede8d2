"""The desk: where editors write news and events and admins run the site (login required)."""

from __future__ import annotations

from . import events, photos, posts

routes = [*posts.routes, *photos.routes, *events.routes]
