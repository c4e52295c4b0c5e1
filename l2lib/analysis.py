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

__all__ = [
    "MIN_PROBE_EVALS",
    "NULL_ALPHA",
    "NULL_DRAWS",
    "PREMISE_ACCURACY",
    "PROBE_HORIZON",
    "SMOOTH_EVALS",
    "best_within",
    "c_per_learning_rate",
    "c_spread_score",
    "clock_at_peak",
    "clock_collapse",
    "ClockCollapse",
    "CMeasurement",
    "Collapse",
    "collapse",
    "collapse_score",
    "decay_steps",
    "extremum_step",
    "first_step_reaching",
    "fit_timescale",
    "fitted_after",
    "horizon_score",
    "integrated_clock",
    "late_trend",
    "LateTrend",
    "lr_schedule",
    "mean_over_seeds",
    "measure_c",
    "members_where",
    "naive_clock",
    "null_test",
    "NullTest",
    "Optimum",
    "optimum",
    "Peaks",
    "peaks",
    "predict_l2",
    "probe_config",
    "read_c",
    "read_t_star",
    "scaled_budget",
    "scaled_time",
    "ScaledBudget",
    "ScheduleValidation",
    "seed_peaks",
    "SeedPeaks",
    "slope_score",
    "smooth",
    "TimescaleFit",
    "truncate",
    "TStarReading",
    "validate_prediction",
    "validate_schedule_prediction",
    "Validation",
]

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
    diverged: np.ndarray | None = None,
) -> TimescaleFit:
    r"""Fit :math:`t^* \approx c/(\lambda\eta)` on log axes (paper §2.1, Fig. 2).

    The slope comes from least squares of log10 t* on log10(λη); c is the geometric mean of
    λ·η·t* (the least-squares intercept when the slope is fixed at −1). Intervals are
    percentile bootstraps over members.

    Args:
      l2, learning_rate, t_star: per member (λ as in ½λ‖θ‖², η, steps); ``t_star`` may be the
        :class:`Peaks` of :func:`peaks`, whose ``diverged`` then applies.
      mask: members to use, on top of the default: every member with λ > 0, a finite t*, and
        that did not diverge.
      diverged: per member, whether it diverged (a diverged member's t* is only its last
        finite evaluation, not a peak of its test accuracy); taken from ``t_star`` when that
        is a :class:`Peaks`.
    """
    if isinstance(t_star, Peaks):
        if diverged is None:
            diverged = t_star.diverged
        t_star = t_star.t_star
    l2, lr, ts = (np.asarray(a, np.float64) for a in (l2, learning_rate, t_star))
    used = (l2 > 0) & np.isfinite(ts) & (ts > 0)
    if diverged is not None:
        used &= ~np.asarray(diverged, bool)
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


def c_per_learning_rate(
    l2: np.ndarray, learning_rate: np.ndarray, t_star: np.ndarray, mask: np.ndarray
) -> dict[float, float]:
    """Per η (ascending) among the members in ``mask``: c = λη·t*, the geometric mean over that
    η's members (η with no member in ``mask`` left out). One c for every η is the claim that t*
    depends on λη alone (paper §2.1)."""
    l2, lr, ts = (np.asarray(a, np.float64) for a in (l2, learning_rate, t_star))
    mask = np.asarray(mask, bool)
    out = {}
    for eta in sorted(set(lr.tolist())):
        sel = mask & (lr == eta)
        if sel.any():
            out[eta] = float(10 ** np.mean(np.log10(l2[sel] * lr[sel] * ts[sel])))
    return out


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


class LateTrend(NamedTuple):
    """How each member's test accuracy moves late in its run, over λη·t in (lo, hi]."""

    lo: float
    hi: float
    slope: np.ndarray  # (M,) least-squares slope, accuracy points per unit of λη·t
    rho: np.ndarray  # (M,) Spearman rank correlation of accuracy with step
    p_value: np.ndarray  # (M,) two-sided p of rho (evaluations taken as independent)
    n: np.ndarray  # (M,) evaluations in the window


def late_trend(results: Arrays, lo: float, hi: float) -> LateTrend:
    """Is the test accuracy still rising, flat, or falling between λη·t = ``lo`` and ``hi``?

    The paper's picture (a peak at λη·t* ≈ c, and f → 0 at infinite width) predicts falling
    accuracy after the peak; a flat, noisy plateau makes the step of the maximum move with the
    end of the run (it is the maximum of noise), and a rising curve makes it the last step. Per
    member: the least-squares slope (points of accuracy per unit λη·t) and Spearman's ρ of
    accuracy against step, with its p-value. Successive evaluations share most of their
    training history, so the p-values are optimistic; read them as a description.
    """
    from scipy.stats import spearmanr

    if not 0 <= lo < hi:
        raise ValueError(f"late_trend: window ({lo}, {hi}]: need 0 ≤ lo < hi")
    x = scaled_time(results)
    acc = np.asarray(results["test_accuracy"], np.float64)
    m = acc.shape[0]
    slope, rho, p = (np.full(m, np.nan) for _ in range(3))
    n = np.zeros(m, int)
    for i in range(m):
        sel = (x[i] > lo) & (x[i] <= hi * (1 + 1e-9)) & np.isfinite(acc[i])
        n[i] = int(sel.sum())
        if n[i] < 3 or np.ptp(acc[i, sel]) == 0:
            continue
        slope[i] = 100 * np.polyfit(x[i, sel], acc[i, sel], 1)[0]
        r = spearmanr(np.flatnonzero(sel), acc[i, sel])
        rho[i], p[i] = float(r.statistic), float(r.pvalue)
    return LateTrend(float(lo), float(hi), slope, rho, p, n)


# --- chapter 3: AutoL2 against constant λ ---------------------------------------------------


