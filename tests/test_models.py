"""l2lib.models: shapes, Param-only state, init statistics, homogeneity, batch norm, FLOPs."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from l2lib import models
from l2lib.config import ModelConfig

TINY = {
    "mlp": (ModelConfig(kind="mlp", width=16, depth=2), (40,)),
    "cnn": (ModelConfig(kind="cnn", width=4, depth=3, batch_norm=True), (8, 8, 1)),
    "wrn": (ModelConfig(kind="wrn", width=1, depth=10), (8, 8, 3)),
}


def _x(shape: tuple[int, ...], batch: int = 4, seed: int = 1) -> jax.Array:
    # NumPy draws: a jax.random draw compiles a sampler per new shape (seconds on a busy CPU).
    return jnp.asarray(np.random.default_rng(seed).standard_normal((batch, *shape)), jnp.float32)


def _apply(model: nnx.Module, x: jax.Array) -> jax.Array:
    """The model's forward pass, jit-compiled as a whole (one compile instead of one per op)."""
    graphdef, params = nnx.split(model)
    return jax.jit(lambda p, x: nnx.merge(graphdef, p)(x))(params, x)


def _scaled(model: nnx.Module, a: float) -> nnx.Module:
    graphdef, params = nnx.split(model)
    return nnx.merge(graphdef, jax.tree.map(lambda p: a * p, params))


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
@pytest.mark.parametrize("kind", ["mlp", "cnn", "wrn"])
def test_output_shape_and_only_params(kind, parameterization):
    cfg, shape = TINY[kind]
    cfg = dataclasses.replace(cfg, parameterization=parameterization)
    model = models.build(cfg, shape, 10, nnx.Rngs(0))
    y = _apply(model, _x(shape))
    assert y.shape == (4, 10) and y.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(y)))
    _, params, rest = nnx.split(model, nnx.Param, ...)
    assert jax.tree.leaves(rest) == []
    assert models.count_params(model) == sum(p.size for p in jax.tree.leaves(params))


def test_conv_nets_take_1d_signals():
    model = models.build(ModelConfig(kind="cnn", width=4, depth=3), (40,), 10, nnx.Rngs(0))
    assert _apply(model, _x((40,))).shape == (4, 10)


def test_mlp_param_count_by_hand():
    model = nnx.eval_shape(
        lambda: models.build(ModelConfig(kind="mlp", width=16, depth=2), (40,), 10, nnx.Rngs(0))
    )
    assert models.count_params(model) == (40 * 16 + 16) + (16 * 16 + 16) + (16 * 10 + 10)
    no_bias = models.build(
        ModelConfig(kind="mlp", width=16, depth=2, use_bias=False), (40,), 10, nnx.Rngs(0)
    )
    assert models.count_params(no_bias) == 40 * 16 + 16 * 16 + 16 * 10


def test_standard_init_is_normal_with_variance_one_over_fan_in():
    n = 1024
    layer = models.Dense(n, n, use_bias=True, parameterization="standard", rngs=nnx.Rngs(0))
    w = np.asarray(layer.kernel[...])
    assert w.var() == pytest.approx(1 / n, rel=0.01)
    assert abs(w.mean()) < 1e-4
    # A normal, not a truncated normal (which would stop at 2σ): about 64 entries lie past 4σ.
    assert np.abs(w).max() * math.sqrt(n) > 4
    np.testing.assert_array_equal(np.asarray(layer.bias[...]), 0.0)

    conv = models.Conv(
        64, 64, spatial_rank=2, use_bias=False, parameterization="standard", rngs=nnx.Rngs(0)
    )
    assert np.asarray(conv.kernel[...]).var() == pytest.approx(1 / (9 * 64), rel=0.02)
    ntk = models.Dense(n, n, use_bias=False, parameterization="ntk", rngs=nnx.Rngs(0))
    assert np.asarray(ntk.kernel[...]).var() == pytest.approx(1.0, rel=0.01)


def test_ntk_outputs_are_order_one_and_equal_standard_at_init():
    x = _x((40,), batch=64)
    out = {}
    for p in ("standard", "ntk"):
        cfg = ModelConfig(kind="mlp", width=512, depth=2, parameterization=p)
        out[p] = models.build(cfg, (40,), 10, nnx.Rngs(0))(x)
    # Same draws: W_std = z/√n and W_ntk = z with the output scaled by 1/√n.
    np.testing.assert_allclose(out["ntk"], out["standard"], rtol=1e-4, atol=1e-5)
    assert 0.1 < float(jnp.std(out["ntk"])) < 10


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
def test_bias_free_relu_mlp_is_homogeneous(parameterization):
    depth, a = 2, 1.7
    cfg = ModelConfig(
        kind="mlp", width=32, depth=depth, use_bias=False, parameterization=parameterization
    )
    model = models.build(cfg, (40,), 10, nnx.Rngs(0))
    x = _x((40,), batch=8)
    np.testing.assert_allclose(
        _scaled(model, a)(x), a ** (depth + 1) * model(x), rtol=1e-5, atol=1e-6
    )


