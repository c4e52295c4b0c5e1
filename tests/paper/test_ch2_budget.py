"""Chapter 2: λ_opt = c/(ηT), measure_c on scripted curves, budget curves, and the ch2 claims.

Chapter 2 in the premise: performance within a budget, the near-best set, the probe's c and
the prediction's null (synthetic sweeps whose optimum is known).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from store_fakes import fake_arrays

from l2lib import analysis, registry, store, train
from l2lib import claims as claims_lib
from l2lib import config as C
from l2lib.paper import authors, ch1_timescale, ch2_budget, shared

# --- from test_ch2_budget.py ------------------------------------------------------------


def test_predict_l2_is_c_over_eta_t():
    assert analysis.predict_l2(2.7, 0.4, 1000) == pytest.approx(2.7 / 400, rel=1e-15)
    assert analysis.predict_l2(1, 1, 1) == 1.0
    # λ_opt(T) is the λ whose time scale c/(λη) is T.
    lam = analysis.predict_l2(3.0, 0.2, 5000)
    assert 3.0 / (lam * 0.2) == pytest.approx(5000)


@pytest.mark.parametrize(
    "args, name",
    [
        ((0.0, 0.4, 1000), "c=0.0"),
        ((-1.0, 0.4, 1000), "c=-1.0"),
        ((float("nan"), 0.4, 1000), "c=nan"),
        ((float("inf"), 0.4, 1000), "c=inf"),
        (("big", 0.4, 1000), "c='big'"),
        ((True, 0.4, 1000), "c=True"),
        ((2.7, 0.0, 1000), "learning_rate=0.0"),
        ((2.7, None, 1000), "learning_rate=None"),
        ((2.7, 0.4, 0), "num_steps=0"),
        ((2.7, 0.4, -10), "num_steps=-10"),
    ],
)
def test_predict_l2_rejects_bad_input_in_one_line(args, name):
    with pytest.raises(ValueError, match=name) as e:
        analysis.predict_l2(*args)
    assert "\n" not in str(e.value) and "predict_l2" in str(e.value)


# --- measure_c: a probe whose t* is known exactly -------------------------------------------


def _probe(t_star: float, l2: float = 1e-2, horizon: float = 4.0):
    """The chapter-2 probe config at λ₀ = ``l2`` and arrays whose accuracy peaks exactly at
    ``t_star`` (an evaluation step) and falls after it."""
    cfg = analysis.probe_config(registry.get("ch2_optimal_l2", "cpu"), l2, horizon)
    arrays = fake_arrays(cfg)
    steps = arrays["eval_step"].astype(float)
    acc = 0.6 - 0.1 * np.abs(np.log(steps / t_star))
    arrays["test_accuracy"] = acc[None, :].astype(np.float32)
    return cfg, arrays


def test_read_c_is_l2_eta_t_star_on_a_scripted_curve():
    cfg, arrays = _probe(675)
    assert cfg.steps_per_member() == [1000] and cfg.eval_every == 25
    m = analysis.read_c(arrays, cfg)
    assert m.t_star == 675 and m.c == pytest.approx(0.01 * 0.4 * 675, rel=1e-12)
    assert (m.l2, m.learning_rate, m.num_steps) == (0.01, 0.4, 1000)
    assert m.best_accuracy == pytest.approx(0.6)
    assert "maximum test accuracy" in m.how and "every 25 steps" in m.how and "1000 steps" in m.how


def test_read_c_refuses_a_peak_at_either_end_or_a_diverged_probe():
    cfg, arrays = _probe(675)
    late = dict(arrays, test_accuracy=np.linspace(0.1, 0.6, 40)[None, :].astype(np.float32))
    with pytest.raises(ValueError, match="last evaluation.*raise the horizon"):
        analysis.read_c(late, cfg)
    early = dict(arrays, test_accuracy=np.linspace(0.6, 0.1, 40)[None, :].astype(np.float32))
    with pytest.raises(ValueError, match="first evaluation"):
        analysis.read_c(early, cfg)
    with pytest.raises(ValueError, match="diverged"):
        analysis.read_c(dict(arrays, diverged_step=np.array([300])), cfg)


def test_read_c_over_seeds_uses_the_geometric_mean_of_t_star():
    base = registry.get("ch2_optimal_l2", "cpu")
    cfg = analysis.probe_config(
        dataclasses.replace(base, grid=dataclasses.replace(base.grid, seeds=(0, 1))), 1e-2
    )
    arrays = fake_arrays(cfg)
    steps = arrays["eval_step"].astype(float)
    arrays["test_accuracy"] = np.stack(
        [0.6 - 0.1 * np.abs(np.log(steps / t)) for t in (400, 900)]
    ).astype(np.float32)
    m = analysis.read_c(arrays, cfg)
    assert m.t_star == pytest.approx(600) and m.c == pytest.approx(0.004 * 600)


def test_measure_c_goes_through_the_store_and_never_retrains_a_cached_probe(tmp_path, monkeypatch):
    base = registry.get("ch2_optimal_l2", "cpu")
    cfg, arrays = _probe(675)
    monkeypatch.setenv("L2LIB_FORBID_TRAINING", "1")
    with pytest.raises(store.MissingEntryError, match="ch2_optimal_l2_probe"):
        analysis.measure_c(base, 1e-2, store=tmp_path)
    store.Store(tmp_path).save(cfg, arrays, {"wall_s": 0.0})
    before = train.TRAIN_STEPS
    m = analysis.measure_c(base, 1e-2, store=tmp_path)
    assert m.c == pytest.approx(2.7) and train.TRAIN_STEPS == before
    # The registered probe is the same run as measure_c's: one store entry.
    assert registry.get("ch2_optimal_l2_probe", "cpu") == cfg


def test_probe_config_validates_its_input():
    base = registry.get("ch2_optimal_l2", "cpu")
    with pytest.raises(ValueError, match="l2=0.0 must be finite and > 0"):
        analysis.probe_config(base, 0.0)
    two = dataclasses.replace(base, grid=C.GridConfig(l2=(1e-2,), learning_rate=(0.1, 0.2)))
    with pytest.raises(ValueError, match="2 learning rates"):
        analysis.probe_config(two, 1e-2)
    with pytest.raises(ValueError, match="autol2"):
        analysis.probe_config(dataclasses.replace(base, autol2=C.AutoL2Config()), 1e-2)
    step = dataclasses.replace(base, optimizer=C.OptimizerConfig(schedule="step"))
    with pytest.raises(ValueError, match="schedule='constant'"):
        analysis.probe_config(step, 1e-2)
    with pytest.raises(ValueError, match="max_steps"):
        analysis.probe_config(base, 1e-5)  # 4/(1e-5·0.4) = 10⁶ steps > 32 000
    with pytest.raises(ValueError, match="lower eval_every"):
        analysis.probe_config(base, 1e-2, eval_every=200)
    with pytest.raises(ValueError, match="horizon=-1"):
        analysis.probe_config(base, 1e-2, horizon=-1)


def test_predicted_runs_train_each_for_its_budget():
    cfg = ch2_budget.optimal_l2_predicted("cpu", 2.7)
    budgets = ch2_budget.OPTIMAL_L2_BUDGETS["cpu"]
    np.testing.assert_allclose(cfg.grid.l2, [2.7 / (0.4 * T) for T in budgets], rtol=1e-12)
    steps = cfg.steps_per_member()
    assert all(T <= s <= T + cfg.eval_every for s, T in zip(steps, budgets, strict=True))


# --- budget curves ----------------------------------------------------------------------------


def _results(acc, num_steps, l2, lr=0.4, every=10):
    acc = np.asarray(acc, float)
    return {
        "test_accuracy": acc,
        "eval_step": every * np.arange(1, acc.shape[1] + 1),
        "num_steps": np.asarray(num_steps),
        "member_l2": np.asarray(l2, float),
        "member_learning_rate": np.full(len(acc), lr),
    }


def test_best_within_reads_only_evaluations_up_to_the_budget_and_needs_the_run():
    r = _results(
        [[0.1, 0.5, 0.3, 0.9], [0.2, 0.4, np.nan, np.nan]], num_steps=[40, 20], l2=[0.1, 0.0]
    )
    np.testing.assert_allclose(analysis.best_within(r, 20), [0.5, 0.4])
    out = analysis.best_within(r, 25)
    assert out[0] == 0.5 and np.isnan(out[1])  # member 1 trained 20 steps only
    out = analysis.best_within(r, 40)
    assert out[0] == 0.9 and np.isnan(out[1])  # member 1 never trained 40 steps
    np.testing.assert_allclose(analysis.best_within(r, [10, 20]), [0.1, 0.4])
    # A member that diverged at step 20 counts with its best before it (early stopping).
    r["diverged_step"] = np.array([-1, 20])
    np.testing.assert_allclose(analysis.best_within(r, 40), [0.9, 0.4])


def test_scaled_budget_rounds_to_the_evaluation_grid_and_flags_lambda_zero():
    # budget 2/(λη): λ=1 → 5 steps → 10; λ=0.25 → 20; λ=0 → ∞ (whole run, capped).
    r = _results(
        [[0.3, 0.1, 0.9, 0.9], [0.1, 0.5, 0.6, 0.2], [0.2, 0.2, 0.4, 0.7]],
        num_steps=[40, 40, 40],
        l2=[1.0, 0.25, 0.0],
    )
    s = analysis.scaled_budget(r, horizon=2.0)
    np.testing.assert_array_equal(s.budget, [10, 20, np.inf])
    np.testing.assert_allclose(s.accuracy, [0.3, 0.5, 0.7])
    assert list(s.capped) == [False, False, True]


def test_optimum_is_interior_only_strictly_inside_and_reports_its_margin():
    l2 = np.array([0.0, 1e-1, 1e-2, 1e-3])
    o = analysis.optimum(l2, [0.60, 0.50, 0.70, 0.65])
    assert (o.l2, o.interior) == (1e-2, True) and o.margin == pytest.approx(0.10)
    o = analysis.optimum(l2, [0.80, 0.50, 0.70, 0.65])
    assert (o.l2, o.interior) == (0.0, False)
    o = analysis.optimum(l2, [0.1, 0.9, 0.70, np.nan])  # NaN members are left out
    assert (o.l2, o.interior) == (0.1, False)
    with pytest.raises(ValueError, match="no member"):
        analysis.optimum(l2, [np.nan] * 4)


# --- the chapter-2 claims on synthetic runs -----------------------------------------------------


def _plateau(l2):
    """Height of each λ's peak: 0.75 for λ ≤ 3.2e-3, 10 points lower per decade above."""
    return 0.75 - 0.1 * np.maximum(0.0, np.log10(np.maximum(l2, 1e-12) / 3.2e-3))