def mean_over_seeds(results: Arrays, key: str = "test_accuracy") -> tuple[np.ndarray, np.ndarray]:
    """Per distinct (λ, η) of a sweep, in grid order: the mean over its seeds of curve ``key``.

    Returns:
      ``(l2, curves)``: λ of each row (M',) and the seed-mean curves (M', E). A NaN in any seed
      (a diverged member) makes the mean NaN there: a seed that diverged is not averaged away.
    """
    l2 = np.asarray(results["member_l2"], np.float64)
    lr = np.asarray(results["member_learning_rate"], np.float64)
    curves = np.asarray(results[key], np.float64)
    keys = list(dict.fromkeys(zip(l2.tolist(), lr.tolist())))
    out = np.stack([curves[(l2 == a) & (lr == b)].mean(axis=0) for a, b in keys])
    return np.array([a for a, _ in keys]), out


def first_step_reaching(curve: np.ndarray, steps: np.ndarray, target: float) -> float:
    """The first evaluation step at which ``curve`` ≥ ``target`` (NaN if it never does)."""
    hit = np.flatnonzero(np.asarray(curve, np.float64) >= target)
    return float(np.asarray(steps)[hit[0]]) if hit.size else float("nan")


def decay_steps(l2_curve: np.ndarray, eval_step: np.ndarray) -> list[int]:
    """Steps from which a new λ is in force, read off the λ recorded at each evaluation.

    The engine records, at evaluation step s_e, the λ of the updates since s_{e−1}; a change
    between two evaluations therefore took effect at update s_{e−1} (0 for the first). With
    ``eval_every`` equal to AutoL2's ``every`` that is exactly the measurement that decayed λ.
    """
    l2 = np.asarray(l2_curve, np.float64)
    starts = np.concatenate([[0], np.asarray(eval_step)[:-1]])
    changed = np.flatnonzero(l2[1:] != l2[:-1]) + 1
    return [int(starts[e]) for e in changed if np.isfinite(l2[e])]


# --- performance against λ, and λ_opt(T) ≈ c/(ηT) (paper §2.2–2.3, Fig. 1) -------------------

#: :func:`measure_c` trains its probe until λ₀·η·t reaches this (chapter 1's horizon, at which
#: t* ≈ c/(λη) held with slope −1; the authors' 2-epoch probe reaches λη·t ≈ 3.1).
PROBE_HORIZON = 4.0
#: A probe needs at least this many evaluations to place its peak.
MIN_PROBE_EVALS = 10


def _positive(owner: str, name: str, value, fix: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name}={value!r} is not a number; {fix}") from None
    if isinstance(value, bool) or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{owner}: {name}={value!r} must be finite and > 0; {fix}")
    return v


def predict_l2(c: float, learning_rate: float, num_steps: float) -> float:
    r"""The λ that is best for a budget of ``num_steps`` steps (paper §2.3):

    .. math:: \lambda_{\rm opt} = \frac{c}{\eta T}.

    It is the λ whose time scale c/(λη) (chapter 1) equals the budget: a larger λ reaches its
    peak early and then wastes the remaining steps at a worse plateau; a smaller one has not
    yet reached its peak when the budget ends. L2 is ½·λ·‖θ‖² added to the loss (coupled).

    When to expect it to hold: an over-parameterized network (training accuracy reaches 1) at
    a constant η, with performance meaning the best test accuracy within T (early stopping),
    c measured (:func:`measure_c`) with the same data, model, batch size, momentum and η as the
    run it is used for, and a budget long enough that L2 acts (T well beyond the step where the
    unregularized network stops improving) — otherwise λ hardly matters and λ = 0 does as well.
    When not to trust it: learning-rate schedules (the decay changes what L2 does late in
    training and c is not the constant-η one), batch norm (scale-invariant weights make λ set an
    effective learning rate instead of a time scale), decoupled weight decay (a different
    object), or λ_opt outside the range where t* ≈ c/(λη) was seen to hold.

    Args:
      c: the constant of t* ≈ c/(λη) (dimensionless; :func:`measure_c`).
      learning_rate: η of the run to be made.
      num_steps: its budget T, in SGD steps.

    Returns:
      λ_opt = c/(η·T).

    Raises:
      ValueError: an argument is not finite and positive (one line, naming the fix).
    """
    c = _positive("predict_l2", "c", c, "measure it with l2lib.analysis.measure_c")
    eta = _positive("predict_l2", "learning_rate", learning_rate, "pass the run's η")
    steps = _positive("predict_l2", "num_steps", num_steps, "pass the budget T in SGD steps")
    return c / (eta * steps)


class CMeasurement(NamedTuple):
    """c = λ₀·η·t*(λ₀) from one probe run, and how t* was read."""

    c: float
    l2: float  # λ₀
    learning_rate: float  # η
    t_star: float  # steps (geometric mean over the probe's seeds)
    best_accuracy: float
    num_steps: int  # steps the probe trained (per seed): the measurement's cost
    how: str  # one sentence: how t* was read


def probe_config(config, l2: float, horizon: float = PROBE_HORIZON, eval_every: int | None = None):
    """The probe :func:`measure_c` trains: ``config`` with the single λ₀ = ``l2`` at its η,
    trained until λ₀·η·t = ``horizon`` (capped at ``config.duration.max_steps``), evaluated
    every ``eval_every`` steps (default: ``config``'s cadence).

    The probe is named ``<config.name>_probe`` (kept if it already ends so). Everything else —
    data, model, optimizer, seeds — is ``config``'s, so c belongs to it.

    Raises:
      ValueError: λ₀ not > 0, more than one η, an AutoL2 or non-constant schedule, a probe that
        would be capped before its horizon, or too few evaluations to place the peak.
    """
    import dataclasses

    from l2lib import config as config_lib

    l2 = _positive("measure_c", "l2", l2, "pass a large λ₀ (e.g. 0.01), where t* is short")
    horizon = _positive("measure_c", "horizon", horizon, "pass the λ₀·η·t to train the probe to")
    lrs = config.grid.learning_rate
    if len(lrs) != 1:
        raise ValueError(
            f"measure_c: config has {len(lrs)} learning rates {lrs}; pass a config with the one η "
            "of the run to be made (dataclasses.replace(cfg, grid=...))"
        )
    if config.autol2 is not None:
        raise ValueError("measure_c: config.autol2 is set; c is measured at a constant λ₀")
    if config.optimizer.schedule != "constant":
        raise ValueError(
            f"measure_c: schedule={config.optimizer.schedule!r}; c is defined at a constant η: "
            "use schedule='constant'"
        )
    name = config.name if config.name.endswith("_probe") else f"{config.name}_probe"
    probe = dataclasses.replace(
        config,
        name=name,
        grid=config_lib.GridConfig(l2=(l2,), learning_rate=lrs, seeds=config.grid.seeds),
        duration=config_lib.DurationConfig(
            num_steps=None, horizon=horizon, max_steps=config.duration.max_steps
        ),
        eval_every=config.eval_every if eval_every is None else eval_every,
    )
    wanted = horizon / (l2 * lrs[0])
    if wanted > config.duration.max_steps:
        raise ValueError(
            f"measure_c: the probe needs {wanted:.0f} steps to reach λ₀ηt = {horizon:g} but "
            f"duration.max_steps = {config.duration.max_steps}; use a larger λ₀ or raise max_steps"
        )
    if probe.num_evals < MIN_PROBE_EVALS:
        raise ValueError(
            f"measure_c: the probe has {probe.num_evals} evaluations (every {probe.eval_every} of "
            f"{max(probe.steps_per_member())} steps), fewer than {MIN_PROBE_EVALS}; lower eval_every"
        )
    return probe


