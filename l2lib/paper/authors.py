"""The authors' setups at paper scale, converted from their flags to this library's conventions.

The authors' code (``google/autol2``: ``jax_wideresnet_exps.py`` and its README, which lists the
command behind each figure) trains a WRN-28-10 on CIFAR-10. Its objective and ours differ by
constant factors, which this module converts once (:func:`from_code`), so that every config here
is the *same trajectory* as the authors' command, in our units:

- their loss is ``−mean(log_softmax(f) · y_onehot)`` over the batch **and the K = 10 classes**,
  i.e. our cross-entropy (summed over classes, averaged over the batch) divided by K;
- their L2 term is ``λ_code · Σθ²``; ours is ``½ · λ · ‖θ‖²``.

Their SGD (with or without heavy-ball momentum, ``jax.experimental.optimizers.momentum``) on
``CE/K + λ_code‖θ‖²`` at rate ``η_code`` is SGD on ``K·(CE/K + λ_code‖θ‖²) = CE + ½(2Kλ_code)‖θ‖²``
at rate ``η_code/K``. Hence::

    λ = 2·K·λ_code = 20·λ_code,     η = η_code / K = η_code / 10,     λ·η = 2·λ_code·η_code.

Their durations are in epochs of ``50000 // 128 = 390`` steps (one device; ``-noTPU``), and
``-physicalL2 -epochs=E`` trains ``1 + int(E/(η_code·λ_code))`` epochs, i.e. until
``λ_code·η_code·epochs ≈ E``, which is ``λ·η·t = 2·E·390`` here (the scaling variable doubles,
the ``1 +`` epoch is dropped). AutoL2's refractory period ``delay/λ_code`` steps is
``(2K·delay)/λ`` = ``2/λ`` steps here (``AutoL2Config(refractory=2.0)``).

What is *not* the authors' (stated in the book): the λ and η grids (not published); the fully
connected network on MNIST and the CNN on CIFAR-10 (architectures not published; ours are
registered in :mod:`l2lib.registry`); evaluation in batches of ``eval_batch_size`` test
images (their single-device run normalised batch norm over the whole test set at once) every
``eval_every`` steps (they measured every 10); the step schedule's boundaries at fractions of
the run (theirs at whole epochs ``k·int(0.3·epochs)``, k = 1, 2, 3).

On a TPU with 8 cores their batch was 128 *per core* (global 1024, batch norm per core); the
configs here are their single-device run, batch 128.
"""

from __future__ import annotations

import dataclasses

from l2lib import config as C
from l2lib import registry
from l2lib.config import Experiment

#: Classes of CIFAR-10: the factor between their class-averaged cross-entropy and ours.
NUM_CLASSES = 10
#: Their batch on one device, and the steps in one of their epochs (50 000 // 128).
BATCH_SIZE = 128
STEPS_PER_EPOCH = 50_000 // BATCH_SIZE
#: Their default learning rate and momentum flags (``-lr=0.2``, ``-momentum``).
LR_CODE = 0.2
MOMENTUM = 0.9
#: Their step schedule (``-std_wrn_sch``): η × 0.2 at 30 %, 60 % and 90 % of training.
STEP_BOUNDARIES = (0.3, 0.6, 0.9)
STEP_FACTOR = 0.2
#: Evaluation cadence (steps) and test images per batch-norm batch at evaluation.
EVAL_EVERY = 100
EVAL_BATCH_SIZE = 1000


def from_code(
    l2_code: float, lr_code: float, num_classes: int = NUM_CLASSES
) -> tuple[float, float]:
    """(λ, η) in our conventions for the authors' flags ``-L2=l2_code -lr=lr_code``.

    ``λ = 2·K·λ_code`` and ``η = η_code/K`` (see the module docstring): the same trajectory of
    θ, because our loss is K times theirs.
    """
    return 2 * num_classes * l2_code, lr_code / num_classes


def l2_from_code(*l2_code: float) -> tuple[float, ...]:
    """Our λ for each of the authors' λ_code (rounded to 12 significant digits, so that the
    config hash does not depend on float noise such as 20·3e-4 = 0.006000000000000001)."""
    return tuple(float(f"{from_code(v, 1.0)[0]:.12g}") for v in l2_code)


def lr_from_code(*lr_code: float) -> tuple[float, ...]:
    """Our η for each of the authors' η_code (rounded like :func:`l2_from_code`)."""
    return tuple(float(f"{from_code(1.0, v)[1]:.12g}") for v in lr_code)


