"""The import graph of the project's packages: no cycles, and every import the way the layers go.

Every module of the packages named in ``PACKAGES`` (``api/``, ``pipeline/``, ...)
is parsed with :mod:`ast` (nothing is imported), and every import statement it holds counts:
at module level, inside a function, and under ``if TYPE_CHECKING:``. A cycle kept alive by
a function-local or type-only import is still a cycle: the modules cannot be understood,
tested or moved one without the other.

The layers (each may import those to its right, never those to its left)::

    scripts -> api, demos, node_sim -> pipeline, harness -> ledger_client

(``demos`` also reads ``node_sim``'s world; ``node_sim`` starts ``harness``'s processes)

``api`` and ``node_sim`` do not import each other (the simulator reaches the API over HTTP),
``pipeline`` imports no web framework, and ``ledger_client`` imports none of the others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "pipeline", "node_sim", "sdk", "ledger_client", "scripts", "demos", "harness")
#: What each package may import of the others (itself always).
ALLOWED: dict[str, frozenset[str]] = {
    "harness": frozenset({"ledger_client"}),
    "demos": frozenset({"node_sim", "ledger_client"}),
    "ledger_client": frozenset(),
    "pipeline": frozenset({"ledger_client"}),
    "api": frozenset({"pipeline", "ledger_client"}),
    # The SDK is a client of the HTTP API: it signs with ledger_client and knows no server.
    "sdk": frozenset({"ledger_client"}),
    "node_sim": frozenset({"harness", "sdk", "pipeline", "ledger_client"}),
    "scripts": frozenset(
        {"demos", "harness", "api", "node_sim", "sdk", "pipeline", "ledger_client"}
    ),
}
#: Third-party packages a layer must not import: the pipeline is no web application.
FORBIDDEN_THIRD_PARTY: dict[str, frozenset[str]] = {
    "pipeline": frozenset({"fastapi", "starlette", "uvicorn"}),
    "ledger_client": frozenset({"fastapi", "starlette", "uvicorn"}),
    "sdk": frozenset({"fastapi", "starlette", "uvicorn"}),
}


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int


def module_files() -> dict[str, Path]:
    """Every module of the packages by dotted name (``api.routes.members``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _package_of(module: str, path: Path) -> str:
    """The package a relative import in ``module`` is relative to."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports(
    module: str, path: Path, known: frozenset[str] = frozenset()
) -> Iterator[tuple[str, int]]:
    """Every module name ``module`` imports, with its line: all statements, wherever they are.

    ``from pkg import name`` imports the module ``pkg.name`` when ``known`` holds one, and
    ``pkg`` itself (its ``__init__``) for a name defined there.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = ".".join(part for part in (base, node.module) if part)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in known else target), node.lineno


def graph() -> tuple[list[Edge], list[Edge]]:
    """(edges between the packages' modules, edges to anything else) of every module."""
    modules = module_files()
    inner: list[Edge] = []
    outer: list[Edge] = []
    for module, path in modules.items():
        for target, line in imports(module, path, frozenset(modules)):
            if target in modules:
                inner.append(Edge(module, target, line))
            elif _top(target) not in PACKAGES:
                outer.append(Edge(module, target, line))
    return inner, outer


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing
    itself (Tarjan's algorithm, iterative: no recursion limit to meet)."""
    succ: dict[str, set[str]] = {}
    for e in edges:
        succ.setdefault(e.source, set()).add(e.target)
        succ.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(succ):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(succ[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in succ[node]:
                    found.append(sorted(component))
    return sorted(found)


def _show(component: list[str], edges: list[Edge]) -> str:
    inside = set(component)
    lines = [
        f"  {e.source} -> {e.target} (line {e.line})"
        for e in edges
        if e.source in inside and e.target in inside
    ]
    return " / ".join(component) + ":\n" + "\n".join(sorted(set(lines)))


def _top(module: str) -> str:
    return module.partition(".")[0]


# -- the graph itself is read right --------------------------------------------------------------


def test_every_kind_of_import_is_read(tmp_path: Path) -> None:
    """Module level, function-local, ``TYPE_CHECKING`` and relative imports all count."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .b import B\n"
        "def f():\n"
        "    import pkg.c\n"
        "    from ..other import thing\n"
    )
    known = frozenset({"pkg", "pkg.a", "pkg.b", "pkg.c"})
    found = {name for name, _ in imports("pkg.a", pkg / "a.py", known)}
    assert found == {"typing", "pkg.b", "pkg.c", "other"}
    # ``from . import a`` in the package imports the module a, not the package again.
    assert {name for name, _ in imports("pkg", pkg / "__init__.py", known)} == {"pkg.a"}


def test_a_cycle_is_found_however_it_is_hidden() -> None:
    edges = [
        Edge("api.deps", "api.service", 1),
        Edge("api.service", "api.worker", 2),
        Edge("api.worker", "api.relay", 3),  # a function-local import, say
        Edge("api.relay", "api.deps", 4),
        Edge("api.models", "api.models", 5),
        Edge("api.main", "api.deps", 6),
    ]
    assert cycles(edges) == [
        ["api.deps", "api.relay", "api.service", "api.worker"],
        ["api.models"],
    ]
    assert cycles(edges[4:]) == [["api.models"]]
    assert cycles(edges[:3]) == []


# -- the project's graph ---------------------------------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package: str) -> None:
    edges, _ = graph()
    found = [c for c in cycles(edges) if any(_top(m) == package for m in c)]
    assert not found, "import cycles:\n" + "\n".join(_show(c, edges) for c in found)


def test_imports_follow_the_layers() -> None:
    edges, outer = graph()
    wrong = [
        f"{e.source} imports {e.target} (line {e.line})"
        for e in edges
        if _top(e.target) != _top(e.source) and _top(e.target) not in ALLOWED[_top(e.source)]
    ]
    wrong += [
        f"{e.source} imports {e.target} (line {e.line})"
        for e in outer
        if _top(e.target) in FORBIDDEN_THIRD_PARTY.get(_top(e.source), frozenset())
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(set(wrong)))


def test_every_package_is_read() -> None:
    """The test reads what it claims to: each package's modules, and imports between them."""
    modules = module_files()
    for package in PACKAGES:
        assert package in modules
    edges, _ = graph()
    pairs = {(_top(e.source), _top(e.target)) for e in edges}
    assert {("api", "pipeline"), ("pipeline", "ledger_client"), ("api", "ledger_client")} <= pairs
    assert ("pipeline.intake", "pipeline.operations") in {(e.source, e.target) for e in edges}
