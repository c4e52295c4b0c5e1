"""The paper's tools on a model l2lib does not define: any Flax NNX network and Optax optimizer.

What a researcher already has — a network (an ``nnx.Module``, or an ``(init, apply)`` pair), an
Optax optimizer *without* L2, a loss, and training and test data — is enough to

- measure c in t* ≈ c/(λη) with one cheap run at a large λ₀ (:func:`measure_c`, paper §2.3),
- predict the best λ for a budget of T steps, λ_opt = c/(ηT) (:func:`predict_l2`),
- train at a chosen λ and read the result (:func:`train_l2`), and
- read t* off a curve recorded by any training loop (:func:`read_t_star`).

The L2 term is the paper's: ½·λ·‖θ‖² over every ``nnx.Param`` added to the loss, so its
gradient λθ is added to the gradient *before* the optimizer (coupled L2, as
``optax.chain(optax.add_decayed_weights(λ), optimizer)``). The optimizer must not decay weights
itself (``adamw``, ``add_decayed_weights``: refused) and η must be constant (a schedule is
refused: c is defined at a constant η). t* is read by :func:`l2lib.analysis.read_t_star`, the
same reading, with the same refusals, as the library's own probe (:func:`l2lib.analysis.measure_c`).

An ``nnx.Module`` is called as ``model(x)`` in training and at evaluation alike, and its state
other than ``nnx.Param`` (dropout's RNG counts, batch statistics) is carried from step to step;
the loop does not switch a network between training and evaluation modes: for one that must
(dropout), train it in your own loop and read its curve with :func:`read_t_star`. Only
``nnx.Param`` enters ‖θ‖².

The training loop is the engine's (:mod:`l2lib.train`) for one member: with ``seed`` s the
parameters of an ``(init, apply)`` pair are ``init(k_init)`` and epoch e draws its batches
from ``jax.random.permutation(fold_in(k_data, e), n)`` (incomplete last batch dropped), with
``k_init, k_data = jax.random.split(jax.random.PRNGKey(s))``; test accuracy is evaluated on
the whole test set every ``eval_every`` steps. The same network, data and seed therefore give
the library's own numbers (``tests/test_anymodel.py``).

Caching: with ``name`` set and data given as arrays, a run is an artifact of the results store
(:mod:`l2lib.store`, ``artifacts/``), keyed by ``name`` and by everything that can be hashed —
the data's bytes, the initial parameters (shapes and rounded sums), the optimizer state's
structure and injected hyper-parameters, λ, η, steps, cadence, batch size and seed — and
recorded with its provenance (device, versions, commit, wall time). The network's code, the
loss and hyper-parameters the optimizer does not expose cannot be hashed: ``name`` stands for
them, so give a new name when you change them. Without ``name`` (or with an iterator of
batches, which cannot be hashed) the run is made and returned, not stored.

Example::

    import optax
    from flax import nnx
    from l2lib import anymodel, data
    from l2lib.config import DataConfig

    ds = data.load(DataConfig(name="digits"))
    model = nnx.Sequential(nnx.Linear(64, 128, rngs=nnx.Rngs(0)), nnx.relu,
                           nnx.Linear(128, 10, rngs=nnx.Rngs(1)))
    loss = lambda logits, y: optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    c = anymodel.measure_c(model, optax.sgd(0.1), loss, (ds.x_train, ds.y_train),
                           (ds.x_test, ds.y_test), l2=1e-2, learning_rate=0.1, eval_every=20)
    l2_opt = anymodel.predict_l2(c.c, 0.1, 5000)   # the λ for a 5000-step budget
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from l2lib import analysis
from l2lib import store as store_lib
from l2lib import train as train_lib
from l2lib.analysis import CMeasurement, TStarReading, predict_l2, read_t_star

__all__ = [
    "DEFAULT_MAX_STEPS",
    "EVAL_BATCH_SIZE",
    "SCALE",
    "CMeasurement",
    "Curves",
    "TStarReading",
    "measure_c",
    "predict_l2",
    "probe",
    "probe_steps",
    "read_c",
    "read_t_star",
    "train_l2",
]

#: A probe that would need more steps than this is refused (use a larger λ₀).
DEFAULT_MAX_STEPS = 100_000
#: Test examples per forward pass at evaluation.
EVAL_BATCH_SIZE = 1000
#: The ``scale`` under which runs of a user's model are stored (``<name>-custom-<hash>``).
SCALE = "custom"
#: Significant digits of the per-leaf sums that fingerprint the initial parameters (enough to
#: tell two initialisations apart, few enough that the last bits of a device do not matter).
FINGERPRINT_DIGITS = 6

Batch = tuple[Any, Any]
Data = tuple[Any, Any] | Iterable[Batch]


class Curves(NamedTuple):
    """One run of :func:`train_l2` (or the probe of :func:`measure_c`): what was recorded at
    each evaluation, and where it is stored (``path`` is ``None`` for a run not stored)."""

    eval_step: np.ndarray  # (E,) steps
    test_accuracy: np.ndarray  # (E,) on the whole test set; NaN after a divergence
    train_loss: np.ndarray  # (E,) bare loss (no L2 term) of the last batch before it
    sq_norm: np.ndarray  # (E,) ‖θ‖²
    l2: float
    learning_rate: float
    num_steps: int  # steps trained
    diverged_step: int  # first step whose loss was not finite (−1: none)
    meta: dict | None  # the store's provenance of this run (None when not stored)
    path: Any  # the store's .json of this run, or None

    def best_within(self, num_steps: float | None = None) -> float:
        """Best test accuracy over the evaluations at steps ≤ ``num_steps`` (default: all):
        early-stopping performance (paper §2)."""
        sel = np.isfinite(self.test_accuracy)
        if num_steps is not None:
            sel &= self.eval_step <= num_steps
        return float(np.max(self.test_accuracy[sel])) if sel.any() else float("nan")

    def provenance(self) -> str:
        """One line: where, when and how this run was made (from its store entry)."""
        if self.meta is None:
            return f"a run of {self.num_steps:,} member-steps, not stored"
        m = self.meta
        wall = m.get("wall_s")
        minutes = f"{wall / 60:.1f} min" if isinstance(wall, (int, float)) else "? min"
        return (
            f"Run {m['name']} ({m['scale']}, λ = {self.l2:g}, η = {self.learning_rate:g}): "
            f"{m.get('member_steps', self.num_steps):,} member-steps, {minutes} on "
            f"{store_lib.made_on(m)}"
        )

    def read_t_star(self) -> TStarReading:
        """t* of this run (:func:`l2lib.analysis.read_t_star`, with its refusals)."""
        return read_t_star(
            self.eval_step, self.test_accuracy, self.num_steps, [self.diverged_step >= 0]
        )


# --- inputs ---------------------------------------------------------------------------------


def _fail(owner: str, message: str) -> None:
    raise ValueError(f"{owner}: {message}")


class _Network(NamedTuple):
    forward: Callable  # (params, rest, x) -> (logits, rest)
    params: Any
    rest: Any


def _network(owner: str, model: Any, init_key: jax.Array) -> _Network:
    """The model as a pure forward function, its parameters and its other state."""
    if isinstance(model, nnx.Module):
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        if not jax.tree.leaves(params):
            _fail(owner, "the module holds no nnx.Param; L2 acts on its parameters")

        def forward(params, rest, x):
            m = nnx.merge(graphdef, params, rest)
            logits = m(x)
            return logits, nnx.split(m, nnx.Param, ...)[2]

        return _Network(forward, params, rest)
    if isinstance(model, tuple) and len(model) == 2 and all(callable(f) for f in model):
        init, apply = model
        params = init(init_key)

        def forward_pair(params, rest, x):
            return apply(params, x), rest

        return _Network(forward_pair, params, None)
    _fail(
        owner,
        f"model is a {type(model).__name__}; pass an nnx.Module or an (init, apply) pair with "
        "init(key) -> params and apply(params, x) -> logits",
    )


def _state_kinds(tree: Any) -> list[str]:
    """The type names of the NamedTuple nodes of an optimizer state, outermost first."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            out.append(type(node).__name__)
            for v in node:
                walk(v)
        elif isinstance(node, (tuple, list)):
            for v in node:
                walk(v)
        elif isinstance(node, Mapping):
            for v in node.values():
                walk(v)

    walk(tree)
    return out


