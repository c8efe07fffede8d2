"""Pages are rendered here: one Jinja2 environment per language, and the context every page
shares (the instance, its settings, the visitor's language, the logged-in account)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_timedelta
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .context import instance_of
from .i18n import LANGUAGE_COOKIE, LANGUAGES, pick_language, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"


@lru_cache(maxsize=len(LANGUAGES))
def templates_for(language: str) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return Jinja2Templates(env=env)


def language_of(request: Request) -> str:
    if "fedi.language" not in request.scope:
        default = instance_of(request).settings.language
        request.scope["fedi.language"] = pick_language(request.cookies.get(LANGUAGE_COOKIE), default)
    language: str = request.scope["fedi.language"]
    return language


def gettext(request: Request, message: str, **values: Any) -> str:
    """A message of the code (not of a template) in the visitor's language."""
    translated = translations(language_of(request)).gettext(message)
    return translated % values if values else translated


def delay(request: Request, seconds: float) -> str:
    """A wait as people say it, in the visitor's language ("dans 1 minute", "in 2 minutes")."""
    return format_timedelta(timedelta(seconds=seconds), add_direction=True, locale=language_of(request))


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    instance = instance_of(request)
    language = language_of(request)
    shared = {
        "instance": instance,
        "settings": instance.settings,
        "association": instance.association,
        "lang": language,
        "languages": LANGUAGES,
        "session": request.scope.get("fedi.session"),
    }
    return templates_for(language).TemplateResponse(
        request, template, {**shared, **(context or {})}, status_code=status_code, headers=headers)
