"""Text that is shown: Markdown from editors, HTML from peers. Everything goes through nh3."""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "a", "span", "strong", "b", "em", "i", "u", "s", "del", "ul", "ol", "li",
    "blockquote", "code", "pre", "h1", "h2", "h3", "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "span": set()}
ALLOWED_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "status-link", "unhandled-link"},
    "span": {"h-card", "invisible", "ellipsis", "mention", "hashtag"},
}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_TEXT_LENGTH = 100_000

_FIRST_BOLD_LINE = re.compile(r"\A\s*<p><strong>(?P<text>[^<]*)</strong></p>\s*")
_LAST_LINK_LINE = re.compile(r'\s*<p><a href="(?P<href>[^"]*)"[^>]*>(?P<text>[^<]*)</a></p>\s*\Z')

_markdown = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})


def sanitize_html(value: str) -> str:
    """Remote or rendered HTML reduced to a safe subset (no script, style, iframe, handlers)."""
    return nh3.clean(
        value[:MAX_TEXT_LENGTH],
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """An editor's Markdown as safe HTML (raw HTML in the text is shown as text, not run)."""
    return sanitize_html(_markdown.render(text[:MAX_TEXT_LENGTH]))


def plain_text(value: str | None) -> str:
    """A display name, title or summary from a peer, as plain text with no markup."""
    if not value:
        return ""
    return html.unescape(nh3.clean(value[:MAX_TEXT_LENGTH], tags=set())).strip()


def body_without_title_and_link(content: str, title: str | None, url: str | None) -> str:
    """A peer's sanitised post without what `documents.post_html` adds for Mastodon, which
    shows only `content`: the title as first line and the post's page as a bare link last.
    Shown with its own title and link, the post would otherwise say both twice."""
    first = _FIRST_BOLD_LINE.match(content)
    if title and first and plain_text(first["text"]) == title:
        content = content[first.end():]
    last = _LAST_LINK_LINE.search(content)
    if url and last and html.unescape(last["href"]) == url and plain_text(last["text"]) == url:
        content = content[:last.start()]
    return content