def _synthetic_chapter(tmp_path, c=2.7, zero_height=0.6, predicted_shift=0.0):
    """Store the chapter's three runs, scripted: λ > 0 peaks exactly at t* = c/(λη) with
    height _plateau(λ), rising as √(t/t*) before it; λ = 0 rises to ``zero_height`` by step 500.
    """
    st = store.Store(tmp_path)
    eta = ch2_budget.OPTIMAL_L2_LR

    def curves(cfg, shift=0.0):
        arrays = fake_arrays(cfg)
        t = arrays["eval_step"].astype(float)[None, :]
        l2 = arrays["member_l2"][:, None]
        with np.errstate(divide="ignore"):
            ts = np.where(l2 > 0, c / (l2 * eta), 500.0)
        h = np.where(l2 > 0, _plateau(l2), zero_height)
        acc = h * np.sqrt(np.minimum(t / ts, 1.0)) - 0.01 * np.log(np.maximum(t / ts, 1.0))
        acc = acc + shift
        acc[t > arrays["num_steps"][:, None]] = np.nan
        arrays["test_accuracy"] = acc.astype(np.float32)
        st.save(cfg, arrays, {"wall_s": 0.0})

    curves(registry.get("ch2_optimal_l2", "cpu"))
    probe_cfg, probe_arrays = _probe(c / (ch2_budget.OPTIMAL_L2_PROBE_L2["cpu"] * eta))
    st.save(probe_cfg, probe_arrays, {"wall_s": 0.0})
    m = analysis.read_c(probe_arrays, probe_cfg)
    curves(ch2_budget.optimal_l2_predicted("cpu", m.c), predicted_shift)
    return st


