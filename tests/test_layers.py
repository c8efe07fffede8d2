"""The layers point one way, `activitypub/` <- `fedi/` <- `web/`, and fedi/ has no import cycle.

Read from the source, not from what a run happened to import: every import statement counts
for the layers (also one inside a function, or for type checkers only); for cycles, those
that importing a module runs (a module-level import, not under `if TYPE_CHECKING:`)."""

from __future__ import annotations

import ast
import graphlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("activitypub", "fedi", "web")
ENTRY_SCRIPT = "fedi.__main__"
"""`python -m fedi`: the program's launcher, which nothing imports; it runs the program
composed in web/ (see web/cli.py), so it is the one file of fedi/ that names web/."""


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    when: str  # "import" (runs with the module), "call" (inside a function), "typing"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def _base(importer: str, path: Path, level: int) -> str:
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    return ".".join(package.split(".")[: len(package.split(".")) - level + 1])


def _targets(node: ast.Import | ast.ImportFrom, importer: str, path: Path, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _base(importer, path, node.level) if node.level else ""
    source = ".".join(part for part in (base, node.module) if part)
    submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known]
    return submodules if len(submodules) == len(node.names) else [source, *submodules]


def _lines_of(tree: ast.Module, kind: type[ast.AST] | tuple[type[ast.AST], ...]) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, kind) and (not isinstance(node, ast.If) or _is_type_checking(node)):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _is_type_checking(node: ast.If) -> bool:
    return ast.unparse(node.test).endswith("TYPE_CHECKING")


def imports() -> list[Import]:
    known = modules()
    found = []
    for importer, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        typing_only = _lines_of(tree, ast.If)
        in_functions = _lines_of(tree, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                when = ("typing" if node.lineno in typing_only else
                        "call" if node.lineno in in_functions else "import")
                for target in _targets(node, importer, path, set(known)):
                    found.append(Import(importer, target, node.lineno, when))
    return found


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` that importing it runs. Importing a.b.c runs the
    packages a and a.b first, unless the importer is inside them already. (An import inside a
    function runs once every module is loaded, so it makes no cycle at import.)"""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known if name.split(".")[0] == package}
    for found in imports():
        if found.importer not in graph or found.when != "import":
            continue
        inside = {found.importer, *_ancestors(found.importer)}
        for target in [*_ancestors(found.target), found.target]:
            if target in graph and target not in inside:
                graph[found.importer].add(target)
    return graph


def test_the_graph_sees_imports_of_every_kind() -> None:
    """The builder itself: relative and absolute imports, `from package import module`, the
    package that importing a submodule runs; not what runs only later."""
    graph = import_graph("fedi")
    assert "fedi.storage" in graph["fedi.outbox"]
    assert "fedi.inbox.notes" in graph["fedi.inbox.create"]
    assert {"fedi.relay", "fedi.relay.cli"} <= graph["fedi.cli"]  # `from .relay.cli import ...`
    assert "fedi.storage" in graph["fedi.relay.subscriptions"]  # `from .. import storage`
    assert "fedi.demo" not in graph["fedi.cli"]  # imported inside `cmd_demo`
    assert "fedi.storage.db" not in graph["fedi.storage.schema"]  # for type checkers only


@pytest.mark.parametrize("package", ["activitypub", "fedi"])
def test_no_import_cycle(package: str) -> None:
    try:
        graphlib.TopologicalSorter(import_graph(package)).prepare()
    except graphlib.CycleError as error:
        cycle = " imports ".join(reversed(error.args[1]))
        raise AssertionError(f"import cycle in {package}/: {cycle}") from None


@pytest.mark.parametrize(("layer", "forbidden"), [("activitypub", {"fedi", "web"}), ("fedi", {"web"})])
def test_layers_point_one_way(layer: str, forbidden: set[str]) -> None:
    wrong = [f"{found.importer} (line {found.line}) imports {found.target}" for found in imports()
             if found.importer.split(".")[0] == layer and found.importer != ENTRY_SCRIPT
             and found.target.split(".")[0] in forbidden]
    assert not wrong, "\n".join(wrong)


def test_python_m_fedi_only_launches_the_composed_program() -> None:
    launched = {found.target for found in imports() if found.importer == ENTRY_SCRIPT}
    assert launched == {"web.cli"}
    assert not [found for found in imports() if found.target == ENTRY_SCRIPT]
