"""The book's experiments: one module per chapter, on top of the library.

The upper floor of the house. :mod:`l2lib` (config, data, models, train, autol2, store,
analysis, theory, figures, widgets, registry, claims, cli) is the library a researcher imports;
it never imports this package. Here live the book's chapters, each module holding that
chapter's setups, registered experiments and artifacts, claims with their goals, and the views
its notebook calls (loading, tables and its own figure compositions):

- :mod:`l2lib.paper.ch1_timescale` — t* ≈ c/(λη) inside the premise, the theory regime, the
  horizon sweeps (``book/ch1_timescale.ipynb``);
- :mod:`l2lib.paper.ch2_budget` — performance against λ, λ_opt(T) ≈ c/(ηT) from one probe;
- :mod:`l2lib.paper.ch3_autol2` — AutoL2 against the best constant λ;
- :mod:`l2lib.paper.ch4_infinite_width` — the width sweep, the kernel solver, the Hessian;
- :mod:`l2lib.paper.ch5_beyond` — schedules, momentum, batch norm;

and what chapters share:

- :mod:`l2lib.paper.shared` — the setups more than one chapter builds on (chapter 1's
  in-premise MLPs, the time-scale grid, the Fashion-MNIST data) and the reading of a t* sweep
  with its goals (``premise_summary``, ``premise_claims``, ``SLOPE_TOLERANCE`` ...);
- :mod:`l2lib.paper.common` — what every notebook calls: the setup cell and scale switch,
  loading runs from the store, tables, provenance, verdict tables;
- :mod:`l2lib.paper.authors` — the authors' own setups (WRN-28-10 on CIFAR-10) in our units;
- :mod:`l2lib.paper.overview` — the book-wide pages: the paper's claims and what the checks
  say of each (the intro's claim map), the runs each chapter reads and what they cost.

Arrows go one way: notebook → chapter module → shared/common → library (the overview sits
above the chapters). A chapter reads
another chapter's results by experiment name through :mod:`l2lib.registry` (e.g. chapter 2
loads ``ch1_premise_mlp``), never by importing its module; ``tests/test_layout.py`` fails on a
cycle, on a library module importing this package, and on one chapter importing another.

Importing this package registers every chapter's experiments, artifacts and claims, in the
book's order; the installed package publishes it in the ``l2lib.registry`` entry-point group,
so ``python -m l2lib sweep|artifact|check`` find them without the library importing it.
"""

from __future__ import annotations

from l2lib.paper import (  # noqa: F401  (imported to register, in the book's order)
    authors,
    ch1_timescale,
    ch2_budget,
    ch3_autol2,
    ch4_infinite_width,
    ch5_beyond,
    common,
    overview,
    shared,
)

__all__ = [
    "authors",
    "ch1_timescale",
    "ch2_budget",
    "ch3_autol2",
    "ch4_infinite_width",
    "ch5_beyond",
    "common",
    "overview",
    "shared",
]