def _claims(tmp_path):
    return {c.name: c for c in ch2_budget._optimal_l2_claims("ch2_optimal_l2", "cpu", tmp_path)}


def test_chapter2_claims_pass_when_the_relation_holds_exactly(tmp_path):
    _synthetic_chapter(tmp_path)
    claims = _claims(tmp_path)
    assert len(claims) == 5
    assert all(c.passed for c in claims.values()), [c.line() for c in claims.values()]
    sweep, probe, predicted = ch2_budget.load_optimal_l2_summary("cpu", tmp_path)
    s = ch2_budget.optimal_l2_summary_of(
        sweep, probe, predicted, ch2_budget.OPTIMAL_L2_BUDGETS["cpu"]
    )
    assert s.c.c == pytest.approx(2.7)
    for v in s.validation:
        assert v.predicted_l2 == pytest.approx(2.7 / (0.4 * v.budget))
        assert v.l2_ratio <= 2 and v.sweep_steps == 9 * v.budget
        assert v.prediction_steps == 1000 + v.budget


def test_chapter2_claims_fail_when_the_prediction_is_off_or_lambda_does_not_matter(tmp_path):
    # The predicted runs 2 points worse than they should be: the accuracy claim fails alone.
    _synthetic_chapter(tmp_path / "a", predicted_shift=-0.02)
    claims = _claims(tmp_path / "a")
    failed = {n for n, c in claims.items() if not c.passed}
    assert failed == {"accuracy at λ_opt vs the sweep's best"}, failed
    # λ = 0 as good as the best λ at every budget: no interior maximum.
    _synthetic_chapter(tmp_path / "b", zero_height=0.9)
    claims = _claims(tmp_path / "b")
    assert not claims["(a) fixed budget: interior maximum"].passed
    assert not claims["λ_opt = c/(ηT) vs the sweep's best λ"].passed  # the best is λ = 0


