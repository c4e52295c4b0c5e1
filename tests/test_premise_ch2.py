"""Chapter 2 in the premise: performance within a budget, the near-best set, the probe's c and
the prediction's null (synthetic sweeps whose optimum is known)."""

from __future__ import annotations

import numpy as np
import pytest

from l2lib import analysis, experiments, premise_ch2

C, ETA, EVERY = 3.0, experiments.INPREMISE_LR, 25


def _curves(l2s, seeds=3, num_evals=1600, height=None, noise=0.0, fit=True, rng=0):
    """Accuracy of λ rises to its peak at c/(λη) (λ = 0: never within the run) and stays there;
    a smaller λ has a higher peak, so the best λ within T is about c/(ηT)."""
    rng = np.random.default_rng(rng)
    steps = EVERY * np.arange(1, num_evals + 1)
    height = height or (lambda a: 0.9 - 0.05 * np.log10(max(a, 1e-5) / 1e-5))
    rows, l2c, seedc = [], [], []
    for a in l2s:
        t = C / (a * ETA) if a > 0 else 1e9
        for s in range(seeds):
            rows.append(
                height(a) * np.minimum(steps / t, 1.0) + noise * rng.standard_normal(num_evals)
            )
            l2c.append(a)
            seedc.append(s)
    m = len(rows)
    return {
        "eval_step": steps,
        "test_accuracy": np.array(rows),
        "full_train_accuracy": np.full((m, num_evals), 1.0 if fit else 0.5),
        "member_l2": np.array(l2c, float),
        "member_learning_rate": np.full(m, ETA),
        "member_seed": np.array(seedc),
        "num_steps": np.full(m, steps[-1]),
        "diverged_step": np.full(m, -1),
    }


L2S = (3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 0.0)


def test_performance_finds_the_best_lambda_and_those_within_the_seed_noise():
    arr = _curves(L2S, noise=0.002)
    p = premise_ch2.performance(arr, 10_000)  # c/(ηT) = 3e-3
    assert p.l2[p.best] == pytest.approx(3e-3)
    assert p.near[p.best] and not p.near[0] and not p.near[-1]
    assert (p.se > 0).all() and p.fitted.all() and p.usable.all()
    lo, hi = p.near_range
    assert lo <= 3e-3 <= hi


def test_a_lambda_that_never_fits_is_not_usable_and_cannot_be_best():
    arr = _curves(L2S)
    arr["full_train_accuracy"][arr["member_l2"] == 3e-3] = 0.5
    p = premise_ch2.performance(arr, 10_000)
    k = int(np.flatnonzero(p.l2 == 3e-3)[0])
    assert not p.fitted[k] and not p.usable[k] and not p.near[k]
    assert p.l2[p.best] != 3e-3


def test_scaled_budget_beyond_the_run_is_not_usable():
    arr = _curves(L2S)
    b = premise_ch2.scaled_budgets(arr)
    assert b[1e-2] == pytest.approx(
        np.ceil(experiments.CH2_SCALED_HORIZON / (1e-2 * ETA) / EVERY) * EVERY
    )
    assert 0.0 not in b
    p = premise_ch2.performance(arr, b)
    assert not p.usable[p.l2 == 1e-4][0]  # 300 000 steps > the run's 40 000
    assert not p.usable[p.l2 == 0][0]  # λ = 0 has no scaled budget


def _probe_arrays(t_star, num_evals=60):
    steps = EVERY * np.arange(1, num_evals + 1)
    rows = [np.exp(-(((steps - t) / 300.0) ** 2)) for t in (t_star * 0.9, t_star, t_star * 1.1)]
    m = len(rows)
    return {
        "eval_step": steps,
        "test_accuracy": np.array(rows),
        "full_train_accuracy": np.ones((m, num_evals)),
        "member_l2": np.full(m, experiments.CH2_PROBE_L2),
        "member_learning_rate": np.full(m, ETA),
        "member_seed": np.arange(m),
        "num_steps": np.full(m, steps[-1]),
        "diverged_step": np.full(m, -1),
    }


def test_the_probe_reads_c_from_the_seed_mean_and_refuses_a_peak_at_its_end():
    pr = premise_ch2.read_probe("x", _probe_arrays(1000))
    assert pr.ok and pr.t_star == pytest.approx(1000, abs=EVERY)
    assert pr.c == pytest.approx(experiments.CH2_PROBE_L2 * ETA * pr.t_star)
    assert pr.c_low < pr.c < pr.c_high and pr.spread > 0
    late = premise_ch2.read_probe("x", _probe_arrays(2000))  # rising to the end of 1500 steps
    assert not late.ok and "last evaluation" in late.why


def _predicted(pr, noise_rng=1):
    lams = [analysis.predict_l2(pr.c, ETA, T) for T in experiments.CH2_BUDGETS]
    return _curves(lams, num_evals=max(experiments.CH2_BUDGETS) // EVERY)


def test_a_right_c_beats_its_null_and_a_random_one_does_not():
    sweep = _curves(tuple(10 ** np.arange(-1.5, -4.01, -0.125)) + (0.0,))  # ×1.33 apart
    t_true = C / (experiments.CH2_PROBE_L2 * ETA)
    # A probe run ten times past its t*: a t* drawn from it gives c anywhere in (0, 10c].
    pr = premise_ch2.read_probe("x", _probe_arrays(t_true, num_evals=400))
    val = premise_ch2.validate(sweep, _predicted(pr), pr)
    assert all(v.ratio <= 1.34 for v in val) and all(v.gap <= 0.02 for v in val)
    null = analysis.null_test(
        premise_ch2.ratio_score(val, pr), np.array([pr.t_star]), [pr.candidates]
    )
    assert null.p_value < analysis.NULL_ALPHA < np.mean(null.null > null.observed)
    # A t* ten times too late predicts λ ten times too large: a decade off at every budget.
    assert premise_ch2.ratio_score(val, pr)(np.array([10 * t_true])) > 0.9


def test_a_probe_stopped_soon_after_its_peak_cannot_beat_its_null():
    """Any t* in the latter half of a short probe gives a c within ×2 of the true one: the
    null says so, whatever the prediction's accuracy."""
    sweep = _curves(L2S)
    t_true = C / (experiments.CH2_PROBE_L2 * ETA)
    pr = premise_ch2.read_probe("x", _probe_arrays(t_true, num_evals=60))  # 1.5 t*
    val = premise_ch2.validate(sweep, _predicted(pr), pr)
    null = analysis.null_test(
        premise_ch2.ratio_score(val, pr), np.array([pr.t_star]), [pr.candidates]
    )
    assert null.p_value > analysis.NULL_ALPHA


def test_a_prediction_missing_its_run_names_the_command():
    sweep = _curves(L2S)
    pr = premise_ch2.read_probe("mlp", _probe_arrays(1000))
    other = _curves((1.234e-2,), num_evals=800)
    with pytest.raises(ValueError, match="sweep ch2_mlp_predicted --force"):
        premise_ch2.validate(sweep, other, pr)
