"""Every quantitative claim of the book, checked against the cached runs.

``python -m l2lib check`` prints one line per claim — ``PASS``/``FAIL``, the chapter, what was
measured and the goal — and exits 0 only when every claim passes. Goals are fixed here, in
code, before the runs they judge; a failing claim is a result to report, not to tune away.

Chapter 1 (the time scale, paper §2.1), for each setup:

- ``slope``: the least-squares slope of log t* against log λη over the fit members is within
  −1 ± ``SLOPE_TOLERANCE``;
- ``c``: t* depends on λη alone — the c = λ·η·t* of each learning rate (geometric mean over
  its members) agree within a factor ``C_AGREEMENT``;
- ``collapse``: rescaling time by λη shrinks the spread of the peaks: std of log(λη·t*) is at
  most ``COLLAPSE_RATIO`` × the std of log t*.

And for the MLP: the peaks are not an artefact of where the runs stop. Its fitted members are
trained again to twice the horizon (λη·t = 8 instead of 4), and — because that claim failed —
to λη·t = 16. If t* were set by the end of the run it would double with each doubling; the
claim is that the median ratio is closer to 1 than to 2 on a log scale (< √2).

Chapters 2, 3 and 5 on chapter 1's in-premise setups: their goals and claims live in
:mod:`l2lib.premise_ch2`, :mod:`l2lib.premise_ch3` and :mod:`l2lib.premise_ch5` (registered in
``CLAIMS`` below). The older chapter-2, -3 and -5 claims further down are checked at the paper
scale only; their CPU runs are retired (``experiments.RETIRED_CPU``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from l2lib import analysis, autol2, experiments
from l2lib import store as store_lib

SLOPE_TOLERANCE = 0.15
C_AGREEMENT = 2.0
COLLAPSE_RATIO = 1 / 3
HORIZON_RATIO = 2**0.5


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


@dataclass(frozen=True)
class TimescaleSummary:
    """What chapter 1 reports for one setup."""

    fit: analysis.TimescaleFit
    c_per_lr: dict[float, float]
    collapse: analysis.Collapse
    peaks: analysis.Peaks


def timescale_summary(res: store_lib.Results) -> TimescaleSummary:
    """t*, the fit, c per learning rate and the collapse of one chapter-1 sweep."""
    a = res.arrays
    pk = analysis.peaks(a)
    l2, lr = a["member_l2"], a["member_learning_rate"]
    mask = np.array(experiments.fit_mask(res.config, l2)) & ~pk.censored & ~pk.diverged
    fit = analysis.fit_timescale(l2, lr, pk.t_star, mask)
    c_per_lr = analysis.c_per_learning_rate(l2, lr, pk.t_star, fit.used)
    col = analysis.collapse(l2, lr, pk.t_star, fit.used)
    return TimescaleSummary(fit, c_per_lr, col, pk)


def slope_claim(label: str, fit: analysis.TimescaleFit, detail: str = "") -> Claim:
    """Chapter 1's slope claim: log t* against log λη within −1 ± SLOPE_TOLERANCE."""
    return Claim(
        "ch1",
        f"{label}: slope of log t* vs log λη",
        abs(fit.slope + 1) <= SLOPE_TOLERANCE,
        f"{fit.slope:+.3f} (95% CI {fit.slope_ci[0]:+.3f}, {fit.slope_ci[1]:+.3f}; n={fit.n})"
        + detail,
        f"-1 ± {SLOPE_TOLERANCE}",
    )


def _timescale_claims(name: str, scale: str, root) -> Iterator[Claim]:
    res = store_lib.Store(root).load(experiments.get(name, scale))
    s = timescale_summary(res)
    f = s.fit
    yield slope_claim(name, f)
    cs = list(s.c_per_lr.values())
    spread = max(cs) / min(cs) if len(cs) > 1 else float("nan")
    per = ", ".join(f"η={k:g}: {v:.3g}" for k, v in s.c_per_lr.items())
    yield Claim(
        "ch1",
        f"{name}: c = λη·t* (per η)",
        len(cs) > 1 and spread <= C_AGREEMENT,
        f"c = {f.c:.3g} (95% CI {f.c_ci[0]:.3g}, {f.c_ci[1]:.3g}); {per}; max/min {spread:.2f}",
        f"per-η c within ×{C_AGREEMENT:g}",
    )
    col = s.collapse
    yield Claim(
        "ch1",
        f"{name}: collapse in λ·η·t",
        col.ratio <= COLLAPSE_RATIO,
        f"std log10 t* {col.spread_steps:.3f} -> std log10 λη·t* {col.spread_scaled:.3f} (ratio {col.ratio:.2f})",
        f"ratio ≤ {COLLAPSE_RATIO:.2f}",
    )


def horizon_ratios(short: store_lib.Results, long: store_lib.Results) -> dict[tuple, float]:
    """t*(long horizon) / t*(short horizon) for each (λ, η) fitted in the short sweep."""
    s = timescale_summary(short)
    pk_long = analysis.peaks(long.arrays)
    where = {
        (float(l2), float(lr)): i
        for i, (l2, lr) in enumerate(
            zip(long.arrays["member_l2"], long.arrays["member_learning_rate"])
        )
    }
    out = {}
    for i, (l2, lr) in enumerate(
        zip(short.arrays["member_l2"], short.arrays["member_learning_rate"])
    ):
        j = where.get((float(l2), float(lr)))
        if s.fit.used[i] and j is not None and not pk_long.diverged[j]:
            out[(float(l2), float(lr))] = float(pk_long.t_star[j] / s.peaks.t_star[i])
    return out


#: (shorter, longer) pairs of sweeps whose fitted members' t* are compared.
HORIZON_PAIRS = {
    "timescale_mlp_long": "timescale_mlp",
    "timescale_mlp_longer": "timescale_mlp_long",
}


def setup_label(cfg) -> str:
    """The model, and the data where it is not MNIST-1D (with the training-set size where it
    is a subset): how a chapter-1 claim names its setup."""
    label = cfg.model.kind.upper()
    if cfg.data.name != "mnist1d" or cfg.data.num_train is not None:
        label += f" on {cfg.data.name}"
        if cfg.data.num_train is not None:
            label += f" ({cfg.data.num_train} train)"
    return label


def _horizon_claims(name: str, scale: str, root) -> Iterator[Claim]:
    st = store_lib.Store(root)
    short_cfg = experiments.get(HORIZON_PAIRS[name], scale)
    long_cfg = experiments.get(name, scale)
    ratios = horizon_ratios(st.load(short_cfg), st.load(long_cfg))
    med = float(np.median(list(ratios.values())))
    per = ", ".join(f"λ={k[0]:g},η={k[1]:g}: {v:.2f}" for k, v in sorted(ratios.items()))
    h0, h1 = short_cfg.duration.horizon, long_cfg.duration.horizon
    label = f"{setup_label(long_cfg)} horizon sweep"
    yield Claim(
        "ch1",
        f"{label}: t* not set by the horizon ({h0:g}→{h1:g})",
        med < HORIZON_RATIO,
        f"median t*(λητ={h1:g})/t*(λητ={h0:g}) = {med:.2f} over {len(ratios)} members ({per})",
        f"< {HORIZON_RATIO:.2f} (1: peak real; {h1 / h0:g}: set by the end of the run)",
    )


