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


# --- performance within a budget ---------------------------------------------------------------


class Performance(NamedTuple):
    """Per distinct λ of a one-η sweep (descending λ): the best test accuracy within a budget."""

    l2: np.ndarray  # (G,)
    budget: np.ndarray  # (G,) steps read (per λ: a fixed T, or the scaled budget)
    seed_accuracy: np.ndarray  # (G, S) each seed's best accuracy within the budget
    accuracy: np.ndarray  # (G,) seed mean
    se: np.ndarray  # (G,) std over seeds / √S
    fitted: np.ndarray  # (G,) bool: every seed fitted its training set by the budget
    usable: np.ndarray  # (G,) bool: fitted, and trained the whole budget (or λ = 0)
    best: int  # index of the best usable λ
    near: np.ndarray  # (G,) bool: usable and within the seed noise of the best

    def noise(self, i: int, j: int) -> float:
        """The seed noise of the difference between λ_i and λ_j: NEAR_BEST_SE·√(se_i² + se_j²)."""
        return float(NEAR_BEST_SE * np.hypot(self.se[i], self.se[j]))

    @property
    def near_range(self) -> tuple[float, float]:
        """(smallest, largest) λ of the near-best set (0 when λ = 0 is in it)."""
        v = self.l2[self.near]
        return float(v.min()), float(v.max())


def _fitted_by(arrays, idx, budget: float) -> bool:
    fta = arrays.get("full_train_accuracy")
    if fta is None:
        return False
    steps = np.asarray(arrays["eval_step"], np.float64)
    f = np.asarray(fta, np.float64)[idx][:, steps <= budget]
    return bool(
        np.all(np.nanmax(np.where(np.isfinite(f), f, -1), axis=1) >= analysis.PREMISE_ACCURACY)
    )


def performance(arrays, budget) -> Performance:
    """:class:`Performance` of a one-η sweep within ``budget`` steps — one T for every λ, or a
    mapping λ → steps (a λ missing from it, or a budget longer than its run, is not usable)."""
    l2 = np.asarray(arrays["member_l2"], np.float64)
    levels = np.array(sorted(set(l2.tolist()), reverse=True))
    trained = np.asarray(arrays["num_steps"], np.float64)
    per = budget if isinstance(budget, dict) else {float(v): float(budget) for v in levels}
    g = len(levels)
    idx = [np.flatnonzero(l2 == v) for v in levels]
    s_max = max(len(i) for i in idx)
    seed_acc = np.full((g, s_max), np.nan)
    b = np.array([per.get(float(v), np.nan) for v in levels])
    fitted, whole = np.zeros(g, bool), np.zeros(g, bool)
    for k, i in enumerate(idx):
        if not np.isfinite(b[k]):
            continue
        seed_acc[k, : len(i)] = analysis.best_within(arrays, np.full(len(l2), b[k]))[i]
        whole[k] = bool(np.all(trained[i] >= b[k]))
        fitted[k] = _fitted_by(arrays, i, b[k])
    n = np.sum(np.isfinite(seed_acc), axis=1)
    acc, se = np.full(g, np.nan), np.full(g, np.nan)
    for k in np.flatnonzero(n):
        acc[k] = np.nanmean(seed_acc[k])
        se[k] = np.nanstd(seed_acc[k], ddof=1) / np.sqrt(n[k]) if n[k] > 1 else 0.0
    usable = fitted & whole & np.isfinite(acc)
    if not usable.any():
        raise ValueError("performance: no λ of the sweep is usable at this budget")
    best = int(np.flatnonzero(usable)[np.argmax(acc[usable])])
    near = np.zeros(g, bool)
    for k in np.flatnonzero(usable):
        near[k] = acc[best] - acc[k] <= NEAR_BEST_SE * np.hypot(se[best], se[k])
    return Performance(levels, b, seed_acc, acc, se, fitted, usable, best, near)


def scaled_budgets(arrays) -> dict[float, float]:
    """Budget ∝ 1/λ: CH2_SCALED_HORIZON/(λη) steps, rounded up to the evaluation grid, for every
    λ > 0 (λ = 0 has no such budget)."""
    l2 = np.asarray(arrays["member_l2"], np.float64)
    every = float(np.asarray(arrays["eval_step"])[0])
    eta = experiments.INPREMISE_LR
    return {
        float(v): float(np.ceil(experiments.CH2_SCALED_HORIZON / (v * eta) / every) * every)
        for v in sorted(set(l2.tolist()))
        if v > 0
    }