def test_chapter2_claims_name_the_run_they_miss(tmp_path):
    """At scale cpu chapter 2 reads chapter 1's in-premise runs first; the retired sweeps are
    not checked there (registry.retired_names("cpu"))."""
    lines = [c for c in claims_lib.run("cpu", tmp_path) if c.chapter == "ch2"]
    names = [f"ch2_{s}_small" for s in shared.INPREMISE_SETUPS]
    assert [c.name for c in lines] == [f"{n}: run available" for n in names]
    assert not any(c.passed for c in lines)
    for setup, line in zip(shared.INPREMISE_SETUPS, lines, strict=True):
        want = shared.INPREMISE_SETUPS[setup]
        assert f"python -m l2lib sweep {want} " in line.measured


# --- figures ------------------------------------------------------------------------------------


def test_budget_figure_has_one_t_slider_that_shows_each_budget_and_its_prediction(tmp_path):
    _synthetic_chapter(tmp_path)
    sweep, probe, predicted = ch2_budget.load_optimal_l2_summary("cpu", tmp_path)
    s = ch2_budget.optimal_l2_summary_of(
        sweep, probe, predicted, ch2_budget.OPTIMAL_L2_BUDGETS["cpu"]
    )
    ts = ch2_budget.budget_grid(s.budgets, sweep.config.eval_every)
    assert ts[0] == 250 and ts[-1] == 10000 and set(s.budgets) <= set(ts)
    assert all(t % 25 == 0 for t in ts)
    fig = ch2_budget.budget_curves(sweep.arrays, s.horizon, s.c, ts)
    (slider,) = fig.layout.sliders
    assert [st.label for st in slider.steps] == ["all"] + [str(t) for t in ts]
    everything = [tr.name for tr, v in zip(fig.data, slider.steps[0].args[0]["visible"]) if v]
    assert [n for n in everything if n.startswith("(a)")] == [f"(a) T = {T}" for T in ts]
    assert not any(n.startswith("λ_opt") for n in everything)  # "all": the curves only
    assert [tr.visible is not False for tr in fig.data] == slider.steps[0].args[0]["visible"]
    for step, T in zip(slider.steps[1:], ts, strict=True):
        shown = [tr for tr, v in zip(fig.data, step.args[0]["visible"], strict=True) if v]
        names = [tr.name for tr in shown]
        assert names[0].startswith("(b)") and f"(a) T = {T}" in names
        assert not any(n.startswith("(a) T = ") and n != f"(a) T = {T}" for n in names)
        (line,) = [tr for tr in shown if tr.name.startswith("λ_opt")]
        assert line.x[0] == pytest.approx(2.7 / (0.4 * T))