def _injected(opt_state: Any) -> dict[str, float]:
    """Hyper-parameters an ``optax.inject_hyperparams`` optimizer keeps in its state."""
    out: dict[str, float] = {}

    def walk(node: Any) -> None:
        if hasattr(node, "hyperparams") and isinstance(node.hyperparams, Mapping):
            for k, v in node.hyperparams.items():
                if np.ndim(v) == 0:
                    # The shortest decimal that is this float32 (0.1, not 0.10000000149).
                    out.setdefault(str(k), float(str(np.float32(v))))
        if isinstance(node, (tuple, list)):
            for v in node:
                walk(v)

    walk(opt_state)
    return out


#: Optimizer states that only exist when η follows a schedule.
_SCHEDULE_STATES = ("ScaleByScheduleState", "WrappedScheduleState")


def _optimizer(
    owner: str, optimizer: Any, learning_rate: Any, params: Any
) -> tuple[optax.GradientTransformation, Any, float]:
    """Check the optimizer (no L2 of its own, no AutoL2, no schedule); return it, its state and
    the constant η it uses."""
    if hasattr(optimizer, "observe"):
        _fail(owner, "the optimizer runs AutoL2; pass the plain optimizer (λ is set here)")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        _fail(owner, f"optimizer is a {type(optimizer).__name__}; pass an optax optimizer")
    if callable(learning_rate):
        _fail(owner, "learning_rate is a schedule; c is defined at a constant η: pass a number")
    state = optimizer.init(params)
    kinds = _state_kinds(state)
    if any(k in _SCHEDULE_STATES for k in kinds):
        _fail(
            owner,
            "the optimizer follows a learning-rate schedule; c and λ_opt = c/(ηT) are defined at "
            "a constant η: build it with a constant learning rate",
        )
    injected = _injected(state).get("learning_rate")
    if learning_rate is None:
        if injected is None:
            _fail(
                owner,
                "pass learning_rate=η, the optimizer's (c = λ₀·η·t*), or build the optimizer "
                "with optax.inject_hyperparams so that η can be read from its state",
            )
        learning_rate = injected
    eta = analysis._positive(owner, "learning_rate", learning_rate, "pass the optimizer's η")
    if injected is not None and not math.isclose(injected, eta, rel_tol=1e-6):
        _fail(owner, f"learning_rate={eta:g} but the optimizer's state says η = {injected:g}")
    # Weight decay of the optimizer's own: a zero gradient still moves the parameters.
    zeros = jax.tree.map(jnp.zeros_like, params)
    updates, _ = optimizer.update(zeros, state, params)
    moved = [np.asarray(u) for u in jax.tree.leaves(updates)]
    if any(np.any(np.isfinite(u) & (u != 0)) for u in moved):
        _fail(
            owner,
            "the optimizer changes the parameters at zero gradient (weight decay: adamw, "
            "add_decayed_weights); pass it without L2: here L2 is ½λ‖θ‖² added to the loss",
        )
    return optimizer, state, eta


