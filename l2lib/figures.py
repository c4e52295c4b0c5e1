"""Plotly figures for the book: results in, ``go.Figure`` out, interactive without a kernel.

Every figure over a λ × η grid carries two plotly sliders that need no Python: the λ slider
sets which traces are *visible* (one λ, or all), the η slider sets their *opacity* (the chosen
η drawn solid, the others faint, or all solid). The two sliders change different trace
properties, so neither undoes the other — both work in a static HTML page.

Functions are pure: no ``.show()``, no files. :func:`show` turns a figure into what a notebook
cell should display (a static HTML snippet while the book builds, the live figure elsewhere).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from l2lib import analysis

__all__ = [
    "LOG_POINTS",
    "accuracy_curves",
    "add_grid_sliders",
    "add_member_sliders",
    "add_value_slider",
    "autol2_budget",
    "autol2_comparison",
    "autol2_signal",
    "bn_norms",
    "budget_curves",
    "budget_grid",
    "clocks_at_peak",
    "collapse_curves",
    "collapse_spread",
    "color_for",
    "first_shown",
    "hessian_eigs",
    "kernel_vs_width",
    "l2_decay",
    "lambda_colors",
    "log_subsample",
    "null_histogram",
    "optimum_against_budget",
    "outputs_vs_width",
    "prediction_accuracy",
    "probe_curve",
    "scaled_budget_by_horizon",
    "scaled_budget_by_lr",
    "schedule_curves",
    "schedule_l2opt",
    "seed_mean_curves",
    "seed_timescale_fit",
    "show",
    "theory_comparison",
    "theory_test_curves",
    "timescale_fit",
    "width_errors",
    "with_effective_lr",
]

Arrays = Mapping[str, np.ndarray]

FAINT = 0.12
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def show(fig: go.Figure):
    """What a chapter cell returns to display ``fig``.

    While the book builds (``L2BOOK_BUILD`` set) this is an HTML snippet that uses the
    plotly.js the book serves itself (so pages work offline); in a live notebook it is the
    figure (plotly's own renderer).
    """
    if os.environ.get("L2BOOK_BUILD"):
        from IPython.display import HTML

        return HTML(
            fig.to_html(include_plotlyjs=False, full_html=False, config={"responsive": True})
        )
    return fig


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def color_for(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


#: A visibility (λ) slider starts on one value instead of "all" when "all" would draw more
#: than this many traces at once: a reader sees one readable group first and slides to the rest.
MANY_TRACES = 12


def first_shown(trace_a: Sequence[float | None], a_values: Sequence[float]) -> float | None:
    """The value a visibility slider starts on: ``None`` ("all") when at most
    :data:`MANY_TRACES` traces are then drawn or there is one value, else the middle value."""
    if len(trace_a) <= MANY_TRACES or len(a_values) < 2:
        return None
    return a_values[(len(a_values) - 1) // 2]


def add_member_sliders(
    fig: go.Figure,
    trace_l2: Sequence[float | None],
    trace_lr: Sequence[float | None],
    l2_values: Sequence[float],
    lr_values: Sequence[float],
    y: float = -0.18,
) -> go.Figure:
    """Attach the kernel-free λ slider (visibility) and η slider (opacity) to ``fig``.

    The λ slider starts on one λ (:func:`first_shown`) when "all" would draw more than
    :data:`MANY_TRACES` traces.

    Args:
      trace_l2, trace_lr: per trace of ``fig``, the member's λ and η (``None``: the trace is
        not a member's and is always shown, e.g. a fit line).
      l2_values, lr_values: the slider positions (sorted grid values).
    """
    return add_grid_sliders(fig, trace_l2, trace_lr, l2_values, lr_values, "λ = ", "η = ", y)


def _members(results: Arrays):
    l2 = np.asarray(results["member_l2"], float)
    lr = np.asarray(results["member_learning_rate"], float)
    return l2, lr, sorted(set(l2.tolist())), sorted(set(lr.tolist()))


def _peak_marker(steps: np.ndarray, t_star: float) -> dict:
    """Markers of one member's curve over ``steps``: a ◆ at its t* only (none if t* is NaN)."""
    sizes = np.zeros(len(steps))
    if np.isfinite(t_star):
        sizes[int(np.flatnonzero(steps == t_star)[0])] = 9
    return dict(size=sizes, symbol="diamond")


DASHES = ("solid", "dash", "dot", "dashdot")


def lambda_colors(l2_values: Sequence[float]) -> dict[float, str]:
    """One colour per λ on a sequential scale (Viridis: dark for the smallest λ, λ = 0 included),
    so that a grid of many λ stays readable; η is then shown by line style (``DASHES``)."""
    from plotly.colors import sample_colorscale

    vals = sorted(set(float(v) for v in l2_values))
    if len(vals) == 1:
        return {vals[0]: PALETTE[0]}
    cols = sample_colorscale("Viridis", [0.9 * i / (len(vals) - 1) for i in range(len(vals))])
    return dict(zip(vals, cols))


def accuracy_curves(results: Arrays, title: str = "Test accuracy during training") -> go.Figure:
    """Test accuracy against steps for every member; ◆ marks each member's t* (paper Fig. 2a).
    Colour gives λ (sequential), line style gives η."""
    l2, lr, l2s, lrs = _members(results)
    pk = analysis.peaks(results)
    steps = np.asarray(results["eval_step"])
    acc = np.asarray(results["test_accuracy"])
    colors = lambda_colors(l2s)
    fig = go.Figure()
    for i in range(len(l2)):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=acc[i],
                mode="lines+markers",
                marker=_peak_marker(steps, pk.t_star[i]),
                line=dict(color=colors[float(l2[i])], dash=DASHES[lrs.index(lr[i]) % len(DASHES)]),
                name=f"λ={_fmt(l2[i])}, η={_fmt(lr[i])}",
                hovertemplate=f"λ={_fmt(l2[i])} η={_fmt(lr[i])}<br>step %{{x}}<br>acc %{{y:.3f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title, xaxis=dict(title="step t", type="log"), yaxis=dict(title="test accuracy")
    )
    return add_member_sliders(fig, list(l2), list(lr), l2s, lrs)


def timescale_fit(
    results: Arrays, fit: analysis.TimescaleFit, title: str = "t* against λη"
) -> go.Figure:
    """t* against λη on log axes, per η, with the fitted line and the slope −1 line through c.

    Members left out of the fit (λ = 0, censored, or outside the declared fit range) are drawn
    hollow, so where the relation breaks stays visible.
    """
    l2, lr, l2s, lrs = _members(results)
    pk = analysis.peaks(results)
    lam_eta = l2 * lr
    fig = go.Figure()
    tl2, tlr = [], []
    for j, eta in enumerate(lrs):
        for used in (True, False):
            sel = (lr == eta) & (fit.used == used) & (l2 > 0) & np.isfinite(pk.t_star)
            if not sel.any():
                continue
            fig.add_trace(
                go.Scatter(
                    x=lam_eta[sel],
                    y=pk.t_star[sel],
                    mode="markers",
                    marker=dict(
                        size=10,
                        color=color_for(j) if used else "rgba(0,0,0,0)",
                        line=dict(color=color_for(j), width=2),
                        symbol="circle" if used else "circle-open",
                    ),
                    name=f"η={_fmt(eta)}" + ("" if used else " (not fitted)"),
                    customdata=np.stack([l2[sel], pk.censored[sel]], axis=1),
                    hovertemplate="λ=%{customdata[0]:.3g}<br>λη=%{x:.3g}<br>t*=%{y}<br>censored=%{customdata[1]}<extra></extra>",
                )
            )
            tl2.append(None)
            tlr.append(eta)
    _add_fit_lines(fig, lam_eta[l2 > 0], fit)
    tl2 += [None, None]
    tlr += [None, None]
    # Only an η slider here: each point already is one λ.
    return _timescale_layout(fig, tlr, lrs, title, "t* (steps to best test accuracy)")


def _add_fit_lines(fig: go.Figure, lam_eta: np.ndarray, fit, suffix: str = "") -> None:
    """The fitted line and c/(λη) over the range of ``lam_eta`` (two traces)."""
    xline = np.geomspace(lam_eta.min() / 1.5, lam_eta.max() * 1.5, 50)
    fig.add_trace(
        go.Scatter(
            x=xline,
            y=10**fit.intercept * xline**fit.slope,
            mode="lines",
            line=dict(color="black"),
            name=f"fit: slope {fit.slope:.2f} [{fit.slope_ci[0]:.2f}, {fit.slope_ci[1]:.2f}]{suffix}",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xline,
            y=fit.c / xline,
            mode="lines",
            line=dict(color="gray", dash="dash"),
            name=f"c/(λη), c = {fit.c:.3g} [{fit.c_ci[0]:.3g}, {fit.c_ci[1]:.3g}]",
        )
    )


