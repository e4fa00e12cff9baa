"""The package's shape, checked on the source: small modules, imports without cycles.

The import graph is what runs at import time: module-level imports (also inside
``try`` and ``if``), but not those inside functions (deferred on purpose) nor
under ``if TYPE_CHECKING:`` (never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import recorder

PACKAGE = Path(recorder.__file__).resolve().parent
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run when the module is imported (function bodies are not)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_time_nodes(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody"):
            children = getattr(node, field, [])
            yield from _import_time_nodes([c for c in children if isinstance(c, ast.stmt)])
        for handler in getattr(node, "handlers", []):
            yield from _import_time_nodes(handler.body)


def _imports_of(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _import_time_nodes(tree.body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = "%s.%s" % (source, alias.name)
                targets.add(submodule if submodule in MODULES else source)
    return {target for target in targets if target in MODULES and target != module}


def _graph() -> dict[str, set[str]]:
    return {module: _imports_of(module, path) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _path_through(graph: dict[str, set[str]], component: list[str]) -> str:
    """One concrete cycle inside ``component``, as ``a -> b -> a``."""
    members = set(component)
    start = component[0]
    trail = [start]
    seen = {start}
    node = start
    while True:
        succ = sorted(graph[node] & members)
        nxt = next((s for s in succ if s == start), None) or next(
            (s for s in succ if s not in seen), succ[0]
        )
        trail.append(nxt)
        if nxt == start or nxt in seen:
            return " -> ".join(trail)
        seen.add(nxt)
        node = nxt


def _report(graph: dict[str, set[str]], components: list[list[str]]) -> str:
    return "\n".join(_path_through(graph, c) for c in components)


def test_the_checker_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _path_through(graph, ["a", "b", "c"]) == "a -> b -> c -> a"


def test_no_import_cycle_among_recorder_modules() -> None:
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + _report(graph, cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_at_most_400_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, "%s has %d lines; split it by concern" % (module, lines)
