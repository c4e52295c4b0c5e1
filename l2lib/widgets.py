"""Live ipywidgets front-ends: they recompute when a kernel runs (Colab, Jupyter).

The rendered book's figures are interactive without a kernel (:mod:`l2lib.figures`); these
widgets add what only a kernel can do — recompute an analysis for a choice the precomputed
figures do not cover: which members enter the t* fit (chapter 1), a budget and a c (chapter 2),
the tolerance of AutoL2's comparison (chapter 3), the theory's λ, k and time (chapter 4), the
clock under a schedule (chapter 5). In a static build there is no
kernel to call back, so each function returns a short note instead of a dead widget.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

from l2lib import analysis, figures

__all__ = [
    "autol2_explorer",
    "budget_explorer",
    "Live",
    "schedule_explorer",
    "theory_explorer",
    "timescale_explorer",
]


def _static_note(what: str):
    from IPython.display import HTML

    return HTML(
        f"<p><em>{what}: a live widget. Open this chapter on Colab (rocket button above) "
        "or in Jupyter to use it; the figures above are interactive as they are.</em></p>"
    )


def timescale_explorer(results, fit_mask=None):
    """Sliders for the range of λη that enters the t* ≈ c/(λη) fit; refits and redraws live.

    Args:
      results: the arrays of a chapter-1 sweep (``Results.arrays``).
      fit_mask: the members the book fits by default (e.g. without the probes).
    """
    if os.environ.get("L2BOOK_BUILD"):
        return _static_note("Refit t* ≈ c/(λη) over a range of λη")
    import ipywidgets as W
    from IPython.display import display

    pk = analysis.peaks(results)
    l2 = np.asarray(results["member_l2"])
    lr = np.asarray(results["member_learning_rate"])
    lam_eta = sorted({float(v) for v in l2 * lr if v > 0})
    base = np.ones(len(l2), bool) if fit_mask is None else np.asarray(fit_mask, bool)
    lo = W.SelectionSlider(options=lam_eta, value=lam_eta[0], description="min λη")
    hi = W.SelectionSlider(options=lam_eta, value=lam_eta[-1], description="max λη")
    probes = W.Checkbox(value=False, description="include probes")
    out = W.Output()

    def redraw(*_):
        # Censored peaks are excluded here, diverged members by fit_timescale (given pk).
        mask = (l2 * lr >= lo.value) & (l2 * lr <= hi.value) & ~pk.censored
        if not probes.value:
            mask &= base
        out.clear_output(wait=True)
        with out:
            try:
                fit = analysis.fit_timescale(l2, lr, pk, mask)
            except ValueError as e:
                print(e)
                return
            display(figures.timescale_fit(results, fit))

    for w in (lo, hi, probes):
        w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([lo, hi, probes]), out])


class Live(NamedTuple):
    """A live widget and what it last computed (``state``, updated in place on every change:
    what a test or a reader's own code can read back)."""

    box: Any
    controls: dict[str, Any]
    state: dict[str, Any]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def _bundle(obj) -> dict[str, Any]:
    """The mime bundle ``display(obj)`` would publish here (a plotly figure's through the
    renderer plotly chose for this frontend: Colab, Jupyter)."""
    data = (
        obj._repr_mimebundle_(include=None, exclude=None)
        if hasattr(obj, "_repr_mimebundle_")
        else None
    )
    if not data:
        from IPython.core.formatters import format_display_data

        data, _ = format_display_data(obj)
    return data


def _live(controls: dict[str, Any], compute, draw) -> Live:
    """Wire ``controls`` to ``compute(**values) -> state`` and ``draw(state) -> figure``.

    The drawing is put into the Output widget as data (its mime bundle), not captured from a
    ``with out:`` block: capture routes the kernel's messages to the widget by message
    id, which headless runners (nbclient) were seen to lose track of, leaving a notebook's run
    waiting on a cell that had finished.
    """
    import ipywidgets as W

    out = W.Output()
    state: dict[str, Any] = {}

    def redraw(*_):
        values = {k: w.value for k, w in controls.items()}
        state.clear()
        try:
            state.update(compute(**values))
        except ValueError as e:  # a choice the data cannot answer: say why, keep going
            state["error"] = str(e)
            out.outputs = ({"output_type": "stream", "name": "stdout", "text": f"{e}\n"},)
            return
        out.outputs = (
            {"output_type": "display_data", "data": _bundle(draw(state)), "metadata": {}},
        )

    for w in controls.values():
        w.observe(redraw, names="value")
    redraw()
    return Live(W.VBox([W.HBox(list(controls.values())), out]), controls, state)


def budget_explorer(sweep, c: float, learning_rate: float):
    """Chapter 2, live: pick a budget T and a c; see the best test accuracy within T against λ,
    the sweep's best λ and the prediction λ_opt = c/(ηT) (paper §2.3).

    Args:
      sweep: the arrays of a λ sweep at one η (``Results.arrays``).
      c: the measured c (the slider starts there; it spans ÷4 to ×4).
      learning_rate: η of the sweep.
    """
    if os.environ.get("L2BOOK_BUILD"):
        return _static_note("Budget T and c → λ_opt against the sweep's best λ")
    import ipywidgets as W
    import plotly.graph_objects as go

    steps = [int(s) for s in np.asarray(sweep["eval_step"]) if s <= np.min(sweep["num_steps"])]
    l2 = np.asarray(sweep["member_l2"], float)
    controls = {
        "budget": W.SelectionSlider(options=steps, value=steps[len(steps) // 2], description="T"),
        "c": W.FloatLogSlider(value=c, base=10, min=np.log10(c / 4), max=np.log10(c * 4),
                              description="c"),
    }  # fmt: skip

    def compute(budget, c):
        acc = analysis.best_within(sweep, budget)
        opt = analysis.optimum(l2, acc)
        return {"budget": budget, "accuracy": acc, "best_l2": opt.l2,
                "predicted_l2": analysis.predict_l2(c, learning_rate, budget)}  # fmt: skip

    def draw(s):
        pos = l2 > 0
        fig = go.Figure(go.Scatter(x=l2[pos], y=s["accuracy"][pos], mode="lines+markers",
                                   name=f"best accuracy within T = {s['budget']}"))  # fmt: skip
        for x, name, dash in ((s["predicted_l2"], "λ_opt = c/(ηT)", "dash"),
                              (s["best_l2"], "the sweep's best λ", "dot")):  # fmt: skip
            fig.add_vline(x=x, line=dict(dash=dash), annotation_text=f"{name}: {x:.3g}")
        fig.update_layout(xaxis=dict(type="log", title="λ"), yaxis=dict(title="test accuracy"))
        return fig

    return _live(controls, compute, draw)


def autol2_explorer(summary):
    """Chapter 3, live: pick the tolerance below a constant's maximum that counts as reaching
    it, and the constant compared; see the steps AutoL2 and that constant need."""
    if os.environ.get("L2BOOK_BUILD"):
        return _static_note("AutoL2 against each constant λ, for a tolerance you choose")
    import ipywidgets as W
    import plotly.graph_objects as go

    s = summary
    options = [(f"{v:g}", k) for k, v in enumerate(s.const_l2)]
    controls = {
        "tolerance": W.FloatSlider(
            value=0.005,
            min=0.0,
            max=0.03,
            step=0.001,
            description="tolerance",
            readout_format=".3f",
        ),  # fmt: skip
        "constant": W.Dropdown(options=options, value=s.best_index, description="constant λ"),
    }

    def compute(tolerance, constant):
        target = float(s.const_best[constant]) - tolerance
        const_steps, auto_steps = s.steps_to(target)
        return {"target": target, "constant_steps": float(const_steps[constant]),
                "autol2_steps": float(auto_steps)}  # fmt: skip

    def draw(st):
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=s.eval_step, y=s.auto_curve, name="AutoL2 (mean of seeds)"))
        fig.add_trace(go.Scatter(x=s.eval_step, y=s.const_curves[controls["constant"].value],
                                 name="constant λ (mean of seeds)"))  # fmt: skip
        fig.add_hline(y=st["target"], line=dict(dash="dot"),
                      annotation_text=f"target {st['target']:.3f}: AutoL2 at "
                      f"{st['autol2_steps']:.0f}, constant at {st['constant_steps']:.0f}")  # fmt: skip
        fig.update_layout(xaxis=dict(title="step t"), yaxis=dict(title="test accuracy"))
        return fig

    return _live(controls, compute, draw)


def theory_explorer(num_train: int = 128, num_test: int = 500, kernel_depth: int = 1):
    """Chapter 4, live: the closed-form infinite-width MSE dynamics with L2
    (:func:`l2lib.theory.mse_solution`) recomputed as λ, k and the time range move, on the
    chapter's points on the sphere with the analytic ReLU NTK."""
    if os.environ.get("L2BOOK_BUILD"):
        return _static_note("The infinite-width test loss as λ, k and t move")
    import ipywidgets as W
    import jax.numpy as jnp
    import plotly.graph_objects as go

    from l2lib import data, theory  # JAX only where a kernel asks for the theory

    x, y, xt, yt = (jnp.asarray(a) for a in data.sphere_data(num_train, num_test))
    eig = jnp.linalg.eigh(theory.relu_ntk(x, depth=kernel_depth))
    cross = theory.relu_ntk(xt, x, depth=kernel_depth)
    controls = {
        "l2": W.FloatLogSlider(value=0.03, base=10, min=-3, max=0, description="λ"),
        "k": W.IntSlider(value=2, min=1, max=4, description="k"),
        "lambda_t_max": W.FloatLogSlider(value=30.0, base=10, min=0, max=3, description="max λt"),
    }

    def compute(l2, k, lambda_t_max):
        lam_t = np.geomspace(1e-3, lambda_t_max, 61)
        _, ft = theory.mse_solution(eig, cross, y, None, None, lam_t / l2, l2, k)
        loss = 0.5 * np.sum((np.asarray(ft) - np.asarray(yt)) ** 2, axis=(1, 2)) / len(yt)
        j = int(np.argmin(loss))
        return {"lambda_t": lam_t, "test_loss": loss, "lambda_t_star": float(lam_t[j])}

    def draw(s):
        fig = go.Figure(go.Scatter(x=s["lambda_t"], y=s["test_loss"], mode="lines",
                                   name="test loss (theory)"))  # fmt: skip
        fig.add_vline(x=s["lambda_t_star"], line=dict(dash="dot"),
                      annotation_text=f"minimum at λt = {s['lambda_t_star']:.3g}")  # fmt: skip
        fig.update_layout(xaxis=dict(type="log", title="λt"),
                          yaxis=dict(title="test loss ½‖f − y‖² per example"))  # fmt: skip
        return fig

    return _live(controls, compute, draw)


def schedule_explorer(results, config):
    """Chapter 5, live: pick a clock — steps, λη₀t or λ∫η dt — and the members shown; see the
    accuracy curves against it and the spread of the clock's value at t* (how well it collapses
    the peaks)."""
    if os.environ.get("L2BOOK_BUILD"):
        return _static_note("Which clock collapses the peaks under a schedule")
    import ipywidgets as W
    import plotly.graph_objects as go

    clocks = {
        "steps": np.broadcast_to(
            np.asarray(results["eval_step"], float), np.shape(results["test_accuracy"])
        ),  # fmt: skip
        "λη₀t": analysis.naive_clock(results),
        "λ∫η dt": analysis.integrated_clock(results, config),
    }
    l2 = np.asarray(results["member_l2"], float)
    lr = np.asarray(results["member_learning_rate"], float)
    controls = {
        "clock": W.ToggleButtons(options=list(clocks), value="λ∫η dt", description="clock"),
        "eta": W.Dropdown(
            options=[("all", 0.0)] + [(f"{v:g}", v) for v in sorted(set(lr))],
            value=0.0,
            description="η₀",
        ),  # fmt: skip
    }
    pk = analysis.peaks(results)

    def compute(clock, eta):
        sel = (l2 > 0) & np.isfinite(pk.t_star) & ~pk.censored & (lr == eta if eta else True)
        at = analysis.clock_at_peak(clocks[clock], results, pk.t_star)
        if sel.sum() < 2:
            raise ValueError("fewer than two members with a usable peak for this choice")
        return {"clock": clock, "selected": sel,
                "spread": float(np.std(np.log10(at[sel])))}  # fmt: skip

    def draw(s):
        fig = go.Figure()
        acc = np.asarray(results["test_accuracy"], float)
        for i in np.flatnonzero(s["selected"]):
            fig.add_trace(go.Scatter(x=clocks[s["clock"]][i], y=acc[i], mode="lines",
                                     name=f"λ={l2[i]:g}, η₀={lr[i]:g}"))  # fmt: skip
        fig.update_layout(
            title=f"std log10 of the clock at t*: {s['spread']:.3f}",
            xaxis=dict(type="log", title=s["clock"]),
            yaxis=dict(title="test accuracy"),
        )
        return fig

    return _live(controls, compute, draw)
