"""A peer's post as our pages show it, next to its own title and link."""

from __future__ import annotations

import pytest

from fedi.content import body_without_title_and_link, sanitize_html

URL = "https://avf-lyon.example/posts/1?a=1&b=2"
OURS = (f"<p><strong>Café d&#x27;accueil</strong></p><p>Venez jeudi.</p>"
        f'<p><a href="{URL.replace("&", "&amp;")}">{URL.replace("&", "&amp;")}</a></p>')


def test_our_instances_title_line_and_self_link_are_left_out():
    body = body_without_title_and_link(sanitize_html(OURS), "Café d'accueil", URL)
    assert body == "<p>Venez jeudi.</p>"


@pytest.mark.parametrize("title, url", [
    (None, None),  # Mastodon: no name, a bold first line is the author's own
    ("Autre titre", "https://avf-lyon.example/posts/2"),  # another title, another page
])
def test_anything_else_is_kept_as_written(title, url):
    assert body_without_title_and_link(sanitize_html(OURS), title, url) == sanitize_html(OURS)
