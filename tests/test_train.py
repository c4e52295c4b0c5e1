"""The grid engine: members are independent, L2 is coupled, λ changes without recompiling."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from l2lib import config as C
from l2lib import data, models, train


@pytest.fixture(scope="module")
def ds():
    return data.load(C.DataConfig(name="mnist1d", num_train=512, num_test=256))


def tiny(**kw) -> C.Experiment:
    base = C.ci(
        model=C.ModelConfig(kind="mlp", width=16, depth=2),
        grid=C.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1, 0.05), seeds=(0,)),
        duration=C.DurationConfig(num_steps=30),
        eval_every=10,
    )
    return dataclasses.replace(base, **kw)


def _single(cfg: C.Experiment, member: int) -> C.Experiment:
    l2, lr, seed = cfg.members()[member]
    return dataclasses.replace(cfg, grid=C.GridConfig(l2=(l2,), learning_rate=(lr,), seeds=(seed,)))


def test_grid_member_equals_the_member_trained_alone(ds):
    cfg = tiny()
    grid = train.train_grid(cfg, ds)
    assert grid["test_accuracy"].shape == (4, 3)
    for i in range(cfg.grid.size):
        alone = train.train_grid(_single(cfg, i), ds)
        for k in train.CURVE_KEYS:
            np.testing.assert_allclose(grid[k][i], alone[k][0], rtol=2e-6, atol=1e-7, err_msg=k)
        assert grid["num_steps"][i] == alone["num_steps"][0] == 30


def _reference_optax(cfg: C.Experiment, ds, num_steps: int, momentum: float):
    """The same member trained by a plain loop with optax's add_decayed_weights + sgd."""
    ((l2, lr, seed),) = cfg.members()
    init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
    model = models.build(cfg.model, ds.x_train.shape[1:], ds.num_classes, nnx.Rngs(params=init_key))
    graphdef, params = nnx.split(model)
    tx = optax.chain(optax.add_decayed_weights(l2), optax.sgd(lr, momentum=momentum or None))
    opt_state = tx.init(params)

    def bare(p, xb, yb):
        return train.data_loss("cross_entropy", nnx.merge(graphdef, p)(xb), yb, ds.num_classes)

    n, b = ds.x_train.shape[0], cfg.optimizer.batch_size
    losses = []
    for t in range(num_steps):
        epoch, pos = divmod(t, n // b)
        perm = jax.random.permutation(jax.random.fold_in(data_key, epoch), n)
        idx = perm[pos * b : (pos + 1) * b]
        loss, g = jax.value_and_grad(bare)(params, ds.x_train[idx], ds.y_train[idx])
        upd, opt_state = tx.update(g, opt_state, params)
        params = optax.apply_updates(params, upd)
        losses.append(float(loss))
    return float(train.sq_norm(params)), losses


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_l2_in_the_loss_equals_optax_decayed_weights_sgd(ds, momentum):
    cfg = tiny(
        grid=C.GridConfig(l2=(0.05,), learning_rate=(0.1,), seeds=(3,)),
        optimizer=C.OptimizerConfig(batch_size=32, momentum=momentum),
        duration=C.DurationConfig(num_steps=20),
    )
    out = train.train_grid(cfg, ds)
    ref_norm, ref_losses = _reference_optax(cfg, ds, 20, momentum)
    np.testing.assert_allclose(out["sq_norm"][0, -1], ref_norm, rtol=1e-5)
    np.testing.assert_allclose(out["train_loss"][0], [ref_losses[9], ref_losses[19]], rtol=1e-5)


def test_diverging_member_leaves_the_others_bit_identical(ds):
    cfg = tiny(grid=C.GridConfig(l2=(1e-3,), learning_rate=(0.1, 0.05, 1e4), seeds=(0,)))
    with_bad = train.train_grid(cfg, ds)
    assert with_bad["diverged_step"][2] >= 0
    assert with_bad["num_steps"][2] == with_bad["diverged_step"][2] < 30
    assert np.isnan(with_bad["test_accuracy"][2, -1])
    clean = train.train_grid(
        dataclasses.replace(cfg, grid=C.GridConfig(l2=(1e-3,), learning_rate=(0.1, 0.05))), ds
    )
    assert (clean["diverged_step"] == -1).all()
    for k in train.CURVE_KEYS:
        np.testing.assert_array_equal(with_bad[k][:2], clean[k], err_msg=k)


def test_parameters_blown_at_a_chunk_end_are_caught_there(ds):
    # η = 1e38: the first update leaves the loss of step 0 finite but the parameters at or past
    # float32's range. With an evaluation after every step, the chunk's end sees them first:
    # the member is diverged at step 1 (θ_1 is the one that broke) and nothing of θ_1 is
    # recorded; the sane member beside it is untouched.
    cfg = tiny(
        grid=C.GridConfig(l2=(1e-3,), learning_rate=(0.1, 1e38), seeds=(0,)),
        duration=C.DurationConfig(num_steps=3),
        eval_every=1,
    )
    out = train.train_grid(cfg, ds)
    assert list(out["diverged_step"]) == [-1, 1]
    assert list(out["num_steps"]) == [3, 1]
    assert np.isfinite(out["train_loss"][1, 0])  # step 0's loss was finite
    assert np.isnan(out["test_accuracy"][1]).all() and np.isnan(out["test_loss"][1]).all()
    assert np.isfinite(out["test_accuracy"][0]).all()


def test_changing_l2_mid_run_does_not_retrace(ds):
    cfg = tiny(duration=C.DurationConfig(num_steps=40))
    trainer = train.GridTrainer(cfg, [0, 1, 2, 3], ds)
    trainer.run_chunk()
    traces = train.TRACE_COUNT
    trainer.set_l2(jnp.array([0.5, 0.0, 0.2, 1e-4]))
    trainer.run_chunk()
    trainer.set_l2(0.3)
    trainer.run_chunk()
    assert train.TRACE_COUNT == traces
    np.testing.assert_allclose(trainer.results()["l2"][:, 2], 0.3)
    np.testing.assert_allclose(trainer.results()["l2"][:, 1], [0.5, 0.0, 0.2, 1e-4], rtol=1e-6)


def test_horizon_duration_ends_each_member_at_its_own_step(ds):
    cfg = tiny(
        grid=C.GridConfig(l2=(0.1, 0.02), learning_rate=(0.1,), seeds=(0,)),
        duration=C.DurationConfig(num_steps=None, horizon=0.5, max_steps=1000),
        group_size=2,
    )
    # λ·η·t ≥ 0.5: 50 and 250 steps (multiples of eval_every already).
    assert cfg.steps_per_member() == [50, 250]
    out = train.train_grid(cfg, ds)
    assert list(out["num_steps"]) == [50, 250]
    assert out["test_accuracy"].shape == (2, 25)
    assert (
        np.isfinite(out["test_accuracy"][0, :5]).all()
        and np.isnan(out["test_accuracy"][0, 5:]).all()
    )
    assert np.isfinite(out["test_accuracy"][1]).all()


def test_plan_groups_sorts_by_length_and_covers_every_member():
    cfg = tiny(
        grid=C.GridConfig(l2=(0.1, 0.01, 0.05, 0.001), learning_rate=(0.1,)),
        duration=C.DurationConfig(num_steps=None, horizon=1.0, max_steps=100_000),
        group_size=3,
    )
    groups = train.plan_groups(cfg)
    assert groups == [[3, 1, 2], [0]]


def test_step_schedule_scales_the_learning_rate(ds):
    cfg = tiny(
        grid=C.GridConfig(l2=(1e-3,), learning_rate=(0.1,)),
        optimizer=C.OptimizerConfig(
            batch_size=32, schedule="step", step_boundaries=(0.5,), step_factor=0.2
        ),
        duration=C.DurationConfig(num_steps=40),
    )
    out = train.train_grid(cfg, ds)
    # Evals at 10, 20, 30, 40 record η of the chunk's last step (index 9, 19, 29, 39); the
    # ×0.2 applies from step index 20 = 0.5·40 on.
    np.testing.assert_allclose(out["learning_rate"][0], [0.1, 0.1, 0.02, 0.02], rtol=1e-6)


def test_config_hash_is_stable_across_processes():
    cfg = C.ci()
    code = "from l2lib import config as C; print(C.ci().hash())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == cfg.hash()
    assert C.Experiment.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert dataclasses.replace(cfg, eval_every=20).hash() != cfg.hash()
    # data_dir says where data lives, not what it is
    moved = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, data_dir="/elsewhere"))
    assert moved.hash() == cfg.hash()


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: C.GridConfig(l2=(-1e-3,)), "grid.l2"),
        (lambda: C.GridConfig(learning_rate=(0.0,)), "grid.learning_rate"),
        (lambda: C.GridConfig(l2=()), "grid.l2"),
        (lambda: C.DataConfig(name="imagenet"), "data.name"),
        (lambda: C.ModelConfig(kind="transformer"), "model.kind"),
        (lambda: C.OptimizerConfig(momentum=1.0), "optimizer.momentum"),
        (lambda: C.DurationConfig(num_steps=None, horizon=None), "duration.num_steps"),
    ],
)
def test_bad_configs_raise_one_clear_error_naming_the_field(make, field):
    with pytest.raises(ValueError, match=rf"^{field}="):
        make()


