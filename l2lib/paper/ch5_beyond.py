"""Chapter 5: beyond constant learning rates — schedules, momentum and batch norm
(``book/ch5_beyond.ipynb``, paper §4 and the reviewers' questions).

In the premise (design fixed before the runs): chapter 1's Fashion-MNIST grid (λ × η × seeds)
for ``CH5_STEPS`` steps with (1) the authors' step schedule, (2) momentum μ at η(1 − μ) equal to
chapter 1's η, (3) batch norm (``ch5_fmnist_{step,momentum,bn}``); each read against chapter
1's constant-η plain-SGD run of the same setup truncated at ``CH5_STEPS`` (read by name through
the registry). Claims (each t* claim with chapter 1's null, p < ``analysis.NULL_ALPHA``):
momentum and batch norm — chapter 1's claims with η replaced by η/(1 − μ) for momentum, and c
within ``C_RATIO`` of chapter 1's c at the same budget; the step schedule — t* on L2's
integrated clock λ∫₀^{t*}η dt spreads less than on the naive clock λη₀t*, and collapses.

Batch norm and L2, the equilibrium of a scale-invariant weight's norm (artifact
``ch5_bn_equilibrium``): a weight W followed by batch norm leaves the loss unchanged when rescaled,
so the bare gradient is orthogonal to W and scales as 1/‖W‖; plain SGD on L + ½λ‖W‖² gives
‖W_{t+1}‖² = (1 − ηλ)²‖W_t‖² + η²‖g_t‖², and where the norm is stationary
‖W‖⁴ = η⟨‖g̃‖²⟩ / (λ(2 − ηλ)) ≈ η⟨‖g̃‖²⟩ / (2λ), reached on the time scale 1/(2λη) (van
Laarhoven 2017; Wan et al. 2021). :func:`bn_experiment` measures it per hidden layer, with and
without batch norm, within ``BN_EQUILIBRIUM_TOLERANCE``.

At the paper scale (CPU runs retired): the schedules (``schedule_*``), AutoL2 under a step
schedule (``ch5_autol2_mlp_step*``, judged by chapter 3's AutoL2 claims found through
:func:`l2lib.registry.claims_of`) and λ_opt(T) under a schedule (``ch5_optimal_l2_{step,cosine}_T*``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go

from l2lib import analysis, registry, store
from l2lib import claims as claims_lib
from l2lib import config as C
from l2lib import store as store_lib
from l2lib.analysis import Arrays
from l2lib.claims import Claim
from l2lib.config import Experiment
from l2lib.figures import (
    FAINT,
    add_member_sliders,
    add_value_slider,
    color_for,
    fmt_value,
    grid_values,
    hline,
    peak_marker,
)
from l2lib.paper import common, shared
from l2lib.paper.common import _fmt_acc, _pt, load_config, table
from l2lib.paper.shared import (
    ACCURACY_POINTS,
    AUTOL2_MLP_SEEDS,
    AUTOL2_MLP_STEPS,
    C_AGREEMENT,
    COLLAPSE_RATIO,
    L2_OPT_FACTOR,
    MLP_MODEL,
    SLOPE_TOLERANCE,
    TIMESCALE_HORIZON,
    TIMESCALE_LR,
    TIMESCALE_MAX_STEPS,
    TimescaleSummary,
    autol2_ci_config,
    autol2_cpu_config,
    inpremise_base,
    probe_c,
    timescale_claims,
    timescale_config,
    timescale_summary,
    unmeasured_premise,
    with_grid,
)
from l2lib.registry import get, scales

#: (chapter, experiment, claims generator) of this chapter in the book's order; registered
#: with l2lib.registry at the end of the module.
CLAIMS: list[tuple[str, str, Callable[[str, str, object], Iterator[Claim]]]] = []


register = registry.registrar("ch5")


CH5_SETUP = "fmnist"


CH5_STEPS = 20_000


CH5_VARIANTS = ("step", "momentum", "bn")


# --- experiments: schedules, momentum and batch norm at the paper scale (CPU runs retired) --------
#
# (1) Schedules. Every member trains the same fixed budget SCHEDULE_STEPS (the authors' setup:
# a fixed number of epochs, step ×0.2 at 30/60/90 %), so a schedule's decays fall at the same
# absolute steps for every λ and η. Were the budget each member's own λη-horizon, the naive clock
# λ·η₀·t and the integrated clock λ·∫η dt would be proportional member by member and could not
# be told apart. The budget is long enough that the member of smallest λη reaches λ·∫η dt = 3.2
# (chapter 1's c at horizon 4) before it ends under both schedules (step: ∫η = 0.373·η₀·T;
# cosine: 0.5·η₀·T). The largest λη (0.024) is twice chapter 1's largest: an extrapolation.
# The constant schedule at the same budget is the control (both clocks are one there).
#
# (2) Momentum: chapter 1's fitted grid at η/(1 − μ) equal to chapter 1's η, μ = 0.9, trained to
# the same horizon in effective units (λ·η/(1 − μ)·t = 4); compared with ``ch1_timescale_mlp``.
#
# (3) Batch norm: chapter 1's MLP with batch norm after each hidden layer (hidden weights become
# scale-invariant), chapter 1's fitted grid and horizon; compared with ``ch1_timescale_mlp``.

SCHEDULE_L2 = (6e-2, 2e-2, 6e-3)


SCHEDULE_LR = (0.1, 0.2, 0.4)


SCHEDULE_STEPS = 15_000


SCHEDULE_KINDS = ("step", "cosine", "constant")


MOMENTUM = 0.9


def _schedule(kind: str) -> Experiment:
    return C.cpu(
        data=C.DataConfig(name="mnist1d"),
        model=C.ModelConfig(kind="mlp", width=256, depth=2),
        optimizer=C.OptimizerConfig(batch_size=128, momentum=0.0, schedule=kind),
        grid=C.GridConfig(l2=SCHEDULE_L2, learning_rate=SCHEDULE_LR, seeds=(0,)),
        duration=C.DurationConfig(num_steps=SCHEDULE_STEPS, max_steps=SCHEDULE_STEPS),
        eval_every=25,
        group_size=3,
    )


def _schedule_ci(kind: str) -> Experiment:
    return C.ci(
        optimizer=C.OptimizerConfig(batch_size=32, schedule=kind),
        grid=C.GridConfig(l2=(0.1, 0.03), learning_rate=(0.1, 0.2)),
        duration=C.DurationConfig(num_steps=100),
        group_size=4,
    )


#: A fourth λ, added (from the design arithmetic, before any result of the first sweeps was
#: read) when it became clear that with c ≈ 3 only λη < c/(0.3·T) ≈ 7e-4 peaks after the step
#: schedule's first decay, the only members that can tell the clocks apart: chapter 1's
#: λ = 3e-3 puts λη = 3e-4 and a second 6e-4 there. Its own sweep (``schedule_KIND_low``),
#: merged with the first by :func:`schedule_results`.
SCHEDULE_LOW_L2 = (3e-3,)


def _schedule_low(kind: str) -> Experiment:
    cfg = _schedule(kind)
    return dataclasses.replace(cfg, grid=dataclasses.replace(cfg.grid, l2=SCHEDULE_LOW_L2))


for _kind in SCHEDULE_KINDS:
    register(f"ch5_schedule_{_kind}", "cpu")(lambda k=_kind: _schedule(k))
    register(f"ch5_schedule_{_kind}", "ci")(lambda k=_kind: _schedule_ci(k))
    register(f"ch5_schedule_{_kind}_low", "cpu")(lambda k=_kind: _schedule_low(k))


def schedule_results(kind: str, scale: str = "cpu", root=None, recompute: bool = False):
    """The ``schedule_KIND`` sweep, with ``schedule_KIND_low`` (where registered) appended
    along the member axis: one :class:`~l2lib.store.Results` whose config's grid holds every λ.

    Reads the store (``recompute``: train what is missing, as ``common.load_run`` does).
    """
    import numpy as np

    main = common.load_run(f"ch5_schedule_{kind}", scale, recompute, root)
    if scale not in scales(f"ch5_schedule_{kind}_low"):
        return main
    low = common.load_run(f"ch5_schedule_{kind}_low", scale, recompute, root)
    arrays = dict(main.arrays)
    for k, v in low.arrays.items():
        if np.ndim(v) >= 1 and np.shape(v)[0] == len(low.config.members()) and k != "eval_step":
            arrays[k] = np.concatenate([main.arrays[k], v])
    cfg = dataclasses.replace(
        main.config,
        grid=dataclasses.replace(main.config.grid, l2=main.config.grid.l2 + low.config.grid.l2),
    )
    return dataclasses.replace(main, arrays=arrays, config=cfg)


@register("ch5_timescale_mlp_momentum", "cpu")
def _timescale_mlp_momentum_cpu() -> Experiment:
    cfg = timescale_config(
        C.ModelConfig(kind="mlp", width=256, depth=2), 25, TIMESCALE_MAX_STEPS, ()
    )
    scale = 1.0 - MOMENTUM
    return dataclasses.replace(
        cfg,
        optimizer=dataclasses.replace(cfg.optimizer, momentum=MOMENTUM),
        grid=dataclasses.replace(
            cfg.grid, learning_rate=tuple(round(v * scale, 10) for v in TIMESCALE_LR)
        ),
        duration=dataclasses.replace(cfg.duration, horizon=round(TIMESCALE_HORIZON * scale, 10)),
        group_size=1,
    )


@register("ch5_timescale_mlp_bn", "cpu")
def _timescale_mlp_bn_cpu() -> Experiment:
    model = C.ModelConfig(kind="mlp", width=256, depth=2, batch_norm=True)
    return dataclasses.replace(timescale_config(model, 25, TIMESCALE_MAX_STEPS, ()), group_size=1)


@register("ch5_timescale_mlp_momentum", "ci")
def _timescale_mlp_momentum_ci() -> Experiment:
    return C.ci(
        optimizer=C.OptimizerConfig(batch_size=32, momentum=MOMENTUM),
        grid=C.GridConfig(l2=(0.1, 0.05), learning_rate=(0.01, 0.02)),
        duration=C.DurationConfig(num_steps=None, horizon=0.2, max_steps=200),
        group_size=2,
    )


@register("ch5_timescale_mlp_bn", "ci")
def _timescale_mlp_bn_ci() -> Experiment:
    return C.ci(
        model=C.ModelConfig(kind="mlp", width=32, depth=2, batch_norm=True),
        grid=C.GridConfig(l2=(0.1, 0.05), learning_rate=(0.1, 0.2)),
        duration=C.DurationConfig(num_steps=None, horizon=2.0, max_steps=200),
        group_size=2,
    )


# --- experiments: AutoL2 under a step schedule ----------------------------------------------------
#
# Chapter 3's MLP pair with the authors' step schedule (×0.2 at 30/60/90 % of the fixed budget)
# in both arms: AutoL2 from λ₀ = 0.1 against the constant-λ grid, same data, seeds and budget.


def _autol2_step(auto: bool) -> Experiment:
    cfg = autol2_cpu_config(
        MLP_MODEL, AUTOL2_MLP_STEPS, AUTOL2_MLP_SEEDS, auto, len(AUTOL2_MLP_SEEDS)
    )
    return dataclasses.replace(cfg, optimizer=dataclasses.replace(cfg.optimizer, schedule="step"))


def _autol2_step_ci(auto: bool) -> Experiment:
    cfg = autol2_ci_config(C.ModelConfig(kind="mlp", width=32, depth=2), auto)
    return dataclasses.replace(cfg, optimizer=dataclasses.replace(cfg.optimizer, schedule="step"))


register("ch5_autol2_mlp_step", "cpu")(lambda: _autol2_step(True))


register("ch5_autol2_mlp_step_const", "cpu")(lambda: _autol2_step(False))


register("ch5_autol2_mlp_step", "ci")(lambda: _autol2_step_ci(True))


register("ch5_autol2_mlp_step_const", "ci")(lambda: _autol2_step_ci(False))


# --- experiments: λ_opt(T) under a schedule -------------------------------------------------------
#
# Chapter 2's prediction, made from chapter 2's one constant-η probe (c = λ₀·η·t*, the stored
# ``ch2_optimal_l2_probe``), used under the step and cosine schedules of (1), at chapter 2's η₀
# (OPTIMAL_L2_LR), λ grid (OPTIMAL_L2_GRID, λ = 0 included), data, model and batch. The engine
# reads a schedule's fractions from the member's own duration (``train.lr_at``), so the schedule
# stretches with the budget: a run of T steps is not a truncated longer run, and each
# (schedule, T) is its own sweep, ``optimal_l2_KIND_TT``, every member exactly T steps. Its
# predicted runs, ``optimal_l2_KIND_TT_predicted``, are two members of T steps: the naive
# λ = c/(η₀T) and the integrated λ = c/∫₀ᵀη dt, with ∫η dt summed update by update from
# ``train.lr_at`` (step: 0.373·η₀T; cosine: ≈ 0.5·η₀T), so the integrated prediction is 2.7×
# (step) or 2× (cosine) the naive one. The constant-η control at the same budgets is chapter 2's
# sweep and predicted runs read at T (a constant-η run truncated at T is a run of T steps).
#
# Fixed here before any run: the budgets (a decade-wide subset of chapter 2's, so the control
# exists at each), the grid, η₀, and the goals below — chapter 2's (the integrated
# prediction within ×2 of the sweep's best λ and at most 1 point below its best accuracy, at
# every budget), plus which clock's prediction lies closer to the best λ. Cost (cpu): 9 members ×
# 17 000 steps per schedule, and 2 × 17 000 for the predicted runs.

#: Schedules under which the prediction is tested.
SCHEDULE_L2OPT_KINDS = ("step", "cosine")


#: Budgets T (steps), per scale; every one is also a chapter-2 budget at cpu scale.
SCHEDULE_L2OPT_BUDGETS = {"ci": (40, 80), "cpu": (2000, 5000, 10000)}


def schedule_l2opt_name(kind: str, budget: int) -> str:
    """The name of the λ sweep under schedule ``kind`` with budget ``budget`` steps."""
    return f"ch5_optimal_l2_{kind}_T{int(budget)}"


def _schedule_l2opt(kind: str, scale: str, budget: int) -> Experiment:
    base = get("ch2_optimal_l2", scale)
    return dataclasses.replace(
        base,
        optimizer=dataclasses.replace(base.optimizer, schedule=kind),
        duration=C.DurationConfig(num_steps=int(budget), max_steps=int(budget)),
    )


def schedule_l2opt_predicted(kind: str, scale: str, budget: int, c: float) -> Experiment:
    """The two runs at the predicted λ for schedule ``kind`` and budget T = ``budget``:
    λ = c/(η₀T) (naive clock) and λ = c/∫₀ᵀη dt (integrated clock), in that order.

    ∫η dt is :func:`l2lib.train.integrated_lr` of the sweep's config (the engine's own η_t,
    update by update). Everything else is the sweep's (``schedule_l2opt_name(kind, budget)``).
    """
    from l2lib import analysis, train

    base = get(schedule_l2opt_name(kind, budget), scale)
    eta = base.grid.learning_rate[0]
    naive = analysis.predict_l2(c, eta, budget)
    integrated = analysis.predict_l2(c, train.integrated_lr(base, eta, budget) / budget, budget)
    return dataclasses.replace(
        base,
        name=f"{schedule_l2opt_name(kind, budget)}_predicted",
        grid=dataclasses.replace(base.grid, l2=(naive, integrated)),
    )


for _kind in SCHEDULE_L2OPT_KINDS:
    for _scale, _budgets in SCHEDULE_L2OPT_BUDGETS.items():
        for _T in _budgets:
            _name = schedule_l2opt_name(_kind, _T)
            register(_name, _scale)(lambda k=_kind, s=_scale, T=_T: _schedule_l2opt(k, s, T))
            # Built from the stored probe's c, as chapter 2's predicted runs (never trains).
            register(f"{_name}_predicted", _scale)(
                lambda k=_kind, s=_scale, T=_T: schedule_l2opt_predicted(k, s, T, probe_c(s).c)
            )


def _ch5(variant: str) -> Experiment:
    cfg = dataclasses.replace(
        inpremise_base(CH5_SETUP), duration=C.DurationConfig(num_steps=CH5_STEPS), group_size=6
    )
    if variant == "step":
        return dataclasses.replace(
            cfg, optimizer=dataclasses.replace(cfg.optimizer, schedule="step")
        )
    if variant == "momentum":
        lrs = tuple(round(v * (1.0 - MOMENTUM), 10) for v in cfg.grid.learning_rate)
        return dataclasses.replace(
            with_grid(cfg, learning_rate=lrs),
            optimizer=dataclasses.replace(cfg.optimizer, momentum=MOMENTUM),
        )
    if variant == "bn":
        return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, batch_norm=True))
    raise ValueError(f"unknown chapter-5 variant {variant!r}; choose one of {CH5_VARIANTS}")


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

    store_lib.forbid_training()
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


#: Artifact name → (config for a scale, computation). ``python -m l2lib artifact NAME``.
#: c of a variant within this factor of chapter 1's c at the same budget.
C_RATIO = 2.0


#: The members a claim of this chapter needs at least.
MIN_USED = 3


def _load(name: str, root=None, recompute: bool = False) -> store_lib.Results:

    return common.load_run(name, "cpu", recompute, root)


def effective(res: store_lib.Results) -> store_lib.Results:
    """A momentum run seen in effective units: every η replaced by η/(1 − μ) (a view; the
    stored run is unchanged). Without momentum the run itself."""
    mu = float(res.config.optimizer.momentum)
    if mu == 0:
        return res
    arrays = dict(res.arrays)
    arrays["member_learning_rate"] = np.asarray(res.arrays["member_learning_rate"]) / (1.0 - mu)
    lrs = tuple(round(v / (1.0 - mu), 10) for v in res.config.grid.learning_rate)
    cfg = dataclasses.replace(
        res.config, grid=dataclasses.replace(res.config.grid, learning_rate=lrs)
    )
    return dataclasses.replace(res, arrays=arrays, config=cfg)


def plain(root=None, recompute: bool = False) -> store_lib.Results:
    """Chapter 1's plain-SGD, constant-η run of this chapter's setup, cut at ``CH5_STEPS``."""
    res = _load(shared.INPREMISE_SETUPS[CH5_SETUP], root, recompute)
    cfg = dataclasses.replace(
        res.config,
        duration=dataclasses.replace(res.config.duration, num_steps=CH5_STEPS),
    )
    return dataclasses.replace(res, arrays=analysis.truncate(res.arrays, CH5_STEPS), config=cfg)


def c_ratio_score(l2: np.ndarray, learning_rate: np.ndarray, c_reference: float):
    """|log10 (c/c_reference)| with c the geometric mean of λη·t* (a null's score)."""
    x = np.log10(np.asarray(l2, np.float64) * np.asarray(learning_rate, np.float64))

    def score(t_star: np.ndarray) -> float:
        return abs(float(np.mean(x + np.log10(t_star))) - float(np.log10(c_reference)))

    return score


class Variant(NamedTuple):
    """A variant read by chapter 1's estimator, and its c against plain SGD's."""

    name: str
    label: str
    run: store_lib.Results  # in effective units for momentum
    summary: shared.PremiseSummary
    c_plain: float
    c_null: analysis.NullTest | None


def variant(name: str, label: str, run: store_lib.Results, c_plain: float) -> Variant:
    s = shared.premise_summary(run)
    pk, u = s.full.peaks, s.full.used
    null = None
    if u.sum() >= 1 and np.isfinite(c_plain):
        cands = [pk.candidates[i] for i in np.flatnonzero(u)]
        null = analysis.null_test(
            c_ratio_score(pk.l2[u], pk.learning_rate[u], c_plain), pk.t_star[u], cands
        )
    return Variant(name, label, run, s, c_plain, null)


class Clocks(NamedTuple):
    """The step schedule: each (λ, η)'s t* on the naive and the integrated clock."""

    run: store_lib.Results
    peaks: analysis.SeedPeaks
    used: np.ndarray  # (G,) in the premise, not censored, not diverged
    naive: np.ndarray  # (G,) λη₀t*
    integrated: np.ndarray  # (G,) λ∫₀^{t*}η dt
    clock_null: analysis.NullTest | None  # score: spread integrated / spread naive
    collapse_null: analysis.NullTest | None  # score: spread integrated / spread log t*


def integrated_at(run: store_lib.Results, l2: np.ndarray, lr: np.ndarray, t_star: np.ndarray):
    """λ·Σ_{s < t*} η_s for each (λ, η₀, t*) under the run's schedule (η_s from the engine's
    own rule, :func:`l2lib.analysis.lr_schedule`; every member runs the same budget)."""
    end = int(max(run.config.steps_per_member()))
    out = np.full(len(t_star), np.nan)
    for i, (a, b, t) in enumerate(zip(l2, lr, t_star)):
        if np.isfinite(t):
            eta = analysis.lr_schedule(run.config.optimizer, float(b), end, int(t))
            out[i] = float(a) * float(np.sum(eta))
    return out


def clock_scores(run, l2, lr):
    """(integrated/naive spread, integrated/log t* spread) as null scores of t*."""

    def spreads(t):
        integ = np.log10(integrated_at(run, l2, lr, t))
        naive = np.log10(l2 * lr * t)
        return float(np.std(integ)), float(np.std(naive)), float(np.std(np.log10(t)))

    def clock(t):
        i, n, _ = spreads(t)
        return i / n if n > 0 else float("inf")

    def collapse(t):
        i, _, s = spreads(t)
        return i / s if s > 0 else float("inf")

    return clock, collapse


def clocks(run: store_lib.Results) -> Clocks:
    pk = analysis.seed_peaks(run.arrays)
    used = pk.in_premise & ~pk.censored & ~pk.diverged & np.isfinite(pk.t_star)
    naive = pk.l2 * pk.learning_rate * pk.t_star
    integ = integrated_at(run, pk.l2, pk.learning_rate, pk.t_star)
    cn = col = None
    if used.sum() >= MIN_USED:
        l2, lr = pk.l2[used], pk.learning_rate[used]
        cands = [pk.candidates[i] for i in np.flatnonzero(used)]
        clock, collapse = clock_scores(run, l2, lr)
        cn = analysis.null_test(clock, pk.t_star[used], cands)
        col = analysis.null_test(collapse, pk.t_star[used], cands)
    return Clocks(run, pk, used, naive, integ, cn, col)


@dataclasses.dataclass(frozen=True)
class Summary:
    plain: store_lib.Results
    plain_reading: shared.BudgetReading
    variants: dict  # "momentum", "bn" → Variant
    step: Clocks


VARIANT_LABELS = {
    "momentum": "momentum μ = 0.9, in η/(1−μ)",
    "bn": "batch norm",
    "step": "step schedule",
}


def summary(root=None, recompute: bool = False) -> Summary:
    """Read chapter 5's runs and chapter 1's reference."""
    ref = plain(root, recompute)
    reading = shared.read_budget(ref.arrays, CH5_STEPS)
    variants = {}
    for v in ("momentum", "bn"):
        run = effective(_load(f"ch5_{CH5_SETUP}_{v}", root, recompute))
        variants[v] = variant(v, VARIANT_LABELS[v], run, reading.c)
    step = clocks(_load(f"ch5_{CH5_SETUP}_step", root, recompute))
    return Summary(ref, reading, variants, step)


def claims(s: Summary, base_label: str):

    for v in s.variants.values():
        label = f"{base_label}, {v.label}"
        yield from claims_lib.as_chapter(shared.premise_claims(v.summary, label), "ch5")
        f = v.summary.full
        if v.c_null is None:
            yield Claim(
                "ch5",
                f"{label}: c against plain SGD's",
                False,
                "no usable (λ, η)",
                f"within ×{C_RATIO:g}",
            )
            continue
        ratio = f.c / v.c_plain
        yield Claim(
            "ch5",
            f"{label}: c against plain SGD's",
            bool(max(ratio, 1 / ratio) <= C_RATIO and v.c_null.p_value < analysis.NULL_ALPHA),
            f"c = {f.c:.3g} against {v.c_plain:.3g} without (chapter 1's run at T = "
            f"{CH5_STEPS}): ratio {ratio:.2f}; null median |log10 ratio| "
            f"{v.c_null.null_median:.2f}",
            f"within ×{C_RATIO:g} and null p < {analysis.NULL_ALPHA}",
            null_p=v.c_null.p_value,
            premise=shared.premise_count(f.peaks),
            summary=f"c ratio {ratio:.2f}",
        )
    st = s.step
    label = f"{base_label}, {VARIANT_LABELS['step']}"
    where = shared.premise_count(st.peaks)
    if st.clock_null is None:
        yield Claim(
            "ch5",
            f"{label}: integrated vs naive clock",
            False,
            f"{int(st.used.sum())} usable (λ, η)",
            f"≥ {MIN_USED}",
            premise=where,
        )
        return
    u = st.used
    s_t = float(np.std(np.log10(st.peaks.t_star[u])))
    s_n = float(np.std(np.log10(st.naive[u])))
    s_i = float(np.std(np.log10(st.integrated[u])))
    per = ", ".join(
        f"λ={a:g},η₀={b:g}: t*={t:.0f}, λη₀t*={n:.3g}, λ∫η={i:.3g}"
        for a, b, t, n, i in zip(
            st.peaks.l2[u],
            st.peaks.learning_rate[u],
            st.peaks.t_star[u],
            st.naive[u],
            st.integrated[u],
        )
    )
    yield Claim(
        "ch5",
        f"{label}: integrated vs naive clock",
        bool(st.clock_null.observed < 1 and st.clock_null.p_value < analysis.NULL_ALPHA),
        f"std log10: t* {s_t:.3f}, λη₀t* {s_n:.3f}, λ∫η·t* {s_i:.3f} (ratio {st.clock_null.observed:.2f}; "
        f"null median {st.clock_null.null_median:.2f}); {per}",
        f"integrated spread < naive spread and null p < {analysis.NULL_ALPHA}",
        null_p=st.clock_null.p_value,
        premise=where,
        summary=f"spread ratio {st.clock_null.observed:.2f}",
    )
    yield Claim(
        "ch5",
        f"{label}: collapse in λ∫η dt",
        bool(
            st.collapse_null.observed <= shared.COLLAPSE_RATIO
            and st.collapse_null.p_value < analysis.NULL_ALPHA
        ),
        f"std log10 t* {s_t:.3f} → std log10 λ∫η·t* {s_i:.3f} (ratio {st.collapse_null.observed:.2f}; "
        f"null median {st.collapse_null.null_median:.2f})",
        f"ratio ≤ {shared.COLLAPSE_RATIO:.2f} and null p < {analysis.NULL_ALPHA}",
        null_p=st.collapse_null.p_value,
        premise=where,
        summary=f"spread ratio {st.collapse_null.observed:.2f}",
    )


def check_claims(name: str, scale: str, root):
    """``CLAIMS`` entry (named by the momentum run): every chapter-5 t* claim."""

    s = summary(root)
    yield from claims(s, shared.setup_label(s.plain.config))


CLAIMS += [("ch5", f"ch5_{CH5_SETUP}_momentum", check_claims)]


# --- what the chapter shows ---------------------------------------------------------------------


def clocks_figure(st: Clocks, title: str = "Step schedule: t* on each clock"):
    """Each (λ, η₀)'s t* read on the naive clock λη₀t* (hollow) and on the integrated clock
    λ∫η dt (filled), against λη₀; a clock that collapses the peaks puts them on a horizontal
    line. Members outside the claims are grey. Pure."""
    import plotly.graph_objects as go

    from l2lib import figures

    pk = st.peaks
    x = pk.l2 * pk.learning_rate
    fig = go.Figure()
    lrs = sorted(set(pk.learning_rate.tolist()))
    for j, eta in enumerate(lrs):
        for used in (True, False):
            sel = (pk.learning_rate == eta) & (st.used == used) & np.isfinite(pk.t_star)
            if not sel.any():
                continue
            col = figures.color_for(j) if used else "gray"
            tag = "" if used else " (not used)"
            fig.add_trace(
                go.Scatter(
                    x=x[sel],
                    y=st.naive[sel],
                    mode="markers",
                    marker=dict(size=11, color="white", line=dict(color=col, width=2)),
                    name=f"η₀={eta:g}: λη₀t*{tag}",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x[sel],
                    y=st.integrated[sel],
                    mode="markers",
                    marker=dict(size=11, color=col),
                    name=f"η₀={eta:g}: λ∫η dt at t*{tag}",
                )
            )
    fig.update_xaxes(type="log", title="λη₀")
    fig.update_yaxes(type="log", title="clock at t*")
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.25), height=480)
    return fig