def _timescale_layout(
    fig: go.Figure, trace_lr: list, lrs: list, title: str, ytitle: str
) -> go.Figure:
    """Log axes of a t*-against-λη figure and its η slider (opacity; ``None``: always shown)."""
    fig.update_layout(
        title=title,
        xaxis=dict(title="λη", type="log", exponentformat="power"),
        yaxis=dict(title=ytitle, type="log"),
    )
    steps = [dict(method="restyle", label="all", args=[{"opacity": [1.0] * len(trace_lr)}])]
    steps += [
        dict(
            method="restyle",
            label=_fmt(v),
            args=[{"opacity": [1.0 if (t is None or t == v) else FAINT for t in trace_lr]}],
        )
        for v in lrs
    ]
    fig.update_layout(
        sliders=[
            dict(active=0, steps=steps, currentvalue=dict(prefix="η = "), y=-0.18, pad=dict(t=10))
        ],
        margin=dict(b=150),
    )
    return fig


def collapse_curves(results: Arrays, title: str = "Accuracy against λ·η·t") -> go.Figure:
    """Test accuracy against the scaling variable λ·η·t for every member with λ > 0 (Fig. 2b)."""
    l2, lr, l2s, lrs = _members(results)
    x = analysis.scaled_time(results)
    acc = np.asarray(results["test_accuracy"])
    fig = go.Figure()
    keep = [i for i in range(len(l2)) if l2[i] > 0]
    for i in keep:
        fig.add_trace(
            go.Scatter(
                x=x[i],
                y=acc[i],
                mode="lines",
                line=dict(color=color_for(lrs.index(lr[i]))),
                name=f"λ={_fmt(l2[i])}, η={_fmt(lr[i])}",
                hovertemplate=f"λ={_fmt(l2[i])} η={_fmt(lr[i])}<br>λητ %{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title, xaxis=dict(title="λ·η·t", type="log"), yaxis=dict(title="test accuracy")
    )
    return add_member_sliders(
        fig, [l2[i] for i in keep], [lr[i] for i in keep], [v for v in l2s if v > 0], lrs
    )


# --- chapter 4: infinite-width theory against finite networks -------------------------------


def add_grid_sliders(
    fig: go.Figure,
    trace_a: Sequence[float | None],
    trace_b: Sequence[float | None],
    a_values: Sequence[float],
    b_values: Sequence[float],
    a_prefix: str = "λ = ",
    b_prefix: str = "k = ",
    y: float = -0.18,
) -> go.Figure:
    """Two kernel-free sliders over a precomputed grid: the first (``a``, e.g. λ) sets which
    traces are *visible*, the second (``b``, e.g. k) which are drawn solid (opacity); ``None``
    marks a trace that is always shown. The first starts on one value (:func:`first_shown`)
    when "all" would draw more than :data:`MANY_TRACES` traces; the traces' own visibility is
    set to match, so the figure opens as its slider says."""
    n = len(fig.data)
    assert len(trace_a) == len(trace_b) == n

    def vis(sel):
        return [t is None or sel is None or t == sel for t in trace_a]

    def opa(sel):
        return [1.0 if (t is None or sel is None or t == sel) else FAINT for t in trace_b]

    a_steps = [dict(method="restyle", label="all", args=[{"visible": vis(None)}])]
    a_steps += [dict(method="restyle", label=_fmt(v), args=[{"visible": vis(v)}]) for v in a_values]
    b_steps = [dict(method="restyle", label="all", args=[{"opacity": opa(None)}])]
    b_steps += [dict(method="restyle", label=_fmt(v), args=[{"opacity": opa(v)}]) for v in b_values]
    start = first_shown([t for t in trace_a if t is not None], list(a_values))
    active = 0 if start is None else 1 + list(a_values).index(start)
    for trace, shown in zip(fig.data, vis(start)):
        trace.visible = shown
    common = dict(len=0.48, y=y, pad=dict(t=10))
    fig.update_layout(
        sliders=[
            dict(active=active, steps=a_steps, currentvalue=dict(prefix=a_prefix), x=0.0, **common),
            dict(active=0, steps=b_steps, currentvalue=dict(prefix=b_prefix), x=0.52, **common),
        ],
        margin=dict(b=150),
    )
    return fig


def l2_decay(
    l2_values: Sequence[float],
    k_values: Sequence[int],
    t_max: float,
    title: str = "What L2 does at infinite width",
) -> go.Figure:
    """The two decays of paper §3 against flow time t = η·steps, for a grid of λ × k: the
    kernel Θ_t/Θ₀ = e^{−2(k−1)λt} (solid) and the output drift e^{−kλt} (dotted; what L2 alone
    does to f). λ slider: visibility; k slider: opacity."""
    t = np.linspace(0.0, t_max, 200)
    fig = go.Figure()
    ta, tb = [], []
    for l2 in l2_values:
        for j, k in enumerate(k_values):
            for label, y, dash in (
                ("Θₜ/Θ₀", np.exp(-2 * (k - 1) * l2 * t), "solid"),
                ("exp(−kλt)", np.exp(-k * l2 * t), "dot"),
            ):
                fig.add_trace(
                    go.Scatter(
                        x=t,
                        y=y,
                        mode="lines",
                        line=dict(color=color_for(j), dash=dash),
                        name=f"{label}, λ={_fmt(l2)}, k={k}",
                    )
                )
                ta.append(l2)
                tb.append(k)
    fig.update_layout(
        title=title,
        xaxis=dict(title="flow time t = η·steps"),
        yaxis=dict(title="factor", type="log", range=[-3, 0.05]),
    )
    return add_grid_sliders(fig, ta, tb, list(l2_values), list(k_values))


def theory_test_curves(
    arrays: Arrays, metric: str = "test_accuracy", title: str | None = None
) -> go.Figure:
    """A ``width_theory`` artifact: test ``metric`` against flow time t under the theory, one
    curve per λ × k (color = k). λ slider: visibility; k slider: opacity."""
    l2s = [float(v) for v in arrays["l2"]]
    ks = [int(v) for v in arrays["k"]]
    lam_t = np.asarray(arrays["lambda_t"])
    vals = np.asarray(arrays[metric])
    fig = go.Figure()
    ta, tb = [], []
    for i, l2 in enumerate(l2s):
        for j, k in enumerate(ks):
            fig.add_trace(
                go.Scatter(
                    x=lam_t / l2,
                    y=vals[i, j],
                    mode="lines",
                    line=dict(color=color_for(j)),
                    name=f"λ={_fmt(l2)}, k={k}",
                    hovertemplate=f"λ={_fmt(l2)} k={k}<br>t %{{x:.3g}}<br>%{{y:.3f}}<extra></extra>",
                )
            )
            ta.append(l2)
            tb.append(k)
    ylabel = metric.replace("_", " ")
    fig.update_layout(
        title=title or f"Theory: {ylabel} against time, λ × k",
        xaxis=dict(title="flow time t = η·steps", type="log", exponentformat="power"),
        yaxis=dict(title=ylabel),
    )
    return add_grid_sliders(fig, ta, tb, l2s, ks)


def kernel_vs_width(arrays: Arrays, l2: float, k: int, title: str | None = None) -> go.Figure:
    """A ``width_ntk`` artifact: measured tr Θ_t / tr Θ₀ per width against e^{−2(k−1)λt}, and
    the random-features (k = 1) kernel, which does not move."""
    t = np.asarray(arrays["times"])
    fig = go.Figure()
    for i, w in enumerate(np.asarray(arrays["widths"])):
        tr = np.asarray(arrays["kernel_trace"][i])
        fig.add_trace(
            go.Scatter(
                x=t,
                y=tr / tr[0],
                mode="lines+markers",
                line=dict(color=color_for(i)),
                name=f"width {int(w)} (k={k})",
            )
        )
    rf = np.asarray(arrays["rf_kernel_trace"])
    fig.add_trace(
        go.Scatter(
            x=t,
            y=rf / rf[0],
            mode="lines+markers",
            line=dict(color="gray"),
            name="random features (k=1)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=np.exp(-2 * (k - 1) * l2 * t),
            mode="lines",
            line=dict(color="black", dash="dash"),
            name=f"theory e^(−{2 * (k - 1)}λt)",
        )
    )
    fig.update_layout(
        title=title or f"Kernel decay at λ = {_fmt(l2)}: measured against theory",
        xaxis=dict(title="flow time t = η·steps"),
        yaxis=dict(title="tr Θₜ / tr Θ₀", type="log", exponentformat="power"),
    )
    return fig


def _fro(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(np.asarray(a) ** 2, axis=(-2, -1)))


def outputs_vs_width(arrays: Arrays, split: str = "train", title: str | None = None) -> go.Figure:
    """A ``width_ntk`` artifact: ‖f_t‖ on the training (or test) set against t, measured (solid)
    and theory from the same network's Θ₀, f₀ (dashed), per width; the random-features model
    (k = 1) with its kernel-ridge limit (dotted)."""
    t = np.asarray(arrays["times"])
    fig = go.Figure()
    # Measured lines first and wide, the theory on top, thin and dashed, so that where they
    # agree the theory is still seen; log axes keep the t = 0 transient from hiding the rest.
    for kind, dash, width in (("f", "solid", 4), ("theory", "dash", 1.5)):
        for i, w in enumerate(np.asarray(arrays["widths"])):
            a = arrays[f"f_{split}" if kind == "f" else f"theory_{split}"][i]
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=_fro(a),
                    mode="lines",
                    line=dict(color=color_for(i), dash=dash, width=width),
                    opacity=0.45 if kind == "f" else 1.0,
                    name=f"width {int(w)}: " + ("measured" if kind == "f" else "theory"),
                )
            )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=_fro(arrays[f"rf_f_{split}"]),
            mode="lines",
            line=dict(color="gray"),
            name="random features (k=1): measured",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=_fro(arrays[f"rf_theory_{split}"]),
            mode="lines",
            line=dict(color="gray", dash="dash"),
            name="random features: theory",
        )
    )
    ridge = float(np.sqrt(np.sum(np.asarray(arrays[f"rf_ridge_{split}"]) ** 2)))
    fig.add_trace(
        go.Scatter(
            x=[t[0], t[-1]],
            y=[ridge, ridge],
            mode="lines",
            line=dict(color="black", dash="dot"),
            name="kernel ridge limit (k=1)",
        )
    )
    fig.update_layout(
        title=title or f"Outputs on the {split} set: ‖fₜ‖ measured and theory",
        xaxis=dict(title="flow time t = η·steps", type="log"),
        yaxis=dict(title="‖fₜ‖ (Frobenius over examples × classes)", type="log"),
    )
    return fig