def _arrays(owner: str, what: str, pair: Any) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        _fail(owner, f"{what} must be a pair (x, y) of arrays")
    x, y = np.asarray(pair[0]), np.asarray(pair[1])
    if x.shape[:1] != y.shape[:1] or y.ndim != 1 or x.shape[0] == 0:
        _fail(owner, f"{what}: x {x.shape} and y {y.shape}; pass x (N, ...) and labels y (N,)")
    if not np.issubdtype(y.dtype, np.integer):
        _fail(owner, f"{what}: labels of dtype {y.dtype}; pass integer class indices")
    return x, y


def _is_pair_of_arrays(data: Any) -> bool:
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(hasattr(a, "shape") for a in data)
    )


def _fingerprint(tree: Any) -> list[list[Any]]:
    """Per parameter: its path, shape, dtype and rounded sum and sum of squares."""
    out = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        a = np.asarray(leaf, np.float64)
        out.append(
            [
                jax.tree_util.keystr(path),
                list(a.shape),
                str(np.asarray(leaf).dtype),
                float(f"{a.sum():.{FINGERPRINT_DIGITS}g}"),
                float(f"{np.square(a).sum():.{FINGERPRINT_DIGITS}g}"),
            ]
        )
    return out


def _data_sha256(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --- the loop -------------------------------------------------------------------------------


def _batches_from_arrays(
    x: np.ndarray, y: np.ndarray, batch_size: int, data_key: jax.Array
) -> Callable[[int, int], tuple[np.ndarray, None]]:
    """``(first_step, count) -> batch indices (count, batch_size)`` in the engine's order."""
    n = x.shape[0]
    per_epoch = n // batch_size
    perms: dict[int, np.ndarray] = {}

    def perm(epoch: int) -> np.ndarray:
        if epoch not in perms:
            key = jax.random.fold_in(data_key, epoch)
            perms[epoch] = np.asarray(jax.random.permutation(key, n))
            for old in [e for e in perms if e < epoch - 1]:
                del perms[old]
        return perms[epoch]

    def indices(first: int, count: int) -> np.ndarray:
        rows = []
        for s in range(first, first + count):
            epoch, pos = divmod(s, per_epoch)
            rows.append(perm(epoch)[pos * batch_size : (pos + 1) * batch_size])
        return np.stack(rows).astype(np.int32)

    return indices


def _pad_test(x: np.ndarray, y: np.ndarray, batch: int):
    n = x.shape[0]
    b = min(batch, n)
    chunks = math.ceil(n / b)
    idx = np.concatenate([np.arange(n), np.arange(chunks * b - n) % n])
    w = np.concatenate([np.ones(n, np.float32), np.zeros(chunks * b - n, np.float32)])
    return x[idx].reshape(chunks, b, *x.shape[1:]), y[idx].reshape(chunks, b), w.reshape(chunks, b)


def _run(
    owner: str,
    net: _Network,
    optimizer: optax.GradientTransformation,
    opt_state: Any,
    loss: Callable,
    train: Data,
    test: tuple[np.ndarray, np.ndarray],
    l2: float,
    learning_rate: float,
    num_steps: int,
    eval_every: int,
    batch_size: int,
    data_key: jax.Array,
) -> dict[str, np.ndarray]:
    """Train ``num_steps`` steps (a multiple of ``eval_every``) on loss + ½λ‖θ‖²; evaluate on
    the test set every ``eval_every`` steps; stop at a non-finite loss."""
    if os.environ.get("L2LIB_FORBID_TRAINING"):
        raise RuntimeError(
            "training is forbidden here (L2LIB_FORBID_TRAINING is set, as in the book build): "
            "make this run first, with the same name, where training is allowed"
        )
    lam = jnp.float32(l2)

    def objective(params, rest, xb, yb):
        logits, rest = net.forward(params, rest, xb)
        return loss(logits, yb), rest

    def step(carry, batch):
        params, opt_state, rest, t, diverged = carry
        xb, yb = batch
        (value, rest), grads = jax.value_and_grad(objective, has_aux=True)(params, rest, xb, yb)
        # ∇(L + ½λ‖θ‖²) = ∇L + λθ, before the optimizer (coupled L2).
        grads = jax.tree.map(lambda g, p: g + lam * p, grads, params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        diverged = jnp.where((diverged < 0) & ~jnp.isfinite(value), t, diverged)
        return (params, opt_state, rest, t + 1, diverged), value

    def chunk_from_indices(carry, idx, x_train, y_train):
        def body(c, i):
            return step(c, (x_train[i], y_train[i]))

        carry, losses = jax.lax.scan(body, carry, idx)
        return carry, losses[-1]

    def chunk_from_batches(carry, xs, ys):
        carry, losses = jax.lax.scan(step, carry, (xs, ys))
        return carry, losses[-1]

    def evaluate(params, rest, x, y, w):
        def one(args):
            xb, yb, wb = args
            logits, _ = net.forward(params, rest, xb)
            return jnp.sum((jnp.argmax(logits, -1) == yb).astype(jnp.float32) * wb)

        correct = jax.lax.map(one, (x, y, w))
        norm = sum(jnp.sum(jnp.square(p)) for p in jax.tree.leaves(params))
        return jnp.sum(correct) / jnp.sum(w), norm

    evaluate = jax.jit(evaluate)
    test_padded = tuple(jnp.asarray(a) for a in _pad_test(*test, EVAL_BATCH_SIZE))
    if _is_pair_of_arrays(train):
        x_train, y_train = _arrays(owner, "train", train)
        if batch_size > x_train.shape[0]:
            _fail(owner, f"batch_size={batch_size} > {x_train.shape[0]} training examples")
        indices = _batches_from_arrays(x_train, y_train, batch_size, data_key)
        xt, yt = jnp.asarray(x_train), jnp.asarray(y_train)
        chunk = jax.jit(chunk_from_indices)

        def advance(carry, first):
            return chunk(carry, jnp.asarray(indices(first, eval_every)), xt, yt)

    else:
        it: Iterator[Batch] = iter(train)
        chunk = jax.jit(chunk_from_batches)

        def advance(carry, first):
            got = []
            for _ in range(eval_every):
                try:
                    got.append(next(it))
                except StopIteration:
                    _fail(
                        owner,
                        f"the training batches ran out after {first + len(got)} steps; the run "
                        f"needs {num_steps}",
                    )
            xs = jnp.stack([jnp.asarray(b[0]) for b in got])
            ys = jnp.stack([jnp.asarray(b[1]) for b in got])
            return chunk(carry, xs, ys)

    num_evals = num_steps // eval_every
    out = {
        k: np.full(num_evals, np.nan, np.float32)
        for k in ("test_accuracy", "train_loss", "sq_norm")
    }
    carry = (net.params, opt_state, net.rest, jnp.int32(0), jnp.int32(-1))
    done, diverged = 0, -1
    for e in range(num_evals):
        carry, last_loss = advance(carry, done)
        done += eval_every
        train_lib.TRAIN_STEPS += eval_every
        diverged = int(carry[4])
        acc, norm = (float(v) for v in evaluate(carry[0], carry[2], *test_padded))
        if diverged < 0 and not math.isfinite(norm):
            diverged = done
        # As the engine: an evaluation counts if the run had not diverged before its step.
        if diverged < 0 or diverged >= done:
            out["test_accuracy"][e] = acc if math.isfinite(norm) else np.nan
            out["train_loss"][e] = float(last_loss)
            out["sq_norm"][e] = norm
        if diverged >= 0:
            break
    out["eval_step"] = eval_every * np.arange(1, num_evals + 1, dtype=np.int64)
    out["num_steps"] = np.asarray(done, np.int64)
    out["diverged_step"] = np.asarray(diverged, np.int64)
    out["l2"] = np.asarray(l2, np.float64)
    out["learning_rate"] = np.asarray(learning_rate, np.float64)
    return out


def _train(
    owner: str,
    model: Any,
    optimizer: Any,
    loss: Callable,
    train: Data,
    test: tuple[Any, Any],
    *,
    l2: float,
    num_steps: Callable[[float], int],
    learning_rate: Any,
    eval_every: int,
    batch_size: int,
    seed: int,
    name: str | None,
    store: Any,
    what: Mapping[str, Any],
    force: bool = False,
) -> Curves:
    """Check the inputs, then train (or find in the store) one run; ``num_steps(η)`` is its
    duration, known once η is (it may come from the optimizer's state)."""
    if not callable(loss):
        _fail(owner, "loss must be a function (logits, labels) -> scalar")
    init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
    net = _network(owner, model, init_key)
    optimizer, opt_state, eta = _optimizer(owner, optimizer, learning_rate, net.params)
    num_steps = num_steps(eta)
    x_test, y_test = _arrays(owner, "test", test)

    def run() -> dict[str, np.ndarray]:
        return _run(
            owner,
            net,
            optimizer,
            opt_state,
            loss,
            train,
            (x_test, y_test),
            l2,
            eta,
            num_steps,
            eval_every,
            batch_size,
            data_key,
        )

    if name is None:
        arrays, meta, path = run(), None, None
    else:
        if not _is_pair_of_arrays(train):
            _fail(
                owner,
                "training batches from an iterator cannot be hashed, so the run cannot be "
                "cached: pass train=(x, y) arrays, or name=None to run it without the store",
            )
        x_train, y_train = _arrays(owner, "train", train)
        sha = _data_sha256(x_train, y_train, x_test, y_test)
        params = {
            **what,
            "l2": float(l2),
            "learning_rate": eta,
            "num_steps": int(num_steps),
            "eval_every": int(eval_every),
            "batch_size": int(batch_size),
            "seed": int(seed),
            "data_sha256": sha,
            "init": _fingerprint(net.params),
            "optimizer": {"state": _state_kinds(opt_state), "injected": _injected(opt_state)},
        }
        provenance = {
            "dataset": {
                "name": "arrays",
                "sha256": sha,
                "num_train": int(x_train.shape[0]),
                "num_test": int(x_test.shape[0]),
                "input_shape": [int(s) for s in x_train.shape[1:]],
            },
            "num_members": 1,
            "member_steps": int(num_steps),
        }
        art = store_lib.load_or_compute_artifact(
            name, SCALE, params, run, store=store, force=force, provenance=provenance
        )
        arrays, meta, path = art.arrays, art.meta, art.path
    return Curves(
        eval_step=np.asarray(arrays["eval_step"]),
        test_accuracy=np.asarray(arrays["test_accuracy"], np.float64),
        train_loss=np.asarray(arrays["train_loss"], np.float64),
        sq_norm=np.asarray(arrays["sq_norm"], np.float64),
        l2=float(l2),
        learning_rate=eta,
        num_steps=int(arrays["num_steps"]),
        diverged_step=int(arrays["diverged_step"]),
        meta=meta,
        path=path,
    )


def _count(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        _fail(owner, f"{name}={value!r} must be a positive integer")
    return int(value)


# --- the tools ------------------------------------------------------------------------------


def probe_steps(
    l2: float, learning_rate: float, horizon: float = analysis.PROBE_HORIZON, eval_every: int = 1
) -> int:
    """Steps of the probe of :func:`measure_c`: ⌈horizon/(λ₀η)⌉ rounded up to a multiple of
    ``eval_every`` (as the engine rounds a member's duration)."""
    n = max(math.ceil(horizon / (l2 * learning_rate)), 1)
    return -(-n // eval_every) * eval_every


def _probe_duration(owner: str, l2: float, horizon: float, eval_every: int, max_steps: int):
    """``η -> steps`` of the probe, refusing one too long or with too few evaluations."""

    def duration(eta: float) -> int:
        if horizon / (l2 * eta) > max_steps:
            _fail(
                owner,
                f"the probe needs {horizon / (l2 * eta):.0f} steps to reach λ₀ηt = {horizon:g} "
                f"but max_steps = {max_steps}; use a larger λ₀ or raise max_steps",
            )
        steps = probe_steps(l2, eta, horizon, eval_every)
        if steps // eval_every < analysis.MIN_PROBE_EVALS:
            _fail(
                owner,
                f"the probe has {steps // eval_every} evaluations (every {eval_every} of {steps} "
                f"steps), fewer than {analysis.MIN_PROBE_EVALS}; lower eval_every",
            )
        return steps

    return duration


def probe(
    model: Any,
    optimizer: optax.GradientTransformation,
    loss: Callable[[Any, Any], Any],
    train: Data,
    test: tuple[Any, Any],
    *,
    l2: float,
    learning_rate: float | None = None,
    horizon: float = analysis.PROBE_HORIZON,
    eval_every: int,
    batch_size: int = 128,
    seed: int = 0,
    max_steps: int = DEFAULT_MAX_STEPS,
    name: str | None = None,
    store: Any = None,
    force: bool = False,
) -> Curves:
    r"""The probe of :func:`measure_c`: one short run of your model at a large :math:`\lambda_0`,
    trained until :math:`\lambda_0 \eta t` reaches ``horizon`` (paper §2.3).

    Trains ``model`` with ``optimizer`` on ``loss`` + ½·λ₀·‖θ‖² (coupled: λ₀θ is added to the
    gradient before the optimizer) until λ₀·η·t = ``horizon``, evaluating the test accuracy
    every ``eval_every`` steps; reads t*, the step of maximum test accuracy
    (:func:`l2lib.analysis.read_t_star`), and returns :math:`c = \lambda_0 \eta t^*`. Then
    :func:`predict_l2` gives :math:`\lambda_{opt} = c/(\eta T)` for a budget of T steps at the
    same η (and batch size, data, network). A large λ₀ makes t* short, so the probe costs
    ``horizon/(λ₀η)`` steps.

    Args:
      model: an ``nnx.Module`` (its current parameters are the initialisation; it is not
        modified), or a pair ``(init, apply)``: ``init(key) -> params``, ``apply(params, x) ->
        logits``.
      optimizer: an Optax optimizer without weight decay, at a constant η (SGD, with or without
        momentum, is what the paper studies).
      loss: ``loss(logits, labels) -> scalar``, the mean over the batch, without an L2 term.
      train: ``(x, y)`` arrays (batches of ``batch_size`` drawn as the engine draws them), or
        an iterable of ``(x, y)`` batches (not cached).
      test: ``(x, y)`` arrays; y holds integer classes, accuracy is ``argmax(logits) == y``.
      l2: λ₀ in ½·λ·‖θ‖² units; large, so that t* is short.
      learning_rate: η; read from the optimizer's state when it was built with
        ``optax.inject_hyperparams`` and this is ``None``.
      horizon: λ₀·η·t at which the probe stops.
      eval_every: the evaluation cadence in steps; t* is read on it.
      batch_size: examples per step (``train`` as arrays).
      seed: the data order (and ``init``'s key for a pair).
      max_steps: refuse a probe longer than this.
      name: cache the probe in the store under this name (see the module's docstring).
      store: a :class:`~l2lib.store.Store` or its root (default: the book's store).
      force: train again and replace the stored run.

    Returns:
      the probe's :class:`Curves`; :func:`read_c` reads c off them.

    Raises:
      ValueError: bad input, an optimizer with weight decay, AutoL2 or a learning-rate
        schedule, or a probe too long or with fewer than ``MIN_PROBE_EVALS`` evaluations (one
        line naming the fix).
    """
    owner = "measure_c"
    l2 = analysis._positive(owner, "l2", l2, "pass a large λ₀ (e.g. 0.01), where t* is short")
    horizon = analysis._positive(owner, "horizon", horizon, "pass the λ₀·η·t to train to")
    eval_every = _count(owner, "eval_every", eval_every)
    return _train(
        owner,
        model,
        optimizer,
        loss,
        train,
        test,
        l2=l2,
        num_steps=_probe_duration(owner, l2, horizon, eval_every, max_steps),
        learning_rate=learning_rate,
        eval_every=eval_every,
        batch_size=_count(owner, "batch_size", batch_size),
        seed=seed,
        name=name,
        store=store,
        what={"kind": "probe", "horizon": float(horizon)},
        force=force,
    )


def read_c(curves: Curves) -> CMeasurement:
    r"""c from a probe's curves (:func:`probe`): :math:`c = \lambda_0 \eta t^*`, with t* read by
    :func:`l2lib.analysis.read_t_star` — the reading, and the refusals, of the library's own
    :func:`l2lib.analysis.read_c`.

    Raises:
      ValueError: the probe diverged, or peaked at its first or last evaluation.
    """
    r = read_t_star(
        curves.eval_step,
        curves.test_accuracy,
        curves.num_steps,
        [curves.diverged_step >= 0],
        l2=curves.l2,
        learning_rate=curves.learning_rate,
    )
    eta = curves.learning_rate
    return CMeasurement(
        curves.l2 * eta * r.t_star, curves.l2, eta, r.t_star, r.best_accuracy, r.num_steps, r.how
    )


def measure_c(
    model: Any,
    optimizer: optax.GradientTransformation,
    loss: Callable[[Any, Any], Any],
    train: Data,
    test: tuple[Any, Any],
    **kwargs: Any,
) -> CMeasurement:
    r"""Measure c in :math:`t^* \approx c/(\lambda\eta)` for your model with one short run at a
    large :math:`\lambda_0` (paper §2.3): ``read_c(probe(...))``.

    Trains the probe (:func:`probe`: ``model`` with ``optimizer`` on ``loss`` + ½·λ₀·‖θ‖²,
    coupled, until λ₀·η·t = ``horizon``), reads t*, the step of maximum test accuracy, and
    returns :math:`c = \lambda_0 \eta t^*`. Then :func:`predict_l2` gives
    :math:`\lambda_{opt} = c/(\eta T)` for a budget of T steps with the same network, data,
    batch size, optimizer and η.

    Args:
      model, optimizer, loss, train, test: as for :func:`probe`.
      **kwargs: :func:`probe`'s keywords: ``l2`` (λ₀), ``eval_every`` (both required),
        ``learning_rate``, ``horizon``, ``batch_size``, ``seed``, ``max_steps``, ``name``,
        ``store``, ``force``.

    Returns:
      a :class:`~l2lib.analysis.CMeasurement`, as :func:`l2lib.analysis.measure_c` returns.

    Raises:
      ValueError: what :func:`probe` and :func:`read_c` refuse: an optimizer with weight decay,
        AutoL2 or a schedule, a probe too long or too coarse, a diverged probe, or a peak at its
        first or last evaluation (one line naming the fix).
    """
    return read_c(probe(model, optimizer, loss, train, test, **kwargs))


def train_l2(
    model: Any,
    optimizer: optax.GradientTransformation,
    loss: Callable[[Any, Any], Any],
    train: Data,
    test: tuple[Any, Any],
    *,
    l2: float,
    num_steps: int,
    learning_rate: float | None = None,
    eval_every: int,
    batch_size: int = 128,
    seed: int = 0,
    name: str | None = None,
    store: Any = None,
    force: bool = False,
) -> Curves:
    """Train your model for ``num_steps`` steps on ``loss`` + ½·λ·‖θ‖² and record its curves.

    The same loop as :func:`measure_c`'s probe (coupled L2: λθ added to the gradient before the
    optimizer), for a fixed budget: ``num_steps`` rounded up to a multiple of ``eval_every``.
    ``Curves.best_within(T)`` is then the run's performance within a budget T (the best test
    accuracy, early stopping; paper §2.2). λ = 0 trains without L2. Arguments as for
    :func:`measure_c`; the optimizer may have no weight decay of its own and no schedule.

    Returns:
      the run's :class:`Curves` (stored when ``name`` is given).
    """
    owner = "train_l2"
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not math.isfinite(l2) or l2 < 0:
        _fail(owner, f"l2={l2!r} must be a finite number ≥ 0")
    eval_every = _count(owner, "eval_every", eval_every)
    steps = -(-_count(owner, "num_steps", num_steps) // eval_every) * eval_every
    return _train(
        owner,
        model,
        optimizer,
        loss,
        train,
        test,
        l2=float(l2),
        num_steps=lambda eta: steps,
        learning_rate=learning_rate,
        eval_every=eval_every,
        batch_size=_count(owner, "batch_size", batch_size),
        seed=seed,
        name=name,
        store=store,
        what={"kind": "train"},
        force=force,
    )