# --- the prediction against the sweep ----------------------------------------------------------


class Validation(NamedTuple):
    """At one budget T: λ_opt(T) = c/(ηT) against the sweep."""

    budget: int
    perf: Performance
    predicted_l2: float
    predicted_low: float  # from c / 10^σ
    predicted_high: float  # from c · 10^σ
    predicted_accuracy: float  # seed mean of the run at λ_opt(T), best within T
    predicted_se: float
    predicted_fitted: bool
    best_l2: float
    best_accuracy: float
    ratio: float  # max(pred/best, best/pred); inf when the best is λ = 0
    inside: bool  # λ_opt(T) within the near-best λ range
    gap: float  # best − predicted accuracy
    gap_noise: float  # NEAR_BEST_SE·√(se_best² + se_pred²)


def _log_distance(value: float, lo: float, hi: float) -> float:
    """Decades from ``value`` to [lo, hi] (0 inside; lo = 0 extends the range down to 0)."""
    if value > hi:
        return float(np.log10(value / hi))
    if lo > 0 and value < lo:
        return float(np.log10(lo / value))
    return 0.0


def validate(sweep_arrays, predicted_arrays, pr: Probe) -> list[Validation]:
    """λ_opt(T) and its run against the sweep at every budget of ``CH2_BUDGETS``."""
    eta = pr.learning_rate
    pl2 = np.asarray(predicted_arrays["member_l2"], np.float64)
    out = []
    for T in experiments.CH2_BUDGETS:
        perf = performance(sweep_arrays, T)
        lam = analysis.predict_l2(pr.c, eta, T)
        j = np.isclose(pl2, lam, rtol=1e-6)
        if not j.any():
            raise ValueError(
                f"ch2: no predicted run at λ = {lam:.4g} (T = {T}); rerun "
                f"`python -m l2lib sweep ch2_{pr.setup}_predicted --force`"
            )
        idx = np.flatnonzero(j)
        seed_acc = analysis.best_within(predicted_arrays, np.full(len(pl2), T))[idx]
        p_acc = float(np.mean(seed_acc))
        p_se = float(np.std(seed_acc, ddof=1) / np.sqrt(len(idx))) if len(idx) > 1 else 0.0
        b = perf.best
        best_l2 = float(perf.l2[b])
        ratio = np.inf if best_l2 == 0 else max(lam / best_l2, best_l2 / lam)
        lo, hi = perf.near_range
        out.append(
            Validation(
                int(T),
                perf,
                lam,
                analysis.predict_l2(pr.c_low, eta, T),
                analysis.predict_l2(pr.c_high, eta, T),
                p_acc,
                p_se,
                _fitted_by(predicted_arrays, idx, T),
                best_l2,
                float(perf.accuracy[b]),
                float(ratio),
                _log_distance(lam, lo, hi) == 0.0,
                float(perf.accuracy[b] - p_acc),
                float(NEAR_BEST_SE * np.hypot(perf.se[b], p_se)),
            )
        )
    return out


def ratio_score(validation: list[Validation], pr: Probe):
    """Null score of the ×2 claim: mean over budgets of |log10(λ_opt/λ_best)| for a probe t*."""
    lam0, eta = pr.l2, pr.learning_rate
    best = [v.best_l2 for v in validation]

    def score(t: np.ndarray) -> float:
        c = lam0 * eta * float(t[0])
        d = [
            abs(np.log10(c / (eta * v.budget) / b)) if b > 0 else np.inf
            for v, b in zip(validation, best)
        ]
        return float(np.mean(d))

    return score


def range_score(validation: list[Validation], pr: Probe):
    """Null score of the near-best claim: mean over budgets of the decades from λ_opt(T) to the
    near-best λ range (0 inside) for a probe t*."""
    lam0, eta = pr.l2, pr.learning_rate
    ranges = [v.perf.near_range for v in validation]

    def score(t: np.ndarray) -> float:
        c = lam0 * eta * float(t[0])
        return float(
            np.mean(
                [
                    _log_distance(c / (eta * v.budget), lo, hi)
                    for v, (lo, hi) in zip(validation, ranges)
                ]
            )
        )

    return score


