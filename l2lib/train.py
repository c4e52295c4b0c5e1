"""The grid-training engine: every (λ, η, seed) member of a sweep in one compiled program.

One jit-compiled *chunk* advances every member of a group by ``eval_every`` SGD steps
(``lax.scan`` over steps, ``vmap`` over members) and then evaluates each member on the full
test set. A Python loop runs the chunks; it never loops over steps or members itself.

Per member the state holds its parameters, momentum buffer, λ, η, step counter, end step and
divergence step, and (optionally) its AutoL2 state. λ and η are arrays in that state, so they
differ per member and can change mid-run (AutoL2 does) without recompiling.

The objective is the paper's (§2): data loss + ½·λ·‖θ‖² over *all* parameters (coupled L2: its
gradient λθ enters before momentum). With heavy-ball momentum μ the update is
``v ← μ·v + ∇(loss + ½λ‖θ‖²)``, ``θ ← θ − η_t·v`` (Optax's ``sgd(η, momentum=μ)``).

A member is *done* at its own end step (fixed budget, or λ·η·t ≥ horizon) and *diverged* at
the first step whose loss or parameters are not finite; either way it is frozen, and since
members never interact, the other members' curves do not change.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from l2lib import autol2 as autol2_lib
from l2lib import config, models
from l2lib import data as data_lib
from l2lib.config import Experiment

#: SGD member-steps run by this process (all members of a chunk count, frozen ones included).
#: The book's build asserts that it stays 0: chapters read the store, they never train.
TRAIN_STEPS = 0

#: How many times the chunk program has been traced (compiled) in this process.
TRACE_COUNT = 0

CURVE_KEYS = config.CURVE_KEYS


class MemberState(NamedTuple):
    """Everything one member carries between steps (a leading member axis when vmapped)."""

    params: Any
    velocity: Any
    l2: jax.Array
    learning_rate: jax.Array  # the base η; the schedule scales it per step
    step: jax.Array
    end_step: jax.Array
    diverged_step: jax.Array
    data_key: jax.Array
    autol2: Any


def plan_groups(cfg: Experiment) -> list[list[int]]:
    """Members grouped for compilation: longest first, ``cfg.group_size`` at a time.

    Members of one group run in lockstep until the longest is done, so sorting by length keeps
    the steps spent on already-finished members small.
    """
    steps = cfg.steps_per_member()
    order = sorted(range(len(steps)), key=lambda i: (-steps[i], i))
    return [order[i : i + cfg.group_size] for i in range(0, len(order), cfg.group_size)]


def lr_at(cfg: Experiment, base_lr: jax.Array, step: jax.Array, end_step: jax.Array) -> jax.Array:
    """η at ``step`` under the configured schedule (fractions refer to the member's duration)."""
    opt = cfg.optimizer
    if opt.schedule == "constant":
        return base_lr
    frac = step.astype(jnp.float32) / jnp.maximum(end_step, 1).astype(jnp.float32)
    if opt.schedule == "step":
        n = sum((frac >= b).astype(jnp.float32) for b in opt.step_boundaries)
        return base_lr * jnp.float32(opt.step_factor) ** n
    return base_lr * 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.clip(frac, 0.0, 1.0)))


def data_loss(kind: str, logits: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
    """Mean over the batch of cross-entropy, or of ½‖f − onehot(y)‖² (``mse``)."""
    if kind == "cross_entropy":
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))
    onehot = jax.nn.one_hot(labels, num_classes, dtype=logits.dtype)
    return 0.5 * jnp.mean(jnp.sum((logits - onehot) ** 2, axis=1))


def sq_norm(params: Any) -> jax.Array:
    """‖θ‖² over every parameter."""
    return sum(jnp.sum(jnp.square(p)) for p in jax.tree.leaves(params))