def width_errors(summary, title: str = "Distance from the theory against width") -> go.Figure:
    """A :class:`~l2lib.widthexp.WidthSummary`: relative error of the kernel decay rate and the
    largest output deviation (train, test) against width, log–log."""
    w = np.asarray(summary.widths)
    fig = go.Figure()
    for i, (name, y) in enumerate(
        (
            ("|rate − 2(k−1)λ| / 2(k−1)λ", summary.rate_error),
            ("max_t ‖f_t − f_t^th‖ / ‖Y‖ (train)", summary.output_error),
            ("the same, test", summary.test_output_error),
        )
    ):
        fig.add_trace(
            go.Scatter(x=w, y=y, mode="lines+markers", line=dict(color=color_for(i)), name=name)
        )
    fig.update_layout(
        title=title,
        xaxis=dict(title="width", type="log"),
        yaxis=dict(title="relative error", type="log", exponentformat="power"),
    )
    return fig


def hessian_eigs(
    arrays: Arrays, title: str = "Smallest eigenvalues of ∇²(L + ½λ‖θ‖²), over λ"
) -> go.Figure:
    """A ``hessian_min_eig`` artifact: the three smallest eigenvalues of the regularised Hessian
    at a near-interpolating point, divided by λ, against λ (the heuristic: ratio 1)."""
    l2 = np.asarray(arrays["l2"], float)
    small = np.asarray(arrays["smallest"])
    fig = go.Figure()
    for j in range(small.shape[1]):
        fig.add_trace(
            go.Scatter(
                x=l2,
                y=small[:, j] / l2,
                mode="markers",
                marker=dict(size=12 - 2 * j, color=color_for(j)),
                name=f"eigenvalue #{j + 1} from the bottom, / λ",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[l2.min() / 2, l2.max() * 2],
            y=[1.0, 1.0],
            mode="lines",
            line=dict(color="black", dash="dash"),
            name="eigenvalue = λ",
        )
    )
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ", type="log", exponentformat="power"),
        yaxis=dict(title="eigenvalue / λ"),
    )
    return fig


# --- chapter 3: AutoL2 against constant λ ---------------------------------------------------


def add_value_slider(
    fig: go.Figure,
    trace_values: Sequence[float | None],
    values: Sequence[float],
    prefix: str = "λ = ",
    y: float = -0.18,
    start: int | None = None,
) -> go.Figure:
    """One kernel-free slider that shows the traces of one value (``None``: always shown).

    ``start`` is the position shown first: 0 is "all", ``k`` the k-th value (a figure of many
    groups starts on one, so that its first view is readable); by default the middle value
    when "all" would draw more than :data:`MANY_TRACES` traces (:func:`first_shown`), else 0."""
    assert len(trace_values) == len(fig.data)
    if start is None:
        first = first_shown([t for t in trace_values if t is not None], list(values))
        start = 0 if first is None else 1 + list(values).index(first)

    def vis(sel):
        return [t is None or sel is None or t == sel for t in trace_values]

    steps = [dict(method="restyle", label="all", args=[{"visible": vis(None)}])]
    steps += [dict(method="restyle", label=_fmt(v), args=[{"visible": vis(v)}]) for v in values]
    if start:
        for trace, shown in zip(fig.data, vis(values[start - 1]), strict=True):
            trace.visible = shown
    fig.update_layout(
        sliders=[
            dict(active=start, steps=steps, currentvalue=dict(prefix=prefix), y=y, pad=dict(t=10))
        ],
        margin=dict(b=150),
    )
    return fig


def _staircase(decays: Sequence[int], l2_init: float, factor: float, end: int):
    """x, y of λ in force from step 0 to ``end`` with a ÷factor at each step of ``decays``."""
    xs, ys, l2 = [0], [l2_init], l2_init
    for d in decays:
        l2 /= factor
        xs.append(d)
        ys.append(l2)
    xs.append(end)
    ys.append(l2)
    return np.array(xs, float), np.array(ys, float)


def _crossing_sizes(steps: np.ndarray, at: float, size: int = 11) -> np.ndarray:
    sizes = np.zeros(len(steps))
    if np.isfinite(at):
        sizes[int(np.flatnonzero(steps == at)[0])] = size
    return sizes


def autol2_comparison(
    auto: Arrays, summary, factor: float = 10.0, title: str = "AutoL2 against constant λ"
) -> go.Figure:
    """Test accuracy (mean over seeds) against steps, AutoL2 and every constant λ (top), and the
    λ in force (bottom): AutoL2's staircase per seed, the fastest schedule the rule allows, and
    the constants. ◆ marks where each curve first reaches the target (the best constant's
    maximum less the tolerance). The slider picks one constant λ; AutoL2 stays shown.

    Args:
      auto: the AutoL2 sweep's arrays (for λ(t) per seed).
      summary: :class:`l2lib.check.AutoL2Summary` of the pair.
      factor: AutoL2's decay factor (for the fastest-schedule staircase).
    """
    from plotly.subplots import make_subplots

    s = summary
    steps = np.asarray(s.eval_step)
    end = int(steps[-1])
    best = s.best_index
    target = s.target(best)
    const_steps, auto_steps = s.steps_to(target)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.66, 0.34], vertical_spacing=0.06
    )
    values: list[float | None] = []
    for k, l2 in enumerate(s.const_l2):
        tag = " (best)" if k == best else ""
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=s.const_curves[k],
                mode="lines+markers",
                marker=dict(size=_crossing_sizes(steps, const_steps[k]), symbol="diamond"),
                line=dict(color=color_for(k + 1), width=1.5),
                name=f"constant λ={_fmt(l2)}{tag}",
                hovertemplate=f"λ={_fmt(l2)}<br>step %{{x}}<br>acc %{{y:.3f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        values.append(float(l2))
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=s.auto_curve,
            mode="lines+markers",
            marker=dict(size=_crossing_sizes(steps, auto_steps), symbol="diamond"),
            line=dict(color="black", width=2.5),
            name=f"AutoL2 from λ₀={_fmt(s.l2_init)}",
            hovertemplate="AutoL2<br>step %{x}<br>acc %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    values.append(None)
    fig.add_trace(
        go.Scatter(
            x=[steps[0], end],
            y=[target, target],
            mode="lines",
            line=dict(color="gray", dash="dot", width=1),
            name=f"target: best constant's max − {s.const_best[best] - target:.3g}",
        ),
        row=1,
        col=1,
    )
    values.append(None)
    for j, d in enumerate(s.decays):
        x, y = _staircase(d, s.l2_init, factor, end)
        fig.add_trace(
            go.Scatter(
                x=np.maximum(x, steps[0]),
                y=y,
                mode="lines",
                line=dict(color="black", width=1.5, shape="hv"),
                opacity=0.8,
                name="AutoL2 λ(t), one line per seed",
                legendgroup="lambda",
                showlegend=j == 0,
            ),
            row=2,
            col=1,
        )
        values.append(None)
    x, y = _staircase(s.earliest, s.l2_init, factor, end)
    fig.add_trace(
        go.Scatter(
            x=np.maximum(x, steps[0]),
            y=y,
            mode="lines",
            line=dict(color="gray", dash="dot", width=1.5, shape="hv"),
            name="fastest the rule allows (refractory only)",
        ),
        row=2,
        col=1,
    )
    values.append(None)
    for k, l2 in enumerate(s.const_l2):
        if l2 <= 0:
            continue
        fig.add_trace(
            go.Scatter(
                x=[steps[0], end],
                y=[l2, l2],
                mode="lines",
                line=dict(color=color_for(k + 1), dash="dash", width=1),
                name=f"constant λ={_fmt(l2)}",
                showlegend=False,
            ),
            row=2,
            col=1,
        )
        values.append(float(l2))
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_xaxes(type="log", title="step t", row=2, col=1)
    fig.update_yaxes(title="test accuracy (mean of seeds)", row=1, col=1)
    fig.update_yaxes(title="λ in force", type="log", exponentformat="power", row=2, col=1)
    fig.update_layout(title=title, height=650)
    return add_value_slider(fig, values, [float(v) for v in s.const_l2], y=-0.12)