@dataclasses.dataclass(frozen=True)
class Summary:
    """Everything chapter 2 reports for one setup."""

    setup: str
    label: str
    sweep: store_lib.Results
    predicted: store_lib.Results | None
    probe: Probe
    validation: list[Validation]
    ratio_null: analysis.NullTest | None
    range_null: analysis.NullTest | None
    scaled: Performance


def summary(setup: str, root=None, recompute: bool = False) -> Summary:
    """Load the sweep, the probe and the predicted runs of ``setup`` and read them."""
    from l2lib import check

    sw = sweep(setup, root, recompute)
    pr = probe(setup, root, recompute)
    scaled = performance(sw.arrays, scaled_budgets(sw.arrays))
    label = check.setup_label(_load(experiments.INPREMISE_SETUPS[setup], root).config)
    if not pr.ok:
        return Summary(setup, label, sw, None, pr, [], None, None, scaled)
    pred = _load(f"ch2_{setup}_predicted", root, recompute)
    val = validate(sw.arrays, pred.arrays, pr)
    cand = [pr.candidates]
    rn = analysis.null_test(ratio_score(val, pr), np.array([pr.t_star]), cand)
    gn = analysis.null_test(range_score(val, pr), np.array([pr.t_star]), cand)
    return Summary(setup, label, sw, pred, pr, val, rn, gn, scaled)


# --- the claims ---------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:.3g}"


def _premise_text(perf: Performance) -> str:
    """How many λ with a budget fitted their training set by it, and which did not."""
    has = np.isfinite(perf.budget)
    out = [f"λ={_fmt(v)}" for v, ok, h in zip(perf.l2, perf.fitted, has) if h and not ok]
    text = f"{int(perf.fitted[has].sum())} of {int(has.sum())} λ fitted by their budget"
    return text + (f"; not: {', '.join(out)}" if out else "")


