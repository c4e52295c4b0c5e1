"""The house's layout, read from the source: the library never imports the book's chapters,
no chapter imports another, and no module of l2lib takes part in an import cycle (counting
imports inside functions too, which the interpreter would only meet later)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import l2lib

PACKAGE = Path(l2lib.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """``module -> l2lib modules it imports`` (anywhere in the file), for every l2lib module."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                # ``from pkg import mod`` depends on mod (and runs pkg/__init__, which is
                # pkg's own business); ``from mod import name`` depends on mod.
                targets = [s for s in subs if s in modules] or [node.module]
            for t in targets:
                if t in modules and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_paper(m: str) -> bool:
    return m == "l2lib.paper" or m.startswith("l2lib.paper.")


def _is_chapter(m: str) -> bool:
    return m.startswith("l2lib.paper.ch")


def test_no_import_cycles():
    graph = import_graph()
    # The package's __init__ imports its modules to register them; that is not a cycle of
    # meaning, so leave out the edges from a package to its own submodules.
    pruned = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    assert cycles(pruned) == []


def test_library_never_imports_the_book():
    graph = import_graph()
    bad = {m: sorted(d for d in deps if _is_paper(d)) for m, deps in graph.items()}
    bad = {m: d for m, d in bad.items() if d and not _is_paper(m)}
    assert bad == {}


def test_no_chapter_imports_another():
    graph = import_graph()
    bad = {m: sorted(d for d in deps if _is_chapter(d)) for m, deps in graph.items()}
    bad = {m: d for m, d in bad.items() if d and _is_chapter(m)}
    assert bad == {}


def test_the_checks_fail_on_a_cycle_and_a_wrong_arrow():
    """The readers above are not vacuous: on a made-up graph they find what they must."""
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]
    assert _is_paper("l2lib.paper.ch1_timescale") and not _is_paper("l2lib.papers")
    assert len(import_graph()) > 20  # it did read the package


@pytest.mark.parametrize(
    "module",
    sorted(
        _module_name(p)
        for p in PACKAGE.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    ),
)
def test_every_module_has_its_test_file(module):
    """Tests follow the layout: ``l2lib/X.py`` → ``tests/test_X.py``; ``l2lib/paper/X.py`` →
    ``tests/paper/test_X.py``."""
    parts = module.split(".")[1:]
    expected = Path(__file__).parent.joinpath(*parts[:-1], f"test_{parts[-1]}.py")
    assert expected.is_file(), f"{module} has no {expected.relative_to(Path(__file__).parent)}"