def autol2_budget(
    const: Arrays, summary, title: str = "What each constant λ reaches, and how fast"
) -> go.Figure:
    """Left: the best test accuracy within the budget per constant λ (mean of seeds: diamond;
    each seed: dot), AutoL2's as a line. Right: the steps each needs to first reach the target (the
    best constant's maximum less the tolerance); no bar where a λ never reaches it."""
    from plotly.subplots import make_subplots

    s = summary
    target = s.target(s.best_index)
    const_steps, auto_steps = s.steps_to(target)
    labels = [_fmt(v) for v in s.const_l2]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("best test accuracy in the budget", f"steps to reach {target:.3f}"),
        horizontal_spacing=0.12,
    )
    colors = [color_for(k + 1) for k in range(len(labels))]
    # Accuracies differ by points near 0.6-0.9: a bar from a non-zero baseline would exaggerate
    # them, so the means are markers on an axis that need not start at 0.
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=s.const_best,
            mode="markers",
            marker=dict(color=colors, size=14, symbol="diamond"),
            name="constant λ (mean of seeds)",
        ),
        row=1,
        col=1,
    )
    l2 = np.asarray(const["member_l2"], float)
    per_seed = np.nanmax(np.asarray(const["test_accuracy"], float), axis=1)
    fig.add_trace(
        go.Scatter(
            x=[_fmt(v) for v in l2],
            y=per_seed,
            mode="markers",
            marker=dict(color="black", size=6, symbol="circle-open"),
            name="one seed",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[s.auto_best] * len(labels),
            mode="lines",
            line=dict(color="black", width=2.5),
            name=f"AutoL2 (mean of seeds): {s.auto_best:.3f}",
        ),
        row=1,
        col=1,
    )
    reached = np.isfinite(const_steps)
    fig.add_trace(
        go.Bar(
            x=labels,
            y=np.where(reached, const_steps, 0.0),
            marker_color=colors,
            text=["" if r else "never" for r in reached],
            textposition="outside",
            name="steps to the target",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    auto_label = f"{auto_steps:.0f}" if np.isfinite(auto_steps) else "never"
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[auto_steps if np.isfinite(auto_steps) else np.nan] * len(labels),
            mode="lines",
            line=dict(color="black", width=2.5, dash="dash"),
            name=f"AutoL2 steps to the target: {auto_label}",
        ),
        row=1,
        col=2,
    )
    both = np.concatenate([per_seed, [s.auto_best]])
    lo, hi = float(np.nanmin(both)), float(np.nanmax(both))
    fig.update_yaxes(
        range=[max(lo - 0.05, 0.0), min(hi + 0.03, 1.0)], title="test accuracy", row=1, col=1
    )
    fig.update_yaxes(title="steps", row=1, col=2)
    fig.update_xaxes(title="constant λ", type="category", row=1, col=1)
    fig.update_xaxes(title="constant λ", type="category", row=1, col=2)
    fig.update_layout(
        title=title, height=500, legend=dict(orientation="h", y=-0.25), margin=dict(b=120)
    )
    return fig


def autol2_signal(
    auto: Arrays, summary, title: str = "What the rule reads: one training batch at a time"
) -> go.Figure:
    """Per AutoL2 seed, the bare training loss and accuracy on the batch of each evaluation's
    last step (the same kind of one-batch measurement the rule makes every ``every`` steps),
    with ● where λ was divided. The slider picks one seed."""
    from plotly.subplots import make_subplots

    s = summary
    steps = np.asarray(auto["eval_step"])
    seeds = [int(v) for v in np.asarray(auto["member_seed"])]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    values: list[float | None] = []
    for i, seed in enumerate(seeds):
        for row, key in ((1, "train_loss"), (2, "train_accuracy")):
            y = np.asarray(auto[key][i], float)
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=y,
                    mode="lines",
                    line=dict(color=color_for(i), width=1),
                    name=f"seed {seed}",
                    legendgroup=f"seed{seed}",
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
            values.append(float(seed))
            # A decay at step d took effect from update d: its evaluation is d + eval interval.
            at = [int(np.searchsorted(steps, d, side="right")) for d in s.decays[i]]
            at = [j for j in at if j < len(steps)]
            fig.add_trace(
                go.Scatter(
                    x=steps[at],
                    y=y[at],
                    mode="markers",
                    marker=dict(color=color_for(i), size=9, line=dict(color="black", width=1)),
                    name=f"λ ÷ 10, seed {seed}",
                    legendgroup=f"seed{seed}",
                    showlegend=False,
                ),
                row=row,
                col=1,
            )
            values.append(float(seed))
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_xaxes(type="log", title="step t", row=2, col=1)
    fig.update_yaxes(title="training-batch loss (no L2)", type="log", row=1, col=1)
    fig.update_yaxes(title="training-batch accuracy", row=2, col=1)
    fig.update_layout(title=title, height=600)
    return add_value_slider(fig, values, [float(v) for v in seeds], prefix="seed = ", y=-0.12)


# --- chapter 2: performance against λ, and λ_opt(T) ≈ c/(ηT) ----------------------------------


def budget_grid(budgets: Sequence[int], every: int, start: int = 250) -> list[int]:
    """Slider positions over T: half-octave steps from ``start`` to max(budgets), on the
    evaluation grid, with every budget in ``budgets`` among them."""
    top = max(budgets)
    n = int(np.floor(2 * np.log2(top / start))) + 1
    ts = {int(round(start * 2 ** (k / 2) / every) * every) for k in range(n)}
    return sorted(t for t in ts | {int(b) for b in budgets} if 0 < t <= top)


def _budget_trace(
    b: analysis.ScaledBudget, sel: np.ndarray, x: np.ndarray, line: dict, name: str, **kw
) -> go.Scatter:
    """Curve (b) of the members ``sel`` (an index array, in drawing order) against ``x``:
    members capped before their budget are hollow markers."""
    return go.Scatter(
        x=x,
        y=b.accuracy[sel],
        mode="lines+markers",
        line=line,
        marker=dict(size=9, symbol=np.where(b.capped[sel], "circle-open", "circle").tolist()),
        name=name,
        **kw,
    )


def _hline(x0: float, x1: float, y: float, **kw) -> go.Scatter:
    return go.Scatter(x=[x0, x1], y=[y, y], mode="lines", **kw)


def budget_curves(
    results: Arrays,
    horizon: float,
    c: analysis.CMeasurement,
    budgets: Sequence[int],
    title: str = "Best test accuracy against λ: fixed budget T and budget ∝ 1/λ",
) -> go.Figure:
    """Paper Fig. 1a–b on one sweep: (a) the best test accuracy within T steps against λ, for
    each T of the slider (with λ_opt(T) = c/(ηT) as a dashed vertical line and the sweep's
    best λ as a star), and (b) within horizon/(λη) steps (black, always shown). λ = 0 cannot sit
    on a log axis: it is a horizontal line at its accuracy. The **T slider** shows one budget
    with its markers (``all``: the curves (a) of every budget, without markers)."""
    l2 = np.asarray(results["member_l2"], float)
    pos = l2 > 0
    order = np.argsort(-l2[pos])
    xs = l2[pos][order]
    x0, x1 = xs.min() / 1.6, xs.max() * 1.6
    fixed = {int(T): analysis.best_within(results, T) for T in budgets}
    b = analysis.scaled_budget(results, horizon)
    vals = np.concatenate([np.ravel(list(fixed.values())), b.accuracy])
    lo, hi = np.nanmin(vals) - 0.02, np.nanmax(vals) + 0.02
    fig = go.Figure()
    tags: list[int | None] = []
    sel = np.flatnonzero(pos)[order]
    fig.add_trace(
        _budget_trace(
            b,
            sel,
            xs,
            dict(color="black", width=3),
            f"(b) budget {horizon:g}/(λη)",
            customdata=b.budget[sel],
            hovertemplate="λ=%{x:.3g}<br>budget %{customdata:.0f} steps<br>acc %{y:.3f}<extra></extra>",
        )
    )
    tags.append(None)
    if (~pos).any():
        zero = float(b.accuracy[~pos][0])
        steps0 = int(np.asarray(results["num_steps"])[~pos][0])
        fig.add_trace(
            _hline(
                x0,
                x1,
                zero,
                line=dict(color="black", dash="dot"),
                name=f"(b) λ = 0, whole run ({steps0} steps)",
            )
        )
        tags.append(None)
    eta = c.learning_rate
    for j, T in enumerate(budgets):
        acc = fixed[int(T)]
        col = f"hsl({int(220 - 200 * j / max(len(budgets) - 1, 1))},70%,45%)"
        opt = analysis.optimum(l2, acc)
        lam = analysis.predict_l2(c.c, eta, T)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=acc[pos][order],
                mode="lines+markers",
                line=dict(color=col),
                name=f"(a) T = {T}",
                hovertemplate=f"T={T}<br>λ=%{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
            )
        )
        traces = [
            go.Scatter(
                x=[lam, lam],
                y=[lo, hi],
                mode="lines",
                line=dict(color=col, dash="dash"),
                name=f"λ_opt(T={T}) = c/(ηT) = {lam:.3g}",
            ),
            go.Scatter(
                x=[opt.l2 if opt.l2 > 0 else x0],
                y=[opt.accuracy],
                mode="markers",
                marker=dict(symbol="star", size=15, color=col, line=dict(color="black", width=1)),
                name=f"best λ at T={T}: {opt.l2:.3g}",
            ),
        ]
        if (~pos).any():
            traces.append(
                _hline(
                    x0,
                    x1,
                    float(acc[~pos][0]),
                    line=dict(color=col, dash="dot", width=1),
                    name=f"λ = 0 at T={T}",
                )
            )
        for tr in traces:
            tr.visible = False  # the "all" view shows the curves only
            fig.add_trace(tr)
        tags += [T] + [-T] * len(traces)  # -T: a budget's markers, hidden in the "all" view

    def shown(sel: int | None) -> list[bool]:
        if sel is None:
            return [t is None or t > 0 for t in tags]
        return [t is None or abs(t) == sel for t in tags]

    vis = [shown(sel) for sel in [None, *budgets]]
    steps = [
        dict(method="restyle", label="all" if sel is None else str(sel), args=[{"visible": v}])
        for sel, v in zip([None, *budgets], vis, strict=True)
    ]
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ", type="log", exponentformat="power", range=np.log10([x0, x1])),
        yaxis=dict(title="best test accuracy within the budget", range=[lo, hi]),
        sliders=[
            dict(active=0, steps=steps, currentvalue=dict(prefix="T = "), y=-0.18, pad=dict(t=10))
        ],
        margin=dict(b=150),
    )
    return fig