def claims(s: Summary):
    """Chapter 2's claims for one setup (:class:`l2lib.check.Claim`, goals in this module)."""
    from l2lib.check import Claim

    label, T_max = s.label, max(experiments.CH2_BUDGETS)
    # (a) fixed budget: an interior maximum, standing clear of both ends by the seed noise.
    rows, ok_all = [], True
    for T in experiments.CH2_BUDGETS:
        p = performance(s.sweep.arrays, T)
        usable = np.flatnonzero(p.usable)
        ends = [usable[0], usable[-1]]
        interior = p.best not in ends
        clear = interior and not any(p.near[e] for e in ends)
        ok_all &= clear
        margin = p.accuracy[p.best] - max(p.accuracy[e] for e in ends)
        rows.append(
            f"T={T}: best λ={_fmt(p.l2[p.best])} {p.accuracy[p.best]:.3f}±{p.se[p.best]:.3f}, "
            f"{'interior' if interior else 'at an end'}, {100 * margin:+.1f} pt over the better "
            f"end, near-best λ {{{', '.join(_fmt(v) for v in p.l2[p.near])}}}"
        )
    p_end = performance(s.sweep.arrays, T_max)
    yield Claim(
        "ch2",
        f"{label}: (a) fixed budget: interior maximum",
        bool(ok_all),
        "; ".join(rows),
        "the best λ interior, and neither end within the seed noise of it, at every budget",
        premise=_premise_text(p_end),
        summary=f"{sum('interior' in r and 'at an end' not in r for r in rows)} of {len(rows)} "
        "budgets interior",
    )
    # (b) budget ∝ 1/λ.
    sc = s.scaled
    pos = [k for k in np.flatnonzero(sc.usable) if sc.l2[k] > 0]
    if len(pos) >= 2:
        acc = sc.accuracy
        drops = [(sc.l2[b], acc[a] - acc[b], sc.noise(a, b)) for a, b in zip(pos[:-1], pos[1:])]
        worst = max(drops, key=lambda d: d[1] - d[2])
        gain = acc[pos[-1]] - acc[pos[0]]
        ok = all(d <= n for _, d, n in drops) and gain > sc.noise(pos[0], pos[-1])
        text = ", ".join(f"λ={_fmt(sc.l2[k])}: {acc[k]:.3f}±{sc.se[k]:.3f}" for k in pos)
        yield Claim(
            "ch2",
            f"{label}: (b) budget {experiments.CH2_SCALED_HORIZON:g}/(λη): improves as λ falls",
            bool(ok),
            f"{text}; net gain {100 * gain:+.1f} pt (noise {100 * sc.noise(pos[0], pos[-1]):.1f}); "
            f"largest drop {100 * worst[1]:+.1f} pt at λ={_fmt(worst[0])} (noise "
            f"{100 * worst[2]:.1f})",
            "no drop beyond the seed noise as λ falls, and a net gain beyond it",
            premise=_premise_text(sc),
            summary=f"{acc[pos[0]]:.3f} → {acc[pos[-1]]:.3f} ({100 * gain:+.1f} pt)",
        )
        a, b = pos[-2], pos[-1]
        yield Claim(
            "ch2",
            f"{label}: (b) budget {experiments.CH2_SCALED_HORIZON:g}/(λη): plateau at small λ",
            bool(abs(acc[a] - acc[b]) <= sc.noise(a, b)),
            f"λ={_fmt(sc.l2[a])}: {acc[a]:.3f}±{sc.se[a]:.3f}, λ={_fmt(sc.l2[b])}: "
            f"{acc[b]:.3f}±{sc.se[b]:.3f} (difference {100 * (acc[b] - acc[a]):+.1f} pt, noise "
            f"{100 * sc.noise(a, b):.1f})",
            "the two smallest λ whose budget the sweep holds within the seed noise",
            premise=_premise_text(sc),
            summary=f"difference {100 * (acc[b] - acc[a]):+.1f} pt",
        )
    # λ_opt from the probe.
    pr = s.probe
    probe_text = (
        f"probe λ₀={pr.l2:g}, η={pr.learning_rate:g}, {pr.num_steps} steps: t* = {pr.t_star:.0f} "
        f"(seeds {', '.join(f'{t:.0f}' for t in pr.seed_t_star)}), c = {pr.c:.3g} "
        f"[{pr.c_low:.3g}, {pr.c_high:.3g}]"
    )
    if not pr.ok:
        yield Claim(
            "ch2",
            f"{label}: λ_opt = c/(ηT): the probe gives c",
            False,
            f"{probe_text}: {pr.why}",
            "a t* inside the probe",
        )
        return
    val = s.validation
    prem = f"λ_opt runs fitted at {sum(v.predicted_fitted for v in val)} of {len(val)} budgets"
    yield Claim(
        "ch2",
        f"{label}: λ_opt = c/(ηT) within ×{LAMBDA_RATIO:g} of the sweep's best λ",
        bool(
            all(v.ratio <= LAMBDA_RATIO for v in val) and s.ratio_null.p_value < analysis.NULL_ALPHA
        ),
        f"{probe_text}; "
        + "; ".join(
            f"T={v.budget}: {_fmt(v.predicted_l2)} vs {_fmt(v.best_l2)} (×{v.ratio:.2f})"
            for v in val
        )
        + f"; null median {s.ratio_null.null_median:.2f} decades",
        f"within ×{LAMBDA_RATIO:g} at every budget and null p < {analysis.NULL_ALPHA}",
        null_p=s.ratio_null.p_value,
        premise=prem,
        summary=f"c = {pr.c:.3g}; ratios " + ", ".join(f"×{v.ratio:.2f}" for v in val),
    )
    yield Claim(
        "ch2",
        f"{label}: λ_opt = c/(ηT) among the near-best λ",
        bool(all(v.inside for v in val) and s.range_null.p_value < analysis.NULL_ALPHA),
        "; ".join(
            f"T={v.budget}: {_fmt(v.predicted_l2)} [{_fmt(v.predicted_low)}, {_fmt(v.predicted_high)}] "
            f"vs near-best λ [{_fmt(v.perf.near_range[0])}, {_fmt(v.perf.near_range[1])}]"
            f" ({'inside' if v.inside else 'outside'})"
            for v in val
        )
        + f"; null median {s.range_null.null_median:.2f} decades",
        f"inside at every budget and null p < {analysis.NULL_ALPHA}",
        null_p=s.range_null.p_value,
        premise=prem,
        summary=f"inside at {sum(v.inside for v in val)} of {len(val)} budgets",
    )
    acc_text = "; ".join(
        f"T={v.budget}: {v.predicted_accuracy:.3f}±{v.predicted_se:.3f} vs best "
        f"{v.best_accuracy:.3f} (gap {100 * v.gap:+.1f} pt, noise {100 * v.gap_noise:.1f})"
        for v in val
    )
    yield Claim(
        "ch2",
        f"{label}: accuracy at λ_opt within {100 * ACCURACY_POINTS:g} point of the best",
        bool(all(v.gap <= ACCURACY_POINTS for v in val)),
        acc_text,
        f"gap ≤ {100 * ACCURACY_POINTS:g} point at every budget",
        premise=prem,
        summary="gaps " + ", ".join(f"{100 * v.gap:+.1f}" for v in val) + " pt",
    )
    yield Claim(
        "ch2",
        f"{label}: accuracy at λ_opt within the seed noise of the best",
        bool(all(v.gap <= v.gap_noise for v in val)),
        acc_text,
        f"gap ≤ {NEAR_BEST_SE:g}·√(se_best² + se_pred²) at every budget",
        premise=prem,
        summary=f"within noise at {sum(v.gap <= v.gap_noise for v in val)} of {len(val)} budgets",
    )


