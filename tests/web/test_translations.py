"""Every message of the site and the desk has its French translation (French comes first)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from web.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": (2,), "ngettext": (1, 2), "N_": None}
METHODS = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                     "lstrip_blocks": "true"}}


def _messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS):
        found.add(message)
    return found


def test_every_message_has_a_french_translation() -> None:
    french = translations("fr")
    missing = []
    for message in _messages():
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
            one, many = french.ngettext(singular, plural, 1), french.ngettext(singular, plural, 2)
            if (one, many) == (singular, plural):
                missing.append(singular)
        elif french.gettext(message) == message:
            missing.append(message)
    assert [m for m in missing if m not in SAME_IN_FRENCH] == []


SAME_IN_FRENCH = {"Associations", "Pages", "Messages", "Actions", "Logo", "Photo", "Message", "Date",
                  "%(num)d association", "%(num)d association.", "Atom", "RSS"}


def test_the_extraction_sees_the_templates() -> None:
    assert "Follow us from Mastodon" in _messages()