class TStarReading(NamedTuple):
    """t* read off recorded test-accuracy curves (:func:`read_t_star`)."""

    t_star: float  # steps; with several curves, the geometric mean of theirs
    t_stars: np.ndarray  # (S,) each curve's t*
    best_accuracy: float  # mean over the curves of each one's maximum
    num_steps: int  # steps trained (the longest curve's)
    num_evals: int  # evaluations at steps ≤ num_steps
    how: str  # one sentence: how t* was read


def read_t_star(
    eval_step,
    test_accuracy,
    num_steps=None,
    diverged=None,
    *,
    l2: float | None = None,
    learning_rate: float | None = None,
) -> TStarReading:
    """t*, the step of maximum test accuracy, read off recorded curves — and refused where the
    curves cannot give it (paper §2; ``book/conventions.md``).

    This is the one reading of t* behind :func:`read_c` (the library's probe) and
    :func:`l2lib.anymodel.measure_c` (a probe of any model), and it reads a curve recorded by
    any training loop: evaluation steps and the test accuracy at each.

    t* is the first evaluation step at which the accuracy is maximal; with several curves
    (seeds of one setup), the geometric mean of their t*. Refused (``ValueError``, one line
    naming the fix):

    - a diverged curve (flagged in ``diverged``, or with no finite evaluation): its last finite
      evaluation is not a peak;
    - a maximum at a curve's last finite evaluation: the run was not trained past its peak, so
      t* may lie beyond it (train longer);
    - a maximum at the first evaluation: the peak is not resolved (evaluate more often).

    Args:
      eval_step: (E,) the steps at which the curves were evaluated, increasing.
      test_accuracy: (E,) one curve or (S, E) several; NaN where a curve was not evaluated.
      num_steps: steps each curve was trained, one number or one per curve (default: the
        last evaluation step); only reported.
      diverged: per curve, whether it diverged (default: none did).
      l2, learning_rate: λ₀ (in ½·λ·‖θ‖²) and η of a probe run: given, the messages speak of
        the probe (λ₀·η·t reached, "raise the horizon") as :func:`read_c`'s do.

    Returns:
      a :class:`TStarReading`.
    """
    probe = l2 is not None and learning_rate is not None
    owner = "measure_c" if probe else "read_t_star"
    steps = np.asarray(eval_step)
    acc = np.asarray(test_accuracy, np.float64)
    if acc.ndim == 1:
        acc = acc[None, :]
    if steps.ndim != 1 or acc.ndim != 2 or acc.shape[1] != steps.shape[0] or steps.size == 0:
        raise ValueError(
            f"{owner}: eval_step {steps.shape} and test_accuracy {acc.shape} do not match; pass "
            "the E evaluation steps and curves of shape (E,) or (S, E)"
        )
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"{owner}: eval_step must increase; pass the steps in the order trained")
    m = acc.shape[0]
    if num_steps is None:
        num_steps = steps[-1]
    trained = np.broadcast_to(np.asarray(num_steps), (m,))
    flagged = np.zeros(m, bool) if diverged is None else np.asarray(diverged, bool)
    pk = peaks(
        {
            "test_accuracy": acc,
            "eval_step": steps,
            "diverged_step": np.where(np.broadcast_to(flagged, (m,)), 0, -1),
        }
    )
    if pk.diverged.any() or not np.isfinite(pk.t_star).all():
        if probe:
            raise ValueError(f"measure_c: the probe at λ₀={l2:g} diverged; use a smaller λ₀ or η")
        raise ValueError(
            "read_t_star: a curve diverged (flagged, or no finite evaluation): its last finite "
            "evaluation is not a peak; train it at a smaller η"
        )
    end = int(trained.max())
    if pk.censored.any():
        if probe:
            raise ValueError(
                f"measure_c: the probe's best test accuracy is at its last evaluation (step "
                f"{end}), so t* may lie beyond it; raise the horizon (now λ₀ηt = "
                f"{l2 * learning_rate * end:.3g})"
            )
        raise ValueError(
            f"read_t_star: the best test accuracy is at the last evaluation (step {end}), so t* "
            "may lie beyond it; train longer"
        )
    if (pk.t_star <= steps[0]).any():
        if probe:
            raise ValueError(
                f"measure_c: the probe peaked at its first evaluation (step {steps[0]}); lower "
                "eval_every or use a smaller λ₀"
            )
        raise ValueError(
            f"read_t_star: the peak is at the first evaluation (step {steps[0]}); evaluate "
            "more often"
        )
    ts = pk.t_star
    t_star = float(ts[0]) if len(ts) == 1 else float(np.exp(np.mean(np.log(ts))))
    best = float(np.mean(pk.best_accuracy))
    n_evals = int(np.sum(steps <= end))
    at = ", ".join(f"{t:.0f}" for t in ts)
    curves = "seeds" if probe else "curves"
    several = "" if len(ts) == 1 else f" (geometric mean over {len(ts)} {curves}: {at})"
    if probe:
        run = (
            f"every {int(steps[0])} steps of one run at λ₀ = {l2:g}, η = {learning_rate:g}, "
            f"trained to λ₀ηt = {l2 * learning_rate * end:.3g} ({end} steps)"
        )
    else:
        run = f"from step {steps[0]:g} to {steps[-1]:g} ({end} steps trained)"
    how = (
        f"t* = {t_star:.0f} steps{several}: the step of maximum test accuracy ({best:.3f}), read "
        f"on {n_evals} evaluations {run}"
    )
    return TStarReading(t_star, ts, best, end, n_evals, how)


