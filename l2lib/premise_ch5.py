"""Chapter 5 inside the paper's premise: the time scale under a step schedule, with momentum and
with batch norm, on chapter 1's Fashion-MNIST setup, by chapter 1's estimator and nulls.

Design (in :mod:`l2lib.experiments`, fixed before the runs): chapter 1's grid (λ × η × seeds)
for ``CH5_STEPS`` steps with (1) the authors' step schedule, (2) momentum μ at η(1 − μ) equal
to chapter 1's η, (3) batch norm; each read against chapter 1's constant-η plain-SGD run of the
same setup truncated at ``CH5_STEPS``.

Claims (goals fixed before the runs; each t* claim with chapter 1's null, p < NULL_ALPHA):
* momentum and batch norm: chapter 1's claims (slope, per-η c, collapse, t* not set by the
  budget) with η replaced by η/(1 − μ) for momentum, and c within ``C_RATIO`` of chapter 1's c
  at the same budget;
* the step schedule: t* on L2's integrated clock λ∫₀^{t*}η dt spreads less than on the naive
  clock λη₀t* (ratio of the two spreads < 1), and collapses (spread ratio against log t* ≤
  chapter 1's ``COLLAPSE_RATIO``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from l2lib import analysis, experiments, premise
from l2lib import store as store_lib

#: c of a variant within this factor of chapter 1's c at the same budget.
C_RATIO = 2.0


#: The members a claim of this chapter needs at least.
MIN_USED = 3


def _load(name: str, root=None, recompute: bool = False) -> store_lib.Results:
    from l2lib import book

    return book.load_run(name, "cpu", recompute, root)


def effective(res: store_lib.Results) -> store_lib.Results:
    """A momentum run seen in effective units: every η replaced by η/(1 − μ) (a view; the
    stored run is unchanged). Without momentum the run itself."""
    mu = float(res.config.optimizer.momentum)
    if mu == 0:
        return res
    arrays = dict(res.arrays)
    arrays["member_learning_rate"] = np.asarray(res.arrays["member_learning_rate"]) / (1.0 - mu)
    lrs = tuple(round(v / (1.0 - mu), 10) for v in res.config.grid.learning_rate)
    cfg = dataclasses.replace(
        res.config, grid=dataclasses.replace(res.config.grid, learning_rate=lrs)
    )
    return dataclasses.replace(res, arrays=arrays, config=cfg)


def plain(root=None, recompute: bool = False) -> store_lib.Results:
    """Chapter 1's plain-SGD, constant-η run of this chapter's setup, cut at ``CH5_STEPS``."""
    res = _load(experiments.INPREMISE_SETUPS[experiments.CH5_SETUP], root, recompute)
    cfg = dataclasses.replace(
        res.config,
        duration=dataclasses.replace(res.config.duration, num_steps=experiments.CH5_STEPS),
    )
    return dataclasses.replace(
        res, arrays=analysis.truncate(res.arrays, experiments.CH5_STEPS), config=cfg
    )


def c_ratio_score(l2: np.ndarray, learning_rate: np.ndarray, c_reference: float):
    """|log10 (c/c_reference)| with c the geometric mean of λη·t* (a null's score)."""
    x = np.log10(np.asarray(l2, np.float64) * np.asarray(learning_rate, np.float64))

    def score(t_star: np.ndarray) -> float:
        return abs(float(np.mean(x + np.log10(t_star))) - float(np.log10(c_reference)))

    return score


class Variant(NamedTuple):
    """A variant read by chapter 1's estimator, and its c against plain SGD's."""

    name: str
    label: str
    run: store_lib.Results  # in effective units for momentum
    summary: premise.PremiseSummary
    c_plain: float
    c_null: analysis.NullTest | None


def variant(name: str, label: str, run: store_lib.Results, c_plain: float) -> Variant:
    s = premise.premise_summary(run)
    pk, u = s.full.peaks, s.full.used
    null = None
    if u.sum() >= 1 and np.isfinite(c_plain):
        cands = [pk.candidates[i] for i in np.flatnonzero(u)]
        null = analysis.null_test(
            c_ratio_score(pk.l2[u], pk.learning_rate[u], c_plain), pk.t_star[u], cands
        )
    return Variant(name, label, run, s, c_plain, null)


class Clocks(NamedTuple):
    """The step schedule: each (λ, η)'s t* on the naive and the integrated clock."""

    run: store_lib.Results
    peaks: analysis.SeedPeaks
    used: np.ndarray  # (G,) in the premise, not censored, not diverged
    naive: np.ndarray  # (G,) λη₀t*
    integrated: np.ndarray  # (G,) λ∫₀^{t*}η dt
    clock_null: analysis.NullTest | None  # score: spread integrated / spread naive
    collapse_null: analysis.NullTest | None  # score: spread integrated / spread log t*


def integrated_at(run: store_lib.Results, l2: np.ndarray, lr: np.ndarray, t_star: np.ndarray):
    """λ·Σ_{s < t*} η_s for each (λ, η₀, t*) under the run's schedule (η_s from the engine's
    own rule, :func:`l2lib.analysis.lr_schedule`; every member runs the same budget)."""
    end = int(max(run.config.steps_per_member()))
    out = np.full(len(t_star), np.nan)
    for i, (a, b, t) in enumerate(zip(l2, lr, t_star)):
        if np.isfinite(t):
            eta = analysis.lr_schedule(run.config.optimizer, float(b), end, int(t))
            out[i] = float(a) * float(np.sum(eta))
    return out


def clock_scores(run, l2, lr):
    """(integrated/naive spread, integrated/log t* spread) as null scores of t*."""

    def spreads(t):
        integ = np.log10(integrated_at(run, l2, lr, t))
        naive = np.log10(l2 * lr * t)
        return float(np.std(integ)), float(np.std(naive)), float(np.std(np.log10(t)))

    def clock(t):
        i, n, _ = spreads(t)
        return i / n if n > 0 else float("inf")

    def collapse(t):
        i, _, s = spreads(t)
        return i / s if s > 0 else float("inf")

    return clock, collapse


def clocks(run: store_lib.Results) -> Clocks:
    pk = analysis.seed_peaks(run.arrays)
    used = pk.in_premise & ~pk.censored & ~pk.diverged & np.isfinite(pk.t_star)
    naive = pk.l2 * pk.learning_rate * pk.t_star
    integ = integrated_at(run, pk.l2, pk.learning_rate, pk.t_star)
    cn = col = None
    if used.sum() >= MIN_USED:
        l2, lr = pk.l2[used], pk.learning_rate[used]
        cands = [pk.candidates[i] for i in np.flatnonzero(used)]
        clock, collapse = clock_scores(run, l2, lr)
        cn = analysis.null_test(clock, pk.t_star[used], cands)
        col = analysis.null_test(collapse, pk.t_star[used], cands)
    return Clocks(run, pk, used, naive, integ, cn, col)


@dataclasses.dataclass(frozen=True)
class Summary:
    plain: store_lib.Results
    plain_reading: premise.BudgetReading
    variants: dict  # "momentum", "bn" → Variant
    step: Clocks


VARIANT_LABELS = {
    "momentum": "momentum μ = 0.9, in η/(1−μ)",
    "bn": "batch norm",
    "step": "step schedule",
}


def summary(root=None, recompute: bool = False) -> Summary:
    """Read chapter 5's runs and chapter 1's reference."""
    ref = plain(root, recompute)
    reading = premise.read_budget(ref.arrays, experiments.CH5_STEPS)
    variants = {}
    for v in ("momentum", "bn"):
        run = effective(_load(f"ch5_{experiments.CH5_SETUP}_{v}", root, recompute))
        variants[v] = variant(v, VARIANT_LABELS[v], run, reading.c)
    step = clocks(_load(f"ch5_{experiments.CH5_SETUP}_step", root, recompute))
    return Summary(ref, reading, variants, step)


def claims(s: Summary, base_label: str):
    from l2lib import check
    from l2lib.check import Claim

    for v in s.variants.values():
        label = f"{base_label}, {v.label}"
        yield from check._as_chapter(check.premise_claims(v.summary, label), "ch5")
        f = v.summary.full
        if v.c_null is None:
            yield Claim(
                "ch5",
                f"{label}: c against plain SGD's",
                False,
                "no usable (λ, η)",
                f"within ×{C_RATIO:g}",
            )
            continue
        ratio = f.c / v.c_plain
        yield Claim(
            "ch5",
            f"{label}: c against plain SGD's",
            bool(max(ratio, 1 / ratio) <= C_RATIO and v.c_null.p_value < analysis.NULL_ALPHA),
            f"c = {f.c:.3g} against {v.c_plain:.3g} without (chapter 1's run at T = "
            f"{experiments.CH5_STEPS}): ratio {ratio:.2f}; null median |log10 ratio| "
            f"{v.c_null.null_median:.2f}",
            f"within ×{C_RATIO:g} and null p < {analysis.NULL_ALPHA}",
            null_p=v.c_null.p_value,
            premise=check._premise_count(f),
            summary=f"c ratio {ratio:.2f}",
        )
    st = s.step
    label = f"{base_label}, {VARIANT_LABELS['step']}"
    where = check._premise_count(
        premise.BudgetReading(experiments.CH5_STEPS, st.peaks, st.used, np.nan, {}, np.array([]))
    )
    if st.clock_null is None:
        yield Claim(
            "ch5",
            f"{label}: integrated vs naive clock",
            False,
            f"{int(st.used.sum())} usable (λ, η)",
            f"≥ {MIN_USED}",
            premise=where,
        )
        return
    u = st.used
    s_t = float(np.std(np.log10(st.peaks.t_star[u])))
    s_n = float(np.std(np.log10(st.naive[u])))
    s_i = float(np.std(np.log10(st.integrated[u])))
    per = ", ".join(
        f"λ={a:g},η₀={b:g}: t*={t:.0f}, λη₀t*={n:.3g}, λ∫η={i:.3g}"
        for a, b, t, n, i in zip(
            st.peaks.l2[u],
            st.peaks.learning_rate[u],
            st.peaks.t_star[u],
            st.naive[u],
            st.integrated[u],
        )
    )
    yield Claim(
        "ch5",
        f"{label}: integrated vs naive clock",
        bool(st.clock_null.observed < 1 and st.clock_null.p_value < analysis.NULL_ALPHA),
        f"std log10: t* {s_t:.3f}, λη₀t* {s_n:.3f}, λ∫η·t* {s_i:.3f} (ratio {st.clock_null.observed:.2f}; "
        f"null median {st.clock_null.null_median:.2f}); {per}",
        f"integrated spread < naive spread and null p < {analysis.NULL_ALPHA}",
        null_p=st.clock_null.p_value,
        premise=where,
        summary=f"spread ratio {st.clock_null.observed:.2f}",
    )
    yield Claim(
        "ch5",
        f"{label}: collapse in λ∫η dt",
        bool(
            st.collapse_null.observed <= check.COLLAPSE_RATIO
            and st.collapse_null.p_value < analysis.NULL_ALPHA
        ),
        f"std log10 t* {s_t:.3f} → std log10 λ∫η·t* {s_i:.3f} (ratio {st.collapse_null.observed:.2f}; "
        f"null median {st.collapse_null.null_median:.2f})",
        f"ratio ≤ {check.COLLAPSE_RATIO:.2f} and null p < {analysis.NULL_ALPHA}",
        null_p=st.collapse_null.p_value,
        premise=where,
        summary=f"spread ratio {st.collapse_null.observed:.2f}",
    )


def check_claims(name: str, scale: str, root):
    """``check.CLAIMS`` entry (named by the momentum run): every chapter-5 t* claim."""
    from l2lib import check

    s = summary(root)
    yield from claims(s, check.setup_label(s.plain.config))


# --- what the chapter shows ---------------------------------------------------------------------


def clocks_figure(st: Clocks, title: str = "Step schedule: t* on each clock"):
    """Each (λ, η₀)'s t* read on the naive clock λη₀t* (hollow) and on the integrated clock
    λ∫η dt (filled), against λη₀; a clock that collapses the peaks puts them on a horizontal
    line. Members outside the claims are grey. Pure."""
    import plotly.graph_objects as go

    from l2lib import figures

    pk = st.peaks
    x = pk.l2 * pk.learning_rate
    fig = go.Figure()
    lrs = sorted(set(pk.learning_rate.tolist()))
    for j, eta in enumerate(lrs):
        for used in (True, False):
            sel = (pk.learning_rate == eta) & (st.used == used) & np.isfinite(pk.t_star)
            if not sel.any():
                continue
            col = figures.color_for(j) if used else "gray"
            tag = "" if used else " (not used)"
            fig.add_trace(
                go.Scatter(
                    x=x[sel],
                    y=st.naive[sel],
                    mode="markers",
                    marker=dict(size=11, color="white", line=dict(color=col, width=2)),
                    name=f"η₀={eta:g}: λη₀t*{tag}",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x[sel],
                    y=st.integrated[sel],
                    mode="markers",
                    marker=dict(size=11, color=col),
                    name=f"η₀={eta:g}: λ∫η dt at t*{tag}",
                )
            )
    fig.update_xaxes(type="log", title="λη₀")
    fig.update_yaxes(type="log", title="clock at t*")
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.25), height=480)
    return fig


def c_table(s: Summary):
    """c of plain SGD and of each variant at the same budget, with the members they use."""
    from l2lib import book

    rows = [
        [
            "plain SGD (chapter 1, cut at T)",
            f"{s.plain_reading.c:.3g}",
            int(s.plain_reading.used.sum()),
            "—",
        ]
    ]
    for v in s.variants.values():
        f = v.summary.full
        rows.append(
            [
                v.label,
                f"{f.c:.3g}",
                int(f.used.sum()),
                f"{f.c / v.c_plain:.2f}"
                + ("" if v.c_null is None else f" (null p {v.c_null.p_value:.3f})"),
            ]
        )
    return book.table(
        ["run", "c = λη·t* (geometric mean)", "(λ, η) used", "ratio to plain"],
        rows,
        caption=f"every run {experiments.CH5_STEPS} steps",
    )
