"""Paper scale: the authors' setups build, convert their flags right, train on mock CIFAR-10,
and a sweep sharded over several devices gives the same curves as on one."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from flax import nnx

from l2lib import config as C
from l2lib import data, models, registry, train
from l2lib.paper import authors

PAPER = [n for n in registry.names() if "paper" in registry.scales(n)]


@pytest.mark.parametrize("name", PAPER)
def test_every_paper_config_builds(name):
    try:
        cfg = registry.get(name, "paper")
    except ValueError as e:
        if "first" not in str(e):
            raise
        pytest.skip(f"built from another stored run: {e}")  # e.g. λ_opt from a probe's c
    assert cfg.scale == "paper" and cfg.name == name
    assert C.Experiment.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    steps = cfg.steps_per_member()
    assert len(steps) == cfg.grid.size and min(steps) > 0
    shape = (32, 32, 3) if cfg.data.name == "cifar10" else (28, 28, 1)
    # The full-size network, as shapes only (no memory, no FLOPs).
    model = nnx.eval_shape(lambda: models.build(cfg.model, shape, 10, nnx.Rngs(0)))
    assert models.count_params(model) > 1e6


def test_the_authors_wrn_is_a_wrn_28_10_with_3x3_shortcuts():
    cfg = authors.wrn_tstar()
    model = nnx.eval_shape(lambda: models.build(cfg.model, (32, 32, 3), 10, nnx.Rngs(0)))
    # Zagoruyko & Komodakis' WRN-28-10 has 36.5 M parameters with 1×1 shortcut convolutions;
    # the authors' shortcuts are 3×3, which adds 8·(16·160 + 160·320 + 320·640) weights.
    extra = 8 * (16 * 160 + 160 * 320 + 320 * 640)
    assert models.count_params(model) == 38_557_770
    assert round((38_557_770 - extra) / 1e6, 1) == 36.5


def test_the_authors_flags_convert_to_our_units():
    assert authors.from_code(5e-4, 0.2) == pytest.approx((1e-2, 0.02))
    assert authors.horizon_from_code(0.1) == pytest.approx(78.0)  # Fig. 2: λ_c·η_c·epochs = 0.1
    assert authors.horizon_from_code(0.02) == pytest.approx(15.6)  # Fig. 1a: 0.1/λ_c epochs
    assert authors.STEPS_PER_EPOCH == 390
    tstar = authors.wrn_tstar()
    assert tstar.optimizer.momentum == 0.0 and not tstar.data.augment
    assert tstar.grid.l2 == (0.2, 0.06, 0.02) and tstar.grid.learning_rate == (0.01, 0.02, 0.04)
    fixed, scaled = authors.wrn_budget_fixed(), authors.wrn_budget_scaled()
    assert fixed.optimizer.schedule == scaled.optimizer.schedule == "step"
    assert fixed.optimizer.momentum == 0.9 and fixed.data.augment
    assert set(fixed.steps_per_member()) == {200 * 390}
    # 0.1/λ_code epochs: λ_code = 1e-3 trains 100 epochs.
    assert scaled.steps_per_member()[scaled.grid.l2.index(0.02)] == 100 * 390
    auto = authors.wrn_autol2()
    assert auto.grid.l2 == (2.0,) and auto.autol2.refractory == pytest.approx(2.0)
    assert authors.wrn_autol2_constant().grid.l2 == (2e-3,)
    assert authors.wrn_lambda_opt_probe().steps_per_member() == [780]
    assert registry.get("ch1_timescale_cnn", "paper") == dataclasses.replace(
        authors.wrn_tstar(), name="ch1_timescale_cnn"
    )


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_their_objective_and_rate_give_our_trajectory_after_conversion(momentum):
    # Their loss: mean over batch *and* classes of −y·log p, plus λ_code·Σθ²; ours: the
    # cross-entropy (summed over classes, mean over the batch) plus ½λ‖θ‖².
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(16, 5)), jnp.float32)
    y = jax.nn.one_hot(rng.integers(0, 10, 16), 10)
    w0 = jnp.asarray(rng.normal(size=(5, 10)) * 0.3, jnp.float32)
    l2_code, lr_code = 3e-3, 0.2
    l2, lr = authors.from_code(l2_code, lr_code)

    def theirs(w):
        return -jnp.mean(jax.nn.log_softmax(x @ w) * y) + l2_code * jnp.sum(w**2)

    def ours(w):
        return -jnp.mean(jnp.sum(jax.nn.log_softmax(x @ w) * y, 1)) + 0.5 * l2 * jnp.sum(w**2)

    def run(loss, rate):
        w, v = w0, jnp.zeros_like(w0)
        for _ in range(20):
            v = momentum * v + jax.grad(loss)(w)
            w = w - rate * v
        return w

    np.testing.assert_allclose(run(theirs, lr_code), run(ours, lr), rtol=1e-5, atol=1e-6)


def _shrunk(cfg: C.Experiment, model: C.ModelConfig) -> C.Experiment:
    """A paper config at a width and length this CPU trains in seconds."""
    return dataclasses.replace(
        cfg,
        model=model,
        optimizer=dataclasses.replace(cfg.optimizer, batch_size=8),
        grid=dataclasses.replace(
            cfg.grid, l2=cfg.grid.l2[:2], learning_rate=cfg.grid.learning_rate[:1]
        ),
        duration=C.DurationConfig(num_steps=4),
        eval_every=2,
        eval_batch_size=8,
        group_size=2,
    )


@pytest.fixture(scope="module")
def mock_cifar10():
    with pytest.MonkeyPatch.context() as mp:
        # The TensorFlow-free route, with tfds's mock standing in for the prepared files.
        mp.setattr(data, "_tensorflow_available", lambda: False)
        mp.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
        with tfds.testing.mock_data(num_examples=24):
            return data.load(C.DataConfig(name="cifar10", num_test=16, data_dir="/mock"))


@pytest.mark.parametrize(
    "name, model",
    [
        # The authors' Fig. 1a run (momentum, flip + crop + mixup, step schedule), WRN-10-1.
        ("ch2_budget_wrn_fixed", C.ModelConfig(kind="wrn", width=1, depth=10, batch_norm=True)),
        # The CIFAR-10 CNN of the t* sweep, at width 4.
        ("ch1_timescale_cifar_cnn", C.ModelConfig(kind="cnn", width=4, depth=6)),
    ],
)
def test_paper_setups_train_a_few_steps_on_mock_cifar10(name, model, mock_cifar10):
    assert mock_cifar10.x_train.shape == (24, 32, 32, 3)
    cfg = _shrunk(registry.get(name, "paper"), model)
    out = train.train_grid(cfg, mock_cifar10)
    assert out["test_accuracy"].shape == (2, 2)
    for k in train.CURVE_KEYS:
        assert np.isfinite(out[k]).all(), k
    assert list(out["num_steps"]) == [4, 4]
    if cfg.optimizer.schedule == "step":  # ×0.2 from 30 % of the run (step 2 of 4)
        np.testing.assert_allclose(out["learning_rate"][0], [0.02, 0.02 * 0.2**2], rtol=1e-6)


def test_augmentation_needs_images():
    # Refused when the config is made (l2lib.config's cross-field check), before any training.
    with pytest.raises(ValueError, match="augmentation needs images"):
        cfg = C.ci(data=C.DataConfig(name="mnist1d", augment=True, num_train=64, num_test=32))
        train.GridTrainer(cfg, [0])


def test_groups_hold_members_per_device_times_devices(monkeypatch):
    cfg = C.ci(grid=C.GridConfig(l2=(0.1, 0.01, 0.05, 0.001, 0.0), learning_rate=(0.1,)))
    cfg = dataclasses.replace(cfg, group_size=2)
    assert [len(g) for g in train.plan_groups(cfg, num_devices=1)] == [2, 2, 1]
    assert [len(g) for g in train.plan_groups(cfg, num_devices=4)] == [5]
    assert [len(g) for g in train.plan_groups(cfg, 1, num_devices=2)] == [2, 2, 1]
    monkeypatch.setenv(train.MEMBERS_PER_DEVICE_ENV, "3")
    assert [len(g) for g in train.plan_groups(cfg, num_devices=1)] == [3, 2]
    assert sorted(sum(train.plan_groups(cfg, num_devices=1), [])) == list(range(5))


# --- sharding ---------------------------------------------------------------------------------

#: Sweeps that the sharded run and the unsharded run both train: an MLP grid whose members end
#: at different steps and one of which diverges, and a CNN on CIFAR-shaped data with the
#: authors' augmentation, momentum and step schedule.
_SWEEPS = textwrap.dedent(
    """
    import numpy as np
    from l2lib import config as C, data

    def sweeps():
        mlp = C.ci(
            model=C.ModelConfig(kind="mlp", width=16, depth=2),
            grid=C.GridConfig(l2=(0.1, 0.02, 0.0), learning_rate=(0.1, 1e4), seeds=(0,)),
            duration=C.DurationConfig(num_steps=None, horizon=0.2, max_steps=60),
            eval_every=10,
            group_size=1,
        )
        cnn = C.ci(
            data=C.DataConfig(name="cifar10", augment=True),
            model=C.ModelConfig(kind="cnn", width=4, depth=2),
            optimizer=C.OptimizerConfig(batch_size=8, momentum=0.9, schedule="step"),
            grid=C.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.05,), seeds=(0, 1, 2)),
            duration=C.DurationConfig(num_steps=12),
            eval_every=4,
            eval_batch_size=8,
            group_size=1,
        )
        rng = np.random.default_rng(0)
        images = data.Dataset(
            rng.normal(size=(32, 32, 32, 3)).astype(np.float32),
            rng.integers(0, 10, 32).astype(np.int32),
            rng.normal(size=(16, 32, 32, 3)).astype(np.float32),
            rng.integers(0, 10, 16).astype(np.int32),
            10,
            "cifar10",
        )
        small = data.load(C.DataConfig(name="mnist1d", num_train=512, num_test=256))
        return [(mlp, small), (cnn, images)]
    """
)

_SHARDED = textwrap.dedent(
    """
    import sys
    import jax
    import numpy as np
    from l2lib import train
    from sweeps import sweeps

    assert jax.device_count() == 4, jax.devices()
    out = {}
    for i, (cfg, ds) in enumerate(sweeps()):
        assert [len(g) for g in train.plan_groups(cfg)] == [4, 2]  # 6 members, 1 per device
        for k, v in train.train_grid(cfg, ds).items():
            out[f"{i}/{k}"] = v
    np.savez(sys.argv[1], **out)
    """
)


def test_a_sweep_sharded_over_four_devices_equals_the_unsharded_sweep(tmp_path):
    (tmp_path / "sweeps.py").write_text(_SWEEPS)
    (tmp_path / "sharded.py").write_text(_SHARDED)
    # XLA reads the flag when JAX starts: a fresh process with 4 host devices.
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "PYTHONPATH": str(tmp_path),
    }
    env.pop(train.MEMBERS_PER_DEVICE_ENV, None)
    result = tmp_path / "sharded.npz"
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "sharded.py"), str(result)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    sys.path.insert(0, str(tmp_path))
    try:
        from sweeps import sweeps
    finally:
        sys.path.remove(str(tmp_path))
    assert jax.device_count() == 1
    with np.load(result) as sharded:
        for i, (cfg, ds) in enumerate(sweeps()):
            plain = train.train_grid(cfg, ds)
            assert plain["diverged_step"].max() >= 0 or i == 1
            for k, v in plain.items():
                np.testing.assert_array_equal(sharded[f"{i}/{k}"], v, err_msg=f"{cfg.name} {k}")


def test_the_paper_scale_page_states_each_experiments_current_cost():
    page = (Path(__file__).resolve().parents[2] / "book" / "paper_scale.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \|(.*)\|$", page, re.M)
    assert {name for name, _ in rows} >= set(authors.SETUPS) | {"ch1_timescale_cifar_cnn"}
    for name, rest in rows:
        cells = [c.strip() for c in rest.split("|")]
        cfg = registry.get(name, "paper")
        steps = cfg.steps_per_member()
        assert str(len(steps)) in cells and f"{sum(steps):,}" in cells, name


def test_sweep_command_takes_a_data_dir_and_members_per_device(tmp_path, monkeypatch):
    from l2lib import cli, store

    monkeypatch.delenv(train.MEMBERS_PER_DEVICE_ENV, raising=False)
    seen = []
    plan = train.plan_groups
    monkeypatch.setattr(train, "plan_groups", lambda cfg: seen.append(plan(cfg)) or seen[-1])
    argv = ["sweep", "smoke", "--scale", "ci", "--store", str(tmp_path)]
    assert cli.main([*argv, "--members-per-device", "1", "--data-dir", "/nowhere"]) == 0
    assert seen == [[[0], [1], [2], [3]]]  # one member per group on one device
    assert train.MEMBERS_PER_DEVICE_ENV not in os.environ  # set only while it ran
    # data_dir is where data lives, not what it is: the entry is the plain config's.
    assert store.Store(tmp_path).exists(registry.get("smoke", "ci"))
    assert cli.main([*argv, "--members-per-device", "0"]) == 2