# --- chapter 1 inside the premise (l2lib.premise) -------------------------------------------
#
# Goals: the same as the horizon sweeps' (slope −1 ± SLOPE_TOLERANCE, per-η c within
# ×C_AGREEMENT, collapse ratio ≤ COLLAPSE_RATIO, median t*(T)/t*(T/2) < HORIZON_RATIO), each
# now also required to beat its null from the same runs at p < analysis.NULL_ALPHA, and only on
# (λ, η) inside the premise. Theory regime: measured t* within premise.THEORY_TOLERANCE of the
# prediction for every member whose predicted curve has an interior optimum, the slope goal with
# its null on the seed-mean test-MSE t*, and a rise of the test MSE after t* above its noise
# floor (f → 0). All fixed before the runs.


def _used(reading) -> str:
    pk = reading.peaks
    return ", ".join(
        f"λ={a:g},η={b:g}: {t:.0f}"
        for a, b, t in zip(
            pk.l2[reading.used], pk.learning_rate[reading.used], pk.t_star[reading.used]
        )
    )


def _premise_count(reading) -> str:
    pk = reading.peaks
    out = [f"λ={a:g},η={b:g}" for a, b, ok in zip(pk.l2, pk.learning_rate, pk.in_premise) if not ok]
    text = f"{int(pk.in_premise.sum())} of {len(pk.in_premise)} (λ, η) in the premise"
    return text + (f"; outside: {', '.join(out)}" if out else "")


def _with_null(ok: bool, null) -> bool:
    return bool(ok) and null is not None and null.p_value < analysis.NULL_ALPHA


def premise_claims(s, label: str) -> Iterator[Claim]:
    """The chapter-1 claims of one fixed-budget setup (a :class:`premise.PremiseSummary`)."""
    from l2lib import premise

    f, T = s.full, s.full.budget
    where = _premise_count(f)
    pk = f.peaks
    fitted = pk.in_premise.sum()
    yield Claim(
        "ch1",
        f"{label}: members fit their training set",
        bool(pk.in_premise.all()),
        f"{fitted} of {len(pk.in_premise)} (λ, η): every seed ≥ {analysis.PREMISE_ACCURACY} "
        f"full-train accuracy by t* (first step: "
        + ", ".join(
            f"λ={a:g},η={b:g}: {'never' if not np.isfinite(p) else f'{p:.0f}'}"
            for a, b, p in zip(pk.l2, pk.learning_rate, pk.premise_step)
        )
        + ")",
        "every (λ, η) of the grid in the premise",
        premise=where,
        summary=f"{fitted} of {len(pk.in_premise)} (λ, η) fitted",
    )
    lam_eta = (pk.l2 * pk.learning_rate)[f.used]
    yield Claim(
        "ch1",
        f"{label}: budget T={T} long enough",
        s.budget_ok,
        f"c = {f.c:.3g}; min λη·T over the used (λ, η) = {lam_eta.min() * T if lam_eta.size else float('nan'):.3g}",
        f"λη·T ≥ {premise.BUDGET_MULTIPLE:g}c for every used (λ, η)",
        premise=where,
        summary=f"c = {f.c:.3g}, min λη·T = {lam_eta.min() * T if lam_eta.size else float('nan'):.3g}",
    )
    if s.fit is None:
        yield Claim(
            "ch1",
            f"{label}: slope of log t* vs log λη",
            False,
            f"{int(f.used.sum())} usable (λ, η): too few for a fit",
            f"-1 ± {SLOPE_TOLERANCE}",
            premise=where,
        )
        return
    fit = s.fit
    ok = abs(fit.slope + 1) <= SLOPE_TOLERANCE
    yield Claim(
        "ch1",
        f"{label}: slope of log t* vs log λη (T={T})",
        _with_null(ok, s.slope_null),
        f"{fit.slope:+.3f} (95% CI {fit.slope_ci[0]:+.3f}, {fit.slope_ci[1]:+.3f}; n={fit.n}); "
        f"null median |slope+1| {s.slope_null.null_median:.2f}; t*: {_used(f)}",
        f"-1 ± {SLOPE_TOLERANCE} and null p < {analysis.NULL_ALPHA}",
        null_p=s.slope_null.p_value,
        premise=where,
        summary=f"slope {fit.slope:+.2f} [{fit.slope_ci[0]:+.2f}, {fit.slope_ci[1]:+.2f}]",
    )
    if s.c_null is not None:
        spread = s.c_null.observed
        per = ", ".join(f"η={k:g}: {v:.3g}" for k, v in f.c_per_lr.items())
        yield Claim(
            "ch1",
            f"{label}: c = λη·t* (per η)",
            _with_null(spread <= C_AGREEMENT, s.c_null),
            f"c = {fit.c:.3g}; {per}; max/min {spread:.2f} (null median {s.c_null.null_median:.2f})",
            f"per-η c within ×{C_AGREEMENT:g} and null p < {analysis.NULL_ALPHA}",
            null_p=s.c_null.p_value,
            premise=where,
            summary=f"per-η c within ×{spread:.2f}",
        )
    col = s.collapse
    yield Claim(
        "ch1",
        f"{label}: collapse in λ·η·t",
        _with_null(col.ratio <= COLLAPSE_RATIO, s.collapse_null),
        f"std log10 t* {col.spread_steps:.3f} -> std log10 λη·t* {col.spread_scaled:.3f} "
        f"(ratio {col.ratio:.2f}; null median {s.collapse_null.null_median:.2f})",
        f"ratio ≤ {COLLAPSE_RATIO:.2f} and null p < {analysis.NULL_ALPHA}",
        null_p=s.collapse_null.p_value,
        premise=where,
        summary=f"spread ratio {col.ratio:.2f}",
    )
    half = s.half.budget
    if s.horizon_null is None:
        yield Claim(
            "ch1",
            f"{label}: t* not set by the budget ({half}→{T})",
            False,
            "no (λ, η) usable at both budgets",
            f"< {HORIZON_RATIO:.2f}",
            premise=where,
        )
        return
    hp = s.half.peaks
    per = ", ".join(
        f"λ={a:g},η={b:g}: {t1 / t0:.2f}"
        for a, b, t0, t1 in zip(
            pk.l2[s.horizon_used],
            pk.learning_rate[s.horizon_used],
            hp.t_star[s.horizon_used],
            pk.t_star[s.horizon_used],
        )
    )
    yield Claim(
        "ch1",
        f"{label}: t* not set by the budget ({half}→{T})",
        _with_null(s.horizon_ratio < HORIZON_RATIO, s.horizon_null),
        f"median t*(T={T})/t*(T={half}) = {s.horizon_ratio:.2f} over "
        f"{int(s.horizon_used.sum())} (λ, η) ({per}); null median |log2| "
        f"{s.horizon_null.null_median:.2f}",
        f"< {HORIZON_RATIO:.2f} (1: peak real; 2: set by the end of the run) and null p < "
        f"{analysis.NULL_ALPHA}",
        null_p=s.horizon_null.p_value,
        premise=where,
        summary=f"median t*(T)/t*(T/2) = {s.horizon_ratio:.2f}",
    )


