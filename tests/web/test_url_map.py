"""The README's "Web routes" table is the site's URL map: every route the app serves is listed in
the row of the module that serves it, and every URL listed there is served by that module. A
route added without documentation (or moved to another module) fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from starlette.routing import Mount, Route

import web
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
CONVERTER = re.compile(r":\w+\}")  # {post_id:id} is written {post_id}
ROW = re.compile(r"^\|[^|]+\|\s*`(web/[\w/]+\.py)`\s*\|(.+)\|\s*$", re.MULTILINE)


def documented_map() -> dict[str, set[str]]:
    """Module file → the URLs its row of the README's table lists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Web routes", 1)[1].split("\n#", 1)[0]
    documented: dict[str, set[str]] = {}
    for module, urls in ROW.findall(section):
        documented.setdefault(module, set()).update(re.findall(r"`([^`]+)`", urls))
    return documented


def route_modules() -> dict[int, str]:
    """id(route) → the file of the module whose `routes` list holds it (the area's own module,
    not web/desk/__init__.py that gathers the desk's, nor web/app.py that gathers them all)."""
    owners: dict[int, str] = {}
    for info in pkgutil.walk_packages(web.__path__, "web."):
        module = importlib.import_module(info.name)
        if info.ispkg or info.name == "web.app":
            continue
        for route in getattr(module, "routes", ()):
            owners[id(route)] = info.name.replace(".", "/") + ".py"
    return owners


def served_map(instance) -> dict[str, set[str]]:
    """Module file → the URL templates of the routes it serves, read from the app itself."""
    owners = route_modules()
    served: dict[str, set[str]] = {}
    for route in create_app(instance, run_workers=False).routes:
        if isinstance(route, Mount):
            module, path = "web/app.py", route.path + "/{path}"
        elif isinstance(route, Route):
            module, path = owners[id(route)], route.path
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
        served.setdefault(module, set()).add(CONVERTER.sub("}", path))
    return served


async def test_the_readme_lists_every_route_in_the_row_of_its_module(instance):
    served = served_map(instance.instance)
    documented = documented_map()
    assert sum(len(paths) for paths in served.values()) >= 70
    for module, paths in served.items():
        assert paths <= documented.get(module, set()), (module, sorted(paths - documented.get(module, set())))
    for module, paths in documented.items():
        assert paths <= served.get(module, set()), (module, sorted(paths - served.get(module, set())))


def test_every_module_of_the_table_exists():
    for module in documented_map():
        assert (ROOT / module).is_file(), module