def c_table(s: Summary):
    """c of plain SGD and of each variant at the same budget, with the members they use."""

    rows = [
        [
            "plain SGD (chapter 1, cut at T)",
            f"{s.plain_reading.c:.3g}",
            int(s.plain_reading.used.sum()),
            "—",
        ]
    ]
    for v in s.variants.values():
        f = v.summary.full
        rows.append(
            [
                v.label,
                f"{f.c:.3g}",
                int(f.used.sum()),
                f"{f.c / v.c_plain:.2f}"
                + ("" if v.c_null is None else f" (null p {v.c_null.p_value:.3f})"),
            ]
        )
    return common.table(
        ["run", "c = λη·t* (geometric mean)", "(λ, η) used", "ratio to plain"],
        rows,
        caption=f"every run {CH5_STEPS} steps",
    )


# --- claims of the paper-scale runs: schedules, momentum, batch norm ------------------------------
#
# Goals fixed before the runs. Schedules (fixed budget, decays at the same steps for every
# member): the integrated clock λ∫η dt is "the right clock" if the peaks' spread in it is
# smaller than in the naive λη₀t; and the relation survives the schedule if that spread is at
# most chapter 1's COLLAPSE_RATIO × the spread of log t*. Momentum: t* ≈ c/(λη/(1 − μ)) with
# the c of μ = 0 (chapter 1's MLP) within C_AGREEMENT, and chapter 1's slope goal in η/(1 − μ).
# Batch norm: chapter 1's slope and per-η c goals; the equilibrium norm of each hidden layer
# within BN_EQUILIBRIUM_TOLERANCE of (η⟨‖g̃‖²⟩/(λ(2 − ηλ)))^¼.

