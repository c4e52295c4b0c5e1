"""The chapters' code cells: what they display, and the switch to the paper scale.

- A figure or table built in a cell shows only when it is the cell's last top-level
  expression; one built inside an ``if`` or a loop, or before the last statement, is dropped
  silently unless passed to ``display``. A static check of every chapter finds such calls.
- The parameter cell's ``SCALE = "paper"`` must reach the cached-run lookup (which says what
  the paper-scale run costs and how to make it), not fail on an experiment that exists at scale
  ``cpu`` only.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

from l2lib import registry, store
from l2lib.paper import common

#: Calls that build something a chapter means to show.
SHOWN = re.compile(
    r"^(figures\.show|(common|overview|ch\d_\w+)\.\w*(table|figure)\w*|claims_lib\.report|widgets\.\w+)$"
)


def _cells(path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def dropped_displays(source: str) -> list[str]:
    """Calls matching ``SHOWN`` whose value a notebook would drop (see the module docstring)."""
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body else None
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Expr) or node is last:
            continue
        call = node.value
        if isinstance(call, ast.Call) and SHOWN.match(ast.unparse(call.func)):
            out.append(f"line {node.lineno}: {ast.unparse(call.func)}(...)")
    return out


def test_dropped_display_check_finds_a_figure_inside_an_if() -> None:
    assert dropped_displays("if x:\n    figures.show(f)\n") == ["line 2: figures.show(...)"]
    assert dropped_displays("ch1_timescale.horizon_table(a)\ny = 1\n") == [
        "line 1: ch1_timescale.horizon_table(...)"
    ]
    assert dropped_displays("if x:\n    display(figures.show(f))\n") == []
    assert dropped_displays("a = 1\nfigures.show(f)\n") == []


@pytest.mark.parametrize("path", common.chapter_notebooks(), ids=lambda p: p.stem)
def test_every_figure_and_table_a_chapter_builds_is_displayed(path) -> None:
    bad = [f"cell {i}: {d}" for i, src in enumerate(_cells(path)) for d in dropped_displays(src)]
    assert not bad, f"{path.name}: built but never shown (wrap in display(...)): {bad}"


def _paper_switchable():
    for path in common.chapter_notebooks():
        cells = _cells(path)
        params = next((c for c in cells if c.startswith("SCALE =")), None)
        if params is not None and '"paper"' in params.splitlines()[0]:
            yield path


@pytest.mark.parametrize("path", list(_paper_switchable()), ids=lambda p: p.stem)
def test_paper_switch_reaches_the_cached_run_lookup(path, tmp_path, monkeypatch) -> None:
    # An empty store: every paper-scale run is missing, so the load cell must stop with the
    # one-line message that names its cost and command — not with an unknown experiment.
    monkeypatch.setenv("L2LIB_STORE", str(tmp_path))
    cells = _cells(path)
    i = next(i for i, c in enumerate(cells) if c.startswith("SCALE ="))
    ns: dict = {"display": lambda *a, **k: None}
    exec(cells[i].replace('SCALE = "cpu"', 'SCALE = "paper"', 1), ns)
    assert ns["SCALE"] == "paper"
    load = next(c for c in cells[i + 1 :] if re.search(r"\b(common|ch\d_\w+)\.load_", c))
    with pytest.raises(store.MissingEntryError, match="--scale paper"):
        exec(load, ns)


#: What a cell does to skip an experiment the paper scale lacks.
GUARDS = ("registry.scales(", "common.load_runs(", "in runs")


@pytest.mark.parametrize("path", list(_paper_switchable()), ids=lambda p: p.stem)
def test_cpu_only_experiments_are_guarded_in_paper_switchable_chapters(path) -> None:

    registered = set(registry.names())
    bad = []
    for i, src in enumerate(_cells(path)):
        literals = {
            n.value
            for n in ast.walk(ast.parse(src))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        cpu_only = sorted(n for n in literals & registered if "paper" not in registry.scales(n))
        if cpu_only and not any(g in src for g in GUARDS):
            bad.append(f"cell {i}: {cpu_only}")
    assert not bad, f"{path.name}: SCALE = 'paper' would fail on unknown experiments: {bad}"
