"""Every message of the site and the desk has its French translation (French comes first)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

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
                  "%(num)s association", "%(num)s association.", "Atom", "RSS"}


COUNTS = (0, 1, 2, 5, 1000)


def test_every_plural_message_is_french_for_every_count() -> None:
    """A count of 2, 5 or 1 000 reads French too ("2 abonné·e·s"), not the English msgid_plural."""
    french = translations("fr")
    english = []
    for message in _messages():
        if not isinstance(message, tuple) or message[0] in SAME_IN_FRENCH:
            continue
        singular, plural = message[0], message[1]
        for count in COUNTS:
            if french.ngettext(singular, plural, count) in (singular, plural):
                english.append((singular, count))
    assert english == []


def test_every_catalogue_declares_the_same_plural_rule() -> None:
    rules = {}
    for path in sorted((ROOT / "web" / "locale" / "fr").glob("*.po")):
        with path.open("rb") as handle:
            rules[path.name] = read_po(handle, locale="fr").plural_forms
    assert set(rules.values()) == {"nplurals=2; plural=(n > 1);"}, rules


WRONG_SPACE = re.compile(r"[ \u00a0][;:!?»]|«[ \u00a0]|\d h\b")


def test_french_punctuation_and_hours_are_set_as_the_french_set_them() -> None:
    """A narrow no-break space before ; : ! ? » and after « (the line never breaks before them),
    a no-break space in '14 h'."""
    wrong = []
    for path in sorted((ROOT / "web" / "locale" / "fr").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="fr"):
                texts = message.string if isinstance(message.string, tuple) else (message.string,)
                wrong += [text for text in texts if message.id and WRONG_SPACE.search(text or "")]
    assert wrong == []


def test_the_extraction_sees_the_templates() -> None:
    assert "Follow us from Mastodon" in _messages()
