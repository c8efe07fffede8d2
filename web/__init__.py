"""The web layer: Starlette routes (federation endpoints and pages), templates, static files."""

from . import params as _params  # noqa: F401 (registers the `{name:id}` convertor before any route is built)