def _tree_where(cond: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


class _Program(NamedTuple):
    graphdef: Any
    init: Callable
    chunk: Callable


@functools.lru_cache(maxsize=16)
def _program(cfg: Experiment, input_shape: tuple[int, ...], num_classes: int) -> _Program:
    """Build (once per config) the member initialiser and the compiled chunk."""
    graphdef, _ = nnx.split(models.build(cfg.model, input_shape, num_classes, nnx.Rngs(0)))
    opt = cfg.optimizer
    mu = jnp.float32(opt.momentum)

    def apply(params, x):
        return nnx.merge(graphdef, params)(x)

    def init_member(seed, l2, lr, end_step):
        key = jax.random.PRNGKey(seed)
        init_key, data_key = jax.random.split(key)
        model = models.build(cfg.model, input_shape, num_classes, nnx.Rngs(params=init_key))
        params = nnx.split(model)[1]
        velocity = jax.tree.map(jnp.zeros_like, params)
        l2 = jnp.asarray(l2, jnp.float32)
        a2 = autol2_lib.init(l2, cfg.autol2) if cfg.autol2 is not None else ()
        return MemberState(
            params=params,
            velocity=velocity,
            l2=l2,
            learning_rate=jnp.asarray(lr, jnp.float32),
            step=jnp.int32(0),
            end_step=jnp.asarray(end_step, jnp.int32),
            diverged_step=jnp.int32(-1),
            data_key=data_key,
            autol2=a2,
        )

    def bare_loss(params, xb, yb):
        logits = apply(params, xb)
        return data_loss(opt.loss, logits, yb, num_classes), logits

    def epoch_perms(m: MemberState, n: int):
        """The data orders of every epoch a chunk can touch (epoch e: a permutation keyed by
        (data_key, e)), made once per chunk rather than once per step."""
        per_epoch = n // opt.batch_size
        first = m.step // per_epoch
        count = (cfg.eval_every - 1) // per_epoch + 2
        keys = jax.vmap(lambda e: jax.random.fold_in(m.data_key, e))(first + jnp.arange(count))
        return first, jax.vmap(lambda k: jax.random.permutation(k, n))(keys)

    def sgd_step(m: MemberState, x_train, y_train, first_epoch, perms):
        n = x_train.shape[0]
        per_epoch = n // opt.batch_size
        epoch, pos = jnp.divmod(m.step, per_epoch)
        perm = perms[epoch - first_epoch]
        idx = jax.lax.dynamic_slice(perm, (pos * opt.batch_size,), (opt.batch_size,))
        xb, yb = x_train[idx], y_train[idx]
        lr_t = lr_at(cfg, m.learning_rate, m.step, m.end_step)
        (bare, logits), g_bare = jax.value_and_grad(bare_loss, has_aux=True)(m.params, xb, yb)
        acc = jnp.mean((jnp.argmax(logits, -1) == yb).astype(jnp.float32))
        active = (m.step < m.end_step) & (m.diverged_step < 0)
        l2, a2 = m.l2, m.autol2
        if cfg.autol2 is not None:
            # The authors measure θ_i on the batch of update i, then (maybe) decay λ, and
            # update i already uses the new λ.
            a2 = autol2_lib.update(m.autol2, m.step, bare, acc, lr_t, cfg.autol2)
            l2 = a2.l2
        # ∇(L + ½λ‖θ‖²) = ∇L + λθ, added before momentum (coupled L2).
        grads = jax.tree.map(lambda g, p: g + l2 * p, g_bare, m.params)
        velocity = jax.tree.map(lambda v, g: mu * v + g, m.velocity, grads)
        params = jax.tree.map(lambda p, v: p - lr_t * v, m.params, velocity)
        finite = jnp.isfinite(bare) & jnp.all(
            jnp.stack([jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(params)])
        )
        ok = active & finite
        m_new = m._replace(
            params=_tree_where(ok, params, m.params),
            velocity=_tree_where(ok, velocity, m.velocity),
            step=jnp.where(ok, m.step + 1, m.step),
            diverged_step=jnp.where(active & ~finite, m.step, m.diverged_step),
            l2=jnp.where(ok, l2, m.l2),
            autol2=_tree_where(ok, a2, m.autol2),
        )
        return m_new, (bare, acc, lr_t)

    def evaluate(params, x_test, y_test, weights):
        # x_test: (chunks, b, ...) — padded; weights zero on the padding.
        def one(args):
            xb, yb, wb = args
            logits = apply(params, xb)
            if opt.loss == "cross_entropy":
                per = -jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1)[:, 0]
            else:
                onehot = jax.nn.one_hot(yb, num_classes, dtype=logits.dtype)
                per = 0.5 * jnp.sum((logits - onehot) ** 2, axis=1)
            correct = (jnp.argmax(logits, -1) == yb).astype(jnp.float32)
            return jnp.sum(per * wb), jnp.sum(correct * wb)

        losses, corrects = jax.lax.map(one, (x_test, y_test, weights))
        total = jnp.sum(weights)
        return jnp.sum(corrects) / total, jnp.sum(losses) / total

    def member_chunk(m: MemberState, x_train, y_train, x_test, y_test, weights):
        global TRACE_COUNT
        TRACE_COUNT += 1  # runs only while tracing

        first_epoch, perms = epoch_perms(m, x_train.shape[0])

        def body(state, _):
            return sgd_step(state, x_train, y_train, first_epoch, perms)

        m, (bare, acc, lr_t) = jax.lax.scan(body, m, None, length=cfg.eval_every)
        test_acc, test_loss = evaluate(m.params, x_test, y_test, weights)
        metrics = {
            "test_accuracy": test_acc,
            "test_loss": test_loss,
            "train_accuracy": acc[-1],
            "train_loss": bare[-1],
            "sq_norm": sq_norm(m.params),
            "l2": m.l2,
            "learning_rate": lr_t[-1],
        }
        return m, metrics

    chunk = jax.jit(
        jax.vmap(member_chunk, in_axes=(0, None, None, None, None, None)), donate_argnums=(0,)
    )
    init = jax.jit(jax.vmap(init_member))
    return _Program(graphdef, init, chunk)


