"""Each chapter's live widget, driven as in a kernel: change a control, the output changes."""

from __future__ import annotations

import numpy as np
import pytest

from l2lib import registry, store, widgets
from l2lib.paper import ch2_budget, ch3_autol2


@pytest.fixture(autouse=True)
def _live_kernel(monkeypatch):
    monkeypatch.delenv("L2BOOK_BUILD", raising=False)


def test_in_the_static_book_each_widget_is_a_note(monkeypatch):
    monkeypatch.setenv("L2BOOK_BUILD", "1")
    note = widgets.theory_explorer()
    assert "live widget" in note.data


def test_budget_explorer_moves_lambda_opt_with_the_budget():

    s = ch2_budget.summary("fmnist")
    c, eta = s.probe.c, s.probe.learning_rate
    live = widgets.budget_explorer(s.sweep.arrays, c, eta)
    first = dict(live.state)
    budgets = live.controls["budget"].options
    live.controls["budget"].value = budgets[-1]
    assert live.state["budget"] == budgets[-1] != first["budget"]
    assert live.state["predicted_l2"] < first["predicted_l2"]  # c/(ηT) falls as T grows
    live.controls["c"].value = c * 2
    assert live.state["predicted_l2"] == pytest.approx(2 * c / (eta * budgets[-1]))


def test_autol2_explorer_recomputes_the_steps_for_a_tolerance():

    live = widgets.autol2_explorer(ch3_autol2.widget_summary(ch3_autol2.summary("fmnist")))
    t0 = live.state["target"]
    live.controls["tolerance"].value = 0.02
    assert live.state["target"] == pytest.approx(t0 + 0.005 - 0.02)
    reached = live.state["autol2_steps"]
    assert np.isnan(reached) or reached > 0


def test_theory_explorer_moves_the_minimum_with_lambda_and_k():
    live = widgets.theory_explorer(num_train=16, num_test=32)
    first = dict(live.state)
    live.controls["k"].value = 1
    assert not np.allclose(live.state["test_loss"], first["test_loss"])
    live.controls["lambda_t_max"].value = 5.0
    assert live.state["lambda_t"][-1] == pytest.approx(5.0)


def test_schedule_explorer_reads_each_clock_at_t_star():
    res = store.Store().load(registry.get("ch5_fmnist_step", "cpu"))
    live = widgets.schedule_explorer(res.arrays, res.config)
    spreads = {}
    for clock in live.controls["clock"].options:
        live.controls["clock"].value = clock
        spreads[clock] = live.state["spread"]
    assert len(set(round(v, 6) for v in spreads.values())) == 3
    live.controls["eta"].value = live.controls["eta"].options[1][1]
    assert live.state["selected"].sum() < len(res.arrays["member_l2"])


def test_the_drawing_is_the_output_widgets_data_and_a_change_replaces_it(monkeypatch):
    """The figure goes into the Output widget as its mime bundle (no capture of display
    output by message id, which headless runners lost track of); a control change replaces
    it."""
    import plotly.io as pio

    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    run = store.Store().load(registry.get("ch5_fmnist_step", "cpu"))
    live = widgets.schedule_explorer(run.arrays, run.config)
    out = live.box.children[1]
    (first,) = out.outputs
    layout = first["data"]["application/vnd.plotly.v1+json"]["layout"]
    assert first["output_type"] == "display_data" and layout["xaxis"]["title"]["text"] == "λ∫η dt"
    live.controls["clock"].value = "steps"
    (second,) = out.outputs
    layout = second["data"]["application/vnd.plotly.v1+json"]["layout"]
    assert layout["xaxis"]["title"]["text"] == "steps" and live.state["clock"] == "steps"
