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

import numpy as np
import plotly.graph_objects as go

from l2lib import analysis

__all__ = [
    "LOG_POINTS",
    "accuracy_curves",
    "add_grid_sliders",
    "add_member_sliders",
    "add_value_slider",
    "collapse_curves",
    "collapse_spread",
    "color_for",
    "first_shown",
    "fmt_value",
    "grid_values",
    "hline",
    "lambda_colors",
    "log_subsample",
    "null_histogram",
    "peak_marker",
    "seed_mean_curves",
    "seed_timescale_fit",
    "show",
    "timescale_fit",
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


def fmt_value(v: float) -> str:
    """A number as sliders and legends show it (3 significant digits)."""
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


def grid_values(results: Arrays):
    """``(member λ, member η, distinct λ sorted, distinct η sorted)`` of a sweep's arrays."""
    l2 = np.asarray(results["member_l2"], float)
    lr = np.asarray(results["member_learning_rate"], float)
    return l2, lr, sorted(set(l2.tolist())), sorted(set(lr.tolist()))


def peak_marker(steps: np.ndarray, t_star: float) -> dict:
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
    l2, lr, l2s, lrs = grid_values(results)
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
                marker=peak_marker(steps, pk.t_star[i]),
                line=dict(color=colors[float(l2[i])], dash=DASHES[lrs.index(lr[i]) % len(DASHES)]),
                name=f"λ={fmt_value(l2[i])}, η={fmt_value(lr[i])}",
                hovertemplate=f"λ={fmt_value(l2[i])} η={fmt_value(lr[i])}<br>step %{{x}}<br>acc %{{y:.3f}}<extra></extra>",
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
    l2, lr, l2s, lrs = grid_values(results)
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
                    name=f"η={fmt_value(eta)}" + ("" if used else " (not fitted)"),
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
            label=fmt_value(v),
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
    l2, lr, l2s, lrs = grid_values(results)
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
                name=f"λ={fmt_value(l2[i])}, η={fmt_value(lr[i])}",
                hovertemplate=f"λ={fmt_value(l2[i])} η={fmt_value(lr[i])}<br>λητ %{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
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
    a_steps += [
        dict(method="restyle", label=fmt_value(v), args=[{"visible": vis(v)}]) for v in a_values
    ]
    b_steps = [dict(method="restyle", label="all", args=[{"opacity": opa(None)}])]
    b_steps += [
        dict(method="restyle", label=fmt_value(v), args=[{"opacity": opa(v)}]) for v in b_values
    ]
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
    steps += [
        dict(method="restyle", label=fmt_value(v), args=[{"visible": vis(v)}]) for v in values
    ]
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
                marker=peak_marker(steps[sub], peaks.t_star[g]),
                line=dict(line, width=1.5),
                name=f"λ={fmt_value(a)}, η={fmt_value(b)}{tag}",
                legendgroup=f"{a},{b}",
                hovertemplate=f"λ={fmt_value(a)} η={fmt_value(b)}<br>%{{x:.4g}}<br>%{{y:.4f}}<extra></extra>",
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
                    name=f"full-train accuracy, λ={fmt_value(a)}, η={fmt_value(b)}",
                    legendgroup=f"{a},{b}",
                    showlegend=False,
                    hovertemplate=f"full-train λ={fmt_value(a)} η={fmt_value(b)}<br>%{{x:.4g}}<br>%{{y:.4f}}<extra></extra>",
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
                    name=f"η={fmt_value(eta)}" + ("" if inside else " (not used)"),
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
                name=f"λ={fmt_value(a)}, η={fmt_value(b)}",
                customdata=[[ts[i]], [a * b * ts[i]]],
                hovertemplate=f"λ={fmt_value(a)} η={fmt_value(b)}<br>%{{customdata[0]:.4g}}"
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


def hline(x0: float, x1: float, y: float, **kw) -> go.Scatter:
    """A horizontal line from ``x0`` to ``x1`` at ``y`` (a reference level in a figure)."""
    return go.Scatter(x=[x0, x1], y=[y, y], mode="lines", **kw)
