"""t*, the fit t* ≈ c/(λη), the collapse, the chapter-1 claims, and the figures built on them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from l2lib import analysis, figures, registry, store
from l2lib import claims as claims_lib
from l2lib.paper import ch1_timescale, shared


def _curves(t_star, steps, width=0.3):
    """Accuracy curves peaked (log-Gaussian) at each t*, sampled at the evaluation steps."""
    t = steps[None, :].astype(float)
    return 0.9 * np.exp(-(np.log(t / np.asarray(t_star, float)[:, None]) ** 2) / width)


def test_peaks_reports_t_star_best_and_censoring():
    steps = np.array([10, 20, 30, 40])
    acc = np.array(
        [
            [0.1, 0.5, 0.4, 0.3],  # peak at 20
            [0.1, 0.2, 0.3, np.nan],  # maximum at its last finite evaluation: censored
            [np.nan] * 4,  # never evaluated
            [0.2, 0.6, 0.6, 0.1],  # tie: first maximum
        ]
    )
    pk = analysis.peaks(
        {"test_accuracy": acc, "eval_step": steps, "diverged_step": np.array([-1, -1, 3, -1])}
    )
    np.testing.assert_array_equal(pk.t_star[[0, 1, 3]], [20, 30, 20])
    assert np.isnan(pk.t_star[2])
    np.testing.assert_allclose(pk.best_accuracy[[0, 1, 3]], [0.5, 0.3, 0.6])
    assert list(pk.censored) == [False, True, False, False]
    assert list(pk.diverged) == [False, False, True, False]


def test_fit_recovers_an_exact_relation():
    l2 = np.repeat([1e-1, 1e-2, 1e-3], 3)
    lr = np.tile([0.05, 0.1, 0.2], 3)
    fit = analysis.fit_timescale(l2, lr, 0.7 / (l2 * lr))
    assert fit.slope == pytest.approx(-1, abs=1e-9)
    assert fit.c == pytest.approx(0.7, rel=1e-9)
    assert fit.slope_ci[0] == pytest.approx(-1, abs=1e-6) and fit.slope_ci[1] == pytest.approx(
        -1, abs=1e-6
    )
    assert fit.n == 9 and fit.used.all()
    col = analysis.collapse(l2, lr, 0.7 / (l2 * lr), fit.used)
    assert col.spread_scaled == pytest.approx(0, abs=1e-12) and col.ratio == pytest.approx(
        0, abs=1e-12
    )


def test_fit_interval_covers_the_true_slope_under_noise():
    rng = np.random.default_rng(1)
    l2 = np.repeat(np.geomspace(1e-3, 1e-1, 8), 3)
    lr = np.tile([0.05, 0.1, 0.2], 8)
    t = 2.0 / (l2 * lr) ** 0.8 * np.exp(rng.normal(0, 0.1, l2.size))
    fit = analysis.fit_timescale(l2, lr, t)
    assert fit.slope_ci[0] < -0.8 < fit.slope_ci[1]
    assert fit.slope_ci[1] - fit.slope_ci[0] < 0.2


def test_fit_leaves_out_lambda_zero_and_masked_members_and_refuses_too_few():
    l2 = np.array([0.0, 1e-2, 1e-2, 1e-3, 1e-3])
    lr = np.array([0.1, 0.1, 0.2, 0.1, 0.2])
    t = np.array([100.0, 500, 250, 5000, 2500])
    fit = analysis.fit_timescale(l2, lr, t, mask=[True, True, True, True, False])
    assert list(fit.used) == [False, True, True, True, False]
    with pytest.raises(ValueError, match="need at least 3"):
        analysis.fit_timescale(l2, lr, t, mask=[True, True, False, False, False])


def test_scaled_time_integrates_the_l2_and_lr_in_force():
    res = {
        "eval_step": np.array([10, 20, 30]),
        "l2": np.array([[0.1, 0.1, 0.01]]),
        "learning_rate": np.array([[0.5, 0.5, 0.5]]),
    }
    np.testing.assert_allclose(analysis.scaled_time(res), [[0.5, 1.0, 1.05]])


def _synthetic_timescale_store(tmp_path, c_of_lr, name="ch1_timescale_mlp"):
    """A store holding a chapter-1 entry whose peaks follow t* = c(η)/(λη) exactly."""
    cfg = registry.get(name, "cpu")
    members = cfg.members()
    l2 = np.array([m[0] for m in members])
    lr = np.array([m[1] for m in members])
    steps = np.array(cfg.steps_per_member())
    eval_step = cfg.eval_every * np.arange(1, cfg.num_evals + 1)
    t_star = np.where(
        l2 > 0, np.array([c_of_lr(e) for e in lr]) / np.maximum(l2 * lr, 1e-12), 300.0
    )
    t_star = np.minimum(t_star, steps * 0.6)
    acc = _curves(t_star, eval_step)
    acc[eval_step[None, :] > steps[:, None]] = np.nan
    nan_like = np.where(np.isnan(acc), np.nan, 1.0)
    arrays = {k: (acc if k == "test_accuracy" else nan_like * 0.5) for k in store.CURVE_KEYS}
    arrays["l2"] = nan_like * l2[:, None]
    arrays["learning_rate"] = nan_like * lr[:, None]
    arrays.update(
        eval_step=eval_step,
        num_steps=steps,
        diverged_step=np.full(len(members), -1),
        member_l2=l2,
        member_learning_rate=lr,
        member_seed=np.zeros(len(members), int),
        member_index=np.arange(len(members)),
    )
    st = store.Store(tmp_path)
    st.save(cfg, arrays, {"wall_s": 1.0})
    return st, cfg


def test_timescale_claims_pass_on_an_exact_relation(tmp_path):
    st, cfg = _synthetic_timescale_store(tmp_path, lambda eta: 1.5)
    claims = list(ch1_timescale.timescale_claims("ch1_timescale_mlp", "cpu", tmp_path))
    assert [c.passed for c in claims] == [True, True, True], [c.line() for c in claims]
    s = shared.timescale_summary(st.load(cfg))
    assert s.fit.slope == pytest.approx(-1, abs=0.02)
    assert s.fit.c == pytest.approx(1.5, rel=0.05)
    # the probes (λ = 1e-3 and 0) are never fitted
    assert not s.fit.used[np.asarray(st.load(cfg)["member_l2"]) <= 1e-3].any()


def test_c_claim_fails_when_t_star_depends_on_lambda_alone(tmp_path):
    # t* = 0.4/λ: slope against λη is still ≈ −1 within one η, but c ∝ η across them.
    _synthetic_timescale_store(tmp_path, lambda eta: 0.4 * eta)
    claims = {
        c.name.split(": ")[1]: c
        for c in ch1_timescale.timescale_claims("ch1_timescale_mlp", "cpu", tmp_path)
    }
    assert not claims["c = λη·t* (per η)"].passed


def test_check_reports_a_missing_run_as_a_failure(tmp_path, capsys):
    assert claims_lib.main("cpu", tmp_path, "ch1") == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "python -m l2lib sweep ch1_timescale_mlp --scale cpu" in out


def test_figures_have_the_traces_and_kernel_free_sliders_they_promise(tmp_path, monkeypatch):
    st, cfg = _synthetic_timescale_store(tmp_path, lambda eta: 1.5)
    res = st.load(cfg)
    a = res.arrays
    n = len(a["member_l2"])
    fig = figures.accuracy_curves(a)
    assert isinstance(fig, go.Figure) and len(fig.data) == n
    lam, eta = fig.layout.sliders
    assert len(lam.steps) == len(set(a["member_l2"])) + 1 and len(eta.steps) == 3 + 1
    # λ step k shows exactly the members with that λ; "all" shows every member
    vis = lam.steps[1].args[0]["visible"]
    assert sum(vis) == 3  # three learning rates per λ
    chosen = float(lam.steps[1].label)
    assert [bool(v) for v in vis] == [abs(x - chosen) < 1e-12 for x in a["member_l2"]]
    assert all(lam.steps[0].args[0]["visible"])
    opac = eta.steps[2].args[0]["opacity"]
    assert sorted(set(opac)) == [figures.FAINT, 1.0] and opac.count(1.0) == n // 3
    s = shared.timescale_summary(res)
    fit_fig = figures.timescale_fit(a, s.fit)
    names = [t.name for t in fit_fig.data]
    assert any("not fitted" in nm for nm in names) and any(
        nm.startswith("fit: slope") for nm in names
    )
    col = figures.collapse_curves(a)
    assert len(col.data) == int((a["member_l2"] > 0).sum())
    monkeypatch.setenv("L2BOOK_BUILD", "1")
    html = figures.show(fig)
    assert "plotly-graph-div" in html.data and "cdn.plot.ly" not in html.data


def _lines(n_l2: int, n_lr: int) -> tuple[go.Figure, list[float], list[float]]:
    fig = go.Figure([go.Scatter(x=[0, 1], y=[i, i]) for i in range(n_l2 * n_lr)])
    l2 = [10.0**-a for a in range(n_l2) for _ in range(n_lr)]
    lr = [0.1 * (b + 1) for _ in range(n_l2) for b in range(n_lr)]
    return fig, l2, lr


@pytest.mark.parametrize("n_l2, n_lr, starts_on", [(3, 4, None), (3, 5, 0.1), (4, 4, 0.01)])
def test_a_lambda_slider_over_many_traces_starts_on_one_value(n_l2, n_lr, starts_on):
    """At most MANY_TRACES traces: the λ slider starts at "all". More: on the middle λ, with
    the traces' own visibility set to that step's, so the page opens as the slider says."""
    fig, l2, lr = _lines(n_l2, n_lr)
    assert (len(fig.data) > figures.MANY_TRACES) is (starts_on is not None)
    l2s = sorted(set(l2))
    fig = figures.add_member_sliders(fig, l2, lr, l2s, sorted(set(lr)))
    lam, eta = fig.layout.sliders
    assert eta.active == 0 and eta.steps[0].label == "all"
    step = lam.steps[lam.active]
    if starts_on is None:
        assert lam.active == 0 and step.label == "all"
    else:
        assert (
            step.label
            == figures.fmt_value(starts_on)
            == figures.fmt_value(l2s[(len(l2s) - 1) // 2])
        )
        assert sum(t.visible for t in fig.data) == n_lr
    assert [bool(t.visible) for t in fig.data] == list(step.args[0]["visible"])
    # A trace that is no member's (None) is always drawn, and does not count.
    fig, l2, lr = _lines(n_l2, n_lr)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 0], name="fit"))
    fig = figures.add_member_sliders(fig, [*l2, None], [*lr, None], l2s, sorted(set(lr)))
    assert (fig.layout.sliders[0].active == 0) is (starts_on is None)
    assert fig.data[-1].visible is True


@pytest.mark.parametrize("moves, passes", [(False, True), (True, False)])
def test_horizon_claim_tells_a_real_peak_from_the_end_of_the_run(tmp_path, moves, passes):
    # A real peak: c = 1.5 at both horizons. A peak set by the end of the run: c ∝ horizon.
    _synthetic_timescale_store(tmp_path, lambda eta: 1.5)
    _synthetic_timescale_store(
        tmp_path, lambda eta: 3.0 if moves else 1.5, "ch1_timescale_mlp_long"
    )
    (claim,) = ch1_timescale._horizon_claims("ch1_timescale_mlp_long", "cpu", tmp_path)
    assert claim.passed is passes, claim.line()


def test_late_trend_tells_rising_flat_and_falling_curves_apart():
    steps = np.arange(1, 201) * 10
    rng = np.random.default_rng(0)
    x = 0.01 * steps  # λη = 1e-2 · 1: λη·t from 0.1 to 20
    noise = 0.002 * rng.standard_normal(len(steps))
    curves = np.stack([0.8 + 0.002 * x + noise, 0.8 + noise, 0.9 - 0.004 * x + noise])
    curves[1, -5:] = np.nan  # a member that stopped early: its window is shorter
    a = {
        "test_accuracy": curves,
        "eval_step": steps,
        "l2": np.full(curves.shape, 0.01),
        "learning_rate": np.ones(curves.shape),
    }
    tr = analysis.late_trend(a, 10.0, 20.0)
    assert tr.slope[0] == pytest.approx(0.2, abs=0.03)  # points per unit λη·t
    assert tr.slope[2] == pytest.approx(-0.4, abs=0.03)
    assert tr.rho[0] > 0.8 and tr.rho[2] < -0.8 and abs(tr.rho[1]) < 0.3
    assert tr.p_value[0] < 1e-6 and tr.p_value[1] > 0.01
    assert tr.n.tolist() == [100, 95, 100]
    with pytest.raises(ValueError, match="late_trend"):
        analysis.late_trend(a, 5.0, 5.0)