def check_claims(name: str, scale: str, root):
    """``check.CLAIMS`` entry: the claims of the setup whose ``ch2_SETUP_small`` is ``name``."""
    setup = name.removeprefix("ch2_").removesuffix("_small")
    yield from claims(summary(setup, root))


# --- what the chapter shows ---------------------------------------------------------------------


def _x_zero(l2: np.ndarray) -> float:
    """Where λ = 0 sits on the log axis: a factor 3 left of the smallest λ > 0."""
    return float(l2[l2 > 0].min() / 3)


def performance_figure(s: Summary):
    """Accuracy against λ (seed mean ± its standard error) within each budget T of the slider,
    near-best λ filled, the others hollow; λ_opt(T) = c/(ηT) dashed with its seed interval shaded
    and its own run (◆); budget ∝ 1/λ in black, always shown. λ = 0 sits left of the axis's
    smallest λ. Pure: a plotly figure out, kernel-free slider."""
    import plotly.graph_objects as go

    from l2lib import figures

    xs_all = s.scaled.l2
    x0 = _x_zero(xs_all)
    xs = np.where(xs_all > 0, xs_all, x0)
    fig = go.Figure()
    tags: list[int | None] = []
    sc = s.scaled
    pos = sc.usable & (sc.l2 > 0)
    fig.add_trace(
        go.Scatter(
            x=xs[pos],
            y=sc.accuracy[pos],
            error_y=dict(type="data", array=sc.se[pos]),
            mode="lines+markers",
            line=dict(color="black", width=3),
            name=f"budget {experiments.CH2_SCALED_HORIZON:g}/(λη)",
            customdata=sc.budget[pos],
            hovertemplate="λ=%{x:.3g}<br>budget %{customdata:.0f} steps<br>acc %{y:.3f}<extra></extra>",
        )
    )
    tags.append(None)
    vals = {v.budget: v for v in s.validation}
    lo_y = float(np.nanmin(sc.accuracy[pos])) if pos.any() else 0.0
    hi_y = lo_y
    for j, T in enumerate(experiments.CH2_BUDGETS):
        p = performance(s.sweep.arrays, T)
        col = figures.color_for(j)
        lo_y = min(lo_y, float(np.nanmin(p.accuracy)))
        hi_y = max(hi_y, float(np.nanmax(p.accuracy)))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=p.accuracy,
                error_y=dict(type="data", array=p.se),
                mode="lines+markers",
                line=dict(color=col),
                marker=dict(
                    size=11,
                    color=[col if n else "white" for n in p.near],
                    line=dict(color=col, width=2),
                    symbol=["circle" if u else "x" for u in p.usable],
                ),
                name=f"fixed budget T = {T} (filled: near-best)",
                customdata=np.stack([p.l2, p.se], axis=1),
                hovertemplate=f"T={T}<br>λ=%{{customdata[0]:.3g}}<br>acc %{{y:.3f}} ± %{{customdata[1]:.3f}}<extra></extra>",
            )
        )
        tags.append(("a", T))
        v = vals.get(T)
        if v is not None:
            fig.add_trace(
                go.Scatter(
                    x=[v.predicted_low, v.predicted_high, v.predicted_high, v.predicted_low],
                    y=[0, 0, 1, 1],
                    fill="toself",
                    mode="lines",
                    line=dict(width=0),
                    fillcolor="rgba(120,120,120,0.15)",
                    name="c's seed interval",
                    hoverinfo="skip",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=[v.predicted_l2],
                    y=[v.predicted_accuracy],
                    error_y=dict(type="data", array=[v.predicted_se]),
                    mode="markers",
                    marker=dict(
                        symbol="diamond", size=14, color=col, line=dict(color="black", width=1)
                    ),
                    name=f"λ_opt(T) = c/(ηT) = {v.predicted_l2:.3g}: its run",
                )
            )
            tags += [("p", T), ("p", T)]
    pad = 0.02
    fig.update_yaxes(range=[lo_y - pad, hi_y + pad], title="best test accuracy within the budget")
    fig.update_xaxes(
        type="log",
        title="λ (λ = 0 drawn at the far left)",
        exponentformat="power",
        range=[np.log10(x0 / 1.6), np.log10(xs_all.max() * 1.6)],
    )

    def shown(T: int | None) -> list[bool]:
        """Slider step ``T``: that budget's curve and prediction; ``None``: every curve."""
        return [t is None or (t[1] == T if T is not None else t[0] == "a") for t in tags]

    steps = [dict(method="restyle", label="all", args=[{"visible": shown(None)}])]
    for T in experiments.CH2_BUDGETS:
        steps.append(dict(method="restyle", label=f"{T}", args=[{"visible": shown(T)}]))
    for trace, vis in zip(fig.data, shown(None)):
        trace.visible = vis
    fig.update_layout(
        title=f"{s.label}, η = {experiments.INPREMISE_LR:g}: best test accuracy against λ",
        sliders=[
            dict(active=0, currentvalue=dict(prefix="fixed budget T = "), steps=steps, y=-0.16)
        ],
        legend=dict(orientation="h", y=-0.62),
        height=720,
        margin=dict(b=280),
    )
    return fig