def _premise_claims(name: str, scale: str, root) -> Iterator[Claim]:
    from l2lib import premise

    res = store_lib.Store(root).load(experiments.get(name, scale))
    yield from premise_claims(premise.premise_summary(res), setup_label(res.config))


def theory_claims(s) -> Iterator[Claim]:
    """The theory-regime claims (a :class:`premise.TheorySummary`)."""
    from l2lib import premise

    tol = premise.THEORY_TOLERANCE
    where = f"none: full-train accuracy ≤ {s.max_full_train_accuracy:.2f}"
    for which, what in (("mse", "minimum test MSE"), ("acc", "maximum test accuracy")):
        err = s.errors(which)
        per = "; ".join(
            f"λ={m.l2:g},η={m.learning_rate:g},s{m.seed}: "
            + (
                f"{m.t_mse:.0f} vs {m.t_mse_pred:.0f}"
                if which == "mse"
                else f"{m.t_acc:.0f} vs {m.t_acc_pred:.0f}"
            )
            + ("" if (m.interior_mse if which == "mse" else m.interior_acc) else " (edge)")
            for m in s.members
        )
        yield Claim(
            "ch1",
            f"theory regime: t* of the {what} = prediction",
            bool(err.size) and bool(np.all(err <= tol)),
            f"max |measured/predicted − 1| = {err.max() if err.size else float('nan'):.2f} over "
            f"{err.size} members with an interior predicted optimum (measured vs predicted "
            f"steps: {per})",
            f"within {tol:.0%} for every such member, no fitted parameter",
            premise=where,
            summary=f"max |measured/predicted − 1| = {err.max() if err.size else float('nan'):.2f} "
            f"({err.size} members)",
        )
    fit, null = s.fit, s.slope_null
    ok = abs(fit.slope + 1) <= SLOPE_TOLERANCE
    yield Claim(
        "ch1",
        "theory regime: slope of log t* vs log λη",
        _with_null(ok, null),
        f"{fit.slope:+.3f} (95% CI {fit.slope_ci[0]:+.3f}, {fit.slope_ci[1]:+.3f}; n={fit.n}; "
        f"seed-mean test-MSE t*); null median |slope+1| {null.null_median:.2f}",
        f"-1 ± {SLOPE_TOLERANCE} and null p < {analysis.NULL_ALPHA}",
        null_p=null.p_value,
        premise=where,
        summary=f"slope {fit.slope:+.2f} [{fit.slope_ci[0]:+.2f}, {fit.slope_ci[1]:+.2f}]",
    )
    rises = np.array([m.rise for m in s.members])
    ok = bool(np.all(rises > premise.RISE_FLOOR_MULTIPLE * s.member_floor))
    yield Claim(
        "ch1",
        "theory regime: test MSE rises after t* (f → 0)",
        ok,
        f"rise from the minimum to the end {rises.min():.4f}–{rises.max():.4f}; noise floor "
        f"(std over seeds of the minimum) {s.floor.min():.4f}–{s.floor.max():.4f}",
        "rise > the noise floor for every member",
        premise=where,
        summary=f"rise ≥ {rises.min():.3f}, floor ≤ {s.floor.max():.4f}",
    )


def _theory_claims(name: str, scale: str, root) -> Iterator[Claim]:
    from l2lib import premise

    res, art = premise.load_theory(scale, root)
    yield from theory_claims(premise.theory_summary(res, art.arrays))


def _unmeasured_premise(claims: Iterator[Claim]) -> Iterator[Claim]:
    """Claims of runs made without the full-train record: their premise is not measured."""
    for c in claims:
        yield dataclasses.replace(c, premise="not measured (no full-train record)")


#: (chapter, experiment, claims generator) in the order the book presents them.
CLAIMS: list[tuple[str, str, Callable[[str, str, object], Iterator[Claim]]]] = [
    ("ch1", "ch1_premise_mlp", _premise_claims),
    ("ch1", "ch1_premise_fmnist", _premise_claims),
    ("ch1", "ch1_theory_ntk", _theory_claims),
    # Outside the premise (most members never fit their training set; horizon ∝ 1/(λη)): kept
    # as one section of the chapter, for what the horizon checks showed.
    ("ch1", "timescale_mlp", lambda n, s, r: _unmeasured_premise(_timescale_claims(n, s, r))),
    ("ch1", "timescale_mlp_long", lambda n, s, r: _unmeasured_premise(_horizon_claims(n, s, r))),
    ("ch1", "timescale_mlp_longer", lambda n, s, r: _unmeasured_premise(_horizon_claims(n, s, r))),
]


# --- chapter 2: performance against λ, and λ_opt(T) ≈ c/(ηT) ----------------------------------
#
# From one λ sweep at one η (experiments.OPTIMAL_L2_*), the probe that measures c at λ₀, and
# the runs at the predicted λ_opt(T) = c/(ηT), one per budget T of OPTIMAL_L2_BUDGETS:
#
# - ``λ_opt within ×2``: at every budget, the predicted λ within a factor L2_OPT_FACTOR of the
#   sweep's best λ (the best being λ = 0 counts as a miss);
# - ``accuracy within 1 point``: at every budget, the run at the predicted λ reaches a best test
#   accuracy within T no more than ACCURACY_POINTS below the sweep's best;
# - ``(a) interior maximum``: at every budget, the sweep's best λ is neither its largest λ nor
#   λ = 0, and beats both by at least NOISE_POINTS (a maximum, not a tie within noise);
# - ``(b) improves as λ falls``: with budgets ∝ 1/(λη), over the members with λ > 0, no λ is more
#   than NOISE_POINTS below the best of the larger λ, and the smallest λ beats the largest by
#   more than NOISE_POINTS;
# - ``(b) plateaus``: over the smallest decade of λ > 0 in the grid, (b) varies by at most
#   NOISE_POINTS (max − min).

#: Predicted λ_opt within this factor of the sweep's best λ.
L2_OPT_FACTOR = 2.0
#: The predicted λ's accuracy within this much (1 point) of the sweep's best.
ACCURACY_POINTS = 0.01
#: Accuracy differences below this (1 point: ~ the spread between neighbouring λ of one seed on
#: a 1000-example test set) are not taken as evidence of an ordering.
NOISE_POINTS = 0.01


@dataclass(frozen=True)
class OptimalL2Summary:
    """What chapter 2 reports: c, the fixed-budget optima, curve (b), the validation."""

    c: analysis.CMeasurement
    budgets: tuple[int, ...]
    l2: np.ndarray  # (M,) the sweep's λ
    fixed: dict[int, np.ndarray]  # budget T -> (M,) best accuracy within T
    optima: dict[int, analysis.Optimum]
    scaled: analysis.ScaledBudget
    horizon: float  # (b): budget horizon/(λη)
    validation: list[analysis.Validation]