BN_EQUILIBRIUM_TOLERANCE = 0.10


def schedule_summary(res: store_lib.Results) -> analysis.ClockCollapse:
    """The clock collapse of one chapter-5 schedule sweep (every member with a usable peak)."""
    return analysis.clock_collapse(res.arrays, res.config)


def _schedule_claims(name: str, scale: str, root) -> Iterator[Claim]:
    res = schedule_results(name.removeprefix("ch5_schedule_"), scale, root)
    s = schedule_summary(res)
    pk = analysis.peaks(res.arrays)
    cfg = res.config
    n_all = len(pk.t_star)
    used = s.used
    total = cfg.duration.num_steps
    if cfg.optimizer.schedule == "step":
        first = min(cfg.optimizer.step_boundaries) * total
        late = int(np.sum(pk.t_star[used] > first))
        where = f"{late} of {int(used.sum())} peak after the first decay (step {first:.0f})"
    elif cfg.optimizer.schedule == "cosine":
        where = "clocks differ from the first step"
    else:
        where = "one clock (constant η)"
    spreads = (
        f"std log10 t* {s.spread_steps:.3f}; λη₀t* {s.spread_naive:.3f}; "
        f"λ∫η·t* {s.spread_integrated:.3f}"
    )
    info = f"n={int(used.sum())} of {n_all} ({n_all - int(used.sum())} censored); {where}"
    if cfg.optimizer.schedule != "constant":
        yield Claim(
            "ch5",
            f"{name}: integrated vs naive clock",
            bool(s.spread_integrated < s.spread_naive),
            f"{spreads} (ratio integrated/naive {s.ratio:.2f}); {info}",
            "integrated spread < naive spread",
        )
    ratio = s.spread_integrated / s.spread_steps if s.spread_steps > 0 else float("nan")
    yield Claim(
        "ch5",
        f"{name}: collapse in λ∫η dt",
        bool(ratio <= COLLAPSE_RATIO),
        f"std log10 t* {s.spread_steps:.3f} -> std log10 λ∫η·t* {s.spread_integrated:.3f} "
        f"(ratio {ratio:.2f}); {info}",
        f"ratio ≤ {COLLAPSE_RATIO:.2f}",
    )


