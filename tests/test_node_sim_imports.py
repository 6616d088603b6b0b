"""The simulator's modules and the SDK import one another without a cycle: every import
counts, those under ``TYPE_CHECKING`` and inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_imports(package: str) -> dict[str, set[str]]:
    """For each module of ``package``, the modules of the same package it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        name = f"{package}.{path.stem}" if path.stem != "__init__" else package
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    base = f"{package}.{node.module}" if node.module else package
                    found |= {base} if node.module else {f"{package}.{a.name}" for a in node.names}
                elif node.level == 0 and node.module and node.module.startswith(package + "."):
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith(package + ".")}
        graph[name] = found - {name}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", ["node_sim", "sdk"])
def test_no_import_cycle(package: str) -> None:
    graph = module_imports(package)
    assert len(graph) > 1
    assert cycle_in(graph) is None, " -> ".join(cycle_in(graph) or [])
