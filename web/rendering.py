"""Pages are rendered here: one Jinja2 environment per language, and the context every page
shares (the instance, its settings, the visitor's language, the logged-in account)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from fedi.dates import day_text

from .context import instance_of
from .formatting import moment_text, number, numbers_in
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
    catalogue = translations(language)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _in_template(catalogue.gettext, language), _in_template(catalogue.ngettext, language))
    env.filters["moment"] = _moment_filter
    env.filters["day"] = lambda value: day_text(value, language)
    env.filters["number"] = lambda value: number(value, language)
    return Jinja2Templates(env=env)


def _in_template(lookup: Any, language: str) -> Any:
    """`_()` and `ngettext()` of the templates: Jinja's "newstyle" gettext (values escaped,
    `num` given to plurals), the numbers written in the page's language ('1 000')."""
    @jinja2.pass_context
    def translate(context: jinja2.runtime.Context, *message: Any, **values: Any) -> str:
        if len(message) == 3:
            values.setdefault("num", message[2])
        text = lookup(*message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % numbers_in(values, language)  # type: ignore[no-any-return]
    return translate


@jinja2.pass_context
def _moment_filter(context: jinja2.runtime.Context, value: Any) -> str:
    """`{{ post.published_at | moment }}`: 'mardi 8 décembre 2026, 18 h 30' in the site's time zone."""
    return moment_text(value, context["lang"], context["instance"].config.timezone)


def language_of(request: Request) -> str:
    if "fedi.language" not in request.scope:
        default = instance_of(request).settings.language
        request.scope["fedi.language"] = pick_language(request.cookies.get(LANGUAGE_COOKIE), default)
    language: str = request.scope["fedi.language"]
    return language


def gettext(request: Request, message: str, **values: Any) -> str:
    """A message of the code (not of a template) in the visitor's language."""
    language = language_of(request)
    translated = translations(language).gettext(message)
    return translated % numbers_in(values, language) if values else translated




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