def horizon_from_code(l2_lr_epochs: float) -> float:
    """Our λ·η·t for their ``λ_code·η_code·epochs`` (``-physicalL2 -epochs=…``)."""
    return 2 * l2_lr_epochs * STEPS_PER_EPOCH


def epochs(n: float) -> int:
    """Steps in ``n`` of their epochs."""
    return int(round(n * STEPS_PER_EPOCH))


def fixed_epochs(n: float) -> C.DurationConfig:
    """Every member trains ``n`` of their epochs."""
    return C.DurationConfig(num_steps=epochs(n), max_steps=max(epochs(n), 1))


def wrn(
    *,
    l2_code: tuple[float, ...],
    lr_code: tuple[float, ...] = (LR_CODE,),
    momentum: bool = True,
    augment: bool = True,
    step_schedule: bool = False,
    duration: C.DurationConfig,
    autol2: C.AutoL2Config | None = None,
    eval_every: int = EVAL_EVERY,
) -> Experiment:
    """The authors' WRN-28-10 on CIFAR-10 with the given flags, in our units.

    Defaults are theirs: momentum 0.9, flip + crop + mixup, constant η_code = 0.2, batch 128.
    """
    schedule = (
        C.OptimizerConfig(schedule="step", step_boundaries=STEP_BOUNDARIES, step_factor=STEP_FACTOR)
        if step_schedule
        else C.OptimizerConfig()
    )
    return C.paper(
        data=C.DataConfig(name="cifar10", augment=augment),
        model=C.ModelConfig(kind="wrn", width=10, depth=28, use_bias=True, batch_norm=True),
        optimizer=dataclasses.replace(
            schedule, momentum=MOMENTUM if momentum else 0.0, batch_size=BATCH_SIZE
        ),
        grid=C.GridConfig(l2=l2_from_code(*l2_code), learning_rate=lr_from_code(*lr_code)),
        duration=duration,
        eval_every=eval_every,
        eval_batch_size=EVAL_BATCH_SIZE,
        group_size=1,
        autol2=autol2,
    )


# --- Figure 2 (WRN part): t* over a grid of λ and η ----------------------------------------
#
#   python3 jax_wideresnet_exps.py -L2=$L2 -lr=$LR -physicalL2 -epochs=0.1 -nomomentum -noaugment

TSTAR_L2_CODE = (1e-2, 3e-3, 1e-3)
TSTAR_LR_CODE = (0.1, 0.2, 0.4)
TSTAR_L2_LR_EPOCHS = 0.1


def wrn_tstar() -> Experiment:
    """Fig. 2: no momentum, no augmentation, constant η, each member until λ_code·η_code·epochs
    = 0.1 (λ·η·t = 78 here)."""
    return wrn(
        l2_code=TSTAR_L2_CODE,
        lr_code=TSTAR_LR_CODE,
        momentum=False,
        augment=False,
        duration=C.DurationConfig(
            num_steps=None, horizon=horizon_from_code(TSTAR_L2_LR_EPOCHS), max_steps=2_000_000
        ),
    )


# --- Figure 1a: a fixed budget of 200 epochs vs a budget of 0.1/λ_code epochs ---------------
#
#   python3 jax_wideresnet_exps.py -L2=$L2 -epochs=200 -std_wrn_sch
#   python3 jax_wideresnet_exps.py -L2=$L2 -physicalL2 -epochs=0.02 -std_wrn_sch

BUDGET_L2_CODE = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
BUDGET_EPOCHS = 200
#: ``-physicalL2 -epochs=0.02`` at η_code = 0.2: λ_code·epochs = 0.1.
BUDGET_L2_LR_EPOCHS = 0.02


def wrn_budget_fixed() -> Experiment:
    """Fig. 1a, fixed budget: 200 epochs, momentum, augmentation, the step schedule."""
    return wrn(
        l2_code=BUDGET_L2_CODE,
        step_schedule=True,
        duration=fixed_epochs(BUDGET_EPOCHS),
    )


def wrn_budget_scaled() -> Experiment:
    """Fig. 1a, budget ∝ 1/λ: 0.1/λ_code epochs (λ·η·t = 15.6 here), the step schedule."""
    return wrn(
        l2_code=BUDGET_L2_CODE,
        step_schedule=True,
        duration=C.DurationConfig(
            num_steps=None, horizon=horizon_from_code(BUDGET_L2_LR_EPOCHS), max_steps=2_000_000
        ),
    )


