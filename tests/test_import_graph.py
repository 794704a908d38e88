"""No import cycle in the package: the graph of every ``import`` the source holds, at module
level, inside functions and under ``TYPE_CHECKING`` alike, read from the AST (an import that
only runs later still ties the two modules together).

An edge goes to the module named: ``from virtiodiag.dialects import lexcache`` reaches
``virtiodiag.dialects.lexcache``, ``from virtiodiag.dialects import DialectSet`` reaches
``virtiodiag.dialects`` (the package's ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import source_nodes

PACKAGE = Path(__file__).resolve().parent.parent / "virtiodiag"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.AST, here: str, is_package: bool, known: set[str]) -> list[str]:
    """The package's modules that one import statement reaches."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = here.split(".") if is_package else here.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    reached = []
    for alias in node.names:
        submodule = f"{module}.{alias.name}"
        if submodule in known:
            reached.append(submodule)
        elif module in known:
            reached.append(module)
    return reached


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, set())
        for node in source_nodes(path):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in _targets(node, name, path.name == "__init__.py", known)
                             if t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
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


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and graph["virtiodiag.runner"], "the graph was not read"
    assert cycles(graph) == [], "modules that import each other: " + "; ".join(
        " <-> ".join(component) for component in cycles(graph))


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    source = "def later():\n    from virtiodiag.b import thing\n"
    tree = ast.parse(source)
    known = {"virtiodiag.a", "virtiodiag.b"}
    edges = [t for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
             for t in _targets(node, "virtiodiag.a", False, known)]
    assert edges == ["virtiodiag.b"]
    graph = {"virtiodiag.a": set(edges), "virtiodiag.b": {"virtiodiag.a"}, "virtiodiag.c": set()}
    assert cycles(graph) == [["virtiodiag.a", "virtiodiag.b"]]


def test_relative_and_submodule_imports_reach_the_module_named():
    known = {"virtiodiag.dialects", "virtiodiag.dialects.lexcache", "virtiodiag.dialects.registry"}
    node = ast.parse("from virtiodiag.dialects import lexcache, DialectSet").body[0]
    assert _targets(node, "virtiodiag.dialects.registry", False, known) == [
        "virtiodiag.dialects.lexcache", "virtiodiag.dialects"]
    node = ast.parse("from .registry import load_dialects").body[0]
    assert _targets(node, "virtiodiag.dialects", True, known) == ["virtiodiag.dialects.registry"]
    node = ast.parse("from . import lexcache").body[0]
    assert _targets(node, "virtiodiag.dialects.registry", False, known) == [
        "virtiodiag.dialects.lexcache"]
