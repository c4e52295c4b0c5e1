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
the first step whose loss is not finite (parameters that turn non-finite under a finite loss
are caught at the next step's loss, or at the chunk's end); either way it is frozen, and since
members never interact, the other members' curves do not change.

With ``DataConfig.augment`` each training batch is flipped, padded-and-cropped and mixed up on
the device (:mod:`l2lib.augment`), with a key drawn from the member's data key and step.

Devices. Members are independent, so the member axis is the one that is sharded: with more
than one visible device, a group's members are spread over a 1-D ``jax.sharding.Mesh`` of all
devices (axis ``"members"``) and the chunk runs as ``jax.shard_map`` of the same vmapped
program, each device training its own members on its own replica of the data, with no
communication. A group holds ``members_per_device × devices`` members (``members_per_device``
defaults to ``Experiment.group_size``: the memory knob) and is padded with frozen copies of its
last member to a multiple of the device count. On one device nothing of this happens and the
program is the unsharded one. Multi-host (a TPU slice, several GPU hosts): call
``jax.distributed.initialize()`` first in every process; ``jax.devices()`` then lists every
host's devices, inputs are built with ``jax.make_array_from_callback`` and results gathered
with ``multihost_utils.process_allgather``, so the same script runs unchanged — provided every
process trains the same groups in the same order: :mod:`l2lib.distributed` has process 0 plan
them and tell the others (through :data:`GROUP_CONTEXT`), which is what ``python -m l2lib sweep
--distributed`` does.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import PartitionSpec as P

from l2lib import augment as augment_lib
from l2lib import autol2 as autol2_lib
from l2lib import config, models, validate
from l2lib import data as data_lib
from l2lib.config import Experiment

__all__ = [
    "AUGMENT_STREAM",
    "GROUP_CONTEXT",
    "MEMBER_AXIS",
    "MEMBERS_PER_DEVICE_ENV",
    "TRACE_COUNT",
    "TRAIN_STEPS",
    "concat_results",
    "data_loss",
    "EpochOrders",
    "GridTrainer",
    "integrated_lr",
    "lr_at",
    "MemberState",
    "no_orders",
    "orders_count",
    "plan_groups",
    "resolve_members_per_device",
    "run_group",
    "soft_data_loss",
    "sq_norm",
    "train_grid",
]

#: SGD member-steps run by this process (all members of a chunk count, frozen ones included).
#: The book's build asserts that it stays 0: chapters read the store, they never train.
TRAIN_STEPS = 0

#: How many times the chunk program has been traced (compiled) in this process.
TRACE_COUNT = 0

CURVE_KEYS = config.CURVE_KEYS
#: The data arguments of a chunk after (states, orders): the training set (batches are drawn
#: from it), the padded test set and its weights, and — with ``Experiment.eval_train`` — the
#: training set padded the same way, for ``full_train_accuracy``.
_DATA_ARGS = 5
_TRAIN_EVAL_ARGS = 3

#: ``None``, or a factory ``(cfg, members) -> context manager`` entered around every group that
#: :func:`run_group` trains: :mod:`l2lib.distributed` sets it in process 0 of a multi-process
#: run to tell the other processes which group to train with it. It changes nothing computed.
GROUP_CONTEXT: Callable[[Experiment, Sequence[int]], contextlib.AbstractContextManager] | None = (
    None
)

#: The mesh axis that the grid's members are sharded over.
MEMBER_AXIS = "members"
#: Environment override of the members each device trains at once (the memory knob).
MEMBERS_PER_DEVICE_ENV = validate.MEMBERS_PER_DEVICE_ENV
#: ``fold_in`` tag of the augmentation keys: data orders use fold_in(data_key, epoch) with
#: epoch < 2**31, so this stream never meets them.
AUGMENT_STREAM = 2**31 - 1


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


def resolve_members_per_device(cfg: Experiment, override: int | None = None) -> int:
    """Members each device trains at once: ``override``, else ``$L2LIB_MEMBERS_PER_DEVICE``,
    else ``cfg.group_size``. Not part of the config's hash: members are independent, so it
    changes memory and speed, not what a member computes."""
    # One parser for the library and the command line (l2lib.validate): a value that is not a
    # positive integer is an InvalidInputError, caught before the store's lock is taken.
    return validate.members_per_device(cfg, override)


