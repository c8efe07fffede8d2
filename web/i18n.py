"""Translations: messages are written in English in the code and templates; French comes first
for our users, from the catalogues in web/locale/<language>/*.po (one file per area of the site,
read at start: no compile step)."""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"fr": "Français", "en": "English"}
DEFAULT_LANGUAGE = "fr"
LANGUAGE_COOKIE = "lang"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """All catalogues of `language` merged, with the plural rule their headers declare (Babel's
    own rule for French has three forms, the catalogues two); English (the message ids) needs none."""
    files = sorted((LOCALE_DIR / language).glob("*.po"))
    if not files:
        return gettext.NullTranslations()
    catalogues = [_read(path, language) for path in files]
    rules = {catalogue.plural_forms for catalogue in catalogues}
    if len(rules) > 1:
        raise ValueError(f"the {language} catalogues declare different plural rules: {sorted(rules)}")
    merged = Catalog(locale=language)
    merged.mime_headers = catalogues[0].mime_headers  # their Plural-Forms, not Babel's for the locale
    for catalogue in catalogues:
        for message in catalogue:
            if message.id and message.string:
                merged[message.id] = message
    buffer = BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _read(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; translated where it is shown."""
    return message


def pick_language(cookie: str | None, default: str) -> str:
    """The visitor's choice (a cookie set by the language switch), else the association's."""
    if cookie in LANGUAGES:
        return cookie
    return default if default in LANGUAGES else DEFAULT_LANGUAGE