def optimal_l2_summary(
    sweep: analysis.Arrays,
    horizon: float,
    c: analysis.CMeasurement,
    predicted: analysis.Arrays,
    budgets,
) -> OptimalL2Summary:
    """Chapter 2's numbers from the sweep's arrays (curve (b) at budget ``horizon``/(λη)), the
    probe's measurement ``c`` and the predicted runs' arrays."""
    l2 = np.asarray(sweep["member_l2"], np.float64)
    fixed = {int(T): analysis.best_within(sweep, T) for T in budgets}
    return OptimalL2Summary(
        c=c,
        budgets=tuple(int(T) for T in budgets),
        l2=l2,
        fixed=fixed,
        optima={T: analysis.optimum(l2, acc) for T, acc in fixed.items()},
        scaled=analysis.scaled_budget(sweep, horizon),
        horizon=float(horizon),
        validation=analysis.validate_prediction(sweep, predicted, c, budgets),
    )


def optimal_l2_summary_of(
    sweep: store_lib.Results, probe: store_lib.Results, predicted: store_lib.Results, budgets
) -> OptimalL2Summary:
    """:func:`optimal_l2_summary` of the three stored runs (see :func:`load_optimal_l2_summary`)."""
    c = analysis.read_c(probe.arrays, probe.config)
    horizon = sweep.config.duration.horizon
    return optimal_l2_summary(sweep.arrays, horizon, c, predicted.arrays, budgets)


def load_optimal_l2_summary(scale: str, root=None, base: str = "optimal_l2"):
    """(sweep, probe, predicted) of chapter 2 from the store at ``root`` (never trains):
    the sweep ``base``, its ``{base}_probe`` and its ``{base}_predicted`` runs.

    The predicted runs' config is made from the stored probe's c, so the probe is read first;
    a missing run is a :class:`~l2lib.store.MissingEntryError` naming the command that makes it.
    """
    st = store_lib.Store(root)
    sweep = st.load(experiments.get(base, scale))
    probe = st.load(experiments.get(f"{base}_probe", scale))
    c = analysis.read_c(probe.arrays, probe.config)
    predicted = st.load(experiments.optimal_l2_predicted(scale, c.c, base=base))
    return sweep, probe, predicted


def _fmt_acc(v: float) -> str:
    return f"{v:.3f}"


def optimal_l2_claims(s: OptimalL2Summary, label: str = "") -> Iterator[Claim]:
    """The chapter-2 claims of one summary (goals: the constants above); ``label`` prefixes
    each claim's name (the setup, where a chapter has more than one)."""
    v = s.validation
    yield Claim(
        "ch2",
        f"{label}λ_opt = c/(ηT) vs the sweep's best λ",
        all(x.l2_ratio <= L2_OPT_FACTOR for x in v),
        f"c = {s.c.c:.3g}; "
        + ", ".join(
            f"T={x.budget}: {x.predicted_l2:.3g} vs {x.best_l2:.3g} (×{x.l2_ratio:.2f})" for x in v
        ),
        f"within ×{L2_OPT_FACTOR:g} at every budget",
    )
    yield Claim(
        "ch2",
        f"{label}accuracy at λ_opt vs the sweep's best",
        all(x.accuracy_gap <= ACCURACY_POINTS for x in v),
        ", ".join(
            f"T={x.budget}: {_fmt_acc(x.predicted_accuracy)} vs {_fmt_acc(x.best_accuracy)} "
            f"(gap {100 * x.accuracy_gap:.1f} pt)"
            for x in v
        ),
        f"gap ≤ {100 * ACCURACY_POINTS:g} point at every budget",
    )
    yield Claim(
        "ch2",
        f"{label}(a) fixed budget: interior maximum",
        all(o.interior and o.margin >= NOISE_POINTS for o in s.optima.values()),
        ", ".join(
            f"T={T}: best λ={o.l2:.3g} ({'interior' if o.interior else 'at an end'}, "
            f"{100 * o.margin:+.1f} pt over the ends)"
            for T, o in s.optima.items()
        ),
        f"interior and ≥ {100 * NOISE_POINTS:g} point above λ_max and λ = 0 at every budget",
    )
    yield from scaled_budget_claims(s.l2, s.scaled, s.horizon, label)


def scaled_budget_claims(
    l2: np.ndarray, scaled: analysis.ScaledBudget, horizon: float, label: str = ""
) -> Iterator[Claim]:
    """The two claims of curve (b), budget ``horizon``/(λη): it improves as λ falls, and it
    plateaus over the smallest decade of λ > 0 (goals: NOISE_POINTS)."""
    pos = (l2 > 0) & ~scaled.capped & np.isfinite(scaled.accuracy)
    order = np.argsort(-l2[pos], kind="stable")
    lam, acc = l2[pos][order], scaled.accuracy[pos][order]
    drops = np.maximum.accumulate(acc) - acc
    worst = int(np.argmax(drops))
    gain = float(acc[-1] - acc[0])
    yield Claim(
        "ch2",
        f"{label}(b) budget {horizon:g}/(λη): improves as λ falls",
        bool(drops.max() <= NOISE_POINTS and gain > NOISE_POINTS),
        f"λ={lam[0]:.3g}→{lam[-1]:.3g}: {_fmt_acc(acc[0])}→{_fmt_acc(acc[-1])} "
        f"({100 * gain:+.1f} pt); largest drop below a larger λ's best "
        f"{100 * drops.max():.1f} pt (λ={lam[worst]:.3g})",
        f"no drop > {100 * NOISE_POINTS:g} pt, net gain > {100 * NOISE_POINTS:g} pt",
    )
    low = lam <= 10 * lam[-1] * (1 + 1e-9)
    spread = float(acc[low].max() - acc[low].min())
    zero = scaled.accuracy[l2 == 0]
    zero_txt = f"; λ=0 (whole run) {_fmt_acc(float(zero[0]))}" if zero.size else ""
    yield Claim(
        "ch2",
        f"{label}(b) budget {horizon:g}/(λη): plateau at small λ",
        spread <= NOISE_POINTS,
        f"λ in [{lam[-1]:.3g}, {lam[low][0]:.3g}]: "
        + " ".join(_fmt_acc(x) for x in acc[low])
        + f" (spread {100 * spread:.1f} pt){zero_txt}",
        f"spread ≤ {100 * NOISE_POINTS:g} pt over the smallest decade of λ > 0",
    )


#: Chapter 2's sweeps: the MNIST-1D one, then the same on Fashion-MNIST (all 60 000 training
#: images, and the first 4000). Claims of a sweep not on MNIST-1D are prefixed with its setup.
OPTIMAL_L2_SWEEPS = ("optimal_l2", "optimal_l2_fmnist", "optimal_l2_fmnist4k")


def _optimal_l2_claims(name: str, scale: str, root) -> Iterator[Claim]:
    sweep, probe, predicted = load_optimal_l2_summary(scale, root, name)
    budgets = experiments.OPTIMAL_L2_BUDGETS[scale]
    summary = optimal_l2_summary_of(sweep, probe, predicted, budgets)
    data = sweep.config.data.name
    yield from optimal_l2_claims(
        summary, "" if data == "mnist1d" else f"{setup_label(sweep.config)}: "
    )


CLAIMS += [("ch2", name, _optimal_l2_claims) for name in OPTIMAL_L2_SWEEPS]


def _optimal_l2_long_claims(name: str, scale: str, root) -> Iterator[Claim]:
    # Curve (b) again at the paper's budget (experiments.OPTIMAL_L2_LONG_HORIZON), same goals.
    res = store_lib.Store(root).load(experiments.get(name, scale))
    horizon = res.config.duration.horizon
    l2 = np.asarray(res.arrays["member_l2"], np.float64)
    yield from scaled_budget_claims(l2, analysis.scaled_budget(res.arrays, horizon), horizon)