def momentum_c(res: store_lib.Results) -> tuple[TimescaleSummary, float, float]:
    """(summary, μ, c in effective units λ·η/(1 − μ)·t*) of a timescale sweep with momentum."""
    s = timescale_summary(res)
    mu = res.config.optimizer.momentum
    return s, mu, s.fit.c / (1.0 - mu)


def _momentum_claims(name: str, scale: str, root) -> Iterator[Claim]:
    st = store_lib.Store(root)
    res = st.load(registry.get(name, scale))
    ref = timescale_summary(st.load(registry.get("ch1_timescale_mlp", scale)))
    s, mu, c_eff = momentum_c(res)
    slope = s.fit.slope  # invariant under the constant factor 1/(1 − μ)
    yield Claim(
        "ch5",
        f"{name}: slope in λη/(1−μ)",
        abs(slope + 1) <= SLOPE_TOLERANCE,
        f"{slope:+.3f} (95% CI {s.fit.slope_ci[0]:+.3f}, {s.fit.slope_ci[1]:+.3f}; n={s.fit.n})",
        f"-1 ± {SLOPE_TOLERANCE}",
    )
    r = c_eff / ref.fit.c
    yield Claim(
        "ch5",
        f"{name}: c(μ={mu:g}) vs c(μ=0)",
        max(r, 1 / r) <= C_AGREEMENT,
        f"c = λη/(1−μ)·t* = {c_eff:.3g} (95% CI {s.fit.c_ci[0] / (1 - mu):.3g}, "
        f"{s.fit.c_ci[1] / (1 - mu):.3g}) vs μ=0: {ref.fit.c:.3g}; ratio {r:.2f}",
        f"within ×{C_AGREEMENT:g}",
    )


