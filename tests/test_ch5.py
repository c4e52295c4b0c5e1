"""Chapter 5's analysis: the schedule clocks, the momentum and batch-norm claims, on scripted
curves (no training), and the batch-norm artifact at ci scale."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from store_fakes import fake_arrays

from l2lib import analysis, bnexp, check, experiments, store, train


@pytest.mark.parametrize("kind", experiments.SCHEDULE_KINDS)
@pytest.mark.parametrize("end", [100, 333, 15000])
def test_lr_schedule_is_the_engines(kind, end):
    cfg = experiments.get(f"schedule_{kind}", "ci")
    n = end + 7
    mine = analysis.lr_schedule(cfg.optimizer, 0.2, end, n)
    # Every update near a boundary (a scalar step, as inside the engine's vmapped scan), and a
    # stride elsewhere.
    near = {int(b * end) + d for b in cfg.optimizer.step_boundaries for d in range(-2, 3)}
    steps = sorted(near | set(range(0, n, max(1, n // 50))))
    ref = [float(train.lr_at(cfg, jnp.float32(0.2), jnp.int32(s), jnp.int32(end))) for s in steps]
    np.testing.assert_allclose(mine[steps], ref, rtol=1e-6, atol=1e-7)


def test_step_schedule_integral_by_hand():
    cfg = experiments.get("schedule_step", "ci")  # 100 steps, ×0.2 at 30/60/90 %
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
    cfg = experiments.get("schedule_constant", "ci")
    a = _schedule_results(cfg, "integrated")
    np.testing.assert_allclose(analysis.integrated_clock(a, cfg), analysis.naive_clock(a))


def _save_schedule(root, kind: str, clock: str):
    st = store.Store(root)
    for name in (f"schedule_{kind}", f"schedule_{kind}_low"):
        cfg = experiments.get(name, "cpu")
        st.save(cfg, _schedule_results(cfg, clock), {"wall_s": 1.0})
    return experiments.schedule_results(kind, "cpu", root)


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
    claims = list(check._schedule_claims("schedule_step", "cpu", tmp_path))
    assert [c.chapter for c in claims] == ["ch5", "ch5"]
    assert claims[0].name == "schedule_step: integrated vs naive clock"
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
    ref = experiments.get("timescale_mlp", "cpu")
    st.save(ref, _timescale_results(ref, 3.0), {"wall_s": 1.0})
    cfg = experiments.get("timescale_mlp_momentum", "cpu")
    # In effective units: the peak at λ·η/(1 − μ)·t = c_momentum.
    st.save(cfg, _timescale_results(cfg, c_momentum, 1 / (1 - cfg.optimizer.momentum)), {})
    slope, c = check._momentum_claims("timescale_mlp_momentum", "cpu", tmp_path)
    assert slope.passed
    assert c.passed is passes
    assert f"{c_momentum:.3g}" in c.measured


def test_bn_equilibrium_formula_on_a_stationary_process():
    # ‖W‖² stationary under w² ← (1 − ηλ)²w² + η²‖g‖², with ‖g̃‖² = ‖g‖²w² constant.
    cfg = bnexp.BNConfig(pairs=((0.01, 0.2),), num_steps=100, every=10)
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
    e = bnexp.equilibrium(arrays, cfg)
    np.testing.assert_allclose(e.ratio, 1.0)
    np.testing.assert_allclose(e.effective_lr, e.effective_lr_predicted)


def test_bn_artifact_ci(tmp_path):
    from l2lib import widthexp

    cfg, art = widthexp.load("bn_equilibrium", "ci", root=tmp_path)
    a = art.arrays
    assert a["sq_norm"].shape == (2, 1, cfg.num_steps // cfg.every, cfg.depth)
    # With batch norm the bare gradient is orthogonal to each hidden weight matrix.
    assert np.abs(a["cos"][1]).max() < 1e-3 < np.abs(a["cos"][0]).mean()
    (claim,) = check._bn_equilibrium_claims("bn_equilibrium", "ci", tmp_path)
    assert claim.chapter == "ch5"


def test_autol2_under_a_schedule_is_chapter_3s_claim_in_chapter_5(tmp_path):
    from test_autol2_chapter import _pair_store

    auto, const = (experiments.get(n, "cpu") for n in ("autol2_mlp_step", "autol2_mlp_step_const"))
    assert auto.optimizer.schedule == const.optimizer.schedule == "step"
    assert auto.duration == const.duration and auto.grid.seeds == const.grid.seeds
    _pair_store(tmp_path, 0.72, 200.0, setup="autol2_mlp_step")
    (gen,) = [g for ch, n, g in check.CLAIMS if n == "autol2_mlp_step"]
    claims = list(gen("autol2_mlp_step", "cpu", tmp_path))
    assert len(claims) == 2 and all(c.chapter == "ch5" and c.passed for c in claims)