CLAIMS += [("ch2", "optimal_l2_long", _optimal_l2_long_claims)]


def _chapter_claims(module: str):
    """A ``CLAIMS`` generator that defers to ``l2lib.<module>.check_claims`` (chapters 2, 3 and
    5 on chapter 1's in-premise setups; imported when run, as those modules import this one)."""

    def gen(name: str, scale: str, root) -> Iterator[Claim]:
        import importlib

        yield from importlib.import_module(f"l2lib.{module}").check_claims(name, scale, root)

    return gen


CLAIMS += [
    ("ch2", f"ch2_{setup}_small", _chapter_claims("premise_ch2"))
    for setup in experiments.INPREMISE_SETUPS
] + [
    ("ch3", f"ch3_{setup}_autol2", _chapter_claims("premise_ch3"))
    for setup in experiments.INPREMISE_SETUPS
]
CLAIMS += [
    ("ch5", f"ch5_{experiments.CH5_SETUP}_momentum", _chapter_claims("premise_ch5")),
]


# --- chapter 3: AutoL2 against constant λ -----------------------------------------------------
#
# For each setup (a pair of sweeps: experiments.autol2_pair), on the test-accuracy curves
# averaged over seeds: the reference is a constant λ of the grid — the best one (largest
# maximum of its mean curve, first in grid order on ties) or the small one (the smallest
# non-zero λ of the grid: 1e-4 at scale cpu, the paper's Fig. 1c constant) — and the target is the reference's maximum less AUTOL2_TOLERANCE. The claim: AutoL2's mean curve
# reaches the target, at an evaluation step no later than the first one at which the
# reference's own mean curve reaches it (the same target for both, the same evaluation grid).

#: "Within 0.5 point" of accuracy.
AUTOL2_TOLERANCE = 0.005


@dataclass(frozen=True)
class AutoL2Summary:
    """What chapter 3 reports for one setup (all accuracies are means over seeds)."""

    eval_step: np.ndarray  # (E,)
    const_l2: np.ndarray  # (K,) the constant λ of the grid, in grid order
    const_curves: np.ndarray  # (K, E)
    const_best: np.ndarray  # (K,) maximum of each mean curve
    auto_curve: np.ndarray  # (E,)
    auto_best: float
    best_index: int  # into const_l2: the best constant
    decays: list[list[int]]  # per AutoL2 seed: the steps from which a new λ was in force
    seeds: np.ndarray  # the AutoL2 members' seeds
    l2_init: float  # λ₀ of the AutoL2 members
    earliest: list[int]  # the decays if no measurement ever improved (autol2.earliest_decays)

    @property
    def best_l2(self) -> float:
        return float(self.const_l2[self.best_index])

    def target(self, k: int) -> float:
        return float(self.const_best[k]) - AUTOL2_TOLERANCE

    def steps_to(self, target: float) -> tuple[np.ndarray, float]:
        """(steps of each constant, steps of AutoL2) to first reach ``target`` (NaN: never)."""
        s = self.eval_step
        const = np.array([analysis.first_step_reaching(c, s, target) for c in self.const_curves])
        return const, analysis.first_step_reaching(self.auto_curve, s, target)


def autol2_summary(auto: store_lib.Results, const: store_lib.Results) -> AutoL2Summary:
    """Chapter 3's numbers from an AutoL2 sweep and the constant-λ sweep it is compared with."""
    a, c = auto.arrays, const.arrays
    if not np.array_equal(a["eval_step"], c["eval_step"]):
        raise ValueError("autol2_summary: the two sweeps are not evaluated at the same steps")
    const_l2, const_curves = analysis.mean_over_seeds(c)
    _, auto_curves = analysis.mean_over_seeds(a)
    if len(auto_curves) != 1:
        raise ValueError("autol2_summary: the AutoL2 sweep must have one (λ₀, η)")
    const_best = np.array([np.max(x) if np.isfinite(x).all() else np.nan for x in const_curves])
    auto_curve = auto_curves[0]
    l2_init = float(a["member_l2"][0])
    lr = float(a["member_learning_rate"][0])
    num_steps = int(np.max(a["num_steps"]))
    return AutoL2Summary(
        eval_step=np.asarray(a["eval_step"]),
        const_l2=const_l2,
        const_curves=const_curves,
        const_best=const_best,
        auto_curve=auto_curve,
        auto_best=float(np.max(auto_curve)) if np.isfinite(auto_curve).all() else float("nan"),
        best_index=int(np.nanargmax(const_best)),
        decays=[analysis.decay_steps(x, a["eval_step"]) for x in a["l2"]],
        seeds=np.asarray(a["member_seed"]),
        l2_init=l2_init,
        earliest=autol2.earliest_decays(l2_init, num_steps, auto.config.autol2, lr),
    )


def _autol2_claims(name: str, scale: str, root) -> Iterator[Claim]:
    st = store_lib.Store(root)
    auto_name, const_name = experiments.autol2_pair(name)
    auto = st.load(experiments.get(auto_name, scale))
    s = autol2_summary(auto, st.load(experiments.get(const_name, scale)))
    setup = auto_name.removeprefix("autol2_").upper()
    if auto.config.data.name != "mnist1d":
        setup = setup_label(auto.config)
    refs = [("best constant", s.best_index)]
    nonzero = np.flatnonzero(s.const_l2 > 0)
    if nonzero.size:
        refs.append(("small constant", int(nonzero[np.argmin(s.const_l2[nonzero])])))
    for label, k in refs:
        target = s.target(k)
        const_steps, auto_steps = s.steps_to(target)
        ref_steps = const_steps[k]
        passed = bool(np.isfinite(auto_steps) and auto_steps <= ref_steps)
        auto_txt = f"step {auto_steps:.0f}" if np.isfinite(auto_steps) else "never"
        yield Claim(
            "ch3",
            f"{setup}: AutoL2 vs {label} λ={s.const_l2[k]:g}",
            passed,
            f"target {target:.4f} (λ={s.const_l2[k]:g} max {s.const_best[k]:.4f} − "
            f"{AUTOL2_TOLERANCE:g}): AutoL2 {auto_txt} (max {s.auto_best:.4f}), "
            f"λ={s.const_l2[k]:g} step {ref_steps:.0f}",
            "AutoL2 reaches the target, in ≤ the constant's steps",
        )


CLAIMS += [
    ("ch3", "autol2_mlp", _autol2_claims),
    ("ch3", "autol2_cnn", _autol2_claims),
    ("ch3", "autol2_mlp_timescale", _autol2_claims),
    ("ch3", "autol2_fmnist", _autol2_claims),
    ("ch3", "autol2_fmnist4k", _autol2_claims),
]


# --- chapter 4: infinite width against finite networks ---------------------------------------

#: The widest network's fitted kernel decay rate within this fraction of 2(k − 1)λ.
KERNEL_RATE_TOLERANCE = 0.05
#: The regularised Hessian's smallest eigenvalue within this fraction of λ.
HESSIAN_TOLERANCE = 0.10


