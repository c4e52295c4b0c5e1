"""Claims: a quantitative statement, what was measured, its goal, and whether it holds.

A :class:`Claim` is one line of ``python -m l2lib check``: ``PASS``/``FAIL``, the chapter, what
was measured and the goal, with the p-value of its null and the members it stands on where
they apply. Goals are fixed in code, next to the experiments they judge, before the runs; a
failing claim is a result to report, not to tune away.

The claims themselves live with the experiments they judge (the book's are in its chapter
modules, :mod:`l2lib.paper`) and are found through :func:`l2lib.registry.claims`; this module
only runs them: :func:`run` collects every claim at a scale, turning a missing or unreadable
run into a failed claim that names the fix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from l2lib import registry
from l2lib import store as store_lib

__all__ = ["Claim", "as_chapter", "main", "report", "run"]


@dataclass(frozen=True)
class Claim:
    """One checked claim. ``null_p`` is the p-value of its null (a t* claim measured against
    t* drawn from the same runs; ``None`` where no null applies) and ``premise`` says which
    members it stands on (e.g. "8 of 9 (λ, η) in the premise"; empty where not measured)."""

    chapter: str
    name: str
    passed: bool
    measured: str
    goal: str
    null_p: float | None = None
    premise: str = ""
    #: The headline of ``measured`` for a chapter's verdict table (default: ``measured``).
    summary: str = ""

    def line(self) -> str:
        null = "" if self.null_p is None else f"   [null p = {self.null_p:.4f}]"
        where = f"   [{self.premise}]" if self.premise else ""
        return (
            f"{'PASS' if self.passed else 'FAIL'}  {self.chapter:<4} {self.name:<34} "
            f"{self.measured}   (goal: {self.goal}){null}{where}"
        )


def as_chapter(claims: Iterator[Claim], chapter: str) -> Iterator[Claim]:
    """The same claims, listed under ``chapter``."""
    for c in claims:
        yield dataclasses.replace(c, chapter=chapter)


def run(scale: str = "cpu", root=None, chapter: str | None = None) -> list[Claim]:
    """Every claim at ``scale`` (of one ``chapter`` only, if given); a missing or unreadable
    run is a failed claim naming the fix."""
    out: list[Claim] = []
    only = chapter
    for chapter, name, gen in registry.claims():
        if only is not None and chapter != only:
            continue
        if name in registry.names() and scale not in registry.scales(name):
            continue  # a setup of another scale only (e.g. the CPU-scale horizon checks)
        if registry.retired(name, scale):
            continue  # retired at this scale (registry.retire)
        try:
            out.extend(gen(name, scale, root))
        except store_lib.StoreError as e:
            out.append(Claim(chapter, f"{name}: run available", False, str(e), "a current entry"))
        except ValueError as e:  # e.g. too few usable members to fit
            out.append(Claim(chapter, f"{name}: analysis possible", False, str(e), "a fit"))
    return out


def main(scale: str = "cpu", root=None, chapter: str | None = None) -> int:
    """Print one line per claim; 0 when all pass, 1 otherwise."""
    claims = [c for c in run(scale, root, chapter) if chapter is None or c.chapter == chapter]
    for c in claims:
        print(c.line())
    failed = sum(not c.passed for c in claims)
    print(f"{len(claims) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def report(scale: str = "cpu", chapter: str | None = None, root=None) -> None:
    """Print the claims of one chapter (what a chapter's "claims, checked" cell shows)."""
    claims = [c for c in run(scale, root, chapter) if chapter is None or c.chapter == chapter]
    for c in claims:
        print(c.line())