def optimum_against_budget(
    results: Arrays,
    c: analysis.CMeasurement,
    budgets: Sequence[int],
    validation: Sequence[analysis.Validation] = (),
    tolerance: float = 0.01,
    title: str = "The best λ against the budget T, and c/(ηT)",
) -> go.Figure:
    """The sweep's best λ at each budget T (circles; the bar spans every λ of the grid within
    ``tolerance`` of the best), the prediction c/(ηT) (line) with its factor-2 band (dotted),
    and the runs made at the predicted λ (diamonds). A best λ of 0 is drawn as a triangle at
    the bottom of the axis."""
    l2 = np.asarray(results["member_l2"], float)
    floor = l2[l2 > 0].min() / 2
    best, low, high = [], [], []
    for T in budgets:
        acc = analysis.best_within(results, T)
        opt = analysis.optimum(l2, acc)
        near = l2[np.isfinite(acc) & (acc >= opt.accuracy - tolerance)]
        best.append(opt.l2 if opt.l2 > 0 else np.nan)
        low.append(max(near.min(), floor))
        high.append(near.max())
    best = np.array(best)
    ts = np.asarray(budgets, float)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=ts,
            y=best,
            mode="markers",
            marker=dict(size=9, color=color_for(0)),
            error_y=dict(
                type="data",
                symmetric=False,
                array=np.array(high) - np.nan_to_num(best, nan=floor),
                arrayminus=np.nan_to_num(best, nan=floor) - np.array(low),
                color=color_for(0),
                thickness=1,
            ),
            name=f"sweep's best λ (bar: λ within {100 * tolerance:g} pt of it)",
            hovertemplate="T=%{x}<br>best λ=%{y:.3g}<extra></extra>",
        )
    )
    zero = np.isnan(best)
    if zero.any():
        fig.add_trace(
            go.Scatter(
                x=ts[zero],
                y=np.full(zero.sum(), floor),
                mode="markers",
                marker=dict(size=11, symbol="triangle-down", color=color_for(0)),
                name="sweep's best is λ = 0",
            )
        )
    line = np.geomspace(ts.min(), ts.max(), 50)
    pred = c.c / (c.learning_rate * line)
    fig.add_trace(
        go.Scatter(
            x=line,
            y=pred,
            mode="lines",
            line=dict(color="black"),
            name=f"c/(ηT), c = {c.c:.3g} (λ₀ = {c.l2:g})",
        )
    )
    for f in (2.0, 0.5):
        fig.add_trace(
            go.Scatter(
                x=line,
                y=pred * f,
                mode="lines",
                line=dict(color="gray", dash="dot"),
                name="×2 and ×½",
                showlegend=f == 2.0,
            )
        )
    if validation:
        fig.add_trace(
            go.Scatter(
                x=[v.budget for v in validation],
                y=[v.predicted_l2 for v in validation],
                mode="markers",
                marker=dict(size=12, symbol="diamond", color=color_for(1)),
                name="runs at the predicted λ_opt(T)",
            )
        )
    fig.update_layout(
        title=title,
        xaxis=dict(title="budget T (steps)", type="log"),
        yaxis=dict(title="λ", type="log", exponentformat="power"),
    )
    return fig


def prediction_accuracy(
    validation: Sequence[analysis.Validation],
    title: str = "What the prediction buys: accuracy within T",
) -> go.Figure:
    """At each validated budget T: the sweep's best accuracy, the predicted λ_opt(T)'s, and
    λ = 0's (the untuned baseline)."""
    ts = [v.budget for v in validation]
    fig = go.Figure()
    for i, (name, ys, dash) in enumerate(
        (
            ("sweep's best λ", [v.best_accuracy for v in validation], "solid"),
            ("predicted λ_opt = c/(ηT)", [v.predicted_accuracy for v in validation], "solid"),
            ("λ = 0", [v.zero_accuracy for v in validation], "dot"),
        )
    ):
        fig.add_trace(
            go.Scatter(
                x=ts,
                y=ys,
                mode="lines+markers",
                line=dict(color=color_for(i), dash=dash),
                marker=dict(size=9, symbol="diamond" if i == 1 else "circle"),
                name=name,
                hovertemplate="T=%{x}<br>acc %{y:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        xaxis=dict(title="budget T (steps)", type="log"),
        yaxis=dict(title="best test accuracy within T"),
    )
    return fig


def probe_curve(
    results: Arrays, c: analysis.CMeasurement, title: str = "The probe: where t* is read"
) -> go.Figure:
    """The probe's test (and batch training) accuracy against λ₀·η·t, with t* marked; the
    x-coordinate of the star is c."""
    x = analysis.scaled_time(results)[0]
    fig = go.Figure()
    for i, key in enumerate(("test_accuracy", "train_accuracy")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.asarray(results[key])[0],
                mode="lines",
                line=dict(color=color_for(i)),
                name=key.replace("_", " ") + (" (one batch)" if i else ""),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[c.c],
            y=[c.best_accuracy],
            mode="markers",
            marker=dict(symbol="star", size=16, color="black"),
            name=f"t* = {c.t_star:.0f} steps: c = λ₀ηt* = {c.c:.3g}",
        )
    )
    fig.update_layout(
        title=title,
        xaxis=dict(title=f"λ₀·η·t (λ₀ = {c.l2:g}, η = {c.learning_rate:g})"),
        yaxis=dict(title="accuracy"),
    )
    return fig


def scaled_budget_by_lr(
    results: Arrays,
    horizon: float,
    title: str = "Budget ∝ 1/(λη) at three learning rates (chapter 1's runs)",
) -> go.Figure:
    """Curve (b) for every η of a sweep whose members stop at λ·η·t = ``horizon`` (chapter 1's):
    best test accuracy against λη. Members capped before their budget are hollow; λ = 0 is a
    horizontal dotted line per η."""
    l2, lr, _, lrs = _members(results)
    b = analysis.scaled_budget(results, horizon)
    x = l2 * lr
    x0, x1 = x[x > 0].min() / 1.6, x.max() * 1.6
    fig = go.Figure()
    for j, eta in enumerate(lrs):
        sel = np.flatnonzero((lr == eta) & (l2 > 0))
        sel = sel[np.argsort(-x[sel])]
        fig.add_trace(
            _budget_trace(
                b,
                sel,
                x[sel],
                dict(color=color_for(j)),
                f"η={_fmt(eta)}",
                customdata=np.stack([l2[sel], b.budget[sel]], axis=1),
                hovertemplate="λ=%{customdata[0]:.3g} λη=%{x:.3g}<br>budget %{customdata[1]:.0f}"
                "<br>acc %{y:.3f}<extra></extra>",
            )
        )
        zero = (lr == eta) & (l2 == 0)
        if zero.any():
            fig.add_trace(
                _hline(
                    x0,
                    x1,
                    float(b.accuracy[zero][0]),
                    line=dict(color=color_for(j), dash="dot"),
                    name=f"η={_fmt(eta)}, λ = 0 (whole run)",
                )
            )
    fig.update_layout(
        title=title,
        xaxis=dict(title="λη", type="log", exponentformat="power", range=np.log10([x0, x1])),
        yaxis=dict(title=f"best test accuracy within {horizon:g}/(λη) steps"),
    )
    return fig