def read_c(results: Arrays, config) -> CMeasurement:
    """c from a finished probe (its arrays and its config, as :func:`probe_config` makes them).

    t* is read by :func:`read_t_star` (the step of maximum test accuracy, first on ties; with
    several seeds, the geometric mean of their t*), with its refusals; c = λ₀·η·t*.

    Raises:
      ValueError: a probe member diverged, peaked at its last evaluation (t* may lie beyond
        the run), or at its first (the peak is not resolved).
    """
    l2, eta = float(config.grid.l2[0]), float(config.grid.learning_rate[0])
    m = len(np.asarray(results["test_accuracy"]))
    diverged = np.asarray(results.get("diverged_step", np.full(m, -1))) >= 0
    r = read_t_star(
        results["eval_step"],
        results["test_accuracy"],
        np.asarray(results["num_steps"]),
        diverged,
        l2=l2,
        learning_rate=eta,
    )
    return CMeasurement(l2 * eta * r.t_star, l2, eta, r.t_star, r.best_accuracy, r.num_steps, r.how)


def measure_c(
    config,
    l2: float,
    horizon: float = PROBE_HORIZON,
    eval_every: int | None = None,
    store=None,
    progress=None,
) -> CMeasurement:
    """Measure c in t* ≈ c/(λη) from one short run at a large λ₀ = ``l2`` (paper §2.3).

    Trains (or finds in the results store: the probe is cached like any sweep) one run of
    ``config`` at λ₀ and its single η until λ₀·η·t = ``horizon``, reads t* — the step of
    maximum test accuracy — and returns c = λ₀·η·t*. A large λ₀ makes t* short, so the probe
    is cheap: it costs ``horizon/(λ₀η)`` steps. Then :func:`predict_l2` gives λ_opt ≈ c/(ηT)
    for any budget T at that η.

    The probe must train past its peak: if the best accuracy is at the last evaluation the
    call fails (raise ``horizon``). Where the accuracy rises to a plateau instead of peaking,
    t* is a point on the plateau and c grows with the horizon (chapter 1): c then says when
    the plateau is reached, at best. See :func:`predict_l2` for when the prediction holds.

    Args:
      config: the experiment whose model, data, optimizer, η (exactly one) and seeds the run
        to be tuned will use (an :class:`~l2lib.config.Experiment`).
      l2: λ₀, in ½·λ·‖θ‖² units; large, so that t* is short (the authors: λ_code = 0.01).
      horizon: λ₀·η·t at which the probe stops.
      eval_every: the probe's evaluation cadence in steps (default: ``config``'s); t* is read
        on it, so it must resolve a peak at about c/(λ₀η) steps.
      store: a :class:`~l2lib.store.Store` or its root (default: the book's store).
      progress: as for :func:`l2lib.store.load_or_run`.

    Returns:
      a :class:`CMeasurement`: c, λ₀, η, t*, the probe's best accuracy, its cost in steps and
      a sentence saying how t* was read.
    """
    from l2lib import store as store_lib

    probe = probe_config(config, l2, horizon, eval_every)
    res = store_lib.load_or_run(probe, store, progress=progress)
    return read_c(res.arrays, res.config)


def best_within(results: Arrays, num_steps) -> np.ndarray:
    """Best test accuracy of each member over its evaluations at steps ≤ ``num_steps``.

    ``num_steps`` is one budget T or one per member. A member that diverged before T counts
    with its best before it diverged (performance is early-stopping performance: it would have
    been stopped there). NaN where the member was not trained that long (its run says nothing
    about T) or has no finite evaluation by then.
    """
    acc = np.asarray(results["test_accuracy"], np.float64)
    steps = np.asarray(results["eval_step"], np.float64)
    budget = np.broadcast_to(np.asarray(num_steps, np.float64), acc.shape[:1])
    trained = np.asarray(results["num_steps"], np.float64)
    diverged = np.asarray(results.get("diverged_step", np.full(acc.shape[0], -1))) >= 0
    out = np.full(acc.shape[0], np.nan)
    for i in range(acc.shape[0]):
        sel = (steps <= budget[i]) & np.isfinite(acc[i])
        if (trained[i] >= budget[i] or diverged[i]) and sel.any():
            out[i] = acc[i, sel].max()
    return out


class ScaledBudget(NamedTuple):
    """Curve (b): each member's best accuracy within its own budget horizon/(λη)."""

    accuracy: np.ndarray  # (M,)
    budget: np.ndarray  # (M,) steps (inf for λ = 0)
    capped: np.ndarray  # (M,) bool: trained less than its budget (λ = 0 always): whole run used


def scaled_budget(results: Arrays, horizon: float) -> ScaledBudget:
    """Curve (b) of paper Fig. 1a: best test accuracy within horizon/(λη) steps, rounded up to
    the evaluation grid (as the engine rounds a member's duration). A member trained less than
    its budget (λ = 0, or a capped run) is read over its whole run and flagged ``capped``."""
    l2 = np.asarray(results["member_l2"], np.float64)
    lr = np.asarray(results["member_learning_rate"], np.float64)
    every = float(np.asarray(results["eval_step"])[0])
    with np.errstate(divide="ignore"):
        budget = np.where(l2 > 0, np.ceil(horizon / (l2 * lr) / every) * every, np.inf)
    trained = np.asarray(results["num_steps"], np.float64)
    capped = budget > trained
    return ScaledBudget(best_within(results, np.minimum(budget, trained)), budget, capped)


class Optimum(NamedTuple):
    """The best λ of a sweep at one budget, and whether it is interior."""

    l2: float
    accuracy: float
    interior: bool  # neither the largest λ nor the smallest (λ = 0 when it is in the grid)
    margin: float  # its accuracy minus the better of the two ends