def _bn_timescale_claims(name: str, scale: str, root) -> Iterator[Claim]:
    st = store_lib.Store(root)
    ref = timescale_summary(st.load(registry.get("ch1_timescale_mlp", scale)))
    for c in claims_lib.as_chapter(timescale_claims(name, scale, root), "ch5"):
        if "c = λη·t*" in c.name:
            s = timescale_summary(st.load(registry.get(name, scale)))
            c = Claim(
                c.chapter,
                c.name,
                c.passed,
                c.measured + f"; without BN c = {ref.fit.c:.3g} (ratio {s.fit.c / ref.fit.c:.2f})",
                c.goal,
            )
        yield c


def _bn_equilibrium_claims(name: str, scale: str, root) -> Iterator[Claim]:

    cfg, art = store_lib.load_registered_artifact(name, scale, root=root, compute=False)
    e = equilibrium(art.arrays, cfg)
    bn = e.ratio[1]
    worst = float(np.max(np.abs(bn - 1)))
    per = ", ".join(
        f"λ={lam:g},η={eta:g}: " + "/".join(f"{v:.3f}" for v in bn[i])
        for i, (lam, eta) in enumerate(cfg.pairs)
    )
    yield Claim(
        "ch5",
        "BN: equilibrium ‖W‖ vs (η‖g̃‖²/2λ)^¼",
        worst <= BN_EQUILIBRIUM_TOLERANCE,
        f"measured/predicted per layer {per}; worst |ratio−1| {worst:.3f}; |cos(g,W)| "
        f"{float(e.abs_cos[1].max()):.1e} (BN) vs {float(e.abs_cos[0].mean()):.2f} (no BN); "
        f"same formula without BN: ratios {float(e.ratio[0].min()):.2f}–{float(e.ratio[0].max()):.2f}",
        f"within {BN_EQUILIBRIUM_TOLERANCE:.0%}, every layer and (λ, η)",
    )


CLAIMS += [
    ("ch5", "ch5_schedule_step", _schedule_claims),
    ("ch5", "ch5_schedule_cosine", _schedule_claims),
    ("ch5", "ch5_schedule_constant", _schedule_claims),
    ("ch5", "ch5_timescale_mlp_momentum", _momentum_claims),
    ("ch5", "ch5_timescale_mlp_bn", _bn_timescale_claims),
    # Not a t* claim, on the older MNIST-1D setup without the full-train record: kept as it was.
    (
        "ch5",
        "ch5_bn_equilibrium",
        lambda n, s, r: unmeasured_premise(_bn_equilibrium_claims(n, s, r)),
    ),
    # AutoL2 under the step schedule: chapter 3's claims and goal, both arms on the schedule.
    (
        "ch5",
        "ch5_autol2_mlp_step",
        lambda n, s, r: claims_lib.as_chapter(registry.claims_of("ch3_autol2_mlp")(n, s, r), "ch5"),
    ),
]


# --- claims: λ_opt(T) under a schedule ------------------------------------------------------------
#
# Chapter 2's prediction made from its constant-η probe and used under the step and cosine
# schedules (SCHEDULE_L2OPT_* above): at each budget T, the sweep's best λ against the
# naive c/(η₀T) and the integrated c/∫₀ᵀη dt. Goals, fixed before the runs: chapter 2's for the
# integrated prediction — within ×L2_OPT_FACTOR of the best λ (a best λ = 0 is a miss) and at
# most ACCURACY_POINTS below the best accuracy, at every budget; and the integrated prediction
# is the better of the two: its geometric-mean factor from the best λ over the budgets is
# smaller than the naive one's (over the budgets where the best λ is not 0).


@dataclass(frozen=True)
class ScheduleL2OptSummary:
    """λ_opt(T) under one schedule: each budget's λ curve and the two predictions."""

    schedule: str
    c: analysis.CMeasurement
    l2: np.ndarray  # (M,) the sweep's λ (the same grid at every budget)
    accuracy: dict[int, np.ndarray]  # budget T -> (M,) best test accuracy within T
    validation: list[analysis.ScheduleValidation]

    def mean_factor_from_best(self, clock: str) -> float:
        """Geometric mean over the budgets of the ``clock`` (``naive``/``integrated``)
        prediction's factor from the best λ (budgets whose best λ is 0 left out; NaN if none)."""
        r = np.array([getattr(v, f"{clock}_ratio") for v in self.validation], np.float64)
        r = r[np.isfinite(r)]
        return float(np.exp(np.mean(np.log(r)))) if r.size else float("nan")