def _width_claims(name: str, scale: str, root) -> Iterator[Claim]:
    from l2lib import widthexp

    cfg, art = widthexp.load(name, scale, root=root, compute=False)
    s = widthexp.width_summary(art.arrays, cfg)
    per = ", ".join(
        f"W={int(w)}: {r:.4f} ({e:.1%})"
        for w, r, e in zip(s.widths, s.rate, s.rate_error, strict=True)
    )
    yield Claim(
        "ch4",
        "kernel decay rate, widest net",
        bool(s.rate_error[-1] <= KERNEL_RATE_TOLERANCE),
        f"rate {s.rate[-1]:.4f} vs 2(k−1)λ = {s.theory_rate:.4f} ({s.rate_error[-1]:.1%}); {per}",
        f"within {KERNEL_RATE_TOLERANCE:.0%}",
    )
    yield Claim(
        "ch4",
        "kernel-rate error falls with width",
        bool(np.all(np.diff(s.rate_error) < 0)),
        "errors " + " > ".join(f"{e:.1%}" for e in s.rate_error),
        "strictly decreasing in width",
    )


def _hessian_claims(name: str, scale: str, root) -> Iterator[Claim]:
    from l2lib import widthexp

    _, art = widthexp.load(name, scale, root=root, compute=False)
    for l2, small in zip(art["l2"], art["smallest"], strict=True):
        ratio = float(small[0] / l2)
        yield Claim(
            "ch4",
            f"Hessian: smallest eig ≈ λ (λ={l2:g})",
            abs(ratio - 1) <= HESSIAN_TOLERANCE,
            f"smallest {small[0]:.4g}, ratio to λ {ratio:.3f} (train loss "
            f"{float(art['train_loss']):.2e})",
            f"ratio 1 ± {HESSIAN_TOLERANCE:g}",
        )


CLAIMS += [
    ("ch4", "width_ntk", _width_claims),
    ("ch4", "hessian_min_eig", _hessian_claims),
]


def run(scale: str = "cpu", root=None, chapter: str | None = None) -> list[Claim]:
    """Every claim at ``scale`` (of one ``chapter`` only, if given); a missing or unreadable
    run is a failed claim naming the fix."""
    out: list[Claim] = []
    only = chapter
    for chapter, name, gen in CLAIMS:
        if only is not None and chapter != only:
            continue
        if name in experiments.names() and scale not in experiments.scales(name):
            continue  # a setup of another scale only (e.g. the CPU-scale horizon checks)
        if experiments.retired(name, scale):
            continue  # outside the premise, retired at this scale (experiments.RETIRED_CPU)
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


# --- chapter 5: schedules, momentum, batch norm -----------------------------------------------
#
# Goals fixed before the runs. Schedules (fixed budget, decays at the same steps for every
# member): the integrated clock λ∫η dt is "the right clock" if the peaks' spread in it is
# smaller than in the naive λη₀t; and the relation survives the schedule if that spread is at
# most chapter 1's COLLAPSE_RATIO × the spread of log t*. Momentum: t* ≈ c/(λη/(1 − μ)) with
# the c of μ = 0 (chapter 1's MLP) within C_AGREEMENT, and chapter 1's slope goal in η/(1 − μ).
# Batch norm: chapter 1's slope and per-η c goals; the equilibrium norm of each hidden layer
# within BN_EQUILIBRIUM_TOLERANCE of (η⟨‖g̃‖²⟩/(λ(2 − ηλ)))^¼.

BN_EQUILIBRIUM_TOLERANCE = 0.10


def _as_chapter(claims: Iterator[Claim], chapter: str) -> Iterator[Claim]:
    import dataclasses

    for c in claims:
        yield dataclasses.replace(c, chapter=chapter)


def schedule_summary(res: store_lib.Results) -> analysis.ClockCollapse:
    """The clock collapse of one chapter-5 schedule sweep (every member with a usable peak)."""
    return analysis.clock_collapse(res.arrays, res.config)


def _schedule_claims(name: str, scale: str, root) -> Iterator[Claim]:
    res = experiments.schedule_results(name.removeprefix("schedule_"), scale, root)
    s = schedule_summary(res)
    pk = analysis.peaks(res.arrays)
    cfg = res.config
    n_all = len(pk.t_star)
    used = s.used
    total = cfg.duration.num_steps
    if cfg.optimizer.schedule == "step":
        first = min(cfg.optimizer.step_boundaries) * total
        late = int(np.sum(pk.t_star[used] > first))
        where = f"{late} of {int(used.sum())} peak after the first decay (step {first:.0f})"
    elif cfg.optimizer.schedule == "cosine":
        where = "clocks differ from the first step"
    else:
        where = "one clock (constant η)"
    spreads = (
        f"std log10 t* {s.spread_steps:.3f}; λη₀t* {s.spread_naive:.3f}; "
        f"λ∫η·t* {s.spread_integrated:.3f}"
    )
    info = f"n={int(used.sum())} of {n_all} ({n_all - int(used.sum())} censored); {where}"
    if cfg.optimizer.schedule != "constant":
        yield Claim(
            "ch5",
            f"{name}: integrated vs naive clock",
            bool(s.spread_integrated < s.spread_naive),
            f"{spreads} (ratio integrated/naive {s.ratio:.2f}); {info}",
            "integrated spread < naive spread",
        )
    ratio = s.spread_integrated / s.spread_steps if s.spread_steps > 0 else float("nan")
    yield Claim(
        "ch5",
        f"{name}: collapse in λ∫η dt",
        bool(ratio <= COLLAPSE_RATIO),
        f"std log10 t* {s.spread_steps:.3f} -> std log10 λ∫η·t* {s.spread_integrated:.3f} "
        f"(ratio {ratio:.2f}); {info}",
        f"ratio ≤ {COLLAPSE_RATIO:.2f}",
    )


def momentum_c(res: store_lib.Results) -> tuple[TimescaleSummary, float, float]:
    """(summary, μ, c in effective units λ·η/(1 − μ)·t*) of a timescale sweep with momentum."""
    s = timescale_summary(res)
    mu = res.config.optimizer.momentum
    return s, mu, s.fit.c / (1.0 - mu)


def _momentum_claims(name: str, scale: str, root) -> Iterator[Claim]:
    st = store_lib.Store(root)
    res = st.load(experiments.get(name, scale))
    ref = timescale_summary(st.load(experiments.get("timescale_mlp", scale)))
    s, mu, c_eff = momentum_c(res)
    slope = s.fit.slope  # invariant under the constant factor 1/(1 − μ)
    yield Claim(
        "ch5",
        f"{name}: slope in λη/(1−μ)",
        abs(slope + 1) <= SLOPE_TOLERANCE,
        f"{slope:+.3f} (95% CI {s.fit.slope_ci[0]:+.3f}, {s.fit.slope_ci[1]:+.3f}; n={s.fit.n})",
        f"-1 ± {SLOPE_TOLERANCE}",
    )
    r = c_eff / ref.fit.c
    yield Claim(
        "ch5",
        f"{name}: c(μ={mu:g}) vs c(μ=0)",
        max(r, 1 / r) <= C_AGREEMENT,
        f"c = λη/(1−μ)·t* = {c_eff:.3g} (95% CI {s.fit.c_ci[0] / (1 - mu):.3g}, "
        f"{s.fit.c_ci[1] / (1 - mu):.3g}) vs μ=0: {ref.fit.c:.3g}; ratio {r:.2f}",
        f"within ×{C_AGREEMENT:g}",
    )