def _pad_test(x: np.ndarray, y: np.ndarray, batch: int):
    n = x.shape[0]
    b = min(batch, n)
    chunks = math.ceil(n / b)
    pad = chunks * b - n
    idx = np.concatenate([np.arange(n), np.arange(pad) % n])
    w = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
    return (
        x[idx].reshape(chunks, b, *x.shape[1:]),
        y[idx].reshape(chunks, b),
        w.reshape(chunks, b),
    )


class GridTrainer:
    """Trains a group of members chunk by chunk; the state can be inspected between chunks.

    ``run_group`` is the usual entry point; use this class directly to watch or change a
    running sweep (e.g. set λ between chunks: it is state, so nothing recompiles).
    """

    def __init__(self, cfg: Experiment, members: Sequence[int], dataset=None):
        if len(members) == 0:
            raise ValueError("members: empty; pass at least one member index")
        all_members = cfg.members()
        bad = [i for i in members if not 0 <= i < len(all_members)]
        if bad:
            raise ValueError(
                f"members: indices {bad} out of range for a grid of {len(all_members)}"
            )
        self.cfg = cfg
        self.members = list(members)
        ds = dataset if dataset is not None else data_lib.load(cfg.data)
        if ds.x_train.shape[0] < cfg.optimizer.batch_size:
            raise ValueError(
                f"optimizer.batch_size={cfg.optimizer.batch_size}: larger than the "
                f"{ds.x_train.shape[0]} training examples; lower it"
            )
        self.dataset_name = ds.name
        self._program = _program(cfg, tuple(ds.x_train.shape[1:]), int(ds.num_classes))
        self._train = (jnp.asarray(ds.x_train), jnp.asarray(ds.y_train))
        self._test = tuple(
            jnp.asarray(a) for a in _pad_test(ds.x_test, ds.y_test, cfg.eval_batch_size)
        )
        triples = [all_members[i] for i in self.members]
        steps = cfg.steps_per_member()
        self.end_steps = np.array([steps[i] for i in self.members], np.int64)
        self.state: MemberState = self._program.init(
            jnp.array([s for _, _, s in triples], jnp.uint32),
            jnp.array([l2 for l2, _, _ in triples], jnp.float32),
            jnp.array([lr for _, lr, _ in triples], jnp.float32),
            jnp.asarray(self.end_steps, jnp.int32),
        )
        self.num_chunks = int(self.end_steps.max()) // cfg.eval_every
        self.chunks_done = 0
        self._curves = {
            k: np.full((len(self.members), cfg.num_evals), np.nan, np.float32) for k in CURVE_KEYS
        }

    @property
    def done(self) -> bool:
        return self.chunks_done >= self.num_chunks

    def set_l2(self, l2: Any) -> None:
        """Set every member's λ (array of shape (members,) or a scalar) from the next step on."""
        new = jnp.broadcast_to(jnp.asarray(l2, jnp.float32), self.state.l2.shape)
        self.state = self.state._replace(l2=new)

    def run_chunk(self) -> dict[str, np.ndarray]:
        """Advance every member by ``eval_every`` steps and record one evaluation."""
        global TRAIN_STEPS
        if os.environ.get("L2LIB_FORBID_TRAINING"):
            raise RuntimeError(
                "training is forbidden here (L2LIB_FORBID_TRAINING is set, as in the book build): "
                "produce the run first with `python -m l2lib sweep NAME --scale cpu`"
            )
        if self.done:
            raise RuntimeError("run_chunk: this group has already trained to its end")
        self.state, metrics = self._program.chunk(self.state, *self._train, *self._test)
        TRAIN_STEPS += len(self.members) * self.cfg.eval_every
        metrics = jax.device_get(metrics)
        e = self.chunks_done
        eval_step = (e + 1) * self.cfg.eval_every
        diverged = np.asarray(self.state.diverged_step)
        valid = (self.end_steps >= eval_step) & ((diverged < 0) | (diverged >= eval_step))
        for k in CURVE_KEYS:
            self._curves[k][:, e] = np.where(valid, metrics[k], np.nan)
        self.chunks_done += 1
        return metrics

    def results(self) -> dict[str, np.ndarray]:
        """The recorded curves and per-member facts (see ``notes/interfaces.md``)."""
        all_members = self.cfg.members()
        triples = [all_members[i] for i in self.members]
        out = {k: v.copy() for k, v in self._curves.items()}
        out["eval_step"] = self.cfg.eval_every * np.arange(
            1, self.cfg.num_evals + 1, dtype=np.int64
        )
        out["num_steps"] = np.asarray(self.state.step).astype(np.int64)
        out["diverged_step"] = np.asarray(self.state.diverged_step).astype(np.int64)
        out["member_l2"] = np.array([t[0] for t in triples], np.float64)
        out["member_learning_rate"] = np.array([t[1] for t in triples], np.float64)
        out["member_seed"] = np.array([t[2] for t in triples], np.int64)
        out["member_index"] = np.array(self.members, np.int64)
        return out