def schedule_l2opt_summary(
    schedule: str,
    sweeps: dict[int, analysis.Arrays],
    predicted: dict[int, analysis.Arrays],
    c: analysis.CMeasurement,
    integrals: dict[int, float],
) -> ScheduleL2OptSummary:
    """The summary from arrays: per budget T, the λ sweep under the schedule (``sweeps[T]``),
    the runs at both predicted λ (``predicted[T]``) and the schedule's ∫₀ᵀη dt; c (and η₀)
    from the constant-η probe's measurement."""
    budgets = sorted(sweeps)
    l2 = np.asarray(sweeps[budgets[0]]["member_l2"], np.float64)
    return ScheduleL2OptSummary(
        schedule=schedule,
        c=c,
        l2=l2,
        accuracy={T: analysis.best_within(sweeps[T], T) for T in budgets},
        validation=[
            analysis.validate_schedule_prediction(
                sweeps[T], predicted[T], c.c, c.learning_rate, T, integrals[T]
            )
            for T in budgets
        ],
    )


def load_schedule_l2opt_summary(
    kind: str, scale: str, root=None, load=None
) -> ScheduleL2OptSummary:
    """The summary of schedule ``kind`` from the store (never trains; ``load(cfg)``, default
    ``Store(root).load``, may train instead). ``kind="constant"`` is the control: chapter 2's
    sweep and predicted runs read at the same budgets (both predictions are then c/(ηT))."""
    from l2lib import train

    load = load or store_lib.Store(root).load
    probe = load(registry.get("ch2_optimal_l2_probe", scale))
    c = analysis.read_c(probe.arrays, probe.config)
    budgets = SCHEDULE_L2OPT_BUDGETS[scale]
    sweeps, predicted, integrals = {}, {}, {}
    if kind == "constant":
        sweep = load(registry.get("ch2_optimal_l2", scale))
        pred = load(shared.optimal_l2_predicted(scale, c.c))
        sweeps = {T: sweep.arrays for T in budgets}
        predicted = {T: pred.arrays for T in budgets}
        # η₀T exactly, so that both predictions are chapter 2's c/(ηT) to the last digit.
        integrals = {T: c.learning_rate * T for T in budgets}
    else:
        for T in budgets:
            res = load(registry.get(schedule_l2opt_name(kind, T), scale))
            sweeps[T] = res.arrays
            predicted[T] = load(schedule_l2opt_predicted(kind, scale, T, c.c)).arrays
            integrals[T] = train.integrated_lr(res.config, c.learning_rate, T)
    return schedule_l2opt_summary(kind, sweeps, predicted, c, integrals)


def schedule_l2opt_claims(s: ScheduleL2OptSummary) -> Iterator[Claim]:
    """The three claims of one schedule (goals: chapter 2's constants, see above)."""
    v, k = s.validation, s.schedule
    yield Claim(
        "ch5",
        f"λ_opt under {k}: c/∫η vs the sweep's best λ",
        all(x.integrated_ratio <= L2_OPT_FACTOR for x in v),
        f"c = {s.c.c:.3g}; "
        + "; ".join(
            f"T={x.budget}: best {x.best_l2:.3g}, c/∫η {x.integrated_l2:.3g} "
            f"(×{x.integrated_ratio:.2f}), c/(η₀T) {x.naive_l2:.3g} (×{x.naive_ratio:.2f})"
            for x in v
        ),
        f"c/∫η within ×{L2_OPT_FACTOR:g} at every budget",
    )
    yield Claim(
        "ch5",
        f"λ_opt under {k}: accuracy at c/∫η vs the best",
        all(x.integrated_gap <= ACCURACY_POINTS for x in v),
        "; ".join(
            f"T={x.budget}: best {_fmt_acc(x.best_accuracy)}, c/∫η "
            f"{_fmt_acc(x.integrated_accuracy)} (gap {100 * x.integrated_gap:.1f} pt), c/(η₀T) "
            f"{_fmt_acc(x.naive_accuracy)} (gap {100 * x.naive_gap:.1f} pt)"
            for x in v
        ),
        f"c/∫η gap ≤ {100 * ACCURACY_POINTS:g} point at every budget",
    )
    fi, fn = s.mean_factor_from_best("integrated"), s.mean_factor_from_best("naive")
    gi = float(np.mean([x.integrated_gap for x in v]))
    gn = float(np.mean([x.naive_gap for x in v]))
    if fi < fn:
        verdict = f"integrated closer, by ×{fn / fi:.2f}"
    elif fn < fi:
        verdict = f"naive closer, by ×{fi / fn:.2f}"
    else:
        verdict = "neither closer"
    yield Claim(
        "ch5",
        f"λ_opt under {k}: integrated vs naive clock",
        bool(fi < fn),
        f"factor from the best λ (geometric mean over T): c/∫η ×{fi:.2f}, c/(η₀T) ×{fn:.2f} "
        f"({verdict}); mean accuracy gap {100 * gi:.1f} pt vs {100 * gn:.1f} pt",
        "c/∫η closer to the best λ than c/(η₀T)",
    )


def _schedule_l2opt_claims(name: str, scale: str, root) -> Iterator[Claim]:
    yield from schedule_l2opt_claims(
        load_schedule_l2opt_summary(name.removeprefix("ch5_optimal_l2_"), scale, root)
    )


CLAIMS += [("ch5", f"ch5_optimal_l2_{k}", _schedule_l2opt_claims) for k in SCHEDULE_L2OPT_KINDS]


# --- tables of the paper-scale runs ---------------------------------------------------------------


def schedule_table(res: store.Results, summary):
    """Per member of a chapter-5 schedule sweep: t*, best accuracy, and each clock at t*."""
    from l2lib import analysis

    a = res.arrays
    pk = analysis.peaks(a)
    rows = []
    for i in range(len(a["member_l2"])):
        role = "used" if summary.used[i] else "censored" if pk.censored[i] else "left out"
        rows.append(
            [
                f"{float(a['member_l2'][i]):g}",
                f"{float(a['member_learning_rate'][i]):g}",
                f"{float(a['member_l2'][i] * a['member_learning_rate'][i]):.2g}",
                f"{pk.t_star[i]:.0f}",
                f"{pk.best_accuracy[i]:.3f}",
                f"{summary.naive[i]:.3g}",
                f"{summary.integrated[i]:.3g}",
                role,
            ]
        )
    return table(
        ["λ", "η₀", "λη₀", "t*", "best acc", "λη₀·t*", "λ∫η dt at t*", "role"],
        rows,
        caption=f"{res.config.name}: every member, {res.config.duration.num_steps} steps each",
    )


def bn_table(arrays, cfg):
    """Per (λ, η) and hidden layer: the equilibrium norm and effective learning rate, measured
    on the late window against the stationary prediction (:mod:`l2lib.paper.ch5_beyond`)."""

    e = equilibrium(arrays, cfg)
    rows = []
    for p, (lam, eta) in enumerate(cfg.pairs):
        for layer in range(e.norm.shape[-1]):
            rows.append(
                [
                    f"{lam:g}",
                    f"{eta:g}",
                    layer + 1,
                    f"{e.norm[1, p, layer]:.3g}",
                    f"{e.predicted[1, p, layer]:.3g}",
                    f"{e.ratio[1, p, layer]:.3f}",
                    f"{e.effective_lr[1, p, layer]:.3g}",
                    f"{e.effective_lr_predicted[1, p, layer]:.3g}",
                    f"{e.abs_cos[1, p, layer]:.1e}",
                    f"{e.norm[0, p, layer]:.3g}",
                    f"{e.abs_cos[0, p, layer]:.2f}",
                ]
            )
    return table(
        [
            "λ",
            "η",
            "layer",
            "‖W‖ (BN)",
            "predicted",
            "ratio",
            "η/‖W‖²",
            "predicted",
            "|cos(g, W)|",
            "‖W‖ (no BN)",
            "|cos| (no BN)",
        ],
        rows,
        caption=(
            f"Hidden layers, mean over steps > {cfg.window_start:g}·{cfg.num_steps}: with batch "
            "norm against (η⟨‖g̃‖²⟩/(λ(2 − ηλ)))^¼, and the same network without batch norm"
        ),
    )


