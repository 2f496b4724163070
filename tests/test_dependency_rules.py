"""Who may import whom (design.md), read from the source of every module with ``ast``.

- autodl is a leaf library: none of its modules imports benchmark, frameworks or slurm;
- adapters (frameworks/) never import slurm (where a job runs is the executor's business), and of
  them only frameworks/autodl.py imports autodl;
- no import cycle among the project's modules.

Every import counts: at module level, inside functions (lazy imports), and ``importlib.import_module``
or ``__import__`` with a literal name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("autodl", "benchmark", "frameworks", "slurm")
HARNESS = ("benchmark", "frameworks", "slurm")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if not level:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str) -> set[str]:
    """Every module name ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    return imports_in(path.read_text(), name, path.name == "__init__.py")


def imports_in(source: str, name: str, is_package: bool = False) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node.module, node.level, name, is_package)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__"):
                found.add(node.args[0].value)
    return {m for m in found if m}


def _top(module: str) -> str:
    return module.split(".")[0]


def _project_module(module: str) -> str | None:
    """The project module an import refers to (``a.b.c`` -> ``a.b`` when ``c`` is a name in it)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def test_the_ast_reader_sees_lazy_relative_and_dynamic_imports():
    assert "autodl.estimator" in imports_of("autodl")                      # inside autodl.__getattr__
    assert "autodl.distributed" in imports_of("frameworks.autodl")         # inside AutoDL.run
    source = ("def f():\n    import importlib\n    importlib.import_module('benchmark.suites')\n"
              "    __import__('slurm.queue')\n    from ..splits import holdout\n")
    assert {"benchmark.suites", "slurm.queue", "autodl.splits"} <= imports_in(source, "autodl.lcbench.x")


@pytest.mark.parametrize("name", sorted(m for m in MODULES if _top(m) == "autodl"))
def test_autodl_imports_nothing_from_the_harness(name):
    harness = sorted(m for m in imports_of(name) if _top(m) in HARNESS)
    assert not harness, f"{name} imports {harness}: autodl must stand alone (harness code calls autodl, not back)"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if _top(m) == "frameworks"))
def test_adapters_import_nothing_from_slurm_and_only_the_autodl_adapter_imports_autodl(name):
    imported = imports_of(name)
    assert not sorted(m for m in imported if _top(m) == "slurm"), f"{name} imports slurm"
    if name != "frameworks.autodl":
        assert not sorted(m for m in imported if _top(m) == "autodl"), f"{name} imports autodl"


def test_no_import_cycles():
    graph = {name: {_project_module(m) for m in imports_of(name)} - {None, name} for name in MODULES}
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):   # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"