def optimum_figure(s: Summary):
    """Per budget T: the near-best λ range of the sweep (bar), its argmax (★) and λ_opt(T) with
    its seed interval (line and band). Pure."""
    import plotly.graph_objects as go

    fig = go.Figure()
    Ts = np.array([v.budget for v in s.validation], float)
    if not len(Ts):
        return fig
    x0 = _x_zero(s.scaled.l2)
    for v in s.validation:
        lo, hi = v.perf.near_range
        fig.add_trace(
            go.Scatter(
                x=[v.budget, v.budget],
                y=[max(lo, x0), hi],
                mode="lines",
                line=dict(color="rgba(31,119,180,0.45)", width=14),
                name="near-best λ (within the seed noise)",
                showlegend=bool(v is s.validation[0]),
                hovertemplate=f"T={v.budget}<br>near-best λ {lo:.3g}–{hi:.3g}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=Ts,
            y=[max(v.best_l2, x0) for v in s.validation],
            mode="markers",
            marker=dict(symbol="star", size=16, color="black"),
            name="the sweep's best λ (argmax)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([Ts, Ts[::-1]]),
            y=np.concatenate(
                [
                    [v.predicted_low for v in s.validation],
                    [v.predicted_high for v in s.validation][::-1],
                ]
            ),
            fill="toself",
            mode="lines",
            line=dict(width=0),
            fillcolor="rgba(214,39,40,0.15)",
            name="λ_opt from c's seed interval",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=Ts,
            y=[v.predicted_l2 for v in s.validation],
            mode="lines+markers",
            line=dict(color="crimson", dash="dash"),
            name=f"λ_opt(T) = c/(ηT), c = {s.probe.c:.3g}",
        )
    )
    fig.update_xaxes(type="log", title="budget T (steps)")
    fig.update_yaxes(type="log", title="λ (λ = 0 drawn at the bottom)", exponentformat="power")
    fig.update_layout(
        title=f"{s.label}: the prediction against the sweep's near-best λ",
        legend=dict(orientation="h", y=-0.25),
        height=520,
    )
    return fig


