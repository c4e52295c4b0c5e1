"""Chapter 5's analysis: the schedule clocks, the momentum and batch-norm claims, on scripted
curves (no training), and the batch-norm artifact at ci scale.

Chapter 5 in the premise: the integrated clock of a step schedule, momentum's effective
learning rate, and the clock claim's null (synthetic runs in a temporary store).

Chapter 5, λ_opt(T) under a schedule: the configs (the two predicted λ from a given c), and
the summary, claims and figure on scripted results whose answer is known (no training).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from store_fakes import fake_arrays

from l2lib import analysis, registry, store, train
from l2lib import claims as claims_lib
from l2lib.paper import ch2_budget, ch5_beyond

# --- from test_ch5_beyond.py ------------------------------------------------------------


@pytest.mark.parametrize("kind", ch5_beyond.SCHEDULE_KINDS)
@pytest.mark.parametrize("end", [100, 333, 15000])
def test_lr_schedule_is_the_engines(kind, end):
    cfg = registry.get(f"ch5_schedule_{kind}", "ci")
    n = end + 7
    mine = analysis.lr_schedule(cfg.optimizer, 0.2, end, n)
    # Every update near a boundary (a scalar step, as inside the engine's vmapped scan), and a
    # stride elsewhere.
    near = {int(b * end) + d for b in cfg.optimizer.step_boundaries for d in range(-2, 3)}
    steps = sorted(near | set(range(0, n, max(1, n // 50))))
    ref = [float(train.lr_at(cfg, jnp.float32(0.2), jnp.int32(s), jnp.int32(end))) for s in steps]
    np.testing.assert_allclose(mine[steps], ref, rtol=1e-6, atol=1e-7)


def test_step_schedule_integral_by_hand():
    cfg = registry.get("ch5_schedule_step", "ci")  # 100 steps, ×0.2 at 30/60/90 %
    eta = analysis.lr_schedule(cfg.optimizer, 1.0, 100, 100)
    assert eta.sum() == pytest.approx(30 + 30 * 0.2 + 30 * 0.04 + 10 * 0.008)


def _schedule_results(cfg, clock: str, c: float = 6.0):
    """Curves that peak where the integrated (or the naive) clock reaches c."""
    a = fake_arrays(cfg)
    a["l2"] = np.repeat(a["member_l2"][:, None], a["eval_step"].size, axis=1)
    a["test_loss"][:] = 1.0
    integ = analysis.integrated_clock(a, cfg)
    x = integ if clock == "integrated" else analysis.naive_clock(a)
    a["test_accuracy"] = np.exp(-(np.log(np.maximum(x, 1e-9) / c) ** 2))
    return a


def test_integrated_clock_equals_naive_without_a_schedule():
    cfg = registry.get("ch5_schedule_constant", "ci")
    a = _schedule_results(cfg, "integrated")
    np.testing.assert_allclose(analysis.integrated_clock(a, cfg), analysis.naive_clock(a))


def _save_schedule(root, kind: str, clock: str):
    st = store.Store(root)
    for name in (f"ch5_schedule_{kind}", f"ch5_schedule_{kind}_low"):
        cfg = registry.get(name, "cpu")
        st.save(cfg, _schedule_results(cfg, clock), {"wall_s": 1.0})
    return ch5_beyond.schedule_results(kind, "cpu", root)


@pytest.mark.parametrize("kind", ["step", "cosine"])
def test_clock_collapse_finds_the_clock_the_curves_follow(tmp_path, kind):
    res = _save_schedule(tmp_path / "right", kind, "integrated")
    assert len(res.config.members()) == res.arrays["test_accuracy"].shape[0] == 12
    right = analysis.clock_collapse(res.arrays, res.config)
    assert right.used.sum() >= 2
    assert right.spread_integrated < 0.005 and right.ratio < 0.2
    res = _save_schedule(tmp_path / "wrong", kind, "naive")
    wrong = analysis.clock_collapse(res.arrays, res.config)
    assert wrong.spread_naive < 0.005 and wrong.ratio > 5


@pytest.mark.parametrize("clock,passes", [("integrated", True), ("naive", False)])
def test_schedule_claims(tmp_path, clock, passes):
    _save_schedule(tmp_path, "step", clock)
    claims = list(ch5_beyond._schedule_claims("ch5_schedule_step", "cpu", tmp_path))
    assert [c.chapter for c in claims] == ["ch5", "ch5"]
    assert claims[0].name == "ch5_schedule_step: integrated vs naive clock"
    assert claims[0].passed is passes
    assert "peak after the first decay (step 4500)" in claims[0].measured


def _timescale_results(cfg, c: float, scale: float = 1.0):
    """Curves that peak at t* = c/(λη·scale)."""
    a = fake_arrays(cfg)
    a["test_loss"][:] = 1.0
    x = analysis.naive_clock(a) * scale
    a["test_accuracy"] = np.exp(-(np.log(np.maximum(x, 1e-9) / c) ** 2))
    return a


@pytest.mark.parametrize("c_momentum,passes", [(3.0, True), (12.0, False)])
def test_momentum_claims(tmp_path, c_momentum, passes):
    st = store.Store(tmp_path)
    ref = registry.get("ch1_timescale_mlp", "cpu")
    st.save(ref, _timescale_results(ref, 3.0), {"wall_s": 1.0})
    cfg = registry.get("ch5_timescale_mlp_momentum", "cpu")
    # In effective units: the peak at λ·η/(1 − μ)·t = c_momentum.
    st.save(cfg, _timescale_results(cfg, c_momentum, 1 / (1 - cfg.optimizer.momentum)), {})
    slope, c = ch5_beyond._momentum_claims("ch5_timescale_mlp_momentum", "cpu", tmp_path)
    assert slope.passed
    assert c.passed is passes
    assert f"{c_momentum:.3g}" in c.measured


def test_bn_equilibrium_formula_on_a_stationary_process():
    # ‖W‖² stationary under w² ← (1 − ηλ)²w² + η²‖g‖², with ‖g̃‖² = ‖g‖²w² constant.
    cfg = ch5_beyond.BNConfig(pairs=((0.01, 0.2),), num_steps=100, every=10)
    lam, eta, gu = 0.01, 0.2, 3.0
    w4 = eta * gu / (lam * (2 - eta * lam))
    blocks = cfg.num_steps // cfg.every
    shape = (2, 1, blocks, 2)
    arrays = {
        "sq_norm": np.full(shape, np.sqrt(w4)),
        "grad_sq_unit": np.full(shape, gu),
        "cos": np.zeros(shape),
        "step": (np.arange(blocks) + 1) * cfg.every,
        "l2": np.array([lam]),
        "learning_rate": np.array([eta]),
    }
    e = ch5_beyond.equilibrium(arrays, cfg)
    np.testing.assert_allclose(e.ratio, 1.0)
    np.testing.assert_allclose(e.effective_lr, e.effective_lr_predicted)


def test_bn_artifact_ci(tmp_path):

    cfg, art = store.load_registered_artifact("ch5_bn_equilibrium", "ci", root=tmp_path)
    a = art.arrays
    assert a["sq_norm"].shape == (2, 1, cfg.num_steps // cfg.every, cfg.depth)
    # With batch norm the bare gradient is orthogonal to each hidden weight matrix.
    assert np.abs(a["cos"][1]).max() < 1e-3 < np.abs(a["cos"][0]).mean()
    (claim,) = ch5_beyond._bn_equilibrium_claims("ch5_bn_equilibrium", "ci", tmp_path)
    assert claim.chapter == "ch5"


def test_autol2_under_a_schedule_is_chapter_3s_claim_in_chapter_5(tmp_path):
    from test_ch3_autol2 import _pair_store

    auto, const = (
        registry.get(n, "cpu") for n in ("ch5_autol2_mlp_step", "ch5_autol2_mlp_step_const")
    )
    assert auto.optimizer.schedule == const.optimizer.schedule == "step"
    assert auto.duration == const.duration and auto.grid.seeds == const.grid.seeds
    _pair_store(tmp_path, 0.72, 200.0, setup="ch5_autol2_mlp_step")
    (gen,) = [g for ch, n, g in registry.claims() if n == "ch5_autol2_mlp_step"]
    claims = list(gen("ch5_autol2_mlp_step", "cpu", tmp_path))
    assert len(claims) == 2 and all(c.chapter == "ch5" and c.passed for c in claims)


# --- from test_ch5_inpremise.py ------------------------------------------------------------


def _results(cfg, arrays):
    return store.Results(arrays=arrays, meta={}, config=cfg, path=None)


def test_the_integrated_clock_is_lambda_eta_t_at_constant_eta_and_slows_after_each_decay():
    cfg = registry.get("ch5_fmnist_step", "cpu")
    const = dataclasses.replace(
        cfg, optimizer=dataclasses.replace(cfg.optimizer, schedule="constant")
    )
    l2, lr, t = np.array([1e-2, 3e-3]), np.array([0.1, 0.4]), np.array([5000.0, 15000.0])
    np.testing.assert_allclose(
        ch5_beyond.integrated_at(_results(const, {}), l2, lr, t), l2 * lr * t
    )
    # Step: ×0.2 from step 6000 (30 % of 20 000) and again from 12 000.
    got = ch5_beyond.integrated_at(_results(cfg, {}), l2, lr, t)
    want = l2 * lr * np.array([5000.0, 6000 + 0.2 * 6000 + 0.04 * 3000])
    np.testing.assert_allclose(got, want)


def test_momentum_is_read_in_effective_units():
    cfg = registry.get("ch5_fmnist_momentum", "cpu")
    arrays = fake_arrays(cfg)
    eff = ch5_beyond.effective(_results(cfg, arrays))
    np.testing.assert_allclose(
        eff.arrays["member_learning_rate"], arrays["member_learning_rate"] * 10
    )
    assert eff.config.grid.learning_rate == (0.1, 0.4)
    assert arrays["member_learning_rate"].max() == pytest.approx(0.04)  # the stored run untouched


def _step_run():
    """Step-schedule curves whose peaks sit at λη₀t = 3 (the naive clock)."""
    cfg = registry.get("ch5_fmnist_step", "cpu")
    a = fake_arrays(cfg)
    steps = a["eval_step"].astype(float)
    for i, (lam, eta, _) in enumerate(cfg.members()):
        t = min(max(3.0 / (lam * eta), 200.0), 19000.0)
        a["test_accuracy"][i] = 0.8 * np.exp(-(np.log(steps / t) ** 2) / 0.02)
    a["full_train_accuracy"] = np.ones_like(a["test_accuracy"])
    return _results(cfg, a)


def test_peaks_set_by_the_naive_clock_collapse_on_it_and_the_claims_say_so():
    st = ch5_beyond.clocks(_step_run())
    assert st.used.sum() >= ch5_beyond.MIN_USED
    u = st.used
    assert np.std(np.log10(st.naive[u])) < 0.05  # the naive clock lines them up ...
    assert st.clock_null.observed > 1  # ... so the integrated one is the worse clock


# --- from test_ch5_l2opt.py ------------------------------------------------------------

KINDS = ch5_beyond.SCHEDULE_L2OPT_KINDS
CI_BUDGETS = ch5_beyond.SCHEDULE_L2OPT_BUDGETS["ci"]


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
    cfg = registry.get(ch5_beyond.schedule_l2opt_name(kind, 40), "ci")
    got = train.integrated_lr(cfg, 0.4, T)
    assert got == pytest.approx(_integral_by_hand(kind, 0.4, T), rel=1e-6 if T <= 2000 else BY_HAND)
    assert got == pytest.approx(analysis.lr_schedule(cfg.optimizer, 0.4, T, T).sum(), rel=1e-6)
    const = registry.get("ch2_optimal_l2", "ci")
    assert train.integrated_lr(const, 0.4, T) == pytest.approx(0.4 * T, rel=1e-6)


@pytest.mark.parametrize("scale", ["ci", "cpu"])
@pytest.mark.parametrize("kind", KINDS)
def test_predicted_runs_are_c_over_eta_t_and_c_over_the_integral(scale, kind):
    base = registry.get("ch2_optimal_l2", scale)
    eta = base.grid.learning_rate[0]
    c = 1.7
    for T in ch5_beyond.SCHEDULE_L2OPT_BUDGETS[scale]:
        sweep = registry.get(ch5_beyond.schedule_l2opt_name(kind, T), scale)
        # Chapter 2's grid, η₀, data and model; the schedule, stretched over exactly T steps.
        assert sweep.grid == base.grid and sweep.model == base.model and sweep.data == base.data
        assert sweep.optimizer.schedule == kind and sweep.optimizer.momentum == 0.0
        assert sweep.steps_per_member() == [T] * len(base.grid.l2)
        pred = ch5_beyond.schedule_l2opt_predicted(kind, scale, T, c)
        assert pred.name == f"ch5_optimal_l2_{kind}_T{T}_predicted"
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
        assert ch5_beyond.SCHEDULE_L2OPT_BUDGETS["cpu"] == (2000, 5000, 10000)
        assert base.grid.l2 == ch2_budget.OPTIMAL_L2_GRID and eta == ch2_budget.OPTIMAL_L2_LR
        # The constant-η control exists at every budget: chapter 2's are a superset.
        assert set(ch5_beyond.SCHEDULE_L2OPT_BUDGETS["cpu"]) <= set(
            ch2_budget.OPTIMAL_L2_BUDGETS["cpu"]
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
    probe_cfg = registry.get("ch2_optimal_l2_probe", "ci")
    p = fake_arrays(probe_cfg)
    steps = p["eval_step"].astype(float)
    p["test_accuracy"] = (0.6 - 0.1 * np.abs(np.log(steps / PROBE_T_STAR)))[None, :]
    st.save(probe_cfg, p, {"wall_s": 0.0})
    c = ch2_budget.probe_c("ci", root).c
    assert c == pytest.approx(0.1 * 0.1 * PROBE_T_STAR)
    for T in CI_BUDGETS:
        sweep = registry.get(ch5_beyond.schedule_l2opt_name(kind, T), "ci")
        pred = ch5_beyond.schedule_l2opt_predicted(kind, "ci", T, c)
        best = pred.grid.l2[0 if truth == "naive" else 1]
        st.save(sweep, _scripted(sweep, best), {"wall_s": 0.0})
        st.save(pred, _scripted(pred, best), {"wall_s": 0.0})
    return st


def test_summary_when_the_integrated_clock_is_right(tmp_path):
    _store_chapter(tmp_path, "step", "integrated")
    s = ch5_beyond.load_schedule_l2opt_summary("step", "ci", tmp_path)
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
    claims = list(ch5_beyond.schedule_l2opt_claims(s))
    assert [c.chapter for c in claims] == ["ch5"] * 3
    assert all(c.passed for c in claims), [c.line() for c in claims]
    assert "integrated closer, by ×" in claims[2].measured
    assert s.mean_factor_from_best("naive") == pytest.approx(np.sqrt(2.0 * 4.0))


def test_claims_fail_when_the_naive_clock_is_right(tmp_path):
    _store_chapter(tmp_path, "cosine", "naive")
    s = ch5_beyond.load_schedule_l2opt_summary("cosine", "ci", tmp_path)
    for v in s.validation:
        assert v.mean_factor == pytest.approx((v.budget / 2 + 0.5) / v.budget, rel=1e-6)
        assert v.naive_accuracy == pytest.approx(0.8, abs=1e-6)
        # About twice the naive λ (cosine: ∫η = η₀(T/2 + ½)): 3 points down from the optimum.
        assert v.integrated_l2 == pytest.approx(v.naive_l2 * v.budget / (v.budget / 2 + 0.5))
        down = 0.1 * np.log10(v.integrated_l2 / v.naive_l2)
        assert v.integrated_gap == pytest.approx(v.best_accuracy - (0.8 - down), abs=1e-6)
    # T = 80: the grid's best is 0.03 (naive 0.025), 2 points above the integrated 0.049.
    assert s.validation[1].best_l2 == 0.03 and s.validation[1].integrated_gap > 0.02
    claims = {c.name: c for c in ch5_beyond.schedule_l2opt_claims(s)}
    better = claims["λ_opt under cosine: integrated vs naive clock"]
    assert not better.passed and "naive closer, by ×" in better.measured
    acc = claims["λ_opt under cosine: accuracy at c/∫η vs the best"]
    assert not acc.passed  # the integrated run is ~3 points below the naive one at T = 80


def test_check_reports_missing_runs_as_failed_claims_naming_the_command(tmp_path):
    lines = [c for c in claims_lib.run("ci", tmp_path) if c.name.startswith("ch5_optimal_l2_step")]
    assert len(lines) == 1 and not lines[0].passed
    assert "python -m l2lib sweep ch2_optimal_l2_probe" in lines[0].measured


def test_figure_has_a_budget_slider_and_a_schedule_slider(tmp_path):
    _store_chapter(tmp_path / "s", "step", "integrated")
    _store_chapter(tmp_path / "c", "cosine", "naive")
    sums = {
        "step": ch5_beyond.load_schedule_l2opt_summary("step", "ci", tmp_path / "s"),
        "cosine": ch5_beyond.load_schedule_l2opt_summary("cosine", "ci", tmp_path / "c"),
    }
    fig = ch5_beyond.schedule_l2opt(sums)
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
    cfg = registry.get(ch5_beyond.schedule_l2opt_name(kind, 40), "ci")
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
