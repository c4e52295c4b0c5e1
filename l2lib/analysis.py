"""From curves to the paper's relations: t*, the fit t* ≈ c/(λη), the collapse, λ_opt.

Definitions (``book/conventions.md``): t* is the evaluation step of maximum test accuracy
(first one on ties); performance is that maximum (early-stopping performance). A member whose
maximum falls on its last evaluation is *censored*: it was not trained past its peak, so its t*
is only a lower bound and it is left out of fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

Arrays = Mapping[str, np.ndarray]


class Peaks(NamedTuple):
    """Per member: t* (steps), the best test accuracy, and whether the peak is usable."""

    t_star: np.ndarray  # (M,) float steps; NaN where the member has no finite evaluation
    best_accuracy: np.ndarray  # (M,)
    censored: np.ndarray  # (M,) bool: the maximum is at the member's last evaluation
    diverged: np.ndarray  # (M,) bool


def peaks(results: Arrays) -> Peaks:
    """t* and best accuracy of every member of a sweep (paper §2, Fig. 2)."""
    acc = np.asarray(results["test_accuracy"], np.float64)
    steps = np.asarray(results["eval_step"], np.float64)
    m = acc.shape[0]
    t_star = np.full(m, np.nan)
    best = np.full(m, np.nan)
    censored = np.zeros(m, bool)
    for i in range(m):
        finite = np.isfinite(acc[i])
        if not finite.any():
            continue
        j = int(np.nanargmax(acc[i]))
        t_star[i] = steps[j]
        best[i] = acc[i, j]
        censored[i] = j == int(np.flatnonzero(finite)[-1])
    diverged = np.asarray(results.get("diverged_step", np.full(m, -1))) >= 0
    return Peaks(t_star, best, censored, diverged)


class TimescaleFit(NamedTuple):
    """log10 t* = intercept + slope·log10(λη), and c with the slope fixed at −1."""

    slope: float
    slope_ci: tuple[float, float]
    intercept: float
    c: float
    c_ci: tuple[float, float]
    n: int
    used: np.ndarray  # (M,) bool: members in the fit


def fit_timescale(
    l2: np.ndarray,
    learning_rate: np.ndarray,
    t_star: np.ndarray,
    mask: np.ndarray | None = None,
    num_bootstrap: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> TimescaleFit:
    """Fit t* ≈ c/(λη) on log axes (paper §2.1, Fig. 2).

    The slope comes from least squares of log10 t* on log10(λη); c is the geometric mean of
    λ·η·t* (the least-squares intercept when the slope is fixed at −1). Intervals are
    percentile bootstraps over members.

    Args:
      l2, learning_rate, t_star: per member (λ as in ½λ‖θ‖², η, steps).
      mask: members to use (default: every member with λ > 0 and a finite t*).
    """
    l2, lr, ts = (np.asarray(a, np.float64) for a in (l2, learning_rate, t_star))
    used = (l2 > 0) & np.isfinite(ts) & (ts > 0)
    if mask is not None:
        used &= np.asarray(mask, bool)
    if used.sum() < 3:
        raise ValueError(f"fit_timescale: {int(used.sum())} usable members; need at least 3")
    x = np.log10(l2[used] * lr[used])
    y = np.log10(ts[used])
    if np.ptp(x) == 0:
        raise ValueError("fit_timescale: every member has the same λη; widen the grid")
    slope, intercept = np.polyfit(x, y, 1)
    logc = y + x
    rng = np.random.default_rng(seed)
    n = len(x)
    slopes, cs = [], []
    for _ in range(num_bootstrap):
        idx = rng.integers(0, n, n)
        if np.ptp(x[idx]) == 0:
            continue
        slopes.append(np.polyfit(x[idx], y[idx], 1)[0])
        cs.append(np.mean(logc[idx]))
    lo, hi = 50 * (1 - ci), 50 * (1 + ci)
    return TimescaleFit(
        slope=float(slope),
        slope_ci=(float(np.percentile(slopes, lo)), float(np.percentile(slopes, hi))),
        intercept=float(intercept),
        c=float(10 ** np.mean(logc)),
        c_ci=(float(10 ** np.percentile(cs, lo)), float(10 ** np.percentile(cs, hi))),
        n=n,
        used=used,
    )


class Collapse(NamedTuple):
    """How far apart the peaks are, in decades, before and after rescaling time by λη."""

    spread_steps: float  # std of log10 t* across members
    spread_scaled: float  # std of log10 (λ·η·t*) across members
    ratio: float  # spread_scaled / spread_steps (0: perfect collapse; 1: none)


def collapse(
    l2: np.ndarray, learning_rate: np.ndarray, t_star: np.ndarray, mask: np.ndarray
) -> Collapse:
    """The collapse of the peaks in λ·η·t (paper Fig. 2b): spreads of log t* and log λη t*."""
    used = np.asarray(mask, bool)
    lt = np.log10(np.asarray(t_star, np.float64)[used])
    lx = np.log10(np.asarray(l2, np.float64)[used] * np.asarray(learning_rate, np.float64)[used])
    s_raw, s_scaled = float(np.std(lt)), float(np.std(lt + lx))
    return Collapse(s_raw, s_scaled, s_scaled / s_raw if s_raw > 0 else float("nan"))


def scaled_time(results: Arrays) -> np.ndarray:
    """λ·η·t for every member and evaluation (M, E), with t the evaluation step.

    Uses the λ and η in force (recorded per evaluation), integrated over the run when they
    change (AutoL2, schedules): Σ λ_s·η_s over steps, approximated per evaluation interval.
    """
    l2 = np.asarray(results["l2"], np.float64)
    lr = np.asarray(results["learning_rate"], np.float64)
    steps = np.asarray(results["eval_step"], np.float64)
    dt = np.diff(np.concatenate([[0.0], steps]))
    return np.cumsum(l2 * lr * dt[None, :], axis=1)