def probe_figure(s: Summary):
    """The probe: each seed's test accuracy over its steps (thin), the smoothed seed mean
    (thick), its t* (◆). Pure."""
    import plotly.graph_objects as go

    a = probe_arrays(s.setup)
    steps = np.asarray(a["eval_step"], float)
    curves = np.asarray(a["test_accuracy"], float)
    fig = go.Figure()
    for k, c in zip(np.asarray(a["member_seed"]), curves):
        fig.add_trace(
            go.Scatter(
                x=steps, y=c, mode="lines", line=dict(width=1), opacity=0.5, name=f"seed {int(k)}"
            )
        )
    mean = analysis.smooth(curves.mean(axis=0))
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=mean,
            mode="lines",
            line=dict(color="black", width=3),
            name="seed mean, smoothed",
        )
    )
    pr = s.probe
    if np.isfinite(pr.t_star):
        j = int(np.flatnonzero(steps == pr.t_star)[0])
        fig.add_trace(
            go.Scatter(
                x=[pr.t_star],
                y=[mean[j]],
                mode="markers",
                marker=dict(symbol="diamond", size=14, color="crimson"),
                name=f"t* = {pr.t_star:.0f}: c = λ₀ηt* = {pr.c:.3g}",
            )
        )
    fig.update_layout(
        title=f"{s.label}: the probe, λ₀ = {pr.l2:g}, η = {pr.learning_rate:g}, {pr.num_steps} steps",
        xaxis=dict(title="step t"),
        yaxis=dict(title="test accuracy"),
        legend=dict(orientation="h", y=-0.25),
        height=460,
    )
    return fig


def members_table(s: Summary):
    """Per λ: the seed-mean best accuracy ± se within each budget (★ best, ● near-best,
    ✗ not fitted by T) and within λ's scaled budget."""
    from l2lib import book

    perfs = [performance(s.sweep.arrays, T) for T in experiments.CH2_BUDGETS]
    rows = []
    for k, v in enumerate(s.scaled.l2):
        row = [_fmt(v)]
        for p in perfs:
            mark = "★" if k == p.best else ("●" if p.near[k] else ("✗" if not p.fitted[k] else ""))
            row.append(f"{p.accuracy[k]:.3f} ± {p.se[k]:.3f} {mark}")
        sc = s.scaled
        row.append(
            "—"
            if not np.isfinite(sc.budget[k])
            else (
                f"{sc.accuracy[k]:.3f} ± {sc.se[k]:.3f} ({sc.budget[k]:.0f})"
                if sc.usable[k]
                else f"beyond the run ({sc.budget[k]:.0f})"
            )
        )
        rows.append(row)
    return book.table(
        [
            "λ",
            *(f"T = {T}" for T in experiments.CH2_BUDGETS),
            f"{experiments.CH2_SCALED_HORIZON:g}/(λη) (steps)",
        ],
        rows,
        caption="seed mean ± standard error of each seed's best test accuracy within the budget; ★ the best, ● within the seed noise of it, ✗ not every seed fitted its training set by T",
    )


def validation_table(s: Summary):
    """Per budget: λ_opt(T) with its interval, the sweep's best and near-best λ, accuracies."""
    from l2lib import book

    rows = [
        [
            v.budget,
            f"{v.predicted_l2:.3g} [{v.predicted_low:.3g}, {v.predicted_high:.3g}]",
            _fmt(v.best_l2),
            f"{_fmt(v.perf.near_range[0])} – {_fmt(v.perf.near_range[1])}",
            f"×{v.ratio:.2f}",
            f"{v.predicted_accuracy:.3f} ± {v.predicted_se:.3f}",
            f"{v.best_accuracy:.3f}",
            f"{100 * v.gap:+.1f} ({100 * v.gap_noise:.1f})",
            "yes" if v.predicted_fitted else "no",
        ]
        for v in s.validation
    ]
    return book.table(
        [
            "T",
            "λ_opt [interval]",
            "best λ",
            "near-best λ",
            "ratio",
            "acc. at λ_opt",
            "best acc.",
            "gap, pt (noise)",
            "fitted",
        ],
        rows,
        caption=f"c = {s.probe.c:.3g} from the probe; interval from c's seed spread",
    )
