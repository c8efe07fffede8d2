"""The `fedi` command, whole: fedi's CLI (fedi/cli.py) serving this web application.

The program is composed here, where both the application (fedi/) and its web pages (web/) are
known; fedi/ imports nothing from web/. The console script and `python -m fedi` run `main`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp

from fedi import cli
from fedi.instance import Instance


def create_app(instances: Instance | Sequence[Instance], **options: Any) -> ASGIApp:
    """`web.app.create_app`, imported once a server starts: the other commands need none of it."""
    from .app import create_app

    return create_app(instances, **options)


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, create_app=create_app)