def plan_groups(
    cfg: Experiment, members_per_device: int | None = None, num_devices: int | None = None
) -> list[list[int]]:
    """Members grouped for compilation: longest first, ``members_per_device × devices`` at a
    time (:func:`resolve_members_per_device`; ``num_devices`` defaults to
    ``jax.device_count()``).

    Members of one group run in lockstep until the longest is done, so sorting by length keeps
    the steps spent on already-finished members small.
    """
    devices = jax.device_count() if num_devices is None else num_devices
    size = resolve_members_per_device(cfg, members_per_device) * devices
    steps = cfg.steps_per_member()
    order = sorted(range(len(steps)), key=lambda i: (-steps[i], i))
    return [order[i : i + size] for i in range(0, len(order), size)]


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


def integrated_lr(cfg: Experiment, base_lr: float, num_steps: int) -> float:
    """∫₀ᵀ η dt = Σ_{s<T} η_s of a member of base η₀ = ``base_lr`` that trains T = ``num_steps``
    updates under ``cfg``'s schedule: :func:`lr_at` at every update the engine makes (its
    float32 values, summed in float64). η₀·T for a constant schedule.

    Evaluated as the engine evaluates it — a compiled scan over the steps of one vmapped
    member whose end step is a traced value — since XLA may otherwise divide by multiplying
    with a float32 reciprocal, which moves a decay by one update (T = 10 000: step 3000 gets
    3000·fl(1e-4) < fl(0.3)).
    """

    def member(end):
        def body(step, _):
            return step + 1, lr_at(cfg, jnp.float32(base_lr), step, end)

        return jax.lax.scan(body, jnp.int32(0), None, length=int(num_steps))[1]

    eta = jax.jit(jax.vmap(member))(jnp.full((1,), num_steps, jnp.int32))[0]
    return float(np.sum(np.asarray(eta, np.float64)))


def data_loss(kind: str, logits: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
    """Mean over the batch of cross-entropy, or of ½‖f − onehot(y)‖² (``mse``)."""
    if kind == "cross_entropy":
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))
    onehot = jax.nn.one_hot(labels, num_classes, dtype=logits.dtype)
    return 0.5 * jnp.mean(jnp.sum((logits - onehot) ** 2, axis=1))


def soft_data_loss(kind: str, logits: jax.Array, targets: jax.Array) -> jax.Array:
    """:func:`data_loss` against soft targets y (N, K) (mixup): mean over the batch of
    −Σ_k y_k·log softmax(f)_k, or of ½‖f − y‖² (``mse``)."""
    if kind == "cross_entropy":
        return -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(logits), axis=1))
    return 0.5 * jnp.mean(jnp.sum((logits - targets) ** 2, axis=1))


def sq_norm(params: Any) -> jax.Array:
    """‖θ‖² over every parameter."""
    return sum(jnp.sum(jnp.square(p)) for p in jax.tree.leaves(params))


