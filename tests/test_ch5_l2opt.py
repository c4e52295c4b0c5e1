"""Chapter 5, λ_opt(T) under a schedule: the configs (the two predicted λ from a given c), and
the summary, claims and figure on scripted results whose answer is known (no training)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from store_fakes import fake_arrays

from l2lib import analysis, check, experiments, figures, store, train

KINDS = experiments.SCHEDULE_L2OPT_KINDS
CI_BUDGETS = experiments.SCHEDULE_L2OPT_BUDGETS["ci"]


#: The engine compares float32 fractions s/T with float32 boundaries, so a decay can fall one
#: update late (T = 5000, 10000): the sum by hand holds to this, the engine's twin exactly.
BY_HAND = 1e-3


def _integral_by_hand(kind: str, eta: float, T: int) -> float:
    if kind == "step":  # ×0.2 at 30/60/90 %
        return eta * T * (0.3 + 0.3 * 0.2 + 0.3 * 0.04 + 0.1 * 0.008)
    # Σ_{s<T} ½(1 + cos πs/T) = T/2 + ½ (the cosines of s and T − s cancel, s = 0 is left).
    return eta * (T / 2 + 0.5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("T", [40, 80, 2000, 10000])
def test_integrated_lr_is_the_sum_of_the_engines_schedule(kind, T):
    cfg = experiments.get(experiments.schedule_l2opt_name(kind, 40), "ci")
    got = train.integrated_lr(cfg, 0.4, T)
    assert got == pytest.approx(_integral_by_hand(kind, 0.4, T), rel=1e-6 if T <= 2000 else BY_HAND)
    assert got == pytest.approx(analysis.lr_schedule(cfg.optimizer, 0.4, T, T).sum(), rel=1e-6)
    const = experiments.get("optimal_l2", "ci")
    assert train.integrated_lr(const, 0.4, T) == pytest.approx(0.4 * T, rel=1e-6)


@pytest.mark.parametrize("scale", ["ci", "cpu"])
@pytest.mark.parametrize("kind", KINDS)
def test_predicted_runs_are_c_over_eta_t_and_c_over_the_integral(scale, kind):
    base = experiments.get("optimal_l2", scale)
    eta = base.grid.learning_rate[0]
    c = 1.7
    for T in experiments.SCHEDULE_L2OPT_BUDGETS[scale]:
        sweep = experiments.get(experiments.schedule_l2opt_name(kind, T), scale)
        # Chapter 2's grid, η₀, data and model; the schedule, stretched over exactly T steps.
        assert sweep.grid == base.grid and sweep.model == base.model and sweep.data == base.data
        assert sweep.optimizer.schedule == kind and sweep.optimizer.momentum == 0.0
        assert sweep.steps_per_member() == [T] * len(base.grid.l2)
        pred = experiments.schedule_l2opt_predicted(kind, scale, T, c)
        assert pred.name == f"optimal_l2_{kind}_T{T}_predicted"
        naive, integrated = pred.grid.l2
        assert naive == pytest.approx(c / (eta * T), rel=1e-12)
        assert integrated == pytest.approx(c / _integral_by_hand(kind, eta, T), rel=BY_HAND)
        assert integrated == pytest.approx(c / train.integrated_lr(sweep, eta, T), rel=1e-12)
        assert pred.steps_per_member() == [T, T]
        assert (pred.optimizer, pred.duration, pred.eval_every) == (
            sweep.optimizer,
            sweep.duration,
            sweep.eval_every,
        )
    if scale == "cpu":
        assert experiments.SCHEDULE_L2OPT_BUDGETS["cpu"] == (2000, 5000, 10000)
        assert base.grid.l2 == experiments.OPTIMAL_L2_GRID and eta == experiments.OPTIMAL_L2_LR
        # The constant-η control exists at every budget: chapter 2's are a superset.
        assert set(experiments.SCHEDULE_L2OPT_BUDGETS["cpu"]) <= set(
            experiments.OPTIMAL_L2_BUDGETS["cpu"]
        )


# --- the summary and the claims on scripted runs ----------------------------------------------

#: The ci probe peaks at step 20 (λ₀ = 0.1, η = 0.1): c = 0.2.
PROBE_T_STAR = 20


def _height(l2, best):
    """Best accuracy of λ: 0.8 at ``best``, 10 points lower per decade away; λ = 0: 0.6."""
    l2 = np.asarray(l2, float)
    return np.where(l2 > 0, 0.8 - 0.1 * np.abs(np.log10(np.maximum(l2, 1e-12) / best)), 0.6)


def _scripted(cfg, best: float):
    a = fake_arrays(cfg)
    h = _height(a["member_l2"], best)
    t = a["eval_step"].astype(float)[None, :]
    a["test_accuracy"] = (h[:, None] * np.minimum(1.0, t / t.max())).astype(np.float32)
    return a


def _store_chapter(root, kind: str, truth: str) -> store.Store:
    """The ci probe (c = 0.2), and for each budget T the sweep and the predicted runs under
    ``kind``, whose accuracy peaks in λ at the naive or the integrated prediction (``truth``)."""
    st = store.Store(root)
    probe_cfg = experiments.get("optimal_l2_probe", "ci")
    p = fake_arrays(probe_cfg)
    steps = p["eval_step"].astype(float)
    p["test_accuracy"] = (0.6 - 0.1 * np.abs(np.log(steps / PROBE_T_STAR)))[None, :]
    st.save(probe_cfg, p, {"wall_s": 0.0})
    c = experiments.probe_c("ci", root).c
    assert c == pytest.approx(0.1 * 0.1 * PROBE_T_STAR)
    for T in CI_BUDGETS:
        sweep = experiments.get(experiments.schedule_l2opt_name(kind, T), "ci")
        pred = experiments.schedule_l2opt_predicted(kind, "ci", T, c)
        best = pred.grid.l2[0 if truth == "naive" else 1]
        st.save(sweep, _scripted(sweep, best), {"wall_s": 0.0})
        st.save(pred, _scripted(pred, best), {"wall_s": 0.0})
    return st


def test_summary_when_the_integrated_clock_is_right(tmp_path):
    _store_chapter(tmp_path, "step", "integrated")
    s = check.load_schedule_l2opt_summary("step", "ci", tmp_path)
    assert s.schedule == "step" and s.c.c == pytest.approx(0.2)
    assert s.l2.tolist() == [0.1, 0.03, 0.01, 0.0]  # chapter 2's ci grid
    mean = 14.912 / 40  # ∫η/(η₀T) of the step schedule on 40 and 80 updates
    v40, v80 = s.validation
    for v, T in ((v40, 40), (v80, 80)):
        assert v.budget == T and v.mean_factor == pytest.approx(mean, rel=1e-6)
        assert v.naive_l2 == pytest.approx(0.2 / (0.1 * T))
        assert v.integrated_l2 == pytest.approx(0.2 / (0.1 * T * mean))
        assert v.naive_ratio == pytest.approx(max(v.naive_l2, 0.1) / min(v.naive_l2, 0.1))
        # The integrated prediction is the true optimum: its run beats the grid's best.
        assert v.integrated_accuracy == pytest.approx(0.8, abs=1e-6)
        assert v.zero_accuracy == pytest.approx(0.6, abs=1e-6)
    # T = 40: integrated 0.134, naive 0.05; the grid's best is 0.1.
    assert v40.best_l2 == 0.1 and v40.integrated_ratio == pytest.approx(1.341, abs=1e-3)
    assert v40.naive_ratio == pytest.approx(2.0)
    assert v40.integrated_gap == pytest.approx(-0.1 * np.log10(1.341), abs=1e-4)
    # T = 80: integrated 0.0671 (×1.49 from 0.1, ×2.24 from 0.03); naive 0.025 is ×4 off.
    assert v80.best_l2 == 0.1 and v80.naive_ratio == pytest.approx(4.0)
    lam = v80.integrated_l2
    assert v80.naive_gap == pytest.approx(0.1 * np.log10(lam / 0.025 * lam / 0.1), abs=1e-6)
    claims = list(check.schedule_l2opt_claims(s))
    assert [c.chapter for c in claims] == ["ch5"] * 3
    assert all(c.passed for c in claims), [c.line() for c in claims]
    assert "integrated closer, by ×" in claims[2].measured
    assert s.mean_factor_from_best("naive") == pytest.approx(np.sqrt(2.0 * 4.0))


def test_claims_fail_when_the_naive_clock_is_right(tmp_path):
    _store_chapter(tmp_path, "cosine", "naive")
    s = check.load_schedule_l2opt_summary("cosine", "ci", tmp_path)
    for v in s.validation:
        assert v.mean_factor == pytest.approx((v.budget / 2 + 0.5) / v.budget, rel=1e-6)
        assert v.naive_accuracy == pytest.approx(0.8, abs=1e-6)
        # About twice the naive λ (cosine: ∫η = η₀(T/2 + ½)): 3 points down from the optimum.
        assert v.integrated_l2 == pytest.approx(v.naive_l2 * v.budget / (v.budget / 2 + 0.5))
        down = 0.1 * np.log10(v.integrated_l2 / v.naive_l2)
        assert v.integrated_gap == pytest.approx(v.best_accuracy - (0.8 - down), abs=1e-6)
    # T = 80: the grid's best is 0.03 (naive 0.025), 2 points above the integrated 0.049.
    assert s.validation[1].best_l2 == 0.03 and s.validation[1].integrated_gap > 0.02
    claims = {c.name: c for c in check.schedule_l2opt_claims(s)}
    better = claims["λ_opt under cosine: integrated vs naive clock"]
    assert not better.passed and "naive closer, by ×" in better.measured
    acc = claims["λ_opt under cosine: accuracy at c/∫η vs the best"]
    assert not acc.passed  # the integrated run is ~3 points below the naive one at T = 80


def test_check_reports_missing_runs_as_failed_claims_naming_the_command(tmp_path):
    lines = [c for c in check.run("ci", tmp_path) if c.name.startswith("optimal_l2_step")]
    assert len(lines) == 1 and not lines[0].passed
    assert "python -m l2lib sweep optimal_l2_probe" in lines[0].measured


def test_figure_has_a_budget_slider_and_a_schedule_slider(tmp_path):
    _store_chapter(tmp_path / "s", "step", "integrated")
    _store_chapter(tmp_path / "c", "cosine", "naive")
    sums = {
        "step": check.load_schedule_l2opt_summary("step", "ci", tmp_path / "s"),
        "cosine": check.load_schedule_l2opt_summary("cosine", "ci", tmp_path / "c"),
    }
    fig = figures.schedule_l2opt(sums)
    t_slider, k_slider = fig.layout.sliders
    assert [s.label for s in t_slider.steps] == [str(T) for T in CI_BUDGETS]
    assert [s.label for s in k_slider.steps] == ["all", "step", "cosine"]
    n = len(fig.data)
    for step in t_slider.steps:
        vis = step.args[0]["visible"]
        assert len(vis) == n and 0 < sum(vis) < n
        names = [fig.data[i].name for i in range(n) if vis[i]]
        # Per schedule: the curve, λ = 0, both predictions and the best λ.
        assert sum("naive c/(η₀T)" in x for x in names) == 2
        assert sum("integrated c/∫η" in x for x in names) == 2
        assert sum(": best λ" in x for x in names) == 2
    # What the figure opens on is the first budget.
    assert [bool(t.visible) for t in fig.data] == t_slider.steps[0].args[0]["visible"]
    op = k_slider.steps[1].args[0]["opacity"]
    assert {fig.data[i].name.split(",")[0].split(":")[0] for i in range(n) if op[i] == 1} == {
        "step"
    }


@pytest.mark.parametrize("kind", KINDS)
def test_integrated_lr_is_the_sum_of_the_learning_rates_the_engine_trained_with(kind):
    # T = 50: update 15 is where a float32 reciprocal of T would put s/T just below 0.3.
    T = 50
    cfg = experiments.get(experiments.schedule_l2opt_name(kind, 40), "ci")
    cfg = dataclasses.replace(
        cfg,
        grid=dataclasses.replace(cfg.grid, l2=(0.01,)),
        duration=dataclasses.replace(cfg.duration, num_steps=T, max_steps=T),
        eval_every=1,
    )
    out = train.train_grid(cfg)
    eta = out["learning_rate"][0].astype(np.float64)  # η of update s − 1 at evaluation s
    assert eta.shape == (T,)
    assert train.integrated_lr(cfg, cfg.grid.learning_rate[0], T) == pytest.approx(
        eta.sum(), rel=1e-7
    )
