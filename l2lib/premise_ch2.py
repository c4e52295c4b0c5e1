"""Chapter 2 inside the paper's premise: performance against λ, and λ_opt from one cheap run.

Everything here reads the store; the designs are in :mod:`l2lib.experiments` (chapters 2, 3
and 5 on chapter 1's in-premise setups), fixed before the runs.

* :func:`sweep` — seven λ at one η on a setup of chapter 1: chapter 1's own members at that η
  and ``ch2_SETUP_small``, every member trained the same budget, three seeds.
* :func:`probe` — c = λ₀η·t* from the sweep's largest λ₀ read over its first
  ``CH2_PROBE_HORIZON/(λ₀η)`` steps: t* of the smoothed seed mean (chapter 1's estimator), and
  c's uncertainty over seeds, c ×/÷ 10^σ with σ the std of log10 of each seed's t*.
* :func:`performance` — the seed-mean best accuracy of each λ within a budget, its standard
  error over seeds, and the *near-best* set: the λ whose accuracy is within the seed noise of
  the best (``NEAR_BEST_SE`` combined standard errors). The optimum of a sweep is flat-topped;
  a prediction inside that set is as good as the sweep's best, whatever its argmax says.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from l2lib import analysis, experiments
from l2lib import store as store_lib

#: Two accuracies are "within the seed noise" of each other when they differ by at most this
#: many standard errors of their difference, √(se₁² + se₂²) (se: std over seeds / √seeds).
NEAR_BEST_SE = 2.0
#: Goals, fixed before the runs. λ_opt(T) = c/(ηT) within this factor of the sweep's best λ
#: (the paper's reading, against one argmax) ...
LAMBDA_RATIO = 2.0
#: ... and its seed-mean accuracy at most this far below the sweep's best (one point) ...
ACCURACY_POINTS = 0.01
#: ... and, read against the noise: λ_opt(T) inside the λ range of the near-best set, and its
#: accuracy within the seed noise of the best, at every budget. A member enters a performance
#: claim at budget T only if every seed fitted its training set (full-train accuracy ≥
#: analysis.PREMISE_ACCURACY) by T. Budget ∝ 1/λ (CH2_SCALED_HORIZON/(λη), λ > 0 whose budget
#: the sweep holds): accuracy never falls as λ falls by more than the seed noise, and the
#: smallest such λ beats the largest by more than it.


def _merge(first: store_lib.Results, second: store_lib.Results, name: str) -> store_lib.Results:
    """Two results of the same setup and evaluation grid as one, members of ``first`` first."""
    if not np.array_equal(first.arrays["eval_step"], second.arrays["eval_step"]):
        raise ValueError(f"{name}: the two runs are evaluated at different steps")
    m1 = len(first.arrays["member_l2"])
    arrays = {}
    for k, v in first.arrays.items():
        w = second.arrays[k]
        if k != "eval_step" and np.ndim(v) >= 1 and np.shape(v)[0] == m1:
            arrays[k] = np.concatenate([np.asarray(v), np.asarray(w)])
        else:
            arrays[k] = v
    grid = dataclasses.replace(
        first.config.grid,
        l2=tuple(first.config.grid.l2) + tuple(second.config.grid.l2),
        learning_rate=tuple(dict.fromkeys(first.config.grid.learning_rate)),
    )
    cfg = dataclasses.replace(first.config, name=name, grid=grid)
    meta = dict(first.meta, merged_from=[first.meta.get("key"), second.meta.get("key")])
    return dataclasses.replace(first, arrays=arrays, config=cfg, meta=meta)


def _load(name: str, root=None, recompute: bool = False) -> store_lib.Results:
    from l2lib import book

    return book.load_run(name, "cpu", recompute, root)


def sweep(setup: str, root=None, recompute: bool = False) -> store_lib.Results:
    """The seven-λ sweep of ``setup`` at η = ``INPREMISE_LR`` (see the module docstring)."""
    base = _load(experiments.INPREMISE_SETUPS[setup], root, recompute)
    eta = experiments.INPREMISE_LR
    at_eta = analysis.members_where(base.arrays, base.arrays["member_learning_rate"] == eta)
    base = dataclasses.replace(
        base,
        arrays=at_eta,
        config=dataclasses.replace(
            base.config, grid=dataclasses.replace(base.config.grid, learning_rate=(eta,))
        ),
    )
    small = _load(f"ch2_{setup}_small", root, recompute)
    return _merge(base, small, f"ch2_{setup}_sweep")


class Probe(NamedTuple):
    """c = λ₀·η·t* from the probe, with its spread over seeds."""

    setup: str
    ok: bool
    why: str  # why no c can be read ("" when ok)
    l2: float  # λ₀
    learning_rate: float
    num_steps: int  # the probe's length (per seed)
    t_star: float  # smoothed seed-mean t*
    seed_t_star: np.ndarray  # (S,)
    spread: float  # σ: std of log10 seed t* (decades)
    c: float
    c_low: float  # c / 10^σ
    c_high: float  # c · 10^σ
    candidates: np.ndarray  # evaluation steps a null draws t* from


def probe_steps() -> int:
    """The probe's length: CH2_PROBE_HORIZON/(λ₀η) steps."""
    lam, eta = experiments.CH2_PROBE_L2, experiments.INPREMISE_LR
    return int(np.ceil(experiments.CH2_PROBE_HORIZON / (lam * eta)))


def probe_arrays(setup: str, root=None, recompute: bool = False) -> dict[str, np.ndarray]:
    """The probe's curves: the λ₀ members of chapter 1's run at η, truncated to its length."""
    base = _load(experiments.INPREMISE_SETUPS[setup], root, recompute)
    a = base.arrays
    sel = (a["member_l2"] == experiments.CH2_PROBE_L2) & (
        a["member_learning_rate"] == experiments.INPREMISE_LR
    )
    return analysis.truncate(analysis.members_where(a, sel), probe_steps())


def read_probe(setup: str, arrays: dict[str, np.ndarray]) -> Probe:
    """c from a probe's curves (:func:`probe_arrays`), by chapter 1's estimator."""
    lam, eta, n = experiments.CH2_PROBE_L2, experiments.INPREMISE_LR, probe_steps()
    pk = analysis.seed_peaks(arrays)
    t = float(pk.t_star[0])
    steps = np.asarray(arrays["eval_step"])
    why = ""
    if pk.diverged[0] or not np.isfinite(t):
        why = "a seed of the probe diverged"
    elif pk.censored[0]:
        why = f"the probe's best accuracy is at its last evaluation (step {n}): t* may lie beyond"
    elif t <= steps[0]:
        why = f"the probe peaked at its first evaluation (step {int(steps[0])})"
    sigma = float(pk.spread[0]) if np.isfinite(pk.spread[0]) else 0.0
    c = lam * eta * t
    return Probe(
        setup,
        not why,
        why,
        lam,
        eta,
        n,
        t,
        pk.seed_t_star[0],
        sigma,
        c,
        c / 10**sigma,
        c * 10**sigma,
        pk.candidates[0],
    )


def probe(setup: str, root=None, recompute: bool = False) -> Probe:
    """:func:`read_probe` of the stored probe of ``setup``."""
    return read_probe(setup, probe_arrays(setup, root, recompute))