def scaled_budget_by_horizon(
    runs: Sequence[tuple[Arrays, float]],
    title: str = "Budget ∝ 1/(λη): two constants",
) -> go.Figure:
    """Curve (b) of sweeps over λ (one η) whose members train ``horizon``/(λη) steps, one
    ``(results, horizon)`` per sweep: best test accuracy within the budget against λ, with λ = 0
    (whole run) as a dotted line. The **budget slider** shows one horizon (``all``: every
    one); hollow markers are members capped before their budget."""
    fig = go.Figure()
    tags: list[int] = []
    xs_all = np.concatenate([np.asarray(r["member_l2"], float) for r, _ in runs])
    x0, x1 = xs_all[xs_all > 0].min() / 1.6, xs_all.max() * 1.6
    for j, (results, horizon) in enumerate(runs):
        l2 = np.asarray(results["member_l2"], float)
        b = analysis.scaled_budget(results, horizon)
        pos = l2 > 0
        sel = np.flatnonzero(pos)[np.argsort(-l2[pos])]
        fig.add_trace(
            _budget_trace(
                b,
                sel,
                l2[sel],
                dict(color=color_for(j), width=3),
                f"(b) budget {horizon:g}/(λη)",
                customdata=b.budget[sel],
                hovertemplate="λ=%{x:.3g}<br>budget %{customdata:.0f} steps"
                "<br>acc %{y:.3f}<extra></extra>",
            )
        )
        tags.append(j)
        if (~pos).any():
            steps0 = int(np.asarray(results["num_steps"])[~pos][0])
            fig.add_trace(
                _hline(
                    x0,
                    x1,
                    float(b.accuracy[~pos][0]),
                    line=dict(color=color_for(j), dash="dot"),
                    name=f"λ = 0, {steps0} steps",
                )
            )
            tags.append(j)
    labels = ["all"] + [f"{h:g}/(λη)" for _, h in runs]
    steps = [
        dict(
            method="restyle",
            label=lab,
            args=[{"visible": [sel is None or t == sel for t in tags]}],
        )
        for lab, sel in zip(labels, [None, *range(len(runs))], strict=True)
    ]
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ", type="log", exponentformat="power", range=np.log10([x0, x1])),
        yaxis=dict(title="best test accuracy within the budget"),
        sliders=[
            dict(
                active=0, steps=steps, currentvalue=dict(prefix="budget: "), y=-0.18, pad=dict(t=10)
            )
        ],
        margin=dict(b=150),
    )
    return fig


# --- chapter 5: schedules, momentum, batch norm ------------------------------------------------


def schedule_curves(results: Arrays, config, title: str = "Test accuracy under a schedule"):
    """Test accuracy of every member against steps, λη₀t or λ∫η dt (buttons, kernel-free);
    ◆ marks t*; λ slider (visibility) and η slider (opacity) as in chapter 1."""
    l2, lr, l2s, lrs = _members(results)
    pk = analysis.peaks(results)
    steps = np.asarray(results["eval_step"], float)
    acc = np.asarray(results["test_accuracy"])
    clocks = {
        "step t": np.broadcast_to(steps, acc.shape),
        "λ·η₀·t (naive clock)": analysis.naive_clock(results),
        "λ·∫η dt (integrated clock)": analysis.integrated_clock(results, config),
    }
    fig = go.Figure()
    for i in range(len(l2)):
        fig.add_trace(
            go.Scatter(
                x=clocks["λ·∫η dt (integrated clock)"][i],
                y=acc[i],
                mode="lines+markers",
                marker=_peak_marker(steps, pk.t_star[i]),
                line=dict(color=color_for(lrs.index(lr[i]))),
                name=f"λ={_fmt(l2[i])}, η₀={_fmt(lr[i])}",
                hovertemplate=f"λ={_fmt(l2[i])} η₀={_fmt(lr[i])}<br>x %{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
            )
        )
    buttons = [
        dict(
            method="update",
            label=name.split(" (")[0],
            args=[{"x": [c[i] for i in range(len(l2))]}, {"xaxis.title.text": name}],
        )
        for name, c in clocks.items()
    ]
    buttons = buttons[2:] + buttons[:2]  # the integrated clock first: what the figure opens on
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ·∫η dt (integrated clock)", type="log"),
        yaxis=dict(title="test accuracy"),
        updatemenus=[
            dict(type="buttons", direction="right", buttons=buttons, x=0.0, y=1.13, xanchor="left")
        ],
    )
    return add_member_sliders(fig, list(l2), list(lr), l2s, lrs)


def clocks_at_peak(summaries: Mapping[str, Any], title: str = "Each clock's value at t*"):
    """Per schedule: λη₀·t* (hollow) and λ∫η dt at t* (filled) against λη₀, censored members
    left out; a kernel-free schedule slider. ``summaries``: schedule → (results, ClockCollapse)."""
    fig = go.Figure()
    owner = []
    kinds = list(summaries)
    for j, (kind, (res, s)) in enumerate(summaries.items()):
        lam_eta = np.asarray(res["member_l2"], float) * np.asarray(res["member_learning_rate"])
        u = s.used
        for clock, vals, sym in (
            ("λη₀·t*", s.naive, "circle-open"),
            ("λ∫η dt at t*", s.integrated, "circle"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=lam_eta[u],
                    y=vals[u],
                    mode="markers",
                    marker=dict(size=10, symbol=sym, color=color_for(j), line=dict(width=2)),
                    name=f"{kind}: {clock}",
                    hovertemplate="λη₀=%{x:.3g}<br>clock=%{y:.3g}<extra></extra>",
                )
            )
            owner.append(kind)
    fig.update_layout(
        title=title,
        xaxis=dict(title="λη₀", type="log", exponentformat="power"),
        yaxis=dict(title="clock at t* (a line: the clock collapses the peaks)", type="log"),
    )
    steps = [dict(method="restyle", label="all", args=[{"visible": [True] * len(owner)}])]
    steps += [
        dict(method="restyle", label=k, args=[{"visible": [o == k for o in owner]}]) for k in kinds
    ]
    fig.update_layout(
        sliders=[
            dict(
                active=0,
                steps=steps,
                currentvalue=dict(prefix="schedule: "),
                y=-0.18,
                pad=dict(t=10),
            )
        ],
        margin=dict(b=150),
    )
    return fig


def with_effective_lr(results: Arrays, momentum: float) -> dict[str, np.ndarray]:
    """``results`` with η replaced by the effective step η/(1 − μ) (member and curve), so the
    chapter-1 figures plot against λ·η/(1 − μ)·t."""
    out = dict(results)
    out["member_learning_rate"] = np.round(
        np.asarray(results["member_learning_rate"], float) / (1 - momentum), 10
    )
    out["learning_rate"] = np.asarray(results["learning_rate"], float) / (1 - momentum)
    return out


def bn_norms(arrays: Arrays, cfg, title: str = "Hidden-layer weight norms under L2") -> go.Figure:
    """Per (λ, η) (slider): ‖W‖ of each hidden layer against steps, with batch norm (solid),
    its stationary prediction (η‖g̃‖²/(λ(2 − ηλ)))^¼ from the same block's ‖g̃‖² (dashed), and
    without batch norm (dotted)."""
    step = np.asarray(arrays["step"])
    w2 = np.asarray(arrays["sq_norm"], float)
    gu = np.asarray(arrays["grad_sq_unit"], float)
    fig = go.Figure()
    owner = []
    for p, (lam, eta) in enumerate(cfg.pairs):
        pred = (eta * gu[1, p] / (lam * (2 - eta * lam))) ** 0.25
        for layer in range(w2.shape[-1]):
            c = color_for(layer)
            for y, name, dash in (
                (np.sqrt(w2[1, p, :, layer]), "BN: ‖W‖", "solid"),
                (pred[:, layer], "BN: predicted", "dash"),
                (np.sqrt(w2[0, p, :, layer]), "no BN: ‖W‖", "dot"),
            ):
                fig.add_trace(
                    go.Scatter(
                        x=step,
                        y=y,
                        mode="lines",
                        line=dict(color=c, dash=dash),
                        name=f"λ={_fmt(lam)}, η={_fmt(eta)}, layer {layer + 1}: {name}",
                        hovertemplate="step %{x}<br>%{y:.3g}<extra></extra>",
                    )
                )
                owner.append(lam * eta)
    fig.update_layout(
        title=title,
        xaxis=dict(title="step t"),
        yaxis=dict(title="‖W‖ (Frobenius)", type="log"),
    )
    # One (λ, η) at a time by default: all of them at once is 24 overlapping lines.
    return add_value_slider(fig, owner, sorted(set(owner)), prefix="λη = ", start=1)


