"""Batch norm and L2: the equilibrium of a scale-invariant weight's norm (chapter 5).

A weight matrix W followed by batch norm (on batch statistics) leaves the loss unchanged when
it is rescaled: L(aW) = L(W) for a > 0 (up to BN's ε). Two consequences, exact for every batch:
the bare gradient is orthogonal to W (Euler: W·∇L = 0), and it scales as 1/‖W‖,
∇L(W) = g̃(Ŵ)/‖W‖ with g̃ the gradient at unit norm, Ŵ = W/‖W‖. Plain SGD on
L + ½λ‖W‖² then gives, step by step,

    ‖W_{t+1}‖² = (1 − ηλ)²‖W_t‖² + η²‖g_t‖²          (g_t ⟂ W_t, no momentum)

and, where the norm is stationary (time averages ⟨·⟩; ‖W‖ varying slowly against the noise),

    ‖W‖⁴ = η⟨‖g̃‖²⟩ / (λ(2 − ηλ))  ≈  η⟨‖g̃‖²⟩ / (2λ),

reached on the time scale 1/(2λη) (the contraction rate of ‖W‖²). In equilibrium the effective
learning rate of the direction Ŵ, η/‖W‖², is √(λη(2 − ηλ)/⟨‖g̃‖²⟩) ≈ √(2λη)/‖g̃‖. (The known
result of van Laarhoven 2017 and of Wan et al. 2021's "spherical motion dynamics".) Assumptions:
plain SGD (no momentum), ε negligible, and ⟨‖g̃‖²⟩ changing slowly on the time scale 1/(2λη) —
the loss keeps falling, so the equilibrium is a moving one and is checked on a late window.

The engine records only ‖θ‖² over all parameters, so this is a separate small JAX computation
stored as an artifact (``python -m l2lib artifact bn_equilibrium --scale cpu``): chapter 1's MLP
with and without batch norm after each hidden layer, trained by plain SGD on MNIST-1D for a few
(λ, η), recording per hidden layer ‖W‖², the bare mini-batch gradient's ‖g‖², ‖g̃‖² = ‖g‖²‖W‖²
and cos(g, W), averaged over blocks of ``every`` steps. The head (not followed by batch norm) and
the BN scale/shift are trained and regularised too, but are not scale-invariant; they are not
part of the prediction. Batches are drawn uniformly without replacement within a batch (not by
epochs, unlike the engine).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class BNConfig:
    """The runs: each (λ, η) of ``pairs``, with batch norm and without, ``num_steps`` steps."""

    width: int = 256
    depth: int = 2
    batch_size: int = 128
    pairs: tuple[tuple[float, float], ...] = ((3e-2, 0.1), (1e-2, 0.2), (3e-3, 0.4), (1e-2, 0.1))
    num_steps: int = 5000
    every: int = 50
    #: The equilibrium is judged on the evaluations after this fraction of the run.
    window_start: float = 0.5
    seed: int = 0

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def bn_config(scale: str) -> BNConfig:
    """``ci``: seconds (tests); ``cpu``: what the book shows."""
    if scale == "ci":
        return BNConfig(width=16, pairs=((0.1, 0.1),), num_steps=60, every=10, batch_size=32)
    if scale in ("cpu", "paper"):
        return BNConfig()
    raise ValueError(f"scale={scale!r}: use ci, cpu or paper")


def bn_experiment(cfg: BNConfig) -> dict[str, np.ndarray]:
    """Train each (λ, η) with and without batch norm; per-layer norms and gradients.

    Returns arrays (``bn`` axis: 0 without batch norm, 1 with): ``sq_norm``, ``grad_sq``,
    ``grad_sq_unit`` (‖g̃‖² = ‖g‖²‖W‖²), ``cos`` of shape (2, pairs, blocks, depth), block
    means over ``every`` steps; ``test_accuracy`` (2, pairs, blocks) at each block's end;
    ``step`` (blocks,), ``l2`` and ``learning_rate`` (pairs,).
    """
    from l2lib import config as C
    from l2lib import data as data_lib
    from l2lib.widthexp import _forbid

    _forbid()
    ds = data_lib.load(C.DataConfig(name="mnist1d"))
    keys = ("sq_norm", "grad_sq", "grad_sq_unit", "cos", "acc")
    out: dict[str, list] = {k: [] for k in keys}
    for bn in (False, True):
        run = _runner(cfg, ds, bn)
        per = [run(l2, lr) for l2, lr in cfg.pairs]
        for i, k in enumerate(keys):
            out[k].append(np.stack([np.asarray(r[i]) for r in per]))
    return {
        "sq_norm": np.stack(out["sq_norm"]),
        "grad_sq": np.stack(out["grad_sq"]),
        "grad_sq_unit": np.stack(out["grad_sq_unit"]),
        "cos": np.stack(out["cos"]),
        "test_accuracy": np.stack(out["acc"]),
        "step": (np.arange(cfg.num_steps // cfg.every) + 1) * cfg.every,
        "l2": np.asarray([a for a, _ in cfg.pairs]),
        "learning_rate": np.asarray([b for _, b in cfg.pairs]),
    }


def _runner(cfg: BNConfig, ds, bn: bool):
    """A jitted ``(λ, η) -> block statistics`` for the MLP with (or without) batch norm."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from l2lib import config as C
    from l2lib import models

    x, y = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    xt, yt = jnp.asarray(ds.x_test), jnp.asarray(ds.y_test)
    mcfg = C.ModelConfig(kind="mlp", width=cfg.width, depth=cfg.depth, batch_norm=bn)
    model = models.build(mcfg, x.shape[1:], ds.num_classes, nnx.Rngs(cfg.seed))
    graphdef, params0 = nnx.split(model)
    blocks = cfg.num_steps // cfg.every

    def loss(p, xb, yb):
        logits = nnx.merge(graphdef, p)(xb)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))

    def kernels(p):
        return [p["hidden"][i]["kernel"] for i in range(cfg.depth)]

    def run(l2, lr):
        def step(p, k):
            idx = jax.random.choice(k, x.shape[0], (cfg.batch_size,), replace=False)
            g = jax.grad(loss)(p, x[idx], y[idx])
            ws, gs = kernels(p), kernels(g)
            w2 = jnp.stack([jnp.sum(w**2) for w in ws])
            g2 = jnp.stack([jnp.sum(v**2) for v in gs])
            dot = jnp.stack([jnp.sum(w * v) for w, v in zip(ws, gs, strict=True)])
            # Plain SGD on L + ½λ‖θ‖² (every parameter regularised, as in the engine).
            p = jax.tree.map(lambda a, b: a - lr * (b + l2 * a), p, g)
            return p, (w2, g2, g2 * w2, dot / jnp.sqrt(w2 * g2 + 1e-30))

        def block(p, k):
            p, stats = jax.lax.scan(step, p, jax.random.split(k, cfg.every))
            logits = nnx.merge(graphdef, p)(xt)
            acc = jnp.mean((jnp.argmax(logits, -1) == yt).astype(jnp.float32))
            return p, (*(s.mean(0) for s in stats), acc)

        key = jax.random.key(cfg.seed + 1)
        return jax.lax.scan(block, params0, jax.random.split(key, blocks))[1]

    fn = jax.jit(run)
    return lambda l2, lr: fn(jnp.float32(l2), jnp.float32(lr))


