"""The model's modules each own one job: short, documented, and importing in one direction."""

import ast
from pathlib import Path

import virtiodiag.model
from conftest import source_nodes, source_tree

MODEL = Path(virtiodiag.model.__file__).parent
MAX_LINES = 400


def _modules():
    return sorted(p for p in MODEL.glob("*.py") if p.name != "__init__.py")


def _model_imports(path):
    names = set()
    for node in source_nodes(path):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("virtiodiag.model."):
            names.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.rsplit(".", 1)[1] for a in node.names
                      if a.name.startswith("virtiodiag.model.")}
    return names


def test_every_model_module_is_short_and_says_what_it_owns():
    for path in _modules():
        lines = path.read_text().count("\n")
        assert lines <= MAX_LINES, f"{path.name}: {lines} lines"
        assert ast.get_docstring(source_tree(path)), f"{path.name}: no docstring"


def test_model_modules_import_without_a_cycle():
    graph = {p.stem: _model_imports(p) for p in _modules()}
    done, stack = set(), []

    def visit(name):
        assert name not in stack, " -> ".join(stack + [name])
        if name in done:
            return
        stack.append(name)
        for other in graph.get(name, ()):
            visit(other)
        stack.pop()
        done.add(name)

    for name in graph:
        visit(name)
    assert {"identity", "attribution", "handlers", "mmio", "joining"} <= set(graph)


def test_no_method_is_patched_onto_a_class():
    for path in _modules():
        for node in source_nodes(path):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    assert not (isinstance(target, ast.Attribute)
                                and isinstance(target.value, ast.Name)
                                and target.value.id[:1].isupper()), \
                        f"{path.name}:{node.lineno} assigns to a class attribute"
