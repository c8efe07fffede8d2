"""A peer's post as we keep it, for the inbox and the relay alike: checked to be its author's,
then turned into a row (sanitised content and title, its visibility, its dates)."""

from __future__ import annotations

from typing import Any

from activitypub.errors import Rejected
from activitypub.vocab import PUBLIC, Note, format_datetime, same_origin

from .content import body_without_title_and_link, plain_text, sanitize_html
from .storage import utc_now_iso


def check_author(note: Note, actor: str) -> None:
    if note.attributed_to != actor:
        raise Rejected("the object is attributed to someone else than the actor")
    if not same_origin(note.id, actor):
        raise Rejected("the object is not on its author's host")


def visibility_of(note: Note) -> str:
    if PUBLIC in note.to:
        return "public"
    if PUBLIC in note.cc:
        return "unlisted"
    if any(target.endswith("/followers") for target in note.audience):
        return "followers"
    return "direct"


def stored_fields(note: Note, *, status: str) -> dict[str, Any]:
    """A remote post as a row: sanitised content and title, its visibility, its dates."""
    return {
        "uri": note.id, "author": note.attributed_to, "is_local": False, "type": note.type,
        "title": plain_text(note.name) or None, "content": body_of(note),
        "source": None, "in_reply_to": note.in_reply_to, "visibility": visibility_of(note),
        "status": status, "url": note.url, "raw": note.raw,
        "published_at": format_datetime(note.published) if note.published else utc_now_iso(),
    }


def body_of(note: Note) -> str:
    """The post's sanitised text, without the bold title line and the bare link to its page that
    our instances add for Mastodon's sake (the title and the link are kept apart)."""
    return body_without_title_and_link(sanitize_html(note.content), plain_text(note.name), note.url)
