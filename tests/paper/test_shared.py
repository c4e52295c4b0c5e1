"""l2lib.paper.shared: the setups several chapters build on, and the t* reading they share."""

from __future__ import annotations

import numpy as np
import pytest

from l2lib import analysis, registry
from l2lib.paper import shared


def test_the_in_premise_setups_are_chapter_1s_registered_runs():
    for setup, name in shared.INPREMISE_SETUPS.items():
        assert shared.inpremise_base(setup) == registry.get(name, "cpu")
        assert registry.chapter_of(name) == "ch1"
    with pytest.raises(ValueError, match="choose one of mlp, fmnist"):
        shared.inpremise_base("cifar")


def test_setup_label_names_model_data_and_subset():
    assert (
        shared.setup_label(registry.get("ch1_premise_mlp", "cpu")) == "MLP on mnist1d (256 train)"
    )
    assert shared.setup_label(registry.get("ch1_timescale_mlp", "cpu")) == "MLP"
    fm = shared.setup_label(registry.get("ch1_premise_fmnist", "cpu"))
    assert fm == "MLP on fashion_mnist (256 train)"


def test_fit_mask_leaves_out_the_probes_and_lambda_zero_of_the_time_scale_sweeps():
    cfg = registry.get("ch1_timescale_mlp", "cpu")
    probe = shared.TIMESCALE_PROBE_L2[0]
    assert shared.fit_mask(cfg, [probe, 1e-2, 0.0]) == [False, True, False]
    # Other experiments have no probes: only λ = 0 is left out.
    other = registry.get("ch1_premise_mlp", "cpu")
    assert shared.fit_mask(other, [probe, 0.0]) == [True, False]


def test_predicted_sweep_puts_each_member_at_c_over_eta_t():
    c = 2.5
    cfg = shared.optimal_l2_predicted("ci", c)
    eta = cfg.grid.learning_rate[0]
    budgets = shared.OPTIMAL_L2_BUDGETS["ci"]
    assert cfg.grid.l2 == pytest.approx([c / (eta * T) for T in budgets])
    # Each member trains to its own budget: λ·η·t reaches c exactly at T.
    for l2, T in zip(cfg.grid.l2, budgets, strict=True):
        assert cfg.duration.steps_for(l2, eta) == pytest.approx(T, abs=1)
    # Doubling c doubles every λ: the prediction is the only thing that moves.
    twice = shared.optimal_l2_predicted("ci", 2 * c)
    assert np.allclose(np.array(twice.grid.l2) / np.array(cfg.grid.l2), 2.0)


def _sweep(t_star, budget=2000, every=10, seeds=3):
    """Seed curves peaking at ``t_star[(λ, η)]``, every member fitting its training set."""
    steps = every * np.arange(1, budget // every + 1)
    rows, l2s, lrs, sds = [], [], [], []
    for (l2, lr), t in t_star.items():
        for s in range(seeds):
            rows.append(0.9 - 1e-7 * (steps - t) ** 2 + 1e-4 * s)
            l2s.append(l2)
            lrs.append(lr)
            sds.append(s)
    m = len(rows)
    return {
        "eval_step": steps,
        "test_accuracy": np.array(rows),
        "full_train_accuracy": np.ones((m, len(steps))),
        "member_l2": np.array(l2s),
        "member_learning_rate": np.array(lrs),
        "member_seed": np.array(sds),
        "num_steps": np.full(m, steps[-1]),
        "diverged_step": np.full(m, -1),
    }


def test_read_budget_reads_c_from_peaks_that_follow_c_over_lambda_eta():
    c = 3.0
    t_star = {(l2, 0.1): c / (l2 * 0.1) for l2 in (0.03, 0.02, 0.015)}  # 1000, 1500, 2000
    r = shared.read_budget(_sweep(t_star, budget=2500), 2500)
    assert r.used.all()
    assert r.c == pytest.approx(c, rel=0.02)
    # Cut at T/2: the later peaks are censored by the budget and leave the reading.
    half = shared.read_budget(_sweep(t_star, budget=2500), 1250)
    assert half.used.sum() == 1 and half.c == pytest.approx(c, rel=0.02)
    assert np.isnan(shared.read_budget(_sweep(t_star, budget=2500), 500).c)


def test_the_shared_goals_are_the_chapter_1_goals():
    """Chapters 2, 3 and 5 judge t* with chapter 1's goals: one place fixes them."""
    assert shared.SLOPE_TOLERANCE == 0.15 and shared.C_AGREEMENT == 2.0
    assert shared.COLLAPSE_RATIO == pytest.approx(1 / 3)
    assert analysis.NULL_ALPHA == 0.05