def _bn_timescale_claims(name: str, scale: str, root) -> Iterator[Claim]:
    st = store_lib.Store(root)
    ref = timescale_summary(st.load(experiments.get("timescale_mlp", scale)))
    for c in _as_chapter(_timescale_claims(name, scale, root), "ch5"):
        if "c = λη·t*" in c.name:
            s = timescale_summary(st.load(experiments.get(name, scale)))
            c = Claim(
                c.chapter,
                c.name,
                c.passed,
                c.measured + f"; without BN c = {ref.fit.c:.3g} (ratio {s.fit.c / ref.fit.c:.2f})",
                c.goal,
            )
        yield c


def _bn_equilibrium_claims(name: str, scale: str, root) -> Iterator[Claim]:
    from l2lib import bnexp, widthexp

    cfg, art = widthexp.load(name, scale, root=root, compute=False)
    e = bnexp.equilibrium(art.arrays, cfg)
    bn = e.ratio[1]
    worst = float(np.max(np.abs(bn - 1)))
    per = ", ".join(
        f"λ={lam:g},η={eta:g}: " + "/".join(f"{v:.3f}" for v in bn[i])
        for i, (lam, eta) in enumerate(cfg.pairs)
    )
    yield Claim(
        "ch5",
        "BN: equilibrium ‖W‖ vs (η‖g̃‖²/2λ)^¼",
        worst <= BN_EQUILIBRIUM_TOLERANCE,
        f"measured/predicted per layer {per}; worst |ratio−1| {worst:.3f}; |cos(g,W)| "
        f"{float(e.abs_cos[1].max()):.1e} (BN) vs {float(e.abs_cos[0].mean()):.2f} (no BN); "
        f"same formula without BN: ratios {float(e.ratio[0].min()):.2f}–{float(e.ratio[0].max()):.2f}",
        f"within {BN_EQUILIBRIUM_TOLERANCE:.0%}, every layer and (λ, η)",
    )


CLAIMS += [
    ("ch5", "schedule_step", _schedule_claims),
    ("ch5", "schedule_cosine", _schedule_claims),
    ("ch5", "schedule_constant", _schedule_claims),
    ("ch5", "timescale_mlp_momentum", _momentum_claims),
    ("ch5", "timescale_mlp_bn", _bn_timescale_claims),
    # Not a t* claim, on the older MNIST-1D setup without the full-train record: kept as it was.
    ("ch5", "bn_equilibrium", lambda n, s, r: _unmeasured_premise(_bn_equilibrium_claims(n, s, r))),
    # AutoL2 under the step schedule: chapter 3's claims and goal, both arms on the schedule.
    ("ch5", "autol2_mlp_step", lambda n, s, r: _as_chapter(_autol2_claims(n, s, r), "ch5")),
]


# --- chapter 5 (5): λ_opt(T) under a schedule -------------------------------------------------
#
# Chapter 2's prediction made from its constant-η probe and used under the step and cosine
# schedules (experiments.SCHEDULE_L2OPT_*): at each budget T, the sweep's best λ against the
# naive c/(η₀T) and the integrated c/∫₀ᵀη dt. Goals, fixed before the runs: chapter 2's for the
# integrated prediction — within ×L2_OPT_FACTOR of the best λ (a best λ = 0 is a miss) and at
# most ACCURACY_POINTS below the best accuracy, at every budget; and the integrated prediction
# is the better of the two: its geometric-mean factor from the best λ over the budgets is
# smaller than the naive one's (over the budgets where the best λ is not 0).


@dataclass(frozen=True)
class ScheduleL2OptSummary:
    """λ_opt(T) under one schedule: each budget's λ curve and the two predictions."""

    schedule: str
    c: analysis.CMeasurement
    l2: np.ndarray  # (M,) the sweep's λ (the same grid at every budget)
    accuracy: dict[int, np.ndarray]  # budget T -> (M,) best test accuracy within T
    validation: list[analysis.ScheduleValidation]

    def mean_factor_from_best(self, clock: str) -> float:
        """Geometric mean over the budgets of the ``clock`` (``naive``/``integrated``)
        prediction's factor from the best λ (budgets whose best λ is 0 left out; NaN if none)."""
        r = np.array([getattr(v, f"{clock}_ratio") for v in self.validation], np.float64)
        r = r[np.isfinite(r)]
        return float(np.exp(np.mean(np.log(r)))) if r.size else float("nan")


def schedule_l2opt_summary(
    schedule: str,
    sweeps: dict[int, analysis.Arrays],
    predicted: dict[int, analysis.Arrays],
    c: analysis.CMeasurement,
    integrals: dict[int, float],
) -> ScheduleL2OptSummary:
    """The summary from arrays: per budget T, the λ sweep under the schedule (``sweeps[T]``),
    the runs at both predicted λ (``predicted[T]``) and the schedule's ∫₀ᵀη dt; c (and η₀)
    from the constant-η probe's measurement."""
    budgets = sorted(sweeps)
    l2 = np.asarray(sweeps[budgets[0]]["member_l2"], np.float64)
    return ScheduleL2OptSummary(
        schedule=schedule,
        c=c,
        l2=l2,
        accuracy={T: analysis.best_within(sweeps[T], T) for T in budgets},
        validation=[
            analysis.validate_schedule_prediction(
                sweeps[T], predicted[T], c.c, c.learning_rate, T, integrals[T]
            )
            for T in budgets
        ],
    )


def load_schedule_l2opt_summary(kind: str, scale: str, root=None, load=None) -> ScheduleL2OptSummary:
    """The summary of schedule ``kind`` from the store (never trains; ``load(cfg)``, default
    ``Store(root).load``, may train instead). ``kind="constant"`` is the control: chapter 2's
    sweep and predicted runs read at the same budgets (both predictions are then c/(ηT))."""
    from l2lib import train

    load = load or store_lib.Store(root).load
    probe = load(experiments.get("optimal_l2_probe", scale))
    c = analysis.read_c(probe.arrays, probe.config)
    budgets = experiments.SCHEDULE_L2OPT_BUDGETS[scale]
    sweeps, predicted, integrals = {}, {}, {}
    if kind == "constant":
        sweep = load(experiments.get("optimal_l2", scale))
        pred = load(experiments.optimal_l2_predicted(scale, c.c))
        sweeps = {T: sweep.arrays for T in budgets}
        predicted = {T: pred.arrays for T in budgets}
        # η₀T exactly, so that both predictions are chapter 2's c/(ηT) to the last digit.
        integrals = {T: c.learning_rate * T for T in budgets}
    else:
        for T in budgets:
            res = load(experiments.get(experiments.schedule_l2opt_name(kind, T), scale))
            sweeps[T] = res.arrays
            predicted[T] = load(experiments.schedule_l2opt_predicted(kind, scale, T, c.c)).arrays
            integrals[T] = train.integrated_lr(res.config, c.learning_rate, T)
    return schedule_l2opt_summary(kind, sweeps, predicted, c, integrals)