def run_group(
    cfg: Experiment,
    members: Sequence[int],
    dataset=None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Train the given members together to their ends; return their curves.

    Args:
      cfg: the experiment.
      members: indices into ``cfg.members()``.
      dataset: a loaded :class:`l2lib.data.Dataset` (loaded from ``cfg.data`` if ``None``).
      progress: called with the number of member-steps done after each chunk.
    """
    trainer = GridTrainer(cfg, members, dataset)
    while not trainer.done:
        trainer.run_chunk()
        if progress is not None:
            progress(len(trainer.members) * cfg.eval_every)
    return trainer.results()


def concat_results(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join the results of several groups and put the members back in grid order."""
    out = {}
    for k in parts[0]:
        out[k] = parts[0][k] if k == "eval_step" else np.concatenate([p[k] for p in parts])
    order = np.argsort(out["member_index"], kind="stable")
    return {k: (v if k == "eval_step" else v[order]) for k, v in out.items()}


def train_grid(
    cfg: Experiment, dataset=None, progress: Callable[[int], None] | None = None
) -> dict[str, np.ndarray]:
    """Train every member of ``cfg`` (group by group) and return the curves in member order."""
    ds = dataset if dataset is not None else data_lib.load(cfg.data)
    return concat_results([run_group(cfg, g, ds, progress) for g in plan_groups(cfg)])