def optimum(l2: np.ndarray, accuracy: np.ndarray) -> Optimum:
    """The λ of maximum accuracy among members with a finite accuracy (largest λ on ties)."""
    l2, acc = np.asarray(l2, np.float64), np.asarray(accuracy, np.float64)
    ok = np.isfinite(acc)
    if ok.sum() < 1:
        raise ValueError("optimum: no member has a finite accuracy at this budget")
    order = np.argsort(-l2[ok], kind="stable")
    lv, av = l2[ok][order], acc[ok][order]
    k = int(np.argmax(av))
    ends = max(av[0], av[-1])
    return Optimum(float(lv[k]), float(av[k]), 0 < k < len(av) - 1, float(av[k] - ends))


class Validation(NamedTuple):
    """At one budget T: the predicted λ_opt against the sweep's best λ (paper Fig. 1b)."""

    budget: int
    predicted_l2: float
    predicted_accuracy: float  # best test accuracy within T of a run at predicted_l2
    best_l2: float  # the sweep's best λ at T
    best_accuracy: float
    l2_ratio: float  # max(pred/best, best/pred) ≥ 1; inf when the sweep's best is λ = 0
    accuracy_gap: float  # best_accuracy − predicted_accuracy
    zero_accuracy: float  # λ = 0 within T (NaN if the sweep has no λ = 0)
    prediction_steps: int  # the probe plus one run of T steps
    sweep_steps: int  # every member of the sweep run for T steps


def validate_prediction(
    sweep: Arrays,
    predicted: Arrays,
    c: CMeasurement,
    budgets,
) -> list[Validation]:
    """Compare λ_opt(T) = c/(ηT) with the best λ of ``sweep`` at each budget T.

    Args:
      sweep: a sweep over λ at the probe's η whose members all trained at least max(budgets).
      predicted: runs at λ_opt(T) for each T (the member nearest c/(ηT) in log λ is used; it
        must match to 1e-6).
      c: the probe's measurement.
      budgets: the budgets T (steps).
    """
    l2 = np.asarray(sweep["member_l2"], np.float64)
    pl2 = np.asarray(predicted["member_l2"], np.float64)
    out = []
    for T in budgets:
        lam = predict_l2(c.c, c.learning_rate, T)
        j = int(np.argmin(np.abs(np.log(pl2 / lam))))
        if abs(pl2[j] / lam - 1) > 1e-6:
            raise ValueError(
                f"validate_prediction: no predicted run at λ = {lam:.4g} (T = {T}); nearest "
                f"{pl2[j]:.4g}: rerun the predicted members with this c ({c.c:.4g})"
            )
        acc = best_within(sweep, T)
        if np.isnan(acc).any():
            raise ValueError(
                f"validate_prediction: some sweep members trained fewer than {T} steps"
            )
        opt = optimum(l2, acc)
        p_acc = float(best_within(predicted, T)[j])
        ratio = np.inf if opt.l2 == 0 else max(lam / opt.l2, opt.l2 / lam)
        zero = acc[l2 == 0]
        out.append(
            Validation(
                budget=int(T),
                predicted_l2=lam,
                predicted_accuracy=p_acc,
                best_l2=opt.l2,
                best_accuracy=opt.accuracy,
                l2_ratio=float(ratio),
                accuracy_gap=opt.accuracy - p_acc,
                zero_accuracy=float(zero[0]) if zero.size else float("nan"),
                prediction_steps=int(c.num_steps + T),
                sweep_steps=int(len(l2) * T),
            )
        )
    return out


def members_where(results: Arrays, mask) -> dict[str, np.ndarray]:
    """The arrays of the members selected by ``mask`` (e.g. one seed of a sweep)."""
    mask = np.asarray(mask, bool)
    return {k: (v if k == "eval_step" else np.asarray(v)[mask]) for k, v in results.items()}


# --- chapter 5: learning-rate schedules and the clock of L2 -----------------------------------


def lr_schedule(optimizer, base_lr: float, end_step: int, num_steps: int) -> np.ndarray:
    """η of updates 0 … num_steps − 1 under ``optimizer.schedule`` (numpy twin of
    :func:`l2lib.train.lr_at`; fractions refer to the member's duration ``end_step``)."""
    s = np.arange(num_steps, dtype=np.float64)
    # float32 like the engine, so a boundary falls on the same update (0.9 ≠ float32(0.9)).
    frac = s.astype(np.float32) / np.float32(max(end_step, 1))
    if optimizer.schedule == "constant":
        return np.full(num_steps, float(base_lr))
    if optimizer.schedule == "step":
        n = sum((frac >= np.float32(b)).astype(np.float64) for b in optimizer.step_boundaries)
        return base_lr * float(optimizer.step_factor) ** n
    frac = frac.astype(np.float64)
    return base_lr * 0.5 * (1.0 + np.cos(np.pi * np.clip(frac, 0.0, 1.0)))


def integrated_clock(results: Arrays, config) -> np.ndarray:
    """λ·∫η dt at every evaluation (M, E): Σ over the updates before it of λ_s·η_s.

    η_s is the schedule's, update by update (exact, from the config); λ_s is the λ recorded
    for the evaluation interval holding update s (exact for constant λ and for AutoL2 with
    ``eval_every`` equal to its ``every``). For a constant schedule and λ this is λ·η·t.
    """
    l2 = np.asarray(results["l2"], np.float64)
    steps = np.asarray(results["eval_step"], np.int64)
    base = np.asarray(results["member_learning_rate"], np.float64)
    ends = config.steps_per_member()
    out = np.full(l2.shape, np.nan)
    starts = np.concatenate([[0], steps[:-1]])
    for i in range(l2.shape[0]):
        eta = lr_schedule(config.optimizer, base[i], ends[i], int(steps[-1]))
        cum = np.concatenate([[0.0], np.cumsum(eta)])
        per_interval = cum[steps] - cum[starts]
        out[i] = np.cumsum(np.nan_to_num(l2[i]) * per_interval)
    return out