def test_epoch_orders_are_kept_between_chunks_and_equal_a_fresh_draw_every_chunk():
    # digits at batch 32: 40 steps per epoch, 4 chunks of 10 steps per epoch, so three of four
    # chunks reuse the orders of the one before.
    cfg = C.ci(
        data=C.DataConfig(name="digits"),
        optimizer=C.OptimizerConfig(batch_size=32),
        duration=C.DurationConfig(num_steps=120),
        eval_every=10,
        grid=C.GridConfig(l2=(1e-2, 0.0), learning_rate=(0.1,), seeds=(0, 1)),
    )
    ds = data.load(cfg.data)
    n, per_epoch = ds.x_train.shape[0], ds.x_train.shape[0] // 32
    members = list(range(len(cfg.members())))
    kept, fresh = train.GridTrainer(cfg, members, ds), train.GridTrainer(cfg, members, ds)
    while not kept.done:
        start = np.asarray(kept.state.step)
        fresh._orders = fresh._orders._replace(first=jnp.full_like(fresh._orders.first, -1))
        a, b = kept.run_chunk(), fresh.run_chunk()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
        first = np.asarray(kept._orders.first)
        np.testing.assert_array_equal(first, start // per_epoch)
        key = jax.random.fold_in(np.asarray(kept.state.data_key)[0], int(first[0]))
        np.testing.assert_array_equal(
            np.asarray(kept._orders.perms)[0, 0], np.asarray(jax.random.permutation(key, n))
        )
    np.testing.assert_array_equal(kept.results()["test_accuracy"], fresh.results()["test_accuracy"])


def test_full_train_accuracy_is_the_accuracy_on_every_training_example(ds):
    """eval_train adds full_train_accuracy (the premise, per member and evaluation) and leaves
    every other curve bit for bit as it was; the config hash is unchanged when it is off."""
    off = tiny(eval_batch_size=200)  # 512 training examples = 2·200 + a padded batch
    on = dataclasses.replace(off, eval_train=True)
    assert off.hash() == dataclasses.replace(off, eval_train=False).hash() != on.hash()
    a, b = train.train_grid(off, ds), train.train_grid(on, ds)
    assert "full_train_accuracy" not in a
    assert b["full_train_accuracy"].shape == (4, 3)
    for k in train.CURVE_KEYS:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # Recompute one member's full-train accuracy at its last evaluation by hand.
    trainer = train.GridTrainer(on, [1], ds)
    while not trainer.done:
        trainer.run_chunk()
    params = jax.tree.map(lambda x: x[0], trainer.state.params)
    model = nnx.merge(trainer._program.graphdef, params)
    want = float(np.mean(np.argmax(np.asarray(model(jnp.asarray(ds.x_train))), -1) == ds.y_train))
    assert abs(b["full_train_accuracy"][1, -1] - want) < 1e-6
    assert 0 < want < 1


def test_full_train_accuracy_on_two_devices_equals_one(ds):
    """The sharded program carries the extra evaluation set too."""
    code = (
        "import dataclasses, numpy as np, jax;"
        "from l2lib import config as C, data, train;"
        "ds = data.load(C.DataConfig(name='mnist1d', num_train=512, num_test=256));"
        "cfg = C.ci(model=C.ModelConfig(kind='mlp', width=16, depth=2),"
        " grid=C.GridConfig(l2=(1e-2, 1e-3, 0.0), learning_rate=(0.1,), seeds=(0,)),"
        " duration=C.DurationConfig(num_steps=20), eval_every=10, eval_train=True);"
        "two = train.train_grid(cfg, ds);"
        "one = train.train_grid(cfg, ds, devices=jax.devices()[:1]);"
        "assert jax.device_count() == 2;"
        "np.testing.assert_allclose(two['full_train_accuracy'], one['full_train_accuracy'], atol=1e-6);"
        "print('ok')"
    )
    env = {**__import__("os").environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