# --- Figure 1b: the predicted λ_opt vs the best λ of a sweep (constant η, long runs) --------
#
#   python3 jax_wideresnet_exps.py -L2=$L2 -epochs=2000        (the sweep)
#   python3 jax_wideresnet_exps.py -L2=0.01 -epochs=2          (c = λ₀·η·t*(λ₀))

LAMBDA_OPT_L2_CODE = (1e-3, 3e-4, 1e-4, 3e-5, 1e-5)
LAMBDA_OPT_EPOCHS = 2000
PROBE_L2_CODE = 1e-2
PROBE_EPOCHS = 2
#: The probe's t* is a few hundred steps: evaluate at the authors' own cadence.
PROBE_EVAL_EVERY = 10


def wrn_lambda_opt() -> Experiment:
    """Fig. 1b sweep: 2000 epochs at constant η_code = 0.2, momentum, augmentation."""
    return wrn(
        l2_code=LAMBDA_OPT_L2_CODE,
        duration=fixed_epochs(LAMBDA_OPT_EPOCHS),
    )


def wrn_lambda_opt_probe() -> Experiment:
    """Fig. 1b probe: 2 epochs at λ_code = 0.01, whose t* gives c = λ₀·η·t*(λ₀)."""
    return wrn(
        l2_code=(PROBE_L2_CODE,),
        duration=fixed_epochs(PROBE_EPOCHS),
        eval_every=PROBE_EVAL_EVERY,
    )


# --- Figure 1c: AutoL2 from λ_code = 0.1 vs a constant λ_code = 1e-4 -------------------------
#
#   python3 jax_wideresnet_exps.py -L2=0.1 -L2_sch
#   python3 jax_wideresnet_exps.py -L2=0.0001 -noL2_sch

AUTOL2_L2_CODE = 0.1
AUTOL2_CONSTANT_L2_CODE = 1e-4
AUTOL2_EPOCHS = 200
#: Their ``delay`` (0.1, steps·λ_code) in our λ: 2·K·0.1 = 2.
AUTOL2_REFRACTORY = 2 * NUM_CLASSES * 0.1


def wrn_autol2() -> Experiment:
    """Fig. 1c, AutoL2: λ₀ = 20·0.1 = 2 in our units, decays ÷10 with their rule, 200 epochs,
    constant η_code = 0.2, momentum, augmentation."""
    return wrn(
        l2_code=(AUTOL2_L2_CODE,),
        duration=fixed_epochs(AUTOL2_EPOCHS),
        autol2=C.AutoL2Config(refractory=AUTOL2_REFRACTORY),
    )


def wrn_autol2_constant() -> Experiment:
    """Fig. 1c, the baseline: constant λ_code = 1e-4 (λ = 2e-3 here), otherwise the same."""
    return wrn(
        l2_code=(AUTOL2_CONSTANT_L2_CODE,),
        duration=fixed_epochs(AUTOL2_EPOCHS),
    )


#: Registered name (scale ``paper``) → (the paper's figure, the factory, the authors' command).
SETUPS = {
    "ch1_timescale_cnn": (
        "Fig. 2 (WRN)",
        wrn_tstar,
        "-L2=$L2 -lr=$LR -physicalL2 -epochs=0.1 -nomomentum -noaugment",
    ),
    "ch2_budget_wrn_fixed": ("Fig. 1a", wrn_budget_fixed, "-L2=$L2 -epochs=200 -std_wrn_sch"),
    "ch2_budget_wrn_scaled": (
        "Fig. 1a",
        wrn_budget_scaled,
        "-L2=$L2 -physicalL2 -epochs=0.02 -std_wrn_sch",
    ),
    "ch2_lambda_opt_wrn": ("Fig. 1b", wrn_lambda_opt, "-L2=$L2 -epochs=2000"),
    "ch2_lambda_opt_wrn_probe": ("Fig. 1b", wrn_lambda_opt_probe, "-L2=0.01 -epochs=2"),
    "ch3_autol2_wrn": ("Fig. 1c", wrn_autol2, "-L2=0.1 -L2_sch"),
    "ch3_autol2_wrn_constant": ("Fig. 1c", wrn_autol2_constant, "-L2=0.0001 -noL2_sch"),
}


#: The chapter whose paper-scale section runs each of the authors' figures.
FIGURE_CHAPTERS = {"Fig. 2 (WRN)": "ch1", "Fig. 1a": "ch2", "Fig. 1b": "ch2", "Fig. 1c": "ch3"}

for _name, (_figure, _factory, _flags) in SETUPS.items():
    registry.register(_name, "paper", FIGURE_CHAPTERS[_figure])(_factory)
