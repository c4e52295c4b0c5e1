"""Chapter 3 inside the paper's premise: AutoL2 against the constant-λ grid, the best constant
chosen on some seeds and compared on others.

Design (in :mod:`l2lib.experiments`, fixed before the runs): on each of chapter 1's in-premise
setups at η = ``INPREMISE_LR``, ``CH3_STEPS`` steps, AutoL2 (the authors' rule from λ₀ =
``AUTOL2_L2_INIT``) on six seeds, and the constant grid of chapter 2 (seven λ, λ = 0 included)
on the same six: seeds ``CH3_SELECT_SEEDS`` are chapter 2's sweep truncated at ``CH3_STEPS``,
seeds ``CH3_COMPARE_SEEDS`` are ``ch3_SETUP_const``.

The best constant is the λ of the highest seed-mean best accuracy on the *selection* seeds; it
is compared with AutoL2 on the *held-out* seeds only (the argmax over noisy maxima of the runs
it is judged on would favour the constants).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from l2lib import analysis, experiments, premise_ch2
from l2lib import store as store_lib

#: Goals, fixed before the runs. AutoL2's held-out seed-mean best accuracy is at least the
#: chosen constant's less the seed noise (NEAR_BEST_SE standard errors of the difference) ...
NEAR_BEST_SE = 2.0
#: ... and its seed-mean curve reaches the constant's held-out seed-mean best less this tolerance
#: in no more steps than the constant's own seed-mean curve (both smoothed as chapter 1's t*).
TOLERANCE = 0.005
#: The paper's small constant (Fig. 1c), compared the same way.
PAPER_CONSTANT = 1e-4


#: Curves are compared after a centred moving average over this many steps (chapter 1's window,
#: analysis.SMOOTH_EVALS evaluations at the constants' cadence of 25 steps), whatever the cadence.
SMOOTH_STEPS = 125


def _window(arrays) -> int:
    every = float(np.asarray(arrays["eval_step"])[0])
    w = max(1, int(round(SMOOTH_STEPS / every)))
    return w if w % 2 else w + 1


class Arm(NamedTuple):
    """One arm of the comparison (a constant λ, or AutoL2) on a set of seeds."""

    name: str
    l2: float  # the constant λ, or AutoL2's λ₀
    seeds: np.ndarray  # (S,)
    eval_step: np.ndarray  # (E,)
    curves: np.ndarray  # (S, E) test accuracy
    smooth_mean: np.ndarray  # (E,) the seed mean, smoothed over SMOOTH_STEPS
    seed_best: np.ndarray  # (S,) each seed's best test accuracy within the budget
    fit_step: np.ndarray  # (S,) first step with full-train accuracy ≥ PREMISE_ACCURACY (NaN: never)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.seed_best))

    @property
    def se(self) -> float:
        n = len(self.seed_best)
        return float(np.std(self.seed_best, ddof=1) / np.sqrt(n)) if n > 1 else 0.0

    @property
    def fitted(self) -> bool:
        return bool(np.all(np.isfinite(self.fit_step)))

    @property
    def plateau(self) -> float:
        """The maximum of the smoothed seed mean."""
        return float(np.nanmax(self.smooth_mean))

    def steps_to(self, target: float) -> tuple[float, np.ndarray]:
        """(step at which the smoothed seed mean first reaches ``target``, the same for each
        seed's own smoothed curve); NaN: never."""
        w = _window({"eval_step": self.eval_step})
        mean = analysis.first_step_reaching(self.smooth_mean, self.eval_step, target)
        per = np.array(
            [
                analysis.first_step_reaching(analysis.smooth(c, w), self.eval_step, target)
                for c in self.curves
            ]
        )
        return mean, per


def arm(arrays, mask, name: str, num_steps: int) -> Arm:
    """The arm of the members ``mask`` of ``arrays``, read over their first ``num_steps``."""
    a = analysis.truncate(analysis.members_where(arrays, mask), num_steps)
    steps = np.asarray(a["eval_step"])
    curves = np.asarray(a["test_accuracy"], np.float64)
    fta = a.get("full_train_accuracy")
    fit = np.full(len(curves), np.nan)
    if fta is not None:
        for i, f in enumerate(np.asarray(fta, np.float64) >= analysis.PREMISE_ACCURACY):
            if f.any():
                fit[i] = float(steps[np.flatnonzero(f)[0]])
    return Arm(
        name,
        float(np.asarray(a["member_l2"])[0]),
        np.asarray(a["member_seed"]),
        steps,
        curves,
        analysis.smooth(curves.mean(axis=0), _window(a)),
        analysis.best_within(a, num_steps),
        fit,
    )


def _seed_mask(arrays, seeds) -> np.ndarray:
    return np.isin(np.asarray(arrays["member_seed"]), np.asarray(seeds))


@dataclasses.dataclass(frozen=True)
class Summary:
    """Chapter 3 for one setup."""

    setup: str
    label: str
    selection: premise_ch2.Performance  # the constants on the selection seeds
    chosen_l2: float  # the best constant on the selection seeds
    held_out_best_l2: float  # what the argmax would have been on the held-out seeds (shown)
    constants: dict  # λ → Arm on the held-out seeds
    autol2: Arm  # held-out seeds
    autol2_all: Arm  # all six seeds
    decays: list  # per AutoL2 seed (all six): the steps from which a new λ was in force
    final_l2: np.ndarray  # per AutoL2 seed: λ at the end
    auto: store_lib.Results
    const: store_lib.Results


def summary(setup: str, root=None, recompute: bool = False) -> Summary:
    """Read chapter 3's runs of ``setup`` (``mlp`` or ``fmnist``)."""
    from l2lib import book, check

    T = experiments.CH3_STEPS
    sw = premise_ch2.sweep(setup, root, recompute)
    sel_arrays = analysis.truncate(
        analysis.members_where(sw.arrays, _seed_mask(sw.arrays, experiments.CH3_SELECT_SEEDS)), T
    )
    sel = premise_ch2.performance(sel_arrays, T)
    chosen = float(sel.l2[sel.best])
    const = book.load_run(f"ch3_{setup}_const", "cpu", recompute, root)
    auto = book.load_run(f"ch3_{setup}_autol2", "cpu", recompute, root)
    ca = const.arrays
    l2 = np.asarray(ca["member_l2"], np.float64)
    arms = {
        float(v): arm(ca, l2 == v, f"λ = {v:g}", T) for v in sorted(set(l2.tolist()), reverse=True)
    }
    held_best = max((a for a in arms.values() if a.fitted), key=lambda a: a.accuracy).l2
    aa = auto.arrays
    held = arm(aa, _seed_mask(aa, experiments.CH3_COMPARE_SEEDS), "AutoL2", T)
    every = np.ones(len(aa["member_seed"]), bool)
    lam = np.asarray(aa["l2"], np.float64)
    final = np.array([row[np.isfinite(row)][-1] for row in lam])
    label = check.setup_label(premise_ch2._load(experiments.INPREMISE_SETUPS[setup], root).config)
    return Summary(
        setup,
        label,
        sel,
        chosen,
        float(held_best),
        arms,
        held,
        arm(aa, every, "AutoL2", T),
        [analysis.decay_steps(row, aa["eval_step"]) for row in lam],
        final,
        auto,
        const,
    )


def claims(s: Summary):
    """Chapter 3's claims for one setup."""
    from l2lib.check import Claim

    au = s.autol2
    fits = ", ".join(
        f"seed {int(k)}: {'never' if not np.isfinite(f) else f'{f:.0f}'}"
        for k, f in zip(s.autol2_all.seeds, s.autol2_all.fit_step)
    )
    yield Claim(
        "ch3",
        f"{s.label}: AutoL2 fits its training set",
        s.autol2_all.fitted,
        f"first step at full-train accuracy ≥ {analysis.PREMISE_ACCURACY}: {fits}; final λ "
        + ", ".join(f"{v:.2g}" for v in s.final_l2),
        "every seed fits within the budget",
        premise=f"{int(np.isfinite(s.autol2_all.fit_step).sum())} of {len(s.autol2_all.seeds)} seeds fitted",
        summary=f"{int(np.isfinite(s.autol2_all.fit_step).sum())} of {len(s.autol2_all.seeds)} seeds",
    )
    refs = [("best constant", s.chosen_l2, "chosen on seeds 0–2")]
    if PAPER_CONSTANT in s.constants:
        refs.append(("the paper's constant", PAPER_CONSTANT, "Fig. 1c"))
    seeds = ", ".join(str(int(k)) for k in au.seeds)
    for what, lam, why in refs:
        c = s.constants[lam]
        noise = NEAR_BEST_SE * float(np.hypot(au.se, c.se))
        gap = c.accuracy - au.accuracy
        prem = f"λ={lam:g} {'fitted' if c.fitted else 'not fitted'}; AutoL2 {'fitted' if au.fitted else 'not fitted'} (seeds {seeds})"
        yield Claim(
            "ch3",
            f"{s.label}: AutoL2 vs {what} λ={lam:g}: accuracy",
            bool(gap <= noise),
            f"held-out seeds {seeds}: AutoL2 {au.accuracy:.3f}±{au.se:.3f} (seeds "
            + ", ".join(f"{v:.3f}" for v in au.seed_best)
            + f"), λ={lam:g} ({why}) {c.accuracy:.3f}±{c.se:.3f} (seeds "
            + ", ".join(f"{v:.3f}" for v in c.seed_best)
            + f"); gap {100 * gap:+.1f} pt, noise {100 * noise:.1f}",
            f"AutoL2 ≥ the constant − {NEAR_BEST_SE:g}·√(se² + se²)",
            premise=prem,
            summary=f"{au.accuracy:.3f} vs {c.accuracy:.3f} ({100 * -gap:+.1f} pt)",
        )
        target = c.plateau - TOLERANCE
        c_steps, c_per = c.steps_to(target)
        a_steps, a_per = au.steps_to(target)

        def fmt(v):
            return "never" if not np.isfinite(v) else f"{v:.0f}"

        yield Claim(
            "ch3",
            f"{s.label}: AutoL2 vs {what} λ={lam:g}: steps to its target",
            bool(np.isfinite(a_steps) and a_steps <= c_steps),
            f"target {target:.4f} (λ={lam:g} smoothed seed-mean best {c.plateau:.4f} − {TOLERANCE:g}): "
            f"AutoL2 {fmt(a_steps)} (seeds {', '.join(fmt(v) for v in a_per)}), "
            f"λ={lam:g} {fmt(c_steps)} (seeds {', '.join(fmt(v) for v in c_per)})",
            "AutoL2's seed mean reaches the target in ≤ the constant's steps",
            premise=prem,
            summary=f"AutoL2 {fmt(a_steps)} vs {fmt(c_steps)} steps",
        )


def check_claims(name: str, scale: str, root):
    """``check.CLAIMS`` entry: the claims of the setup whose ``ch3_SETUP_autol2`` is ``name``."""
    setup = name.removeprefix("ch3_").removesuffix("_autol2")
    yield from claims(summary(setup, root))


# --- what the chapter shows ---------------------------------------------------------------------


def comparison_figure(s: Summary):
    """Held-out seeds: the smoothed seed-mean test accuracy of AutoL2, of the constant chosen on
    the other seeds and of the paper's constant (each seed thin); below, AutoL2's λ(t) for every
    seed. Pure; a kernel-free slider shows both references or one."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from l2lib import figures

    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06
    )
    arms = [(s.autol2, "black")]
    for j, lam in enumerate(dict.fromkeys([s.chosen_l2, PAPER_CONSTANT])):
        if lam in s.constants:
            arms.append((s.constants[lam], figures.color_for(j + 1)))
    tags: list[float | None] = []  # per trace: the constant it belongs to (None: always shown)
    for a, col in arms:
        auto = a.name == "AutoL2"
        why = " (chosen on seeds 0–2)" if a.l2 == s.chosen_l2 else " (the paper's)"
        name = a.name if auto else a.name + why
        for k, c in zip(a.seeds, a.curves):
            fig.add_trace(
                go.Scatter(
                    x=a.eval_step,
                    y=c,
                    mode="lines",
                    line=dict(color=col, width=0.7),
                    opacity=0.35,
                    legendgroup=name,
                    showlegend=False,
                    name=f"{name}, seed {int(k)}",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=a.eval_step,
                y=a.smooth_mean,
                mode="lines",
                line=dict(color=col, width=3),
                legendgroup=name,
                name=f"{name}: {a.accuracy:.3f} ± {a.se:.3f}",
            ),
            row=1,
            col=1,
        )
        tags += [None if auto else a.l2] * (len(a.seeds) + 1)
    lam = np.asarray(s.auto.arrays["l2"], float)
    steps = np.asarray(s.auto.arrays["eval_step"], float)
    for k, row in zip(np.asarray(s.auto.arrays["member_seed"]), lam):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=row,
                mode="lines",
                line=dict(shape="hv", width=1.5),
                name=f"AutoL2 λ(t), seed {int(k)}",
                showlegend=False,
            ),
            row=2,
            col=1,
        )
        tags.append(None)
    refs = [t for t in dict.fromkeys(tags) if t is not None]
    slider = [dict(method="restyle", label="both", args=[{"visible": [True] * len(tags)}])]
    slider += [
        dict(
            method="restyle",
            label=f"λ = {r:g}",
            args=[{"visible": [t is None or t == r for t in tags]}],
        )
        for r in refs
    ]
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    fig.update_yaxes(title_text="AutoL2 λ", type="log", row=2, col=1)
    fig.update_yaxes(exponentformat="power", row=2, col=1)
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="step t", row=2, col=1)
    fig.update_layout(
        title=f"{s.label}: AutoL2 against constant λ on the held-out seeds",
        sliders=[
            dict(active=0, currentvalue=dict(prefix="constant shown: "), steps=slider, y=-0.1)
        ],
        legend=dict(orientation="h", y=-0.32),
        height=700,
        margin=dict(b=170),
    )
    return fig


def accuracy_figure(s: Summary):
    """Each constant λ's best accuracy within the budget, seed mean ± standard error, on the
    selection seeds (hollow) and on the held-out seeds (filled), with AutoL2's on the held-out
    seeds as a band; λ = 0 at the far left. Pure."""
    import plotly.graph_objects as go

    sel = s.selection
    x0 = premise_ch2._x_zero(sel.l2)
    xs = np.where(sel.l2 > 0, sel.l2, x0)
    held = [s.constants.get(float(v)) for v in sel.l2]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=sel.accuracy,
            error_y=dict(type="data", array=sel.se),
            mode="lines+markers",
            marker=dict(size=10, color="white", line=dict(color="steelblue", width=2)),
            line=dict(color="steelblue", dash="dot"),
            name="constants, seeds 0–2 (selection)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[h.accuracy if h else np.nan for h in held],
            error_y=dict(type="data", array=[h.se if h else np.nan for h in held]),
            mode="lines+markers",
            marker=dict(size=10, color="steelblue"),
            line=dict(color="steelblue"),
            name="constants, seeds 3–5 (held out)",
        )
    )
    au = s.autol2
    lo, hi = xs.min() / 1.6, xs.max() * 1.6
    band = [au.accuracy - au.se, au.accuracy - au.se, au.accuracy + au.se, au.accuracy + au.se]
    fig.add_trace(
        go.Scatter(
            x=[lo, hi, hi, lo],
            y=band,
            fill="toself",
            mode="lines",
            line=dict(width=0),
            fillcolor="rgba(0,0,0,0.15)",
            name="AutoL2 ± se, seeds 3–5",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[au.accuracy] * 2,
            mode="lines",
            line=dict(color="black", width=2),
            name=f"AutoL2 {au.accuracy:.3f}",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[xs[sel.best]],
            y=[sel.accuracy[sel.best]],
            mode="markers",
            marker=dict(symbol="star", size=16, color="crimson"),
            name=f"chosen on seeds 0–2: λ = {s.chosen_l2:g}",
        )
    )
    fig.update_xaxes(
        type="log",
        title="constant λ (λ = 0 drawn at the far left)",
        exponentformat="power",
        range=[np.log10(lo), np.log10(hi)],
    )
    fig.update_yaxes(title="best test accuracy within the budget")
    fig.update_layout(
        title=f"{s.label}: the constants on both halves of the seeds, and AutoL2",
        legend=dict(orientation="h", y=-0.25),
        height=480,
    )
    return fig


def seeds_figure(s: Summary):
    """Held-out seeds one by one: each seed's best accuracy (left) and the step its smoothed
    curve first reaches the chosen constant's target (right; absent: never), for AutoL2 and the
    two references. Pure."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from l2lib import figures

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("best test accuracy", "steps to the chosen target")
    )
    refs = dict.fromkeys([s.chosen_l2, PAPER_CONSTANT])
    arms = [s.autol2] + [s.constants[v] for v in refs if v in s.constants]
    target = s.constants[s.chosen_l2].plateau - TOLERANCE
    for j, a in enumerate(arms):
        col = "black" if a.name == "AutoL2" else figures.color_for(j)
        _, per = a.steps_to(target)
        labels = [f"seed {int(k)}" for k in a.seeds]
        for col_i, ys, symbol in ((1, a.seed_best, "circle"), (2, per, "diamond")):
            fig.add_trace(
                go.Scatter(
                    x=[a.name] * len(ys),
                    y=ys,
                    mode="markers",
                    marker=dict(size=11, color=col, symbol=symbol),
                    text=labels,
                    name=a.name,
                    legendgroup=a.name,
                    showlegend=col_i == 1,
                ),
                row=1,
                col=col_i,
            )
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    fig.update_yaxes(title_text="step", row=1, col=2)
    fig.update_layout(
        title=f"{s.label}: the held-out seeds one by one (target {target:.3f})",
        height=420,
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def selection_table(s: Summary):
    """The constants on the selection seeds (chapter 2's sweep) and on the held-out seeds."""
    from l2lib import book

    sel = s.selection
    rows = []
    for k, v in enumerate(sel.l2):
        held = s.constants.get(float(v))
        rows.append(
            [
                premise_ch2._fmt(v),
                f"{sel.accuracy[k]:.3f} ± {sel.se[k]:.3f}" + (" ★" if k == sel.best else ""),
                "—"
                if held is None
                else f"{held.accuracy:.3f} ± {held.se:.3f}"
                + (" ★" if v == s.held_out_best_l2 else ""),
                "—" if held is None else ("yes" if held.fitted else "no"),
            ]
        )
    rows.append(
        [
            "AutoL2",
            "—",
            f"{s.autol2.accuracy:.3f} ± {s.autol2.se:.3f}",
            "yes" if s.autol2.fitted else "no",
        ]
    )
    return book.table(
        ["λ", "seeds 0–2 (selection)", "seeds 3–5 (held out)", "fitted (held out)"],
        rows,
        caption=f"best test accuracy within {experiments.CH3_STEPS} steps, seed mean ± standard error; ★ the argmax of each column; the comparison uses the selection's ★",
    )


def decays_table(s: Summary):
    """AutoL2's decays per seed, and its final λ."""
    from l2lib import book

    return book.table(
        ["seed", "decays at step", "final λ", "best accuracy"],
        [
            [int(k), ", ".join(str(d) for d in dec) or "none", f"{f:.2g}", f"{b:.3f}"]
            for k, dec, f, b in zip(
                s.autol2_all.seeds, s.decays, s.final_l2, s.autol2_all.seed_best
            )
        ],
    )


def widget_summary(s: Summary):
    """The held-out comparison as the :class:`l2lib.check.AutoL2Summary` that
    :func:`l2lib.widgets.autol2_explorer` drives: every curve on the evaluation steps AutoL2 and
    the constants share, smoothed over ``SMOOTH_STEPS`` as the claims read them."""
    from l2lib import autol2, check

    au = s.autol2
    l2 = np.array(sorted(s.constants, reverse=True))
    steps = np.intersect1d(au.eval_step, s.constants[float(l2[0])].eval_step)
    pick_a = np.isin(au.eval_step, steps)
    curves = np.array(
        [
            s.constants[float(v)].smooth_mean[np.isin(s.constants[float(v)].eval_step, steps)]
            for v in l2
        ]
    )
    auto_curve = au.smooth_mean[pick_a]
    cfg = s.auto.config
    return check.AutoL2Summary(
        eval_step=steps,
        const_l2=l2,
        const_curves=curves,
        const_best=np.nanmax(curves, axis=1),
        auto_curve=auto_curve,
        auto_best=float(np.nanmax(auto_curve)),
        best_index=int(np.flatnonzero(l2 == s.chosen_l2)[0]),
        decays=s.decays,
        seeds=s.autol2_all.seeds,
        l2_init=float(cfg.grid.l2[0]),
        earliest=autol2.earliest_decays(
            float(cfg.grid.l2[0]), experiments.CH3_STEPS, cfg.autol2, experiments.INPREMISE_LR
        ),
    )
