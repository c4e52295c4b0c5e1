"""Chapter 5 in the premise: the integrated clock of a step schedule, momentum's effective
learning rate, and the clock claim's null (synthetic runs in a temporary store)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from store_fakes import fake_arrays

from l2lib import experiments, premise_ch5, store


def _results(cfg, arrays):
    return store.Results(arrays=arrays, meta={}, config=cfg, path=None)


def test_the_integrated_clock_is_lambda_eta_t_at_constant_eta_and_slows_after_each_decay():
    cfg = experiments.get("ch5_fmnist_step", "cpu")
    const = dataclasses.replace(
        cfg, optimizer=dataclasses.replace(cfg.optimizer, schedule="constant")
    )
    l2, lr, t = np.array([1e-2, 3e-3]), np.array([0.1, 0.4]), np.array([5000.0, 15000.0])
    np.testing.assert_allclose(
        premise_ch5.integrated_at(_results(const, {}), l2, lr, t), l2 * lr * t
    )
    # Step: ×0.2 from step 6000 (30 % of 20 000) and again from 12 000.
    got = premise_ch5.integrated_at(_results(cfg, {}), l2, lr, t)
    want = l2 * lr * np.array([5000.0, 6000 + 0.2 * 6000 + 0.04 * 3000])
    np.testing.assert_allclose(got, want)


def test_momentum_is_read_in_effective_units():
    cfg = experiments.get("ch5_fmnist_momentum", "cpu")
    arrays = fake_arrays(cfg)
    eff = premise_ch5.effective(_results(cfg, arrays))
    np.testing.assert_allclose(
        eff.arrays["member_learning_rate"], arrays["member_learning_rate"] * 10
    )
    assert eff.config.grid.learning_rate == (0.1, 0.4)
    assert arrays["member_learning_rate"].max() == pytest.approx(0.04)  # the stored run untouched


def _step_run():
    """Step-schedule curves whose peaks sit at λη₀t = 3 (the naive clock)."""
    cfg = experiments.get("ch5_fmnist_step", "cpu")
    a = fake_arrays(cfg)
    steps = a["eval_step"].astype(float)
    for i, (lam, eta, _) in enumerate(cfg.members()):
        t = min(max(3.0 / (lam * eta), 200.0), 19000.0)
        a["test_accuracy"][i] = 0.8 * np.exp(-(np.log(steps / t) ** 2) / 0.02)
    a["full_train_accuracy"] = np.ones_like(a["test_accuracy"])
    return _results(cfg, a)


def test_peaks_set_by_the_naive_clock_collapse_on_it_and_the_claims_say_so():
    st = premise_ch5.clocks(_step_run())
    assert st.used.sum() >= premise_ch5.MIN_USED
    u = st.used
    assert np.std(np.log10(st.naive[u])) < 0.05  # the naive clock lines them up ...
    assert st.clock_null.observed > 1  # ... so the integrated one is the worse clock