def test_optimum_figure_marks_a_best_lambda_of_zero(tmp_path):
    _synthetic_chapter(tmp_path, zero_height=0.9)
    sweep, probe, predicted = ch2_budget.load_optimal_l2_summary("cpu", tmp_path)
    c = analysis.read_c(probe.arrays, probe.config)
    fig = ch2_budget.optimum_against_budget(sweep.arrays, c, [1000, 10000])
    (zero,) = [tr for tr in fig.data if tr.name == "sweep's best is λ = 0"]
    assert list(zero.x) == [1000, 10000]


def test_chapter2_experiments_exist_at_every_scale_and_the_paper_probe_is_two_epochs():
    for scale in ("ci", "cpu", "paper"):
        sweep = registry.get("ch2_optimal_l2", scale)
        probe = registry.get("ch2_optimal_l2_probe", scale)
        assert min(sweep.steps_per_member()) >= max(ch2_budget.OPTIMAL_L2_BUDGETS[scale])
        assert probe.grid.l2 == (ch2_budget.OPTIMAL_L2_PROBE_L2[scale],)
        assert probe.grid.learning_rate == sweep.grid.learning_rate
    paper = registry.get("ch2_optimal_l2_probe", "paper")
    # The authors' probe: λ_code = 0.01 at η_code = 0.2 for 2 epochs, in our units.
    assert paper.steps_per_member() == [2 * 390]
    assert paper.grid.l2 == authors.l2_from_code(0.01) == (0.2,)
    assert paper.grid.learning_rate == authors.lr_from_code(authors.LR_CODE) == (0.02,)


def test_predicted_runs_need_the_probe_and_say_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setenv("L2LIB_STORE", str(tmp_path))
    with pytest.raises(ValueError, match="python -m l2lib sweep ch2_optimal_l2_probe --scale ci"):
        registry.get("ch2_optimal_l2_predicted", "ci")


def test_curve_b_claims_judge_the_drop_the_gain_and_the_smallest_decade():
    # Budget 2/(λη) at η = 0.4, evaluations every 10 steps: λ = 0.5 → 10 steps, 0.05 → 100, …
    l2 = np.array([0.5, 0.05, 0.025, 0.01, 0.005, 0.0])
    steps = 10 * np.arange(1, 101)

    def run(final):  # each member rises linearly to ``final`` at the end of its budget
        budget = np.array([2 / (v * 0.4) if v > 0 else np.inf for v in l2])
        acc = np.minimum(steps[None, :] / np.minimum(budget, 1000)[:, None], 1.0)
        return _results(np.asarray(final)[:, None] * acc, [1000] * len(l2), l2)

    good = list(
        ch2_budget.scaled_budget_claims(
            l2, analysis.scaled_budget(run([0.5, 0.75, 0.752, 0.754, 0.755, 0.6]), 2.0), 2.0
        )
    )
    assert [c.passed for c in good] == [True, True]
    assert "0.500→0.755" in good[0].measured and "spread 0.5 pt" in good[1].measured
    assert "λ=0 (whole run) 0.600" in good[1].measured
    dip = list(
        ch2_budget.scaled_budget_claims(
            l2, analysis.scaled_budget(run([0.5, 0.75, 0.72, 0.73, 0.70, 0.6]), 2.0), 2.0
        )
    )
    assert [c.passed for c in dip] == [False, False]
    assert "5.0 pt (λ=0.005)" in dip[0].measured


def test_budget_by_horizon_figure_has_one_slider_step_per_budget():
    l2 = [0.1, 0.01, 0.0]
    a = _results([[0.2, 0.5, 0.4, 0.4], [0.1, 0.2, 0.3, 0.6], [0.1, 0.1, 0.3, 0.5]], [40] * 3, l2)
    fig = ch2_budget.scaled_budget_by_horizon([(a, 0.4), (a, 1.6)])
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == ["all", "0.4/(λη)", "1.6/(λη)"]
    names = [tr.name for tr in fig.data]
    assert names == [
        "(b) budget 0.4/(λη)",
        "λ = 0, 40 steps",
        "(b) budget 1.6/(λη)",
        "λ = 0, 40 steps",
    ]
    assert slider.steps[2].args[0]["visible"] == [False, False, True, True]
    # budget 0.4/(λη): λ=0.1 → 10 steps, λ=0.01 → 100 steps, capped at the 40 trained (hollow)
    np.testing.assert_allclose(fig.data[0].y, [0.2, 0.6])
    assert list(fig.data[0].marker.symbol) == ["circle", "circle-open"]


