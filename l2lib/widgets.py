"""Live ipywidgets front-ends: they recompute when a kernel runs (Colab, Jupyter).

The rendered book's figures are interactive without a kernel (:mod:`l2lib.figures`); these
widgets add what only a kernel can do — recompute an analysis for a choice the precomputed
figures do not cover (here: which members enter the t* fit). In a static build there is no
kernel to call back, so each function returns a short note instead of a dead widget.
"""

from __future__ import annotations

import os

import numpy as np

from l2lib import analysis, figures


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