def schedule_l2opt(
    summaries: Mapping[str, Any],
    title: str = "Best test accuracy against λ under each schedule, and the two predictions",
) -> go.Figure:
    """λ_opt(T) under a schedule (chapter 5): per schedule (colour) and budget T, the best test
    accuracy within T against λ, with ◇ the run at the naive c/(η₀T), ◆ the run at the
    integrated c/∫η dt and ★ the sweep's best λ; λ = 0 is a dotted horizontal line (it cannot
    sit on a log axis). The **T slider** shows one budget (visibility); the **schedule slider**
    draws one schedule solid and the others faint (opacity). ``summaries``: schedule name →
    :class:`l2lib.check.ScheduleL2OptSummary` (a constant schedule: one marker, the two
    predictions coincide)."""
    fig = go.Figure()
    t_tag: list[int] = []
    k_tag: list[str] = []
    kinds = list(summaries)
    budgets = sorted({v.budget for s in summaries.values() for v in s.validation})
    l2_all = np.concatenate([np.asarray(s.l2, float) for s in summaries.values()])
    pos_all = l2_all[l2_all > 0]
    x0, x1 = pos_all.min() / 1.6, pos_all.max() * 1.6
    vals = [np.asarray(a, float) for s in summaries.values() for a in s.accuracy.values()]
    vals += [
        np.array([v.naive_accuracy, v.integrated_accuracy])
        for s in summaries.values()
        for v in s.validation
    ]
    flat = np.concatenate(vals)
    lo, hi = np.nanmin(flat) - 0.02, np.nanmax(flat) + 0.02

    def add(trace: go.Scatter, T: int, kind: str) -> None:
        trace.visible = T == budgets[0]
        fig.add_trace(trace)
        t_tag.append(T)
        k_tag.append(kind)

    for j, (kind, s) in enumerate(summaries.items()):
        col = color_for(j)
        l2 = np.asarray(s.l2, float)
        pos = l2 > 0
        order = np.argsort(-l2[pos])
        for v in s.validation:
            T = v.budget
            acc = np.asarray(s.accuracy[T], float)
            add(
                go.Scatter(
                    x=l2[pos][order],
                    y=acc[pos][order],
                    mode="lines+markers",
                    line=dict(color=col),
                    name=f"{kind}, T = {T}",
                    hovertemplate=f"{kind} T={T}<br>λ=%{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
                ),
                T,
                kind,
            )
            if (~pos).any():
                add(
                    _hline(
                        x0,
                        x1,
                        float(acc[~pos][0]),
                        line=dict(color=col, dash="dot", width=1),
                        name=f"{kind}: λ = 0",
                    ),
                    T,
                    kind,
                )
            same = np.isclose(v.naive_l2, v.integrated_l2, rtol=1e-6)
            marks = (
                [("c/(η₀T) = c/∫η", v.naive_l2, v.naive_accuracy, "diamond")]
                if same
                else [
                    ("naive c/(η₀T)", v.naive_l2, v.naive_accuracy, "diamond-open"),
                    ("integrated c/∫η", v.integrated_l2, v.integrated_accuracy, "diamond"),
                ]
            )
            for label, lam, a, sym in marks:
                add(
                    go.Scatter(
                        x=[lam],
                        y=[a],
                        mode="markers",
                        marker=dict(size=13, symbol=sym, color=col, line=dict(color=col, width=2)),
                        name=f"{kind}: {label} = {lam:.3g}",
                        hovertemplate=f"{kind} {label}<br>λ=%{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
                    ),
                    T,
                    kind,
                )
            add(
                go.Scatter(
                    x=[v.best_l2 if v.best_l2 > 0 else x0],
                    y=[v.best_accuracy],
                    mode="markers",
                    marker=dict(
                        symbol="star", size=15, color=col, line=dict(color="black", width=1)
                    ),
                    name=f"{kind}: best λ = {v.best_l2:.3g}",
                ),
                T,
                kind,
            )
    t_steps = [
        dict(method="restyle", label=str(T), args=[{"visible": [t == T for t in t_tag]}])
        for T in budgets
    ]
    k_steps = [dict(method="restyle", label="all", args=[{"opacity": [1.0] * len(k_tag)}])]
    k_steps += [
        dict(
            method="restyle",
            label=k,
            args=[{"opacity": [1.0 if o == k else FAINT for o in k_tag]}],
        )
        for k in kinds
    ]
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ", type="log", exponentformat="power", range=np.log10([x0, x1])),
        yaxis=dict(title="best test accuracy within T", range=[lo, hi]),
        # One row each: side by side, half-width sliders drop the labels that overlap.
        sliders=[
            dict(
                active=0,
                steps=steps,
                currentvalue=dict(prefix=prefix),
                x=0.0,
                len=1.0,
                y=y,
                pad=dict(t=10),
            )
            for steps, prefix, y in ((t_steps, "T = ", -0.16), (k_steps, "schedule: ", -0.42))
        ],
        margin=dict(b=230),
        height=640,
    )
    return fig


# --- chapter 1 inside the premise ---------------------------------------------------------------

#: Points per curve drawn on a log time axis: long, finely evaluated runs are thinned to about
#: this many log-spaced evaluations (the marked extremum always kept), so a page stays light.
LOG_POINTS = 400


def log_subsample(steps: np.ndarray, keep=(), num: int = LOG_POINTS) -> np.ndarray:
    """Indices of about ``num`` evaluations of ``steps`` spaced evenly in log t, plus ``keep``
    (e.g. the index of a t*), sorted and unique."""
    steps = np.asarray(steps, np.float64)
    if len(steps) <= num:
        return np.arange(len(steps))
    grid = np.geomspace(steps[0], steps[-1], num)
    idx = np.searchsorted(steps, grid).clip(0, len(steps) - 1)
    extra = [int(k) for k in keep if 0 <= k < len(steps)]
    return np.unique(np.concatenate([idx, extra, [len(steps) - 1]]).astype(int))


def seed_mean_curves(
    results: Arrays,
    peaks: analysis.SeedPeaks,
    key: str = "test_accuracy",
    scaled: bool = False,
    title: str = "Seed-mean test accuracy",
) -> go.Figure:
    """Top: the seed-mean curve ``key`` of every (λ, η) against step t (or λη·t with
    ``scaled``), ◆ at its t* (read on the smoothed curve). Bottom: the seed-mean accuracy on
    the whole training set, which decides the premise. Colour by λ, dash by η; λ and η sliders
    (kernel-free)."""
    from plotly.subplots import make_subplots

    steps = np.asarray(results["eval_step"], np.float64)
    curves = np.asarray(results[key], np.float64)
    fta = results.get("full_train_accuracy")
    l2s = sorted(set(peaks.l2.tolist()))
    lrs = sorted(set(peaks.learning_rate.tolist()))
    dashes = ("solid", "dash", "dot", "dashdot")
    rows = 1 if fta is None else 2
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.68, 0.32][:rows] if rows == 2 else None,
        vertical_spacing=0.06,
    )
    tl2, tlr = [], []
    for g, idx in enumerate(peaks.members):
        a, b = float(peaks.l2[g]), float(peaks.learning_rate[g])
        sub = log_subsample(steps, np.flatnonzero(steps == peaks.t_star[g]))
        x = (a * b * steps if scaled else steps)[sub]
        line = dict(color=color_for(l2s.index(a)), dash=dashes[lrs.index(b) % len(dashes)])
        tag = "" if peaks.in_premise[g] else " (outside the premise)"
        fig.add_trace(
            go.Scatter(
                x=x,
                y=curves[idx].mean(axis=0)[sub],
                mode="lines+markers",
                marker=_peak_marker(steps[sub], peaks.t_star[g]),
                line=dict(line, width=1.5),
                name=f"λ={_fmt(a)}, η={_fmt(b)}{tag}",
                legendgroup=f"{a},{b}",
                hovertemplate=f"λ={_fmt(a)} η={_fmt(b)}<br>%{{x:.4g}}<br>%{{y:.4f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        tl2.append(a)
        tlr.append(b)
        if fta is not None:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=np.asarray(fta, np.float64)[idx].mean(axis=0)[sub],
                    mode="lines",
                    line=dict(line, width=1),
                    name=f"full-train accuracy, λ={_fmt(a)}, η={_fmt(b)}",
                    legendgroup=f"{a},{b}",
                    showlegend=False,
                    hovertemplate=f"full-train λ={_fmt(a)} η={_fmt(b)}<br>%{{x:.4g}}<br>%{{y:.4f}}<extra></extra>",
                ),
                row=2,
                col=1,
            )
            tl2.append(a)
            tlr.append(b)
    xtitle = "λ·η·t" if scaled else "step t"
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text=xtitle, row=rows, col=1)
    fig.update_yaxes(title_text=key.replace("_", " ") + " (seed mean)", row=1, col=1)
    if rows == 2:
        fig.update_yaxes(title_text="full-train acc.", row=2, col=1)
    fig.update_layout(title=title, height=620)
    return add_member_sliders(fig, tl2, tlr, l2s, lrs, y=-0.14)