class Equilibrium(NamedTuple):
    """Per (pair, layer), on the late window, for the network with batch norm (and without)."""

    norm: np.ndarray  # (2, pairs, layers): √⟨‖W‖²⟩
    predicted: np.ndarray  # (2, pairs, layers): (η⟨‖g̃‖²⟩/(λ(2 − ηλ)))^¼
    ratio: np.ndarray  # norm / predicted
    effective_lr: np.ndarray  # (2, pairs, layers): η/⟨‖W‖²⟩
    effective_lr_predicted: np.ndarray  # √(λη(2 − ηλ)/⟨‖g̃‖²⟩)
    abs_cos: np.ndarray  # (2, pairs, layers): ⟨|cos(g, W)|⟩ over the window


def equilibrium(arrays, cfg: BNConfig) -> Equilibrium:
    """The measured norm against the stationary prediction (module docstring), late window."""
    step = np.asarray(arrays["step"])
    win = step > cfg.window_start * cfg.num_steps
    l2 = np.asarray(arrays["l2"], float)[None, :, None]
    lr = np.asarray(arrays["learning_rate"], float)[None, :, None]
    w2 = np.asarray(arrays["sq_norm"], float)[:, :, win].mean(axis=2)
    gu = np.asarray(arrays["grad_sq_unit"], float)[:, :, win].mean(axis=2)
    pred4 = lr * gu / (l2 * (2 - lr * l2))
    norm, pred = np.sqrt(w2), pred4**0.25
    return Equilibrium(
        norm=norm,
        predicted=pred,
        ratio=norm / pred,
        effective_lr=lr / w2,
        effective_lr_predicted=np.sqrt(l2 * lr * (2 - lr * l2) / gu),
        abs_cos=np.abs(np.asarray(arrays["cos"], float)[:, :, win]).mean(axis=2),
    )