def test_fashion_mnist_sweep_is_the_mnist1d_sweep_with_only_the_data_changed():
    a, b = registry.get("ch2_optimal_l2", "cpu"), registry.get("ch2_optimal_l2_fmnist", "cpu")
    assert b.data == shared.TIMESCALE_FMNIST_DATA
    assert dataclasses.replace(b, name=a.name, data=a.data) == a
    h4 = registry.get("ch2_optimal_l2_fmnist_probe_h4", "cpu")
    probe = registry.get("ch2_optimal_l2_fmnist_probe", "cpu")
    mnist1d_probe = registry.get("ch2_optimal_l2_probe", "cpu")
    assert dataclasses.replace(h4, name=mnist1d_probe.name, data=mnist1d_probe.data) == (
        mnist1d_probe
    )
    # the censored probe's only change: chapter 1's longer horizon
    assert probe.duration.horizon == ch1_timescale.TIMESCALE_LONG_HORIZON == 8.0
    assert probe.grid == h4.grid and probe.data == h4.data
    assert "paper" not in registry.scales("ch2_optimal_l2_fmnist")


def test_predicted_runs_of_another_sweep_take_its_name_and_probe(tmp_path):
    with pytest.raises(ValueError, match="ch2_optimal_l2_fmnist_probe --scale cpu"):
        ch2_budget.probe_c("cpu", tmp_path, base="ch2_optimal_l2_fmnist")
    cfg = ch2_budget.optimal_l2_predicted("cpu", 4.0, base="ch2_optimal_l2_fmnist")
    assert cfg.name == "ch2_optimal_l2_fmnist_predicted"
    assert cfg.data == shared.TIMESCALE_FMNIST_DATA
    assert cfg.grid.l2 == pytest.approx([4.0 / (0.4 * T) for T in (1000, 2000, 5000, 10000)])


def test_a_second_setup_gets_the_same_views_titled_by_its_label(tmp_path):
    _synthetic_chapter(tmp_path)
    budgets = ch2_budget.OPTIMAL_L2_BUDGETS["cpu"]
    runs, summary, views = ch2_budget.optimal_l2_setup_views(
        "ch2_optimal_l2", "Setup X", budgets, budgets, "cpu", root=tmp_path
    )
    assert summary.c.c == pytest.approx(2.7, rel=0.05)
    assert [v.budget for v in summary.validation] == list(budgets)
    figs, table = views[:2], views[2]
    assert all(f.layout.title.text.startswith("Setup X: ") for f in figs)
    assert "λ_opt = c/(ηT)" in table.data


# --- from test_ch2_inpremise.py ------------------------------------------------------------

C_TRUE, ETA, EVERY = 3.0, shared.INPREMISE_LR, 25


def _curves(l2s, seeds=3, num_evals=1600, height=None, noise=0.0, fit=True, rng=0):
    """Accuracy of λ rises to its peak at c/(λη) (λ = 0: never within the run) and stays there;
    a smaller λ has a higher peak, so the best λ within T is about c/(ηT)."""
    rng = np.random.default_rng(rng)
    steps = EVERY * np.arange(1, num_evals + 1)
    height = height or (lambda a: 0.9 - 0.05 * np.log10(max(a, 1e-5) / 1e-5))
    rows, l2c, seedc = [], [], []
    for a in l2s:
        t = C_TRUE / (a * ETA) if a > 0 else 1e9
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
    p = shared.performance(arr, 10_000)  # c/(ηT) = 3e-3
    assert p.l2[p.best] == pytest.approx(3e-3)
    assert p.near[p.best] and not p.near[0] and not p.near[-1]
    assert (p.se > 0).all() and p.fitted.all() and p.usable.all()
    lo, hi = p.near_range
    assert lo <= 3e-3 <= hi