def test_bias_free_relu_cnn_without_batch_norm_is_homogeneous():
    cfg = ModelConfig(kind="cnn", width=4, depth=3, use_bias=False)
    model = models.build(cfg, (8, 8, 1), 10, nnx.Rngs(0))
    x = _x((8, 8, 1))
    np.testing.assert_allclose(_scaled(model, 2.0)(x), 2.0**4 * model(x), rtol=1e-5, atol=1e-6)


def test_batch_norm_uses_the_batch_statistics():
    bn = models.BatchNorm(3)
    x = 5.0 + 3.0 * _x((4, 4, 3), batch=16)
    y = np.asarray(bn(x))
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1.0, rtol=1e-4)
    # No running averages: a sub-batch is normalised by its own statistics.
    y_half = np.asarray(bn(x[:8]))
    np.testing.assert_allclose(y_half.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    assert not np.allclose(y_half, y[:8])
    bn.scale[...] = jnp.full((3,), 2.0)
    bn.bias[...] = jnp.full((3,), -1.0)
    z = np.asarray(bn(x))
    np.testing.assert_allclose(z, 2.0 * y - 1.0, rtol=1e-5, atol=1e-5)


def test_wide_resnet_structure():
    # eval_shape: shapes only, nothing is computed.
    cfg = ModelConfig(kind="wrn", width=2, depth=16)
    m = nnx.eval_shape(lambda: models.build(cfg, (32, 32, 3), 10, nnx.Rngs(0)))
    assert m.stem.kernel.shape == (3, 3, 3, 16)
    assert len(m.blocks) == 6  # 3 groups of (16 − 4)/6 = 2 blocks
    blocks = list(m.blocks)
    firsts, others = blocks[::2], blocks[1::2]
    assert [b.shortcut.kernel.shape for b in firsts] == [
        (3, 3, 16, 32),
        (3, 3, 32, 64),
        (3, 3, 64, 128),
    ]
    assert [b.conv1.stride for b in firsts] == [b.shortcut.stride for b in firsts] == [1, 2, 2]
    assert all(b.shortcut is None and b.conv1.stride == 1 for b in others)
    assert m.head.kernel.shape == (128, 10)


def test_tiny_wide_resnet_takes_sgd_steps():
    cfg = ModelConfig(kind="wrn", width=1, depth=10)
    graphdef, params = nnx.split(models.build(cfg, (32, 32, 3), 10, nnx.Rngs(0)))
    x, y = _x((32, 32, 3), batch=4), jnp.arange(4)

    def loss(p):
        logits = nnx.merge(graphdef, p)(x)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    losses = []
    for _ in range(2):
        value, grads = value_and_grad(params)
        losses.append(float(value))
        params = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    losses.append(float(value_and_grad(params)[0]))
    assert np.all(np.isfinite(losses)) and losses[-1] != losses[0]


def test_flops_per_example_by_hand():
    mlp = ModelConfig(kind="mlp", width=32, depth=1)
    assert models.flops_per_example(mlp, (40,), 10) == 2 * (40 * 32 + 32 * 10)
    # CNN depth 3, width 4 on 8×8×1: 4 ch, 4 ch, then 8 ch at stride 2 (4×4 outputs).
    cnn = ModelConfig(kind="cnn", width=4, depth=3)
    expected = 2 * (64 * 9 * 1 * 4 + 64 * 9 * 4 * 4 + 16 * 9 * 4 * 8 + 8 * 10)
    assert models.flops_per_example(cnn, (8, 8, 1), 10) == expected
    # WRN-10-1 on 8×8×3: stem, then per group conv1 + shortcut + conv2.
    wrn = ModelConfig(kind="wrn", width=1, depth=10)
    stem = 64 * 9 * 3 * 16
    g1 = 64 * 9 * (16 * 16 + 16 * 16 + 16 * 16)
    g2 = 16 * 9 * (16 * 32 + 16 * 32 + 32 * 32)
    g3 = 4 * 9 * (32 * 64 + 32 * 64 + 64 * 64)
    assert models.flops_per_example(wrn, (8, 8, 3), 10) == 2 * (stem + g1 + g2 + g3 + 64 * 10)