def schedule_spreads_table(runs, exclude_l2: float | None = None):
    """Per schedule: the spread (std of log10) of t*, λη₀·t* and λ∫η dt at t*, over every usable
    member and, post hoc, without the members of λ = ``exclude_l2``."""
    from l2lib import analysis

    rows = []
    for kind, res in runs.items():
        subsets = [("all", None)]
        if exclude_l2 is not None:
            subsets.append(
                (f"λ ≠ {exclude_l2:g} (post hoc)", res.arrays["member_l2"] != exclude_l2)
            )
        for label, mask in subsets:
            s = analysis.clock_collapse(res.arrays, res.config, mask=mask)
            rows.append(
                [
                    kind,
                    label,
                    int(s.used.sum()),
                    f"{s.spread_steps:.3f}",
                    f"{s.spread_naive:.3f}",
                    f"{s.spread_integrated:.3f}",
                    f"{s.ratio:.2f}",
                ]
            )
    return table(
        ["schedule", "members", "n", "std log t*", "std log λη₀t*", "std log λ∫η", "integ/naive"],
        rows,
        caption="Spread of the peaks in steps and in each clock (smaller: better collapse)",
    )


class ScheduleL2OptRuns(NamedTuple):
    """λ_opt(T) under a schedule: the summary per schedule (the constant one is chapter 2's
    runs read at the same budgets) and every stored run it was made from."""

    summaries: dict
    runs: list


def load_schedule_l2opt(
    scale: str = "cpu", recompute: bool = False, root=None
) -> ScheduleL2OptRuns:
    """The chapter-5 λ_opt summaries of the constant control and of each schedule of
    ``SCHEDULE_L2OPT_KINDS`` (from the store, or trained with ``recompute``)."""

    runs: list[store.Results] = []

    def load(cfg):
        res = load_config(cfg, recompute, root)
        if all(r.path != res.path for r in runs):
            runs.append(res)
        return res

    kinds = ("constant", *SCHEDULE_L2OPT_KINDS)
    summaries = {k: load_schedule_l2opt_summary(k, scale, root, load=load) for k in kinds}
    return ScheduleL2OptRuns(summaries, runs)


def schedule_l2opt_table(summaries):
    """Per schedule and budget T: ∫η/(η₀T), the sweep's best λ and accuracy, and each
    prediction's λ, its factor from the best and its accuracy gap (points below the best)."""
    rows = []
    for kind, s in summaries.items():
        for v in s.validation:
            one = kind == "constant"
            rows.append(
                [
                    kind,
                    v.budget,
                    f"{v.mean_factor:.3f}",
                    f"{v.best_l2:.3g}",
                    f"{v.best_accuracy:.3f}",
                    f"{v.naive_l2:.3g}",
                    f"×{v.naive_ratio:.2f}",
                    f"{v.naive_accuracy:.3f}",
                    _pt(-v.naive_gap),
                    "(same)" if one else f"{v.integrated_l2:.3g}",
                    "" if one else f"×{v.integrated_ratio:.2f}",
                    "" if one else f"{v.integrated_accuracy:.3f}",
                    "" if one else _pt(-v.integrated_gap),
                    f"{v.zero_accuracy:.3f}",
                ]
            )
    c = next(iter(summaries.values())).c
    return table(
        [
            "schedule",
            "budget T",
            "∫η/(η₀T)",
            "best λ",
            "best acc",
            "c/(η₀T)",
            "factor",
            "acc",
            "− best (pt)",
            "c/∫η",
            "factor",
            "acc",
            "− best (pt)",
            "acc at λ = 0",
        ],
        rows,
        caption=(
            f"λ_opt under a schedule, c = {c.c:.3g} from chapter 2's constant-η probe "
            f"(λ₀ = {c.l2:g}, η = {c.learning_rate:g}); factor: from the sweep's best λ"
        ),
    )


# --- figures of the paper-scale runs --------------------------------------------------------------


def schedule_curves(results: Arrays, config, title: str = "Test accuracy under a schedule"):
    """Test accuracy of every member against steps, λη₀t or λ∫η dt (buttons, kernel-free);
    ◆ marks t*; λ slider (visibility) and η slider (opacity) as in chapter 1."""
    l2, lr, l2s, lrs = grid_values(results)
    pk = analysis.peaks(results)
    steps = np.asarray(results["eval_step"], float)
    acc = np.asarray(results["test_accuracy"])
    clocks = {
        "step t": np.broadcast_to(steps, acc.shape),
        "λ·η₀·t (naive clock)": analysis.naive_clock(results),
        "λ·∫η dt (integrated clock)": analysis.integrated_clock(results, config),
    }
    fig = go.Figure()
    for i in range(len(l2)):
        fig.add_trace(
            go.Scatter(
                x=clocks["λ·∫η dt (integrated clock)"][i],
                y=acc[i],
                mode="lines+markers",
                marker=peak_marker(steps, pk.t_star[i]),
                line=dict(color=color_for(lrs.index(lr[i]))),
                name=f"λ={fmt_value(l2[i])}, η₀={fmt_value(lr[i])}",
                hovertemplate=f"λ={fmt_value(l2[i])} η₀={fmt_value(lr[i])}<br>x %{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
            )
        )
    buttons = [
        dict(
            method="update",
            label=name.split(" (")[0],
            args=[{"x": [c[i] for i in range(len(l2))]}, {"xaxis.title.text": name}],
        )
        for name, c in clocks.items()
    ]
    buttons = buttons[2:] + buttons[:2]  # the integrated clock first: what the figure opens on
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ·∫η dt (integrated clock)", type="log"),
        yaxis=dict(title="test accuracy"),
        updatemenus=[
            dict(type="buttons", direction="right", buttons=buttons, x=0.0, y=1.13, xanchor="left")
        ],
    )
    return add_member_sliders(fig, list(l2), list(lr), l2s, lrs)


def clocks_at_peak(summaries: Mapping[str, Any], title: str = "Each clock's value at t*"):
    """Per schedule: λη₀·t* (hollow) and λ∫η dt at t* (filled) against λη₀, censored members
    left out; a kernel-free schedule slider. ``summaries``: schedule → (results, ClockCollapse)."""
    fig = go.Figure()
    owner = []
    kinds = list(summaries)
    for j, (kind, (res, s)) in enumerate(summaries.items()):
        lam_eta = np.asarray(res["member_l2"], float) * np.asarray(res["member_learning_rate"])
        u = s.used
        for clock, vals, sym in (
            ("λη₀·t*", s.naive, "circle-open"),
            ("λ∫η dt at t*", s.integrated, "circle"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=lam_eta[u],
                    y=vals[u],
                    mode="markers",
                    marker=dict(size=10, symbol=sym, color=color_for(j), line=dict(width=2)),
                    name=f"{kind}: {clock}",
                    hovertemplate="λη₀=%{x:.3g}<br>clock=%{y:.3g}<extra></extra>",
                )
            )
            owner.append(kind)
    fig.update_layout(
        title=title,
        xaxis=dict(title="λη₀", type="log", exponentformat="power"),
        yaxis=dict(title="clock at t* (a line: the clock collapses the peaks)", type="log"),
    )
    steps = [dict(method="restyle", label="all", args=[{"visible": [True] * len(owner)}])]
    steps += [
        dict(method="restyle", label=k, args=[{"visible": [o == k for o in owner]}]) for k in kinds
    ]
    fig.update_layout(
        sliders=[
            dict(
                active=0,
                steps=steps,
                currentvalue=dict(prefix="schedule: "),
                y=-0.18,
                pad=dict(t=10),
            )
        ],
        margin=dict(b=150),
    )
    return fig


def with_effective_lr(results: Arrays, momentum: float) -> dict[str, np.ndarray]:
    """``results`` with η replaced by the effective step η/(1 − μ) (member and curve), so the
    chapter-1 figures plot against λ·η/(1 − μ)·t."""
    out = dict(results)
    out["member_learning_rate"] = np.round(
        np.asarray(results["member_learning_rate"], float) / (1 - momentum), 10
    )
    out["learning_rate"] = np.asarray(results["learning_rate"], float) / (1 - momentum)
    return out


