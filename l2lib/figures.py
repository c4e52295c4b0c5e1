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


def add_member_sliders(
    fig: go.Figure,
    trace_l2: Sequence[float | None],
    trace_lr: Sequence[float | None],
    l2_values: Sequence[float],
    lr_values: Sequence[float],
    y: float = -0.18,
) -> go.Figure:
    """Attach the kernel-free λ slider (visibility) and η slider (opacity) to ``fig``.

    Args:
      trace_l2, trace_lr: per trace of ``fig``, the member's λ and η (``None``: the trace is
        not a member's and is always shown, e.g. a fit line).
      l2_values, lr_values: the slider positions (sorted grid values).
    """
    n = len(fig.data)
    assert len(trace_l2) == len(trace_lr) == n

    def vis(sel):
        return [True if (t is None or sel is None or t == sel) else False for t in trace_l2]

    def opa(sel):
        return [1.0 if (t is None or sel is None or t == sel) else FAINT for t in trace_lr]

    l2_steps = [dict(method="restyle", label="all", args=[{"visible": vis(None)}])]
    l2_steps += [
        dict(method="restyle", label=_fmt(v), args=[{"visible": vis(v)}]) for v in l2_values
    ]
    lr_steps = [dict(method="restyle", label="all", args=[{"opacity": opa(None)}])]
    lr_steps += [
        dict(method="restyle", label=_fmt(v), args=[{"opacity": opa(v)}]) for v in lr_values
    ]
    fig.update_layout(
        sliders=[
            dict(
                active=0,
                steps=l2_steps,
                currentvalue=dict(prefix="λ = "),
                x=0.0,
                len=0.48,
                y=y,
                pad=dict(t=10),
            ),
            dict(
                active=0,
                steps=lr_steps,
                currentvalue=dict(prefix="η = "),
                x=0.52,
                len=0.48,
                y=y,
                pad=dict(t=10),
            ),
        ],
        margin=dict(b=150),
    )
    return fig


def _members(results: Arrays):
    l2 = np.asarray(results["member_l2"], float)
    lr = np.asarray(results["member_learning_rate"], float)
    return l2, lr, sorted(set(l2.tolist())), sorted(set(lr.tolist()))


def accuracy_curves(results: Arrays, title: str = "Test accuracy during training") -> go.Figure:
    """Test accuracy against steps for every member; ◆ marks each member's t* (paper Fig. 2a)."""
    l2, lr, l2s, lrs = _members(results)
    pk = analysis.peaks(results)
    steps = np.asarray(results["eval_step"])
    acc = np.asarray(results["test_accuracy"])
    fig = go.Figure()
    for i in range(len(l2)):
        sizes = np.zeros(len(steps))
        if np.isfinite(pk.t_star[i]):
            sizes[int(np.flatnonzero(steps == pk.t_star[i])[0])] = 9
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=acc[i],
                mode="lines+markers",
                marker=dict(size=sizes, symbol="diamond"),
                line=dict(color=color_for(lrs.index(lr[i]))),
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
    xs = lam_eta[l2 > 0]
    xline = np.geomspace(xs.min() / 1.5, xs.max() * 1.5, 50)
    fig.add_trace(
        go.Scatter(
            x=xline,
            y=10**fit.intercept * xline**fit.slope,
            mode="lines",
            line=dict(color="black"),
            name=f"fit: slope {fit.slope:.2f} [{fit.slope_ci[0]:.2f}, {fit.slope_ci[1]:.2f}]",
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
    tl2 += [None, None]
    tlr += [None, None]
    fig.update_layout(
        title=title,
        xaxis=dict(title="λη", type="log", exponentformat="power"),
        yaxis=dict(title="t* (steps to best test accuracy)", type="log"),
    )
    # Only an η slider here: each point already is one λ.
    steps = [dict(method="restyle", label="all", args=[{"opacity": [1.0] * len(tlr)}])]
    steps += [
        dict(
            method="restyle",
            label=_fmt(v),
            args=[{"opacity": [1.0 if (t is None or t == v) else FAINT for t in tlr]}],
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
