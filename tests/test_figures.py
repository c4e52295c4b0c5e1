"""l2lib.figures: the generic builders on tiny synthetic arrays, no training.

Thinning of long curves (log_subsample), the kernel-free sliders (add_value_slider,
add_grid_sliders, first_shown), the peak markers and colours of accuracy_curves, and the
seed-level figures (seed_mean_curves, seed_timescale_fit, collapse_spread, null_histogram).
(tests/test_analysis.py covers the slider counts of accuracy_curves, timescale_fit and
collapse_curves on a synthetic store, and the λ slider's starting value.)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from store_fakes import fake_arrays

from l2lib import analysis, config, figures


def _lines(n: int) -> go.Figure:
    return go.Figure([go.Scatter(x=[0, 1], y=[i, i]) for i in range(n)])


def _peaks(l2, lr, t_star, spread=None, in_premise=None, members=None) -> analysis.SeedPeaks:
    """SeedPeaks of G groups, built directly (only the fields the figures read matter)."""
    g = len(l2)
    t_star = np.asarray(t_star, float)
    return analysis.SeedPeaks(
        l2=np.asarray(l2, float),
        learning_rate=np.asarray(lr, float),
        t_star=t_star,
        best=np.full(g, 0.9),
        seed_t_star=np.stack([t_star, t_star], axis=1),
        spread=np.zeros(g) if spread is None else np.asarray(spread, float),
        premise_step=np.zeros(g),
        in_premise=np.ones(g, bool) if in_premise is None else np.asarray(in_premise, bool),
        censored=np.zeros(g, bool),
        diverged=np.zeros(g, bool),
        candidates=[np.array([t]) for t in t_star],
        members=members if members is not None else [np.array([i]) for i in range(g)],
    )


def test_log_subsample_keeps_the_ends_the_requested_points_and_even_decades():
    short = np.arange(1, 51) * 10
    np.testing.assert_array_equal(figures.log_subsample(short, keep=[3], num=50), np.arange(50))
    steps = np.arange(1, 100_001)
    idx = figures.log_subsample(steps, keep=[12_345, -1, 10**6], num=60)
    assert idx[0] == 0 and idx[-1] == len(steps) - 1  # the ends
    assert 12_345 in idx  # the kept point (out-of-range ones are dropped)
    assert np.all(np.diff(idx) > 0)  # sorted and unique
    assert len(idx) <= 60 + 2
    # Evenly spaced in log t: every decade above 100 gets the same number of points (± 1).
    per_decade = [np.sum((steps[idx] >= 10**d) & (steps[idx] < 10 ** (d + 1))) for d in (2, 3, 4)]
    assert max(per_decade) - min(per_decade) <= 1 + 1  # + 1 for the kept point
    assert 10 <= min(per_decade)  # 60 points over 5 decades: about 12 per decade


def test_first_shown_is_all_for_few_traces_else_the_middle_value():
    few = [1.0] * figures.MANY_TRACES
    many = [1.0] * (figures.MANY_TRACES + 1)
    assert figures.first_shown(few, [1.0, 2.0, 3.0]) is None
    assert figures.first_shown(many, [1.0]) is None  # one value: nothing to choose
    assert figures.first_shown(many, [1.0, 2.0, 3.0]) == 2.0
    assert figures.first_shown(many, [1.0, 2.0, 3.0, 4.0]) == 2.0
    assert figures.first_shown(many, [5.0, 6.0]) == 5.0


def test_add_value_slider_shows_one_value_and_the_traces_of_none_always():
    vals = [0.1, 0.1, 0.2, 0.2, 0.3, None]
    fig = figures.add_value_slider(_lines(6), vals, [0.1, 0.2, 0.3], prefix="x = ")
    (slider,) = fig.layout.sliders
    assert slider.active == 0 and slider.currentvalue.prefix == "x = "
    assert [s.label for s in slider.steps] == ["all", "0.1", "0.2", "0.3"]
    assert all(slider.steps[0].args[0]["visible"])
    assert list(slider.steps[2].args[0]["visible"]) == [False, False, True, True, False, True]
    assert list(slider.steps[3].args[0]["visible"]) == [False, False, False, False, True, True]
    assert all(t.visible is None for t in fig.data)  # starting on "all" leaves traces as they are
    # An explicit start: the traces open as that step says.
    fig = figures.add_value_slider(_lines(6), vals, [0.1, 0.2, 0.3], start=1)
    assert fig.layout.sliders[0].active == 1
    assert [t.visible for t in fig.data] == [True, True, False, False, False, True]
    # Over MANY_TRACES traces it starts on the middle value by itself.
    n = figures.MANY_TRACES + 2
    vals = [0.1] * (n // 2) + [0.2] * (n - n // 2)
    fig = figures.add_value_slider(_lines(n), vals, [0.1, 0.2])
    assert fig.layout.sliders[0].active == 1
    assert sum(bool(t.visible) for t in fig.data) == n // 2
    with pytest.raises(AssertionError):
        figures.add_value_slider(_lines(3), [0.1, 0.2], [0.1, 0.2])


def test_add_grid_sliders_set_visibility_by_one_value_and_opacity_by_the_other():
    a = [1.0, 1.0, 2.0, 2.0, None]
    b = [10.0, 20.0, 10.0, 20.0, None]
    fig = figures.add_grid_sliders(_lines(5), a, b, [1.0, 2.0], [10.0, 20.0], "a = ", "b = ")
    sa, sb = fig.layout.sliders
    assert (sa.currentvalue.prefix, sb.currentvalue.prefix) == ("a = ", "b = ")
    assert sa.active == 0 and sb.active == 0
    assert [s.method for s in (*sa.steps, *sb.steps)] == ["restyle"] * 6
    assert list(sa.steps[2].args[0]["visible"]) == [False, False, True, True, True]
    assert "opacity" not in sa.steps[2].args[0]  # the two sliders touch different properties
    assert list(sb.steps[0].args[0]["opacity"]) == [1.0] * 5
    f = figures.FAINT
    assert list(sb.steps[1].args[0]["opacity"]) == [1.0, f, 1.0, f, 1.0]
    assert list(sb.steps[2].args[0]["opacity"]) == [f, 1.0, f, 1.0, 1.0]
    assert "visible" not in sb.steps[1].args[0]
    assert [t.visible for t in fig.data] == [True] * 5  # opens on "all"


def test_accuracy_curves_mark_each_members_peak_and_colour_by_lambda():
    cfg = config.ci(grid=config.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1, 0.2), seeds=(0,)))
    a = fake_arrays(cfg)  # 4 members, evaluations at steps 10, 20, 30, 40
    a["test_accuracy"] = np.array(
        [[0.1, 0.9, 0.5, 0.4], [0.1, 0.2, 0.8, 0.3], [0.9, 0.1, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4]],
        np.float32,
    )
    fig = figures.accuracy_curves(a)
    assert len(fig.data) == 4
    peaks = [int(np.flatnonzero(np.asarray(t.marker.size))[0]) for t in fig.data]
    assert peaks == [1, 2, 0, 3]  # the ◆ sits at each member's best evaluation
    assert all(np.count_nonzero(t.marker.size) == 1 for t in fig.data)
    colors = figures.lambda_colors([1e-2, 1e-3])
    assert [t.line.color for t in fig.data] == [colors[1e-2]] * 2 + [colors[1e-3]] * 2
    assert colors[1e-2] != colors[1e-3]
    assert [t.line.dash for t in fig.data] == ["solid", "dash"] * 2  # line style gives η
    assert figures.lambda_colors([0.5, 0.5]) == {0.5: figures.PALETTE[0]}
    assert fig.data[1].name == "λ=0.01, η=0.2"


def test_seed_mean_curves_draw_the_seed_mean_and_the_premise_panel():
    steps = np.arange(1, 1001) * 10
    rng = np.random.default_rng(0)
    acc = rng.uniform(0.2, 0.8, (4, len(steps)))  # members 0, 1: λ=0.01; 2, 3: λ=0.001
    acc[0:2, 499] = 0.99
    fta = np.ones((4, len(steps)))
    res = {"eval_step": steps, "test_accuracy": acc, "full_train_accuracy": fta}
    pk = _peaks(
        [0.01, 0.001],
        [0.1, 0.1],
        [5000.0, float(steps[700])],
        in_premise=[True, False],
        members=[np.array([0, 1]), np.array([2, 3])],
    )
    fig = figures.seed_mean_curves(res, pk)
    assert len(fig.data) == 4  # a curve and its full-train accuracy per group
    top, bottom = fig.data[0], fig.data[1]
    assert len(top.x) <= figures.LOG_POINTS + 2 and 5000 in top.x and steps[-1] in top.x
    sub = np.searchsorted(steps, np.asarray(top.x))
    np.testing.assert_allclose(top.y, acc[0:2].mean(axis=0)[sub])
    sizes = np.asarray(top.marker.size)
    assert np.count_nonzero(sizes) == 1 and top.x[int(np.flatnonzero(sizes)[0])] == 5000
    assert bottom.showlegend is False and bottom.yaxis == "y2"
    assert "outside the premise" in fig.data[2].name and "outside" not in top.name
    lam, _ = fig.layout.sliders
    assert list(lam.steps[2].args[0]["visible"]) == [True, True, False, False]  # λ = 0.01
    # Scaled: x is λη·t. Without full-train accuracy: one panel.
    del res["full_train_accuracy"]
    fig = figures.seed_mean_curves(res, pk, scaled=True)
    assert len(fig.data) == 2
    for t, lam_eta in zip(fig.data, (0.01 * 0.1, 0.001 * 0.1)):
        assert (t.x[0], t.x[-1]) == pytest.approx((lam_eta * 10, lam_eta * 10_000))


def test_seed_timescale_fit_marks_used_groups_and_draws_noise_floor_bars():
    l2 = [0.1, 0.01, 0.001, 0.1]
    lr = [0.1, 0.1, 0.1, 0.2]
    ts = [1.5 / (a * b) for a, b in zip(l2, lr)]
    pk = _peaks(l2, lr, ts, spread=[0.1, 0.0, 0.2, 0.0], in_premise=[True, True, False, True])
    used = np.array([True, True, False, True])
    fig = figures.seed_timescale_fit(pk, used, fit=None)
    assert [t.name for t in fig.data] == ["η=0.1", "η=0.1 (not used)", "η=0.2"]
    filled, hollow, _ = fig.data
    np.testing.assert_allclose(filled.error_y.array, [ts[0] * (10**0.1 - 1), 0.0])
    np.testing.assert_allclose(filled.error_y.arrayminus, [ts[0] * (1 - 10**-0.1), 0.0])
    assert (
        hollow.marker.color == "rgba(0,0,0,0)" and hollow.customdata[0][1] == "outside the premise"
    )
    (eta,) = fig.layout.sliders
    assert [s.label for s in eta.steps] == ["all", "0.1", "0.2"]
    assert list(eta.steps[2].args[0]["opacity"]) == [figures.FAINT, figures.FAINT, 1.0]
    fit = analysis.fit_timescale(pk.l2, pk.learning_rate, pk.t_star, used, num_bootstrap=50)
    null = analysis.NullTest(observed=0.0, null=np.linspace(0.1, 1, 10), p_value=1 / 11)
    fig = figures.seed_timescale_fit(pk, used, fit, null)
    assert len(fig.data) == 5 and "null p = 0.091" in fig.data[3].name
    np.testing.assert_allclose(fig.data[4].y * fig.data[4].x, 1.5)  # the c/(λη) line, c = 1.5


def test_collapse_spread_and_null_histogram_show_the_numbers_the_claim_compares():
    l2 = np.array([0.1, 0.01, 0.001, 0.01, 0.5])
    lr = np.array([0.1, 0.1, 0.1, 0.2, 0.1])
    ts = 2.0 / (l2 * lr)  # a perfect collapse in λη·t
    ts[4] = np.nan  # no t*: left out
    used = np.array([True, True, True, True, False])
    fig = figures.collapse_spread(_peaks(l2, lr, ts), used, goal=0.5)
    assert len(fig.data) == 4 + 1  # one line per used (λ, η), plus the ±1 std bars
    lt = np.log10(ts[:4])
    for t in fig.data[:4]:
        assert t.y[1] == pytest.approx(0.0, abs=1e-12)  # every peak at the same λη·t*
    assert sorted(t.y[0] for t in fig.data[:4]) == pytest.approx(sorted(lt - lt.mean()))
    assert list(fig.data[4].error_y.array) == pytest.approx([np.std(lt), 0.0], abs=1e-12)
    assert "ratio 0.00 (goal ≤ 0.5)" in fig.layout.title.subtitle.text
    assert [t.name for t in fig.data[:4]][0] == "λ=0.001, η=0.1"  # legend ordered by λ
    null = analysis.NullTest(observed=0.25, null=np.linspace(0.0, 1.0, 101), p_value=0.26)
    fig = figures.null_histogram(null, "ratio", goal=0.5)
    hist, measured, goal = fig.data
    assert int(np.sum(hist.y[:-1])) == 101 and len(hist.x) == len(hist.y) == 41
    assert list(measured.x) == [0.25, 0.25] and measured.y[1] == max(hist.y)
    assert list(goal.x) == [0.5, 0.5] and "p = 0.260" in measured.name
    assert fig.layout.title.text == "Null distribution of ratio"
    assert len(figures.null_histogram(null, "ratio").data) == 2  # no goal, no dashed line