def bn_norms(arrays: Arrays, cfg, title: str = "Hidden-layer weight norms under L2") -> go.Figure:
    """Per (λ, η) (slider): ‖W‖ of each hidden layer against steps, with batch norm (solid),
    its stationary prediction (η‖g̃‖²/(λ(2 − ηλ)))^¼ from the same block's ‖g̃‖² (dashed), and
    without batch norm (dotted)."""
    step = np.asarray(arrays["step"])
    w2 = np.asarray(arrays["sq_norm"], float)
    gu = np.asarray(arrays["grad_sq_unit"], float)
    fig = go.Figure()
    owner = []
    for p, (lam, eta) in enumerate(cfg.pairs):
        pred = (eta * gu[1, p] / (lam * (2 - eta * lam))) ** 0.25
        for layer in range(w2.shape[-1]):
            c = color_for(layer)
            for y, name, dash in (
                (np.sqrt(w2[1, p, :, layer]), "BN: ‖W‖", "solid"),
                (pred[:, layer], "BN: predicted", "dash"),
                (np.sqrt(w2[0, p, :, layer]), "no BN: ‖W‖", "dot"),
            ):
                fig.add_trace(
                    go.Scatter(
                        x=step,
                        y=y,
                        mode="lines",
                        line=dict(color=c, dash=dash),
                        name=f"λ={fmt_value(lam)}, η={fmt_value(eta)}, layer {layer + 1}: {name}",
                        hovertemplate="step %{x}<br>%{y:.3g}<extra></extra>",
                    )
                )
                owner.append(lam * eta)
    fig.update_layout(
        title=title,
        xaxis=dict(title="step t"),
        yaxis=dict(title="‖W‖ (Frobenius)", type="log"),
    )
    # One (λ, η) at a time by default: all of them at once is 24 overlapping lines.
    return add_value_slider(fig, owner, sorted(set(owner)), prefix="λη = ", start=1)


def schedule_l2opt(
    summaries: Mapping[str, Any],
    title: str = "Best test accuracy against λ under each schedule, and the two predictions",
) -> go.Figure:
    """λ_opt(T) under a schedule (chapter 5): per schedule (colour) and budget T, the best test
    accuracy within T against λ, with ◇ the run at the naive c/(η₀T), ◆ the run at the
    integrated c/∫η dt and ★ the sweep's best λ; λ = 0 is a dotted horizontal line (it cannot
    sit on a log axis). The **T slider** shows one budget (visibility); the **schedule slider**
    draws one schedule solid and the others faint (opacity). ``summaries``: schedule name →
    :class:`l2lib.paper.ch5_beyond.ScheduleL2OptSummary` (a constant schedule: one marker, the two
    predictions coincide)."""
    fig = go.Figure()
    t_tag: list[int] = []
    k_tag: list[str] = []
    kinds = list(summaries)
    budgets = sorted({v.budget for s in summaries.values() for v in s.validation})
    l2_all = np.concatenate([np.asarray(s.l2, float) for s in summaries.values()])
    pos_all = l2_all[l2_all > 0]
    x0, x1 = pos_all.min() / 1.6, pos_all.max() * 1.6
    vals = [np.asarray(a, float) for s in summaries.values() for a in s.accuracy.values()]
    vals += [
        np.array([v.naive_accuracy, v.integrated_accuracy])
        for s in summaries.values()
        for v in s.validation
    ]
    flat = np.concatenate(vals)
    lo, hi = np.nanmin(flat) - 0.02, np.nanmax(flat) + 0.02

    def add(trace: go.Scatter, T: int, kind: str) -> None:
        trace.visible = T == budgets[0]
        fig.add_trace(trace)
        t_tag.append(T)
        k_tag.append(kind)

    for j, (kind, s) in enumerate(summaries.items()):
        col = color_for(j)
        l2 = np.asarray(s.l2, float)
        pos = l2 > 0
        order = np.argsort(-l2[pos])
        for v in s.validation:
            T = v.budget
            acc = np.asarray(s.accuracy[T], float)
            add(
                go.Scatter(
                    x=l2[pos][order],
                    y=acc[pos][order],
                    mode="lines+markers",
                    line=dict(color=col),
                    name=f"{kind}, T = {T}",
                    hovertemplate=f"{kind} T={T}<br>λ=%{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
                ),
                T,
                kind,
            )
            if (~pos).any():
                add(
                    hline(
                        x0,
                        x1,
                        float(acc[~pos][0]),
                        line=dict(color=col, dash="dot", width=1),
                        name=f"{kind}: λ = 0",
                    ),
                    T,
                    kind,
                )
            same = np.isclose(v.naive_l2, v.integrated_l2, rtol=1e-6)
            marks = (
                [("c/(η₀T) = c/∫η", v.naive_l2, v.naive_accuracy, "diamond")]
                if same
                else [
                    ("naive c/(η₀T)", v.naive_l2, v.naive_accuracy, "diamond-open"),
                    ("integrated c/∫η", v.integrated_l2, v.integrated_accuracy, "diamond"),
                ]
            )
            for label, lam, a, sym in marks:
                add(
                    go.Scatter(
                        x=[lam],
                        y=[a],
                        mode="markers",
                        marker=dict(size=13, symbol=sym, color=col, line=dict(color=col, width=2)),
                        name=f"{kind}: {label} = {lam:.3g}",
                        hovertemplate=f"{kind} {label}<br>λ=%{{x:.3g}}<br>acc %{{y:.3f}}<extra></extra>",
                    ),
                    T,
                    kind,
                )
            add(
                go.Scatter(
                    x=[v.best_l2 if v.best_l2 > 0 else x0],
                    y=[v.best_accuracy],
                    mode="markers",
                    marker=dict(
                        symbol="star", size=15, color=col, line=dict(color="black", width=1)
                    ),
                    name=f"{kind}: best λ = {v.best_l2:.3g}",
                ),
                T,
                kind,
            )
    t_steps = [
        dict(method="restyle", label=str(T), args=[{"visible": [t == T for t in t_tag]}])
        for T in budgets
    ]
    k_steps = [dict(method="restyle", label="all", args=[{"opacity": [1.0] * len(k_tag)}])]
    k_steps += [
        dict(
            method="restyle",
            label=k,
            args=[{"opacity": [1.0 if o == k else FAINT for o in k_tag]}],
        )
        for k in kinds
    ]
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ", type="log", exponentformat="power", range=np.log10([x0, x1])),
        yaxis=dict(title="best test accuracy within T", range=[lo, hi]),
        # One row each: side by side, half-width sliders drop the labels that overlap.
        sliders=[
            dict(
                active=0,
                steps=steps,
                currentvalue=dict(prefix=prefix),
                x=0.0,
                len=1.0,
                y=y,
                pad=dict(t=10),
            )
            for steps, prefix, y in ((t_steps, "T = ", -0.16), (k_steps, "schedule: ", -0.42))
        ],
        margin=dict(b=230),
        height=640,
    )
    return fig


for _variant in CH5_VARIANTS:
    register(f"ch5_{CH5_SETUP}_{_variant}", "cpu")(lambda v=_variant: _ch5(v))


registry.register_artifact(
    "ch5_bn_equilibrium", bn_config, bn_experiment, "ch5", formerly=("bn_equilibrium",)
)


# Retired at scale cpu (see ch2_budget: the runs before the move onto chapter 1's setups).
registry.retire_prefixed(
    (
        "ch5_optimal_l2",
        "ch5_autol2_",
        "ch5_schedule_",
        "ch5_timescale_mlp_momentum",
        "ch5_timescale_mlp_bn",
    ),
    "cpu",
)

# The claims of chapter 5's λ_opt under a schedule are named by schedule, not by sweep.
registry.retire([f"ch5_optimal_l2_{kind}" for kind in SCHEDULE_L2OPT_KINDS], "cpu")


for _claims in CLAIMS:
    registry.register_claims(*_claims)