def test_a_lambda_that_never_fits_is_not_usable_and_cannot_be_best():
    arr = _curves(L2S)
    arr["full_train_accuracy"][arr["member_l2"] == 3e-3] = 0.5
    p = shared.performance(arr, 10_000)
    k = int(np.flatnonzero(p.l2 == 3e-3)[0])
    assert not p.fitted[k] and not p.usable[k] and not p.near[k]
    assert p.l2[p.best] != 3e-3


def test_scaled_budget_beyond_the_run_is_not_usable():
    arr = _curves(L2S)
    b = ch2_budget.scaled_budgets(arr)
    assert b[1e-2] == pytest.approx(
        np.ceil(ch2_budget.CH2_SCALED_HORIZON / (1e-2 * ETA) / EVERY) * EVERY
    )
    assert 0.0 not in b
    p = shared.performance(arr, b)
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
        "member_l2": np.full(m, ch2_budget.CH2_PROBE_L2),
        "member_learning_rate": np.full(m, ETA),
        "member_seed": np.arange(m),
        "num_steps": np.full(m, steps[-1]),
        "diverged_step": np.full(m, -1),
    }


def test_the_probe_reads_c_from_the_seed_mean_and_refuses_a_peak_at_its_end():
    pr = ch2_budget.read_probe("x", _probe_arrays(1000))
    assert pr.ok and pr.t_star == pytest.approx(1000, abs=EVERY)
    assert pr.c == pytest.approx(ch2_budget.CH2_PROBE_L2 * ETA * pr.t_star)
    assert pr.c_low < pr.c < pr.c_high and pr.spread > 0
    late = ch2_budget.read_probe("x", _probe_arrays(2000))  # rising to the end of 1500 steps
    assert not late.ok and "last evaluation" in late.why


def _predicted(pr, noise_rng=1):
    lams = [analysis.predict_l2(pr.c, ETA, T) for T in ch2_budget.CH2_BUDGETS]
    return _curves(lams, num_evals=max(ch2_budget.CH2_BUDGETS) // EVERY)


def test_a_right_c_beats_its_null_and_a_random_one_does_not():
    sweep = _curves(tuple(10 ** np.arange(-1.5, -4.01, -0.125)) + (0.0,))  # ×1.33 apart
    t_true = C_TRUE / (ch2_budget.CH2_PROBE_L2 * ETA)
    # A probe run ten times past its t*: a t* drawn from it gives c anywhere in (0, 10c].
    pr = ch2_budget.read_probe("x", _probe_arrays(t_true, num_evals=400))
    val = ch2_budget.validate(sweep, _predicted(pr), pr)
    assert all(v.ratio <= 1.34 for v in val) and all(v.gap <= 0.02 for v in val)
    null = analysis.null_test(
        ch2_budget.ratio_score(val, pr), np.array([pr.t_star]), [pr.candidates]
    )
    assert null.p_value < analysis.NULL_ALPHA < np.mean(null.null > null.observed)
    # A t* ten times too late predicts λ ten times too large: a decade off at every budget.
    assert ch2_budget.ratio_score(val, pr)(np.array([10 * t_true])) > 0.9


def test_a_probe_stopped_soon_after_its_peak_cannot_beat_its_null():
    """Any t* in the latter half of a short probe gives a c within ×2 of the true one: the
    null says so, whatever the prediction's accuracy."""
    sweep = _curves(L2S)
    t_true = C_TRUE / (ch2_budget.CH2_PROBE_L2 * ETA)
    pr = ch2_budget.read_probe("x", _probe_arrays(t_true, num_evals=60))  # 1.5 t*
    val = ch2_budget.validate(sweep, _predicted(pr), pr)
    null = analysis.null_test(
        ch2_budget.ratio_score(val, pr), np.array([pr.t_star]), [pr.candidates]
    )
    assert null.p_value > analysis.NULL_ALPHA


def test_a_prediction_missing_its_run_names_the_command():
    sweep = _curves(L2S)
    pr = ch2_budget.read_probe("mlp", _probe_arrays(1000))
    other = _curves((1.234e-2,), num_evals=800)
    with pytest.raises(ValueError, match="sweep ch2_mlp_predicted --force"):
        ch2_budget.validate(sweep, other, pr)