def seed_timescale_fit(
    peaks: analysis.SeedPeaks,
    used: np.ndarray,
    fit: analysis.TimescaleFit | None,
    null: analysis.NullTest | None = None,
    title: str = "t* against λη",
) -> go.Figure:
    """Seed-mean t* against λη on log axes, per η, with error bars of its noise floor (the
    spread over seeds, ×10^±std), filled where the (λ, η) enters the claims, hollow where it
    does not (outside the premise, censored or diverged); the fit and c/(λη) lines, and the
    null's p in the legend. An η slider (kernel-free)."""
    lrs = sorted(set(peaks.learning_rate.tolist()))
    lam_eta = peaks.l2 * peaks.learning_rate
    up = peaks.t_star * (10 ** np.nan_to_num(peaks.spread) - 1)
    down = peaks.t_star * (1 - 10 ** -np.nan_to_num(peaks.spread))
    fig = go.Figure()
    tlr = []
    for j, eta in enumerate(lrs):
        for inside in (True, False):
            sel = (peaks.learning_rate == eta) & (used == inside) & np.isfinite(peaks.t_star)
            if not sel.any():
                continue
            why = [
                "used"
                if u
                else ("outside the premise" if not p else ("censored" if c else "diverged"))
                for u, p, c in zip(used[sel], peaks.in_premise[sel], peaks.censored[sel])
            ]
            fig.add_trace(
                go.Scatter(
                    x=lam_eta[sel],
                    y=peaks.t_star[sel],
                    error_y=dict(type="data", array=up[sel], arrayminus=down[sel]),
                    mode="markers",
                    marker=dict(
                        size=10,
                        color=color_for(j) if inside else "rgba(0,0,0,0)",
                        line=dict(color=color_for(j), width=2),
                    ),
                    name=f"η={_fmt(eta)}" + ("" if inside else " (not used)"),
                    customdata=np.stack([peaks.l2[sel], np.array(why, object)], axis=1),
                    hovertemplate="λ=%{customdata[0]:.3g}<br>λη=%{x:.3g}<br>t*=%{y}<br>%{customdata[1]}<extra></extra>",
                )
            )
            tlr.append(eta)
    if fit is not None:
        p = "" if null is None else f"; null p = {null.p_value:.3f}"
        _add_fit_lines(fig, lam_eta[np.isfinite(peaks.t_star)], fit, p)
        tlr += [None, None]
    return _timescale_layout(fig, tlr, lrs, title, "t* (steps)")


def collapse_spread(
    peaks: analysis.SeedPeaks,
    used: np.ndarray,
    null: analysis.NullTest | None = None,
    goal: float | None = None,
    title: str = "What the collapse claim measures",
) -> go.Figure:
    """The collapse claim's two spreads side by side (paper Fig. 2b, as a number): for every
    used (λ, η), log₁₀ t* (left) and log₁₀ λη·t* (right), each as its distance in decades from
    its own mean, joined by a line; black bars are ±1 standard deviation, the spreads of
    :func:`l2lib.analysis.collapse`, whose ratio (right/left) the claim compares with ``goal``
    and with its ``null`` (t* drawn from each member's own run). Rescaling time by λη collapses
    the peaks when the right column is much narrower than the left. Colour by λ, symbol by η."""
    used = np.asarray(used, bool) & np.isfinite(peaks.t_star)
    l2, lr, ts = peaks.l2[used], peaks.learning_rate[used], peaks.t_star[used]
    col = analysis.collapse(l2, lr, ts, np.ones(len(ts), bool))
    lt = np.log10(ts)
    ls = lt + np.log10(l2 * lr)
    dev = np.stack([lt - lt.mean(), ls - ls.mean()], axis=1)
    colors = lambda_colors(l2.tolist())
    lrs = sorted(set(lr.tolist()))
    symbols = ("circle", "square", "diamond", "triangle-up")
    fig = go.Figure()
    for i in np.lexsort((lr, l2)):  # legend by λ, then η
        a, b = float(l2[i]), float(lr[i])
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=dev[i],
                mode="lines+markers",
                line=dict(color=colors[a], width=1),
                marker=dict(size=10, symbol=symbols[lrs.index(b) % len(symbols)]),
                name=f"λ={_fmt(a)}, η={_fmt(b)}",
                customdata=[[ts[i]], [a * b * ts[i]]],
                hovertemplate=f"λ={_fmt(a)} η={_fmt(b)}<br>%{{customdata[0]:.4g}}"
                "<br>%{y:+.2f} decades from the mean<extra></extra>",
            )
        )
    spreads = [col.spread_steps, col.spread_scaled]
    fig.add_trace(
        go.Scatter(
            x=[-0.18, 1.18],
            y=[0.0, 0.0],
            mode="markers",
            marker=dict(color="black", size=12, symbol="line-ew-open"),
            error_y=dict(type="data", array=spreads, color="black", thickness=3, width=8),
            name="±1 std: the spreads the claim compares",
            customdata=spreads,
            hovertemplate="std %{customdata:.3f} decades<extra></extra>",
        )
    )
    for x, s in zip((-0.18, 1.18), spreads):
        fig.add_annotation(
            x=x, y=s, text=f"std {s:.2f}", showarrow=False, yshift=12, font=dict(size=12)
        )
    verdict = f"ratio {col.ratio:.2f}"
    if goal is not None:
        verdict += f" (goal ≤ {goal:.2g})"
    if null is not None:
        verdict += f"; random t*: median ratio {null.null_median:.2f}, p = {null.p_value:.3f}"
    fig.update_layout(
        title=dict(
            text=title,
            subtitle=dict(
                text=f"std {col.spread_steps:.2f} → {col.spread_scaled:.2f} decades: {verdict}"
            ),
        ),
        xaxis=dict(
            tickvals=[0, 1],
            ticktext=["log₁₀ t* (steps)", "log₁₀ λη·t*"],
            range=[-0.5, 1.5],
            zeroline=False,
        ),
        yaxis=dict(title="decades from the column's mean", zeroline=True),
        margin=dict(t=90),
    )
    return fig


def null_histogram(null: analysis.NullTest, what: str, goal: float | None = None, title: str = ""):
    """The null distribution of a claim's score (t* drawn from each member's own run) as a
    step histogram, with the measured score (red) and the goal's threshold (dashed), if any."""
    counts, edges = np.histogram(null.null, bins=40)
    top = float(counts.max())
    fig = go.Figure(
        go.Scatter(
            x=edges,
            y=np.append(counts, counts[-1]),
            mode="lines",
            line=dict(shape="hv", color="steelblue"),
            fill="tozeroy",
            name="null: t* drawn from each member's own run",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[null.observed, null.observed],
            y=[0, top],
            mode="lines",
            line=dict(color="crimson", width=3),
            name=f"measured {null.observed:.3g} (p = {null.p_value:.3f})",
        )
    )
    if goal is not None:
        fig.add_trace(
            go.Scatter(
                x=[goal, goal],
                y=[0, top],
                mode="lines",
                line=dict(color="gray", dash="dash"),
                name=f"goal {goal:g}",
            )
        )
    fig.update_layout(
        title=title or f"Null distribution of {what}",
        xaxis=dict(title=what),
        yaxis=dict(title="draws"),
    )
    return fig


def theory_comparison(
    results: Arrays, prediction: Arrays, key: str = "test_loss", title: str = ""
) -> go.Figure:
    """Measured (solid, ◆ at its extremum) against predicted (dashed, ✕ at its extremum)
    curves ``key`` of every member of the theory sweep, against step; λ and η sliders."""
    steps = np.asarray(results["eval_step"], np.float64)
    l2, lr, l2s, lrs = _members(results)
    seeds = np.asarray(results["member_seed"])
    mode = "min" if key == "test_loss" else "max"
    fig = go.Figure()
    tl2, tlr = [], []
    for i in range(len(l2)):
        color = color_for(l2s.index(l2[i]))
        width = 1.0 + lrs.index(lr[i])  # thicker: larger η
        for src, dash, symbol in ((results, None, "diamond"), (prediction, "dash", "x")):
            y = np.asarray(src[key][i], np.float64)
            t, _, j = analysis.extremum_step(y, steps, mode, 1)
            sub = log_subsample(steps, [j])
            fig.add_trace(
                go.Scatter(
                    x=steps[sub],
                    y=y[sub],
                    mode="lines+markers",
                    marker=dict(size=np.where(steps[sub] == t, 10, 0), symbol=symbol, color=color),
                    line=dict(color=color, dash=dash, width=width),
                    name=f"λ={_fmt(l2[i])}, η={_fmt(lr[i])}, seed {seeds[i]}",
                    legendgroup=str(i),
                    showlegend=dash is None,
                    hovertemplate=f"λ={_fmt(l2[i])} η={_fmt(lr[i])} seed {seeds[i]}"
                    + (" theory" if dash else "")
                    + "<br>step %{x}<br>%{y:.4f}<extra></extra>",
                )
            )
            tl2.append(float(l2[i]))
            tlr.append(float(lr[i]))
    what = "test MSE ½‖f − y‖²" if key == "test_loss" else key.replace("_", " ")
    fig.update_layout(
        title=title or f"Measured (solid) and predicted (dashed) {what}",
        xaxis=dict(title="step t", type="log"),
        yaxis=dict(title=what),
    )
    return add_member_sliders(fig, tl2, tlr, l2s, lrs)