def schedule_l2opt_claims(s: ScheduleL2OptSummary) -> Iterator[Claim]:
    """The three claims of one schedule (goals: chapter 2's constants, see above)."""
    v, k = s.validation, s.schedule
    yield Claim(
        "ch5",
        f"λ_opt under {k}: c/∫η vs the sweep's best λ",
        all(x.integrated_ratio <= L2_OPT_FACTOR for x in v),
        f"c = {s.c.c:.3g}; "
        + "; ".join(
            f"T={x.budget}: best {x.best_l2:.3g}, c/∫η {x.integrated_l2:.3g} "
            f"(×{x.integrated_ratio:.2f}), c/(η₀T) {x.naive_l2:.3g} (×{x.naive_ratio:.2f})"
            for x in v
        ),
        f"c/∫η within ×{L2_OPT_FACTOR:g} at every budget",
    )
    yield Claim(
        "ch5",
        f"λ_opt under {k}: accuracy at c/∫η vs the best",
        all(x.integrated_gap <= ACCURACY_POINTS for x in v),
        "; ".join(
            f"T={x.budget}: best {_fmt_acc(x.best_accuracy)}, c/∫η "
            f"{_fmt_acc(x.integrated_accuracy)} (gap {100 * x.integrated_gap:.1f} pt), c/(η₀T) "
            f"{_fmt_acc(x.naive_accuracy)} (gap {100 * x.naive_gap:.1f} pt)"
            for x in v
        ),
        f"c/∫η gap ≤ {100 * ACCURACY_POINTS:g} point at every budget",
    )
    fi, fn = s.mean_factor_from_best("integrated"), s.mean_factor_from_best("naive")
    gi = float(np.mean([x.integrated_gap for x in v]))
    gn = float(np.mean([x.naive_gap for x in v]))
    if fi < fn:
        verdict = f"integrated closer, by ×{fn / fi:.2f}"
    elif fn < fi:
        verdict = f"naive closer, by ×{fi / fn:.2f}"
    else:
        verdict = "neither closer"
    yield Claim(
        "ch5",
        f"λ_opt under {k}: integrated vs naive clock",
        bool(fi < fn),
        f"factor from the best λ (geometric mean over T): c/∫η ×{fi:.2f}, c/(η₀T) ×{fn:.2f} "
        f"({verdict}); mean accuracy gap {100 * gi:.1f} pt vs {100 * gn:.1f} pt",
        "c/∫η closer to the best λ than c/(η₀T)",
    )


def _schedule_l2opt_claims(name: str, scale: str, root) -> Iterator[Claim]:
    yield from schedule_l2opt_claims(
        load_schedule_l2opt_summary(name.removeprefix("optimal_l2_"), scale, root)
    )


CLAIMS += [
    ("ch5", f"optimal_l2_{k}", _schedule_l2opt_claims) for k in experiments.SCHEDULE_L2OPT_KINDS
]


# --- the claim map: the paper's claims, and what the book's checks say of each -------------------


@dataclass(frozen=True)
class PaperClaim:
    """One claim of the paper and the checks of the book that test it (``select``: a predicate
    on a :class:`Claim`). Its status comes from those checks alone, at build time."""

    text: str
    doc: str  # the chapter's page (docname under book/)
    select: Callable[[Claim], bool]


def _in_premise(c: Claim) -> bool:
    return bool(c.premise) and not c.premise.startswith("not measured") and "theory" not in c.name


def _matching(chapter: str, *words: str, in_premise: bool = False, prefix: str = ""):
    """A :class:`PaperClaim` selector: the checks of ``chapter`` whose name holds every word
    (and starts with ``prefix``), only those inside the premise with ``in_premise``."""

    def select(c: Claim) -> bool:
        return (
            c.chapter == chapter
            and c.name.startswith(prefix)
            and all(w in c.name for w in words)
            and (not in_premise or _in_premise(c))
        )

    return select


_CH1, _CH2, _CH3, _CH4, _CH5 = (
    "ch1_timescale",
    "ch2_budget",
    "ch3_autol2",
    "ch4_infinite_width",
    "ch5_beyond",
)
PAPER_CLAIMS: list[PaperClaim] = [
    PaperClaim(
        "t* ≈ c/(λη): slope −1, inside the premise, at a fixed budget, against its null",
        _CH1,
        _matching("ch1", "slope", in_premise=True),
    ),
    PaperClaim(
        "one c for every η: t* depends on λη alone",
        _CH1,
        _matching("ch1", "per η", in_premise=True),
    ),
    PaperClaim("curves collapse against λη·t", _CH1, _matching("ch1", "collapse", in_premise=True)),
    PaperClaim(
        "t* is a peak, not where the run stops",
        _CH1,
        _matching("ch1", "not set by", in_premise=True),
    ),
    PaperClaim(
        "infinite width: t* from the gradient flow with L2, then f → 0",
        _CH1,
        _matching("ch1", prefix="theory regime"),
    ),
    PaperClaim(
        "infinite width: the kernel decays as e^(−2(k−1)λt)", _CH4, _matching("ch4", "kernel")
    ),
    PaperClaim(
        "fixed budget: accuracy against λ has an interior optimum", _CH2, _matching("ch2", "(a)")
    ),
    PaperClaim(
        "budget ∝ 1/λ: accuracy improves as λ falls, then plateaus", _CH2, _matching("ch2", "(b)")
    ),
    PaperClaim("λ_opt ≈ c/(ηT) from one cheap run at a large λ₀", _CH2, _matching("ch2", "λ_opt")),
    PaperClaim(
        "AutoL2 reaches the best constant λ's accuracy, in fewer steps",
        _CH3,
        _matching("ch3", "AutoL2 vs"),
    ),
    PaperClaim(
        "the regularized Hessian's smallest eigenvalue is ≈ λ", _CH4, _matching("ch4", "Hessian")
    ),
    PaperClaim("schedules, momentum, batch norm (what reviewers asked)", _CH5, _matching("ch5")),
]


class MapRow(NamedTuple):
    claim: PaperClaim
    status: str  # reproduced / partly / not reproduced / untested
    passed: int
    total: int
    headline: str  # the first matching check's headline measurement


def claim_map(claims: list[Claim]) -> list[MapRow]:
    """Every paper claim with the status its checks give: ``reproduced`` (all pass), ``partly``
    (some), ``not reproduced`` (none), ``untested`` (no check ran: e.g. no run at this scale)."""
    rows = []
    for pc in PAPER_CLAIMS:
        mine = [c for c in claims if pc.select(c)]
        ran = [c for c in mine if not c.name.endswith(": run available")]
        passed = sum(c.passed for c in ran)
        if not ran:
            status = "untested"
        elif passed == len(ran):
            status = "reproduced"
        elif passed:
            status = "partly"
        else:
            status = "not reproduced"
        head = ""
        if ran:
            first = next((c for c in ran if c.passed), ran[0]) if status == "partly" else ran[0]
            setup = first.name.partition(": ")[0]
            head = f"{setup}: {first.summary or first.measured[:90]}"
        rows.append(MapRow(pc, status, passed, len(ran), head))
    return rows