def _tree_where(cond: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


class EpochOrders(NamedTuple):
    """The data orders of the epochs a member's next chunk can touch (a leading member axis
    when vmapped): ``perms[i]`` is the permutation of the training set for epoch ``first + i``,
    keyed by (data_key, epoch). Kept between chunks and drawn again only when a member's chunk
    starts in another epoch: on a large training set the draw costs more than a chunk of a
    small model's steps."""

    first: jax.Array  # int32; -1 before the first draw
    perms: jax.Array  # int32 (count, n)


def orders_count(cfg: Experiment, num_train: int) -> int:
    """How many epochs one chunk of ``cfg.eval_every`` steps can touch."""
    per_epoch = num_train // cfg.optimizer.batch_size
    return (cfg.eval_every - 1) // per_epoch + 2


def no_orders(cfg: Experiment, num_members: int, num_train: int) -> EpochOrders:
    """Empty :class:`EpochOrders` for ``num_members`` (drawn at the first chunk)."""
    count = orders_count(cfg, num_train)
    return EpochOrders(
        first=np.full((num_members,), -1, np.int32),
        perms=np.zeros((num_members, count, num_train), np.int32),
    )


class _Program(NamedTuple):
    graphdef: Any
    init: Callable
    chunk: Callable  # (states, orders, x_train, y_train, x_test, y_test, weights[, train eval])
    member_init: Callable  # vmapped, not jitted: shard_map wraps these for several devices
    member_chunk: Callable  #   -> (states, orders, metrics)
    eval_train: bool


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

    def soft_loss(params, xb, targets):
        logits = apply(params, xb)
        return soft_data_loss(opt.loss, logits, targets), logits

    def epoch_orders(m: MemberState, n: int) -> EpochOrders:
        """The data orders of every epoch the member's next chunk can touch (epoch e: a
        permutation keyed by (data_key, e))."""
        first = m.step // (n // opt.batch_size)
        count = orders_count(cfg, n)
        keys = jax.vmap(lambda e: jax.random.fold_in(m.data_key, e))(first + jnp.arange(count))
        return EpochOrders(first, jax.vmap(lambda k: jax.random.permutation(k, n))(keys))

    def sgd_step(m: MemberState, x_train, y_train, first_epoch, perms):
        n = x_train.shape[0]
        per_epoch = n // opt.batch_size
        epoch, pos = jnp.divmod(m.step, per_epoch)
        perm = perms[epoch - first_epoch]
        idx = jax.lax.dynamic_slice(perm, (pos * opt.batch_size,), (opt.batch_size,))
        xb, yb = x_train[idx], y_train[idx]
        lr_t = lr_at(cfg, m.learning_rate, m.step, m.end_step)
        if cfg.data.augment:
            key = jax.random.fold_in(jax.random.fold_in(m.data_key, AUGMENT_STREAM), m.step)
            xb, targets = augment_lib.augment(key, xb, yb, num_classes)
            (bare, logits), g_bare = jax.value_and_grad(soft_loss, has_aux=True)(
                m.params, xb, targets
            )
            yb = jnp.argmax(targets, -1)  # the authors' accuracy on a mixed batch
        else:
            (bare, logits), g_bare = jax.value_and_grad(bare_loss, has_aux=True)(m.params, xb, yb)
        acc = jnp.mean((jnp.argmax(logits, -1) == yb).astype(jnp.float32))
        active = (m.step < m.end_step) & (m.diverged_step < 0)
        l2, a2 = m.l2, m.autol2
        if cfg.autol2 is not None:
            # The authors measure θ_i on the batch of update i, then (maybe) decay λ, and
            # update i already uses the new λ.
            a2 = autol2_lib.update(m.autol2, m.step, bare, acc, lr_t, cfg.autol2)
            l2 = a2.l2
        # Divergence is read from the loss, which is known before the update, so the update
        # and the freeze (``where``) fuse into one pass over each parameter, with no reduction
        # over the new parameters on the step's path. Parameters that turn non-finite while the
        # loss is still finite make the next step's loss non-finite; ``member_chunk`` also
        # checks them once per chunk.
        finite = jnp.isfinite(bare)
        ok = active & finite
        # ∇(L + ½λ‖θ‖²) = ∇L + λθ, added before momentum (coupled L2).
        grads = jax.tree.map(lambda g, p: g + l2 * p, g_bare, m.params)
        if opt.momentum == 0:
            # v = 0·v + g is g: no velocity to carry (it stays zero), one pass per parameter.
            velocity = m.velocity
            params = _tree_where(
                ok, jax.tree.map(lambda p, g: p - lr_t * g, m.params, grads), m.params
            )
        else:
            velocity = _tree_where(
                ok, jax.tree.map(lambda v, g: mu * v + g, m.velocity, grads), m.velocity
            )
            # Materialise v before θ reads it: fused into both updates, the old θ and v would
            # each be read after being overwritten, and the loop would copy them every step.
            velocity = jax.lax.optimization_barrier(velocity)
            params = _tree_where(
                ok, jax.tree.map(lambda p, v: p - lr_t * v, m.params, velocity), m.params
            )
        m_new = m._replace(
            params=params,
            velocity=velocity,
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

    def member_chunk(
        m: MemberState, orders: EpochOrders, x_train, y_train, x_test, y_test, weights, *train_eval
    ):
        global TRACE_COUNT
        TRACE_COUNT += 1  # runs only while tracing

        first_epoch, perms = orders.first, orders.perms

        # Only the last step's batch loss, accuracy and η are recorded: they ride in the carry
        # rather than being stacked for every step and sliced.
        def body(carry, _):
            state, _last = carry
            state, last = sgd_step(state, x_train, y_train, first_epoch, perms)
            return (state, last), None

        # (0·λ, not a constant: under shard_map the carry must vary over the member axis.)
        zero = 0 * m.l2
        (m, (bare, acc, lr_t)), _ = jax.lax.scan(
            body, (m, (zero, zero, zero)), None, length=cfg.eval_every
        )
        norm = sq_norm(m.params)
        # Parameters non-finite with a finite last loss: diverged at the step whose loss they
        # would give (θ_t is the member after t updates), and nothing of them is recorded.
        blown = ~jnp.isfinite(norm)
        m = m._replace(
            diverged_step=jnp.where(blown & (m.diverged_step < 0), m.step, m.diverged_step)
        )
        test_acc, test_loss = evaluate(m.params, x_test, y_test, weights)
        nan = jnp.float32(jnp.nan)
        metrics = {
            "test_accuracy": jnp.where(blown, nan, test_acc),
            "test_loss": jnp.where(blown, nan, test_loss),
            "train_accuracy": acc,
            "train_loss": bare,
            "sq_norm": norm,
            "l2": m.l2,
            "learning_rate": lr_t,
        }
        if cfg.eval_train:
            # The premise (training accuracy 1) read on every training example, not one batch.
            train_acc, _ = evaluate(m.params, *train_eval)
            metrics["full_train_accuracy"] = jnp.where(blown, nan, train_acc)
        return m, metrics

    num_data = _DATA_ARGS + (_TRAIN_EVAL_ARGS if cfg.eval_train else 0)
    vmember_chunk = jax.vmap(member_chunk, in_axes=(0, 0) + (None,) * num_data)

    def vchunk(ms: MemberState, orders: EpochOrders, x_train, y_train, *evalsets):
        # One test for the whole batch of members, outside the vmap, so the permutations are
        # drawn only in chunks that start a new epoch (a per-member test would become a select
        # that draws them every time). Members whose epoch did not change get the same orders.
        n = x_train.shape[0]
        stale = jnp.any(ms.step // (n // opt.batch_size) != orders.first)

        def draw(old: EpochOrders) -> EpochOrders:
            new = jax.vmap(lambda m: epoch_orders(m, n))(ms)
            # (+ 0·old: under shard_map both branches must vary over the member axis.)
            return jax.tree.map(lambda a, b: a + 0 * b, new, old)

        orders = jax.lax.cond(stale, draw, lambda old: old, orders)
        ms, metrics = vmember_chunk(ms, orders, x_train, y_train, *evalsets)
        return ms, orders, metrics

    vinit = jax.vmap(init_member)
    chunk = jax.jit(vchunk, donate_argnums=(0, 1))
    init = jax.jit(vinit)
    return _Program(graphdef, init, chunk, vinit, vchunk, cfg.eval_train)


@functools.lru_cache(maxsize=16)
def _sharded(program: _Program, mesh: jax.sharding.Mesh) -> tuple[Callable, Callable]:
    """(init, chunk) of ``program`` with the member axis split over ``mesh``: each device runs
    the vmapped program on its own members; the data arguments are replicated."""
    members, replicated = P(MEMBER_AXIS), P()
    num_data = _DATA_ARGS + (_TRAIN_EVAL_ARGS if program.eval_train else 0)
    init = jax.jit(
        jax.shard_map(program.member_init, mesh=mesh, in_specs=members, out_specs=members)
    )
    chunk = jax.jit(
        jax.shard_map(
            program.member_chunk,
            mesh=mesh,
            in_specs=(members, members) + (replicated,) * num_data,
            out_specs=members,
        ),
        donate_argnums=(0, 1),
    )
    return init, chunk


def _put(x: Any, sharding: jax.sharding.Sharding) -> jax.Array:
    """A global array laid out by ``sharding`` from a host value every process holds."""
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def _to_host(tree: Any) -> Any:
    """NumPy copies of (possibly sharded, possibly multi-host) arrays."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


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

    ``devices`` (default: every device JAX sees) are the devices the members are spread over;
    with one device the program is the plain unsharded one.
    """

    def __init__(
        self,
        cfg: Experiment,
        members: Sequence[int],
        dataset=None,
        devices: Sequence[jax.Device] | None = None,
    ):
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
        validate.check_dataset(cfg, ds)
        self.dataset_name = ds.name
        self._program = _program(cfg, tuple(ds.x_train.shape[1:]), int(ds.num_classes))
        triples = [all_members[i] for i in self.members]
        steps = cfg.steps_per_member()
        self.end_steps = np.array([steps[i] for i in self.members], np.int64)
        devices = list(jax.devices() if devices is None else devices)
        self.num_devices = len(devices)
        test = _pad_test(ds.x_test, ds.y_test, cfg.eval_batch_size)
        if cfg.eval_train:
            test = test + _pad_test(ds.x_train, ds.y_train, cfg.eval_batch_size)
        if self.num_devices == 1:
            self._chunk = self._program.chunk
            self._member_sharding = None
            self._train = (jnp.asarray(ds.x_train), jnp.asarray(ds.y_train))
            self._test = tuple(jnp.asarray(a) for a in test)
            self.state: MemberState = self._program.init(
                jnp.array([s for _, _, s in triples], jnp.uint32),
                jnp.array([l2 for l2, _, _ in triples], jnp.float32),
                jnp.array([lr for _, lr, _ in triples], jnp.float32),
                jnp.asarray(self.end_steps, jnp.int32),
            )
            orders = no_orders(cfg, len(triples), ds.x_train.shape[0])
            self._orders = jax.tree.map(jnp.asarray, orders)
        else:
            # Pad to a multiple of the devices with copies of the last member that never
            # train (end step 0); their rows are dropped from every result.
            pad = -len(triples) % self.num_devices
            triples = triples + triples[-1:] * pad
            end_steps = np.concatenate([self.end_steps, np.zeros(pad, np.int64)])
            mesh = jax.sharding.Mesh(np.array(devices), (MEMBER_AXIS,))
            init, self._chunk = _sharded(self._program, mesh)
            self._member_sharding = jax.sharding.NamedSharding(mesh, P(MEMBER_AXIS))
            replicated = jax.sharding.NamedSharding(mesh, P())
            self._train = (_put(ds.x_train, replicated), _put(ds.y_train, replicated))
            self._test = tuple(_put(a, replicated) for a in test)
            put = functools.partial(_put, sharding=self._member_sharding)
            self.state = init(
                put(np.array([s for _, _, s in triples], np.uint32)),
                put(np.array([l2 for l2, _, _ in triples], np.float32)),
                put(np.array([lr for _, lr, _ in triples], np.float32)),
                put(end_steps.astype(np.int32)),
            )
            orders = no_orders(cfg, len(triples), ds.x_train.shape[0])
            self._orders = jax.tree.map(put, orders)
        self.num_chunks = int(self.end_steps.max()) // cfg.eval_every
        self.chunks_done = 0
        self._curves = {
            k: np.full((len(self.members), cfg.num_evals), np.nan, np.float32)
            for k in cfg.curve_keys
        }

    @property
    def done(self) -> bool:
        return self.chunks_done >= self.num_chunks

    def set_l2(self, l2: Any) -> None:
        """Set every member's λ (array of shape (members,) or a scalar) from the next step on."""
        if self._member_sharding is None:
            new = jnp.broadcast_to(jnp.asarray(l2, jnp.float32), self.state.l2.shape)
        else:
            real = np.broadcast_to(np.asarray(l2, np.float32), (len(self.members),))
            padded = np.resize(real, self.state.l2.shape)  # padding rows never train
            new = _put(padded, self._member_sharding)
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
        self.state, self._orders, metrics = self._chunk(
            self.state, self._orders, *self._train, *self._test
        )
        TRAIN_STEPS += len(self.members) * self.cfg.eval_every
        n = len(self.members)
        metrics = {k: v[:n] for k, v in _to_host(metrics).items()}
        e = self.chunks_done
        eval_step = (e + 1) * self.cfg.eval_every
        diverged = _to_host(self.state.diverged_step)[:n]
        valid = (self.end_steps >= eval_step) & ((diverged < 0) | (diverged >= eval_step))
        for k in self.cfg.curve_keys:
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
        n = len(self.members)
        out["num_steps"] = np.asarray(_to_host(self.state.step))[:n].astype(np.int64)
        out["diverged_step"] = np.asarray(_to_host(self.state.diverged_step))[:n].astype(np.int64)
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
    devices: Sequence[jax.Device] | None = None,
) -> dict[str, np.ndarray]:
    """Train the given members together to their ends; return their curves.

    Args:
      cfg: the experiment.
      members: indices into ``cfg.members()``.
      dataset: a loaded :class:`l2lib.data.Dataset` (loaded from ``cfg.data`` if ``None``).
      progress: called with the number of member-steps done after each chunk.
      devices: the devices to spread the members over (default: all of JAX's devices).
    """
    around = GROUP_CONTEXT(cfg, members) if GROUP_CONTEXT is not None else contextlib.nullcontext()
    with around:
        trainer = GridTrainer(cfg, members, dataset, devices)
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
    cfg: Experiment,
    dataset=None,
    progress: Callable[[int], None] | None = None,
    members_per_device: int | None = None,
    devices: Sequence[jax.Device] | None = None,
) -> dict[str, np.ndarray]:
    """Train every member of ``cfg`` (group by group) and return the curves in member order.

    ``members_per_device`` (default :func:`resolve_members_per_device`) bounds the members one
    device holds at once; ``devices`` (default: all) are the devices a group is spread over.
    """
    ds = dataset if dataset is not None else data_lib.load(cfg.data)
    devices = list(jax.devices() if devices is None else devices)
    groups = plan_groups(cfg, members_per_device, num_devices=len(devices))
    return concat_results([run_group(cfg, g, ds, progress, devices) for g in groups])
