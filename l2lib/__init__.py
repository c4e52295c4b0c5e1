"""l2lib: training dynamics of deep networks with L2 regularization.

The library a researcher imports, one idea per module:

- :mod:`l2lib.config` — what an experiment is (frozen dataclasses, content hash);
  :mod:`l2lib.data`, :mod:`l2lib.augment` — data sets as arrays;
- :mod:`l2lib.models`, :mod:`l2lib.train` — the networks, and the engine that trains a whole
  λ × η × seed grid in one compiled program; :mod:`l2lib.autol2` — the AutoL2 rule;
- :mod:`l2lib.store` — the content-addressed results store, with provenance;
- :mod:`l2lib.registry` — named experiments, artifacts and claims, grouped by chapter;
  :mod:`l2lib.claims` — a checked claim and the runner behind ``python -m l2lib check``;
- :mod:`l2lib.analysis` — t*, c, λ_opt(T), collapse, nulls; :mod:`l2lib.theory` — the
  infinite-width gradient flow with L2;
- :mod:`l2lib.figures`, :mod:`l2lib.widgets` — plotly figures with sliders that work without
  a kernel, ipywidgets for a live one; :mod:`l2lib.anymodel` — the paper's tools on any Flax
  NNX model;
- :mod:`l2lib.cli`, :mod:`l2lib.distributed`, :mod:`l2lib.progress`, :mod:`l2lib.validate` —
  the command line, several hosts, progress lines, input checks.

The book's experiments live one floor up, in :mod:`l2lib.paper` (one module per chapter); the
library never imports them — the registry finds them through the package's entry points.
"""

__version__ = "0.1.0"
