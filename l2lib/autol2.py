"""AutoL2: the authors' rule for decaying λ during training (paper §2, "AutoL2"; Fig. 1c).

The rule, as Lewkowycz & Gur-Ari coded it (``google/autol2``, ``jax_wideresnet_exps.py``, the
training loop of ``main``)::

    for i in range(i0, training_steps):
        if i % meas_step == 0:
            ...                                       # measure on the batch of update i
            train_lm += [bare_loss]; train_accuracy += [accuracy]
            if FLAGS.L2_sch and i > FLAGS.delay/currL2 + idel0 and len(train_lm) > 2 and (
                    (minloss <= train_lm[-1] and minloss <= train_lm[-2]) or
                    (maxacc >= train_accuracy[-1] and maxacc >= train_accuracy[-2])):
                currL2 = currL2/FLAGS.L2dec
                idel0 = i
            elif FLAGS.L2_sch and len(train_lm) >= 2:
                maxacc = max(train_accuracy[-2], maxacc)   # (first time: = train_accuracy[-2])
                minloss = min(train_lm[-2], minloss)
        step, state, batch_state = update_step(step, state, batch_state, L2p)

In words, with the constants of :class:`l2lib.config.AutoL2Config` (all the authors' defaults):

- every ``every`` (= ``meas_step`` = 10) steps ``i`` (``i = 0`` included) measure the bare
  training loss (no L2 term) and the accuracy of the current parameters θ_i on the mini-batch
  that update ``i`` is about to use;
- divide λ by ``factor`` (= ``L2dec`` = 10) when all of these hold:

  * the refractory period is over: ``i > refractory / λ + i_last_decay`` (``delay`` = 0.1;
    ``i_last_decay`` starts at 0; λ is the value in force), strictly greater, in *steps*
    (their flag's help text says "epochs·η·λ" but the code counts steps and has no η);
  * there are more than ``min_measurements`` (= 2) measurements, the current one included;
  * the loss has not improved: the best loss is ≤ *each* of the last ``patience`` (= 2) measured
    losses, **or** the accuracy has not improved: the best accuracy is ≥ each of the last two
    measured accuracies (ties count as "not improved");

- otherwise, once there are ≥ ``patience`` measurements, fold the *oldest* of the last
  ``patience`` measurements (``[-2]``) into the running best loss and best accuracy. The best is
  never reset, and is *not* updated at a measurement where λ decays (so that measurement's
  ``[-2]`` never enters it). The best therefore only covers measurements before the window it
  is compared with;
- the decayed λ is used from update ``i`` on (the authors change λ before calling
  ``update_step``); there is no lower bound on λ and η is left alone.

``refractory_units='l2_eta_t'`` (ours, not the authors') instead waits until
λ·η·(t − t_last_decay) ≥ ``refractory``, the scaling variable of the paper.

λ convention: here the loss is L + ½·λ·‖θ‖² (gradient λθ, coupled, added before momentum), with
the cross-entropy summed over the K classes. The authors' code adds ``L2 * Σθ²`` to a
cross-entropy averaged over the classes too, so their run at (λ_code, η_code) is ours at
λ = 2K·λ_code, η = η_code/K (:mod:`l2lib.paper.authors`), and their refractory period 0.1/λ_code steps
is 0.2K/λ = 2/λ steps here (K = 10). Their Fig. 1c (λ_code = 0.1, ``L2dec`` 10, ``delay`` 0.1,
η_code = 0.2) is therefore ``l2_init=2.0``, η = 0.02 with ``AutoL2Config(refractory=2.0)`` here;
the default ``refractory=0.1`` keeps the authors' *number* with our λ. The rule compares the
loss only with itself, so a constant factor on the loss never changes a decision.

Floating point: the authors computed ``delay/currL2`` in float64 after repeated divisions. We keep
λ₀ and the power ``factor**num_decays`` (exact in float32 for factor 10 up to 10¹⁰) and compute
``(refractory/λ₀)·factor**num_decays``, the same number in exact arithmetic; on a grid of
λ₀ ∈ {1, 2, 3, 5, 7}·10⁻ᵏ this makes the same decision as their float64 at every step whenever
the refractory period is shorter than 50 000 steps (above that float64 itself drifts below the
exact integer, e.g. 0.1/2e-6 = 49999.99999999999).

Example — a user's own Flax NNX training loop with λ in the optimizer state::

    import jax, jax.numpy as jnp, numpy as np, optax
    from flax import nnx
    from l2lib import autol2
    from l2lib.config import AutoL2Config

    model = nnx.Sequential(nnx.Linear(8, 16, rngs=nnx.Rngs(0)), nnx.relu,
                           nnx.Linear(16, 3, rngs=nnx.Rngs(1)))
    graphdef, params = nnx.split(model, nnx.Param)
    tx = autol2.autol2_sgd(0.1, AutoL2Config(), l2_init=0.1, momentum=0.9)
    opt_state = tx.init(params)

    @jax.jit
    def train_step(params, opt_state, step, x, y):
        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(x)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            return loss, logits
        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        accuracy = jnp.mean(jnp.argmax(logits, -1) == y)
        opt_state = tx.observe(opt_state, step, loss, accuracy)  # may decay λ for this step
        updates, opt_state = tx.update(grads, opt_state, params)  # adds λθ, then SGD
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(0)
    for step in range(50):
        x = rng.normal(size=(32, 8)).astype(np.float32)
        y = rng.integers(0, 3, size=32)
        params, opt_state, loss = train_step(params, opt_state, step, x, y)
    nnx.update(model, params)
    print(float(opt_state.autol2.l2), int(opt_state.autol2.num_decays))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from l2lib.config import AutoL2Config

__all__ = [
    "DEFAULT_CONFIG",
    "AutoL2OptState",
    "AutoL2State",
    "AutoL2Transformation",
    "autol2_sgd",
    "earliest_decays",
    "init",
    "observe",
    "update",
]

DEFAULT_CONFIG = AutoL2Config()  # the authors' constants (frozen, so a safe shared default)


class AutoL2State(NamedTuple):
    """Everything the AutoL2 rule carries between steps (all jnp arrays: scans and vmaps).

    Attributes:
      l2: λ in force (coefficient of ½·λ·‖θ‖²); equals ``l2_init / decay_scale``.
      l2_init: λ₀, the starting λ.
      decay_scale: ``factor ** num_decays`` (kept so the refractory period is computed from λ₀
        without accumulating rounding, see the module docstring).
      num_decays: how many times λ was divided by ``factor`` (int32).
      last_decay_step: the step of the last decay, 0 before any (the authors' ``idel0 = i0``).
      num_measurements: measurements made so far, the authors' ``len(train_lm)`` (int32).
      loss_history: the last ``patience`` measured bare losses, oldest first; NaN = not measured.
      accuracy_history: the last ``patience`` measured accuracies, oldest first; NaN likewise.
      best_loss: running best (minimum) loss, the authors' ``minloss``; +inf before any.
      best_accuracy: running best (maximum) accuracy, the authors' ``maxacc``; −inf before any.
    """

    l2: jax.Array
    l2_init: jax.Array
    decay_scale: jax.Array
    num_decays: jax.Array
    last_decay_step: jax.Array
    num_measurements: jax.Array
    loss_history: jax.Array
    accuracy_history: jax.Array
    best_loss: jax.Array
    best_accuracy: jax.Array


def init(l2: Any, cfg: AutoL2Config = DEFAULT_CONFIG, dtype: Any = None) -> AutoL2State:
    """The rule's state at the start of training, with λ = ``l2``.

    Args:
      l2: λ₀ (scalar; may be a traced value, so ``jax.vmap(init)`` over a grid works).
      cfg: the rule's constants (only ``patience`` matters here: the history length).
      dtype: float dtype of λ and the histories; default float32, or ``l2``'s own float dtype.

    Returns:
      An :class:`AutoL2State` with no measurements yet.
    """
    if dtype is None:
        given = getattr(l2, "dtype", None)
        dtype = given if given is not None and jnp.issubdtype(given, jnp.floating) else jnp.float32
    l2 = jnp.asarray(l2, dtype=dtype)
    history = jnp.full((cfg.patience,), jnp.nan, dtype=dtype)
    return AutoL2State(
        l2=l2,
        l2_init=l2,
        decay_scale=jnp.ones((), dtype),
        num_decays=jnp.zeros((), jnp.int32),
        last_decay_step=jnp.zeros((), jnp.int32),
        num_measurements=jnp.zeros((), jnp.int32),
        loss_history=history,
        accuracy_history=history,
        best_loss=jnp.full((), jnp.inf, dtype),
        best_accuracy=jnp.full((), -jnp.inf, dtype),
    )


def update(
    state: AutoL2State,
    step: Any,
    loss: Any,
    accuracy: Any,
    learning_rate: Any,
    cfg: AutoL2Config = DEFAULT_CONFIG,
) -> AutoL2State:
    """Run the AutoL2 rule at training step ``step`` (call it at every step).

    Call it with ``step = i``, the number of updates done so far, *before* update ``i``, passing
    the bare loss (no L2 term) and accuracy of the current parameters θ_i on the batch of update
    ``i`` (the forward pass of that update's gradient), then train update ``i`` with the returned
    ``state.l2``. That is the authors' order: measure, maybe decay, then step with the new λ.

    On non-measurement steps (``step % cfg.every != 0``) it returns ``state`` unchanged, so it
    may be called at every step, and only there; calling it only at measurement steps is the same.
    Everything is ``jnp.where``: it runs under ``jit``, ``vmap`` (one rule per grid member) and
    ``lax.scan``. See the module docstring for the rule and its constants.

    Args:
      state: from :func:`init` or a previous call.
      step: the training step i (int; 0 for the first update).
      loss: bare training loss on the current batch.
      accuracy: accuracy on the current batch.
      learning_rate: η in force (used only by ``refractory_units='l2_eta_t'``).
      cfg: the rule's constants (static).

    Returns:
      The new state; ``state.l2`` is λ for update ``step``.
    """
    dtype = state.l2.dtype
    step = jnp.asarray(step, jnp.int32)
    measure = step % cfg.every == 0
    losses = jnp.concatenate([state.loss_history[1:], jnp.asarray(loss, dtype)[None]])
    accuracies = jnp.concatenate([state.accuracy_history[1:], jnp.asarray(accuracy, dtype)[None]])
    count = state.num_measurements + 1  # len(train_lm), the current measurement included

    # Refractory period, in steps: the authors' `i > delay / currL2 + idel0`, with
    # delay / currL2 = (delay / λ₀)·factor**k (exact-arithmetic equal, see module docstring).
    steps_needed = (cfg.refractory / state.l2_init) * state.decay_scale
    if cfg.refractory_units == "l2_steps":
        threshold = steps_needed + state.last_decay_step.astype(dtype)
        refractory_over = step.astype(dtype) > threshold
    else:  # 'l2_eta_t': λ·η·(t − t_decay) ≥ refractory
        elapsed = (step - state.last_decay_step).astype(dtype)
        refractory_over = elapsed >= steps_needed / jnp.asarray(learning_rate, dtype)

    # NaN entries (not yet measured) compare False, so they never count as "not improved".
    loss_stalled = jnp.all(state.best_loss <= losses)
    accuracy_stalled = jnp.all(state.best_accuracy >= accuracies)
    decay = (
        measure
        & refractory_over
        & (count > cfg.min_measurements)
        & (loss_stalled | accuracy_stalled)
    )

    # The authors' elif: fold train_lm[-2] (here the oldest of the window) into the best, with
    # Python's min/max semantics: min(new, best) keeps `best` only if best < new.
    fold = measure & ~decay & (count >= cfg.patience)
    oldest_loss, oldest_accuracy = losses[0], accuracies[0]
    best_loss = jnp.where(fold & ~(state.best_loss < oldest_loss), oldest_loss, state.best_loss)
    best_accuracy = jnp.where(
        fold & ~(state.best_accuracy > oldest_accuracy), oldest_accuracy, state.best_accuracy
    )

    decay_scale = jnp.where(decay, state.decay_scale * cfg.factor, state.decay_scale)
    return AutoL2State(
        l2=jnp.where(decay, state.l2_init / decay_scale, state.l2).astype(dtype),
        l2_init=state.l2_init,
        decay_scale=decay_scale.astype(dtype),
        num_decays=state.num_decays + decay.astype(jnp.int32),
        last_decay_step=jnp.where(decay, step, state.last_decay_step),
        num_measurements=jnp.where(measure, count, state.num_measurements),
        loss_history=jnp.where(measure, losses, state.loss_history),
        accuracy_history=jnp.where(measure, accuracies, state.accuracy_history),
        best_loss=best_loss,
        best_accuracy=best_accuracy,
    )


def earliest_decays(
    l2: float,
    num_steps: int,
    cfg: AutoL2Config = DEFAULT_CONFIG,
    learning_rate: float | None = None,
) -> list[int]:
    """The steps at which λ decays if *no* measurement ever improves: the fastest the rule goes.

    Then only the refractory period and the first ``min_measurements`` measurements hold λ
    back, so the schedule is fixed in advance: with the defaults and λ₀ = 0.1, decays at steps
    20, 40, 150, 1160, 11170, … (each wait ten times the last). A run whose decays sit on this
    schedule is decaying on noise, not on a plateau. Computed in float32 exactly as
    :func:`update` does, so it equals :func:`update` driven by a constant loss and accuracy.

    Args:
      l2: λ₀.
      num_steps: steps run (measurements at 0, ``every``, … below ``num_steps``).
      cfg: the rule's constants.
      learning_rate: η (needed only for ``refractory_units='l2_eta_t'``).
    """
    if cfg.refractory_units == "l2_eta_t" and learning_rate is None:
        raise ValueError("learning_rate: required with refractory_units='l2_eta_t'")
    f32 = np.float32
    steps_per_scale = f32(cfg.refractory) / f32(l2) if l2 > 0 else f32(np.inf)
    scale, last, out = f32(1.0), 0, []
    for m, step in enumerate(range(0, num_steps, cfg.every)):
        if m + 1 <= cfg.min_measurements:
            continue
        wait = f32(steps_per_scale * scale)
        if cfg.refractory_units == "l2_steps":
            over = f32(step) > f32(wait + f32(last))
        else:
            over = f32(step - last) >= f32(wait / f32(learning_rate))
        if over:
            out.append(step)
            last, scale = step, f32(scale * f32(cfg.factor))
    return out


# -- Optax wrapper ---------------------------------------------------------------------------


class AutoL2OptState(NamedTuple):
    """State of :func:`autol2_sgd`: the injected-hyperparameter SGD state and the rule's state.

    ``inner.hyperparams['l2']`` is the λ the next ``update`` uses; it always equals
    ``autol2.l2``. ``inner.hyperparams['learning_rate']`` is η.
    """

    inner: Any  # optax.InjectStatefulHyperparamsState
    autol2: AutoL2State


class AutoL2Transformation(NamedTuple):
    """An Optax ``GradientTransformation`` (``init``, ``update``) plus ``observe``.

    ``observe(opt_state, step, loss, accuracy) -> opt_state`` runs the AutoL2 rule (bound to the
    config given to :func:`autol2_sgd`) and writes the new λ into the optimizer state.
    """

    init: Callable[[Any], AutoL2OptState]
    update: Callable[..., tuple[Any, AutoL2OptState]]
    observe: Callable[..., AutoL2OptState]


def _sgd_with_l2(learning_rate: Any, l2: Any, momentum: Any) -> optax.GradientTransformation:
    # Coupled L2: λθ is added to the gradient before momentum, i.e. SGD on L + ½λ‖θ‖².
    return optax.chain(optax.add_decayed_weights(l2), optax.sgd(learning_rate, momentum))


def autol2_sgd(
    learning_rate: float | optax.Schedule,
    cfg: AutoL2Config = DEFAULT_CONFIG,
    l2_init: float = 0.1,
    momentum: float = 0.0,
) -> AutoL2Transformation:
    """SGD (optionally heavy-ball) on loss + ½·λ·‖θ‖², with λ set at run time by AutoL2.

    The update is ``v ← μ·v + (g + λθ)``, ``θ ← θ − η·v`` (μ = 0: plain SGD), built as
    ``optax.inject_hyperparams(chain(add_decayed_weights(λ), sgd(η, μ)))``, so λ and η are jnp
    arrays in the optimizer state: λ can change, and can differ across ``vmap``-ed grid members,
    without recompiling. Per step: compute the *bare* loss and its gradient, call
    ``opt_state = tx.observe(opt_state, step, loss, accuracy)``, then
    ``tx.update(grads, opt_state, params)``; the λ decided at step i is then used by update i,
    as in the authors' loop (see :func:`update`). A ``learning_rate`` schedule works; with
    ``l2_eta_t`` units, ``observe`` sees the η of the previous update (η₀ at step 0).

    Args:
      learning_rate: η (constant in the authors' AutoL2 run) or an Optax schedule.
      cfg: the AutoL2 constants (static; bound into ``observe``).
      l2_init: λ₀ in the ½λ‖θ‖² convention.
      momentum: μ; 0 means plain SGD (no momentum buffer).

    Returns:
      An :class:`AutoL2Transformation` whose state is an :class:`AutoL2OptState`.
    """
    inner = optax.inject_hyperparams(_sgd_with_l2)(
        learning_rate=learning_rate, l2=l2_init, momentum=momentum if momentum else None
    )

    def init_fn(params: Any) -> AutoL2OptState:
        inner_state = inner.init(params)
        l2 = inner_state.hyperparams["l2"]
        return AutoL2OptState(inner=inner_state, autol2=init(l2, cfg, dtype=l2.dtype))

    def update_fn(
        updates: Any, state: AutoL2OptState, params: Any = None, **extra_args: Any
    ) -> tuple[Any, AutoL2OptState]:
        updates, inner_state = inner.update(updates, state.inner, params, **extra_args)
        return updates, state._replace(inner=inner_state)

    return AutoL2Transformation(
        init=init_fn, update=update_fn, observe=functools.partial(observe, cfg=cfg)
    )


def observe(
    opt_state: AutoL2OptState,
    step: Any,
    loss: Any,
    accuracy: Any,
    cfg: AutoL2Config = DEFAULT_CONFIG,
) -> AutoL2OptState:
    """Run :func:`update` on the optimizer state of :func:`autol2_sgd` and inject the new λ.

    The new λ is written as an array of the old one's dtype (and shape), so a jitted step that
    takes and returns the optimizer state does not retrace. Prefer ``tx.observe``, which has the
    transformation's ``cfg`` bound.

    Args:
      opt_state: an :class:`AutoL2OptState`.
      step: training step i (before update i).
      loss: bare training loss (no L2 term) on the batch of update i.
      accuracy: accuracy on that batch.
      cfg: the same config given to :func:`autol2_sgd`.

    Returns:
      The optimizer state with the rule advanced and ``hyperparams['l2']`` set to its λ.
    """
    hyperparams = opt_state.inner.hyperparams
    rule = update(opt_state.autol2, step, loss, accuracy, hyperparams["learning_rate"], cfg)
    old = hyperparams["l2"]
    new_hyperparams = dict(hyperparams, l2=jnp.asarray(rule.l2, dtype=old.dtype).reshape(old.shape))
    return AutoL2OptState(inner=opt_state.inner._replace(hyperparams=new_hyperparams), autol2=rule)