def naive_clock(results: Arrays) -> np.ndarray:
    """λ·η₀·t at every evaluation (M, E), with η₀ the member's base learning rate."""
    l2 = np.asarray(results["member_l2"], np.float64)[:, None]
    lr = np.asarray(results["member_learning_rate"], np.float64)[:, None]
    return l2 * lr * np.asarray(results["eval_step"], np.float64)[None, :]


def clock_at_peak(clock: np.ndarray, results: Arrays, t_star: np.ndarray) -> np.ndarray:
    """The value of ``clock`` (M, E) at each member's t* (NaN where t* is NaN)."""
    steps = np.asarray(results["eval_step"], np.float64)
    out = np.full(len(t_star), np.nan)
    for i, t in enumerate(t_star):
        if np.isfinite(t):
            out[i] = clock[i, int(np.flatnonzero(steps == t)[0])]
    return out


class ClockCollapse(NamedTuple):
    """Spread (std of log10) of each clock's value at t*, over the same members."""

    spread_steps: float  # std log10 t*
    spread_naive: float  # std log10 λη₀t*
    spread_integrated: float  # std log10 λ∫η dt at t*
    ratio: float  # spread_integrated / spread_naive (< 1: the integrated clock collapses better)
    naive: np.ndarray  # (M,) λη₀t*
    integrated: np.ndarray  # (M,) λ∫η dt at t*
    used: np.ndarray  # (M,) bool


def clock_collapse(results: Arrays, config, mask: np.ndarray | None = None) -> ClockCollapse:
    """Which clock makes the peaks coincide: λη₀t (naive) or λ∫η dt (integrated).

    Members used: λ > 0, a finite t* that is not censored (not at the last evaluation), not
    diverged, and ``mask``.
    """
    pk = peaks(results)
    l2 = np.asarray(results["member_l2"], np.float64)
    used = (l2 > 0) & np.isfinite(pk.t_star) & ~pk.censored & ~pk.diverged
    if mask is not None:
        used &= np.asarray(mask, bool)
    if used.sum() < 2:
        raise ValueError(f"clock_collapse: {int(used.sum())} usable members; need at least 2")
    naive = clock_at_peak(naive_clock(results), results, pk.t_star)
    integ = clock_at_peak(integrated_clock(results, config), results, pk.t_star)
    s_t = float(np.std(np.log10(pk.t_star[used])))
    s_n = float(np.std(np.log10(naive[used])))
    s_i = float(np.std(np.log10(integ[used])))
    return ClockCollapse(s_t, s_n, s_i, s_i / s_n if s_n > 0 else float("nan"), naive, integ, used)


class ScheduleValidation(NamedTuple):
    """At one budget T under a schedule: the λ sweep's best against the two predictions made
    from a constant-η c — the naive c/(η₀T) and the integrated c/∫₀ᵀη dt."""

    budget: int
    mean_factor: float  # ∫₀ᵀη dt / (η₀T): 1 for a constant schedule
    best_l2: float  # the sweep's best λ (of best test accuracy within T)
    best_accuracy: float
    naive_l2: float  # c/(η₀T)
    naive_accuracy: float  # best test accuracy within T of the run at naive_l2
    naive_ratio: float  # max(pred/best, best/pred) ≥ 1; inf when the best is λ = 0
    integrated_l2: float  # c/∫₀ᵀη dt
    integrated_accuracy: float
    integrated_ratio: float
    zero_accuracy: float  # λ = 0 within T (NaN if the sweep has no λ = 0)

    @property
    def naive_gap(self) -> float:
        """Best accuracy minus the naive prediction's (≥ 0 unless the prediction beat the grid)."""
        return self.best_accuracy - self.naive_accuracy

    @property
    def integrated_gap(self) -> float:
        """Best accuracy minus the integrated prediction's."""
        return self.best_accuracy - self.integrated_accuracy


def _ratio(predicted: float, best: float) -> float:
    return float(np.inf) if best == 0 else float(max(predicted / best, best / predicted))


def _member_at(results: Arrays, l2: float, what: str) -> int:
    pl2 = np.asarray(results["member_l2"], np.float64)
    j = int(np.argmin(np.abs(np.log(pl2 / l2))))
    if abs(pl2[j] / l2 - 1) > 1e-6:
        raise ValueError(
            f"validate_schedule_prediction: no run at the {what} λ = {l2:.4g}; nearest "
            f"{pl2[j]:.4g}: rerun the predicted members with this c"
        )
    return j


def validate_schedule_prediction(
    sweep: Arrays,
    predicted: Arrays,
    c: float,
    learning_rate: float,
    budget: int,
    integral: float,
) -> ScheduleValidation:
    """Chapter 2's λ_opt under a learning-rate schedule, at one budget T.

    The naive prediction ignores the schedule, λ = c/(η₀T); the integrated one replaces η₀T by
    the schedule's ∫₀ᵀη dt (the integrated clock of :func:`integrated_clock` reaching c at T),
    λ = c/∫₀ᵀη dt. Both use the c of a constant-η probe (:func:`measure_c`).

    Args:
      sweep: a sweep over λ at base η₀ = ``learning_rate`` whose members all trained at least T
        steps under the schedule (each member's best test accuracy within T is compared).
      predicted: runs at both predicted λ (each found by value, to 1e-6) trained ≥ T steps.
      c: the constant of t* ≈ c/(λη), from a constant-η probe.
      learning_rate: η₀.
      budget: T (steps).
      integral: ∫₀ᵀη dt of the schedule (:func:`l2lib.train.integrated_lr`).
    """
    l2 = np.asarray(sweep["member_l2"], np.float64)
    acc = best_within(sweep, budget)
    if np.isnan(acc).any():
        raise ValueError(
            f"validate_schedule_prediction: some sweep members trained fewer than {budget} steps"
        )
    opt = optimum(l2, acc)
    naive = predict_l2(c, learning_rate, budget)
    integrated = predict_l2(c, integral / budget, budget)
    p_acc = best_within(predicted, budget)
    i_n = _member_at(predicted, naive, "naive")
    i_i = _member_at(predicted, integrated, "integrated")
    zero = acc[l2 == 0]
    return ScheduleValidation(
        budget=int(budget),
        mean_factor=float(integral / (learning_rate * budget)),
        best_l2=opt.l2,
        best_accuracy=opt.accuracy,
        naive_l2=naive,
        naive_accuracy=float(p_acc[i_n]),
        naive_ratio=_ratio(naive, opt.l2),
        integrated_l2=integrated,
        integrated_accuracy=float(p_acc[i_i]),
        integrated_ratio=_ratio(integrated, opt.l2),
        zero_accuracy=float(zero[0]) if zero.size else float("nan"),
    )


# --- chapter 1 inside the premise: seed-mean t*, the premise per member, nulls ---------------
#
# Fixed before the in-premise runs that use them (chapter 1, issue "Chapter 1 inside the
# paper's premise"): t* is read from the seed-mean curve of each (λ, η), smoothed by a centred
# moving average of SMOOTH_EVALS evaluations; a (λ, η) is inside the premise when every one of
# its seeds has reached PREMISE_ACCURACY on its whole training set at or before that t*; a
# claim's null replaces each t* by a uniformly drawn evaluation of the same (λ, η)'s own run
# (NULL_DRAWS draws), and a claim beats its null when p < NULL_ALPHA.

#: Evaluations in the centred moving average applied to a seed-mean curve before its extremum.
SMOOTH_EVALS = 5
#: Full-training-set accuracy that puts a member inside the paper's premise ("training accuracy 1").
PREMISE_ACCURACY = 0.99
#: Draws of each claim's null distribution.
NULL_DRAWS = 2000
#: A claim beats its null when the fraction of null draws at least as good is below this.
NULL_ALPHA = 0.05


def smooth(curve: np.ndarray, window: int = SMOOTH_EVALS) -> np.ndarray:
    """Centred moving average over ``window`` evaluations (odd) of the last axis, ignoring NaN
    (a point's average is over the finite values within its window; NaN where none is)."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"smooth: window={window}; use an odd number ≥ 1")
    x = np.asarray(curve, np.float64)
    if window == 1:
        return x.copy()
    ok = np.isfinite(x)
    pad = [(0, 0)] * (x.ndim - 1) + [(window // 2, window // 2)]
    v = np.pad(np.where(ok, x, 0.0), pad)
    n = np.pad(ok.astype(np.float64), pad)
    kernel = np.ones(window)

    def conv(a):
        return np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), -1, a)

    s, c = conv(v), conv(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / c
    return np.where(ok, out, np.nan)


def extremum_step(
    curve: np.ndarray, steps: np.ndarray, mode: str = "max", window: int = SMOOTH_EVALS
) -> tuple[float, float, int]:
    """(step, smoothed value, index) of the maximum (``mode='max'``) or minimum of ``curve``
    after :func:`smooth` (first on ties); (NaN, NaN, -1) when the curve has no finite value."""
    s = smooth(curve, window)
    if not np.isfinite(s).any():
        return float("nan"), float("nan"), -1
    j = int(np.nanargmax(s) if mode == "max" else np.nanargmin(s))
    return float(np.asarray(steps)[j]), float(s[j]), j


class SeedPeaks(NamedTuple):
    """Per distinct (λ, η) of a sweep (its G groups of seeds, in grid order): t* read from the
    smoothed seed-mean curve, its noise floor over seeds, and the premise."""

    l2: np.ndarray  # (G,)
    learning_rate: np.ndarray  # (G,)
    t_star: np.ndarray  # (G,) steps: extremum of the smoothed seed-mean curve
    best: np.ndarray  # (G,) the smoothed seed-mean value there
    seed_t_star: np.ndarray  # (G, S) the same estimator on each seed's own curve
    spread: np.ndarray  # (G,) std over seeds of log10 seed t*: t*'s noise floor, in decades
    premise_step: (
        np.ndarray
    )  # (G,) first step by which every seed fitted its training set (NaN: never)
    in_premise: np.ndarray  # (G,) bool: premise_step ≤ t_star
    censored: np.ndarray  # (G,) bool: the extremum is at the last finite evaluation
    diverged: np.ndarray  # (G,) bool: some seed diverged
    candidates: list  # per group: the evaluation steps a null may draw (finite seed mean)
    members: list  # per group: member indices (seeds)


def seed_peaks(
    results: Arrays,
    key: str = "test_accuracy",
    mode: str = "max",
    window: int = SMOOTH_EVALS,
    premise: float = PREMISE_ACCURACY,
) -> SeedPeaks:
    """t* of every (λ, η) of a sweep from the seed-mean of curve ``key`` (paper §2.1).

    t* is the step of the maximum (``mode='max'``; ``'min'`` for a loss) of the seed-mean
    curve smoothed over ``window`` evaluations. The noise floor is the spread over seeds of the
    same estimator applied to each seed alone. A (λ, η) is *in the premise* when every seed's
    ``full_train_accuracy`` has reached ``premise`` at some evaluation at or before t* (all
    False without that record). A seed that diverged makes the seed mean NaN from there on
    (it is not averaged away) and marks the group diverged.
    """
    l2 = np.asarray(results["member_l2"], np.float64)
    lr = np.asarray(results["member_learning_rate"], np.float64)
    steps = np.asarray(results["eval_step"], np.float64)
    curves = np.asarray(results[key], np.float64)
    fta = results.get("full_train_accuracy")
    div = np.asarray(results.get("diverged_step", np.full(len(l2), -1))) >= 0
    keys = list(dict.fromkeys(zip(l2.tolist(), lr.tolist())))
    g = len(keys)
    members = [np.flatnonzero((l2 == a) & (lr == b)) for a, b in keys]
    s_max = max(len(m) for m in members)
    t_star, best, spread, pstep = (np.full(g, np.nan) for _ in range(4))
    seed_t = np.full((g, s_max), np.nan)
    in_p, cens, dvg = (np.zeros(g, bool) for _ in range(3))
    cands = []
    for i, idx in enumerate(members):
        mean = curves[idx].mean(axis=0)
        finite = np.flatnonzero(np.isfinite(mean))
        cands.append(steps[finite])
        dvg[i] = bool(div[idx].any())
        t, v, j = extremum_step(mean, steps, mode, window)
        t_star[i], best[i] = t, v
        cens[i] = finite.size > 0 and j == finite[-1]
        for s, m in enumerate(idx):
            seed_t[i, s] = extremum_step(curves[m], steps, mode, window)[0]
        ok = seed_t[i][np.isfinite(seed_t[i]) & (seed_t[i] > 0)]
        if ok.size > 1:
            spread[i] = float(np.std(np.log10(ok), ddof=1))
        if fta is not None:
            fitted = np.asarray(fta, np.float64)[idx] >= premise
            firsts = [steps[np.flatnonzero(f)[0]] if f.any() else np.nan for f in fitted]
            pstep[i] = np.nan if np.isnan(firsts).any() else max(firsts)
            in_p[i] = bool(np.isfinite(pstep[i]) and np.isfinite(t) and pstep[i] <= t)
    return SeedPeaks(
        np.array([a for a, _ in keys]),
        np.array([b for _, b in keys]),
        t_star,
        best,
        seed_t,
        spread,
        pstep,
        in_p,
        cens,
        dvg,
        cands,
        members,
    )


def fitted_after(
    results: Arrays, peaks: SeedPeaks, premise: float = PREMISE_ACCURACY
) -> np.ndarray:
    """Per (λ, η): the fraction of its seeds' evaluations after t* at which the full-train
    accuracy is ≥ ``premise`` — whether a member that fitted its training set *stays* fitted
    (a description beside the premise test, which asks only for the fit by t*). NaN without the
    record or after-t* evaluations."""
    fta = results.get("full_train_accuracy")
    out = np.full(len(peaks.members), np.nan)
    if fta is None:
        return out
    steps = np.asarray(results["eval_step"], np.float64)
    fta = np.asarray(fta, np.float64)
    for g, idx in enumerate(peaks.members):
        after = fta[idx][:, steps > peaks.t_star[g]]
        ok = np.isfinite(after)
        if ok.any():
            out[g] = float(np.mean(after[ok] >= premise))
    return out


def truncate(results: Arrays, num_steps: int) -> dict[str, np.ndarray]:
    """The curves of ``results`` up to step ``num_steps``: a fixed-budget sweep of T =
    ``num_steps`` read from a longer one (members trained fewer steps keep their NaN)."""
    steps = np.asarray(results["eval_step"])
    keep = steps <= num_steps
    out = {}
    for k, v in results.items():
        v = np.asarray(v)
        if k == "eval_step":
            out[k] = v[keep]
        elif v.ndim == 2 and v.shape[1] == steps.shape[0]:
            out[k] = v[:, keep]
        else:
            out[k] = v
    out["num_steps"] = np.minimum(np.asarray(results["num_steps"]), num_steps)
    return out


def slope_score(l2: np.ndarray, learning_rate: np.ndarray):
    """``|slope + 1|`` of log10 t* on log10 λη (a null's score: smaller is closer to the claim)."""
    x = np.log10(np.asarray(l2, np.float64) * np.asarray(learning_rate, np.float64))

    def score(t_star: np.ndarray) -> float:
        return abs(float(np.polyfit(x, np.log10(t_star), 1)[0]) + 1.0)

    return score


def c_spread_score(l2: np.ndarray, learning_rate: np.ndarray):
    """max/min over η of the geometric-mean c = λη·t* of each η (smaller: one c for all η)."""
    l2, lr = np.asarray(l2, np.float64), np.asarray(learning_rate, np.float64)
    etas = sorted(set(lr.tolist()))
    sel = [lr == e for e in etas]
    x = np.log10(l2 * lr)

    def score(t_star: np.ndarray) -> float:
        logc = x + np.log10(t_star)
        cs = [np.mean(logc[s]) for s in sel]
        return float(10 ** (max(cs) - min(cs)))

    return score


def collapse_score(l2: np.ndarray, learning_rate: np.ndarray):
    """std log10(λη·t*) / std log10 t* (smaller: a better collapse)."""
    x = np.log10(np.asarray(l2, np.float64) * np.asarray(learning_rate, np.float64))

    def score(t_star: np.ndarray) -> float:
        lt = np.log10(t_star)
        s = float(np.std(lt))
        return float(np.std(lt + x)) / s if s > 0 else float("inf")

    return score


def horizon_score(num_groups: int):
    """``|log2 median t*(T)/t*(T/2)|`` for a vector holding first the G values of t*(T), then the
    G of t*(T/2) (0: the peak stays; 1: it moves with the end of the run)."""

    def score(t_star: np.ndarray) -> float:
        r = t_star[:num_groups] / t_star[num_groups:]
        return abs(float(np.log2(np.median(r))))

    return score


class NullTest(NamedTuple):
    """A claim's statistic on the real t* against its null from the same runs."""

    observed: float  # the score of the measured t* (smaller: closer to the claim)
    null: np.ndarray  # (draws,) scores with each t* drawn from its own run's evaluations
    p_value: float  # (1 + #{null ≤ observed}) / (1 + draws)

    @property
    def null_median(self) -> float:
        return float(np.median(self.null))


def null_test(
    score, t_star: np.ndarray, candidates, draws: int = NULL_DRAWS, seed: int = 0
) -> NullTest:
    """Does the relation need the measured t*, or does any t* the runs allow give it?

    ``score(t_star) -> float`` measures how far a vector of t* is from the claim (smaller is
    closer). The null replaces each t* by an evaluation step drawn uniformly from
    ``candidates[i]`` (the steps that member's own run was evaluated at, within the budget the
    claim reads), ``draws`` times; p is the fraction of draws that score at least as well
    (with the observed one counted in). A design that produces the relation whatever the
    network does — every member stopped at the same λη·t, say — gives a large p.
    """
    t_star = np.asarray(t_star, np.float64)
    if len(candidates) != len(t_star):
        raise ValueError("null_test: one candidate set per t* is needed")
    rng = np.random.default_rng(seed)
    observed = float(score(t_star))
    null = np.empty(draws)
    cands = [np.asarray(c, np.float64) for c in candidates]
    for d in range(draws):
        null[d] = score(np.array([c[rng.integers(0, c.size)] for c in cands]))
    p = (1 + int(np.sum(null <= observed))) / (1 + draws)
    return NullTest(observed, null, float(p))
