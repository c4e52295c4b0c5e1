"""Experiment configuration: frozen dataclasses and a stable content hash.

An :class:`Experiment` says everything needed to reproduce a sweep: the data set, the model,
the optimizer, the grid of (λ, η, seed) members, how long each member trains and how often it
is evaluated. Configs are immutable; variants are made with :func:`dataclasses.replace`.

Conventions (paper §2): the L2 term is ½·λ·‖θ‖² added to the loss, so its gradient is λθ
(coupled L2, applied before momentum). ``l2`` is λ and ``learning_rate`` is η, as in Optax.
Time ``t`` counts SGD steps; the scaling variable is λ·η·t.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CURVE_KEYS",
    "DATA_SOURCES",
    "SEED_LIMIT",
    "SIGNAL_DATASETS",
    "TRAIN_CURVE_KEYS",
    "AutoL2Config",
    "ci",
    "cpu",
    "curve_keys",
    "DataConfig",
    "DurationConfig",
    "Experiment",
    "GridConfig",
    "InvalidInputError",
    "ModelConfig",
    "OptimizerConfig",
    "paper",
]

DATASETS = ("mnist1d", "digits", "mnist", "fashion_mnist", "cifar10")
#: Where a data set's arrays come from: ``None`` is the data set's default (generated locally,
#: scikit-learn, or TFDS); ``idx`` reads the original IDX files of MNIST / Fashion-MNIST
#: (their examples in file order, whereas TFDS stores them shuffled).
DATA_SOURCES = (None, "idx")
IDX_DATASETS = ("mnist", "fashion_mnist")
MODELS = ("mlp", "cnn", "wrn")
PARAMETERIZATIONS = ("standard", "ntk")
LOSSES = ("cross_entropy", "mse")
SCHEDULES = ("constant", "step", "cosine")
SCALES = ("ci", "cpu", "paper")

#: The per-evaluation curves the engine records for every member (arrays of shape
#: (members, evaluations)): metrics on the full test set, on the current training batch
#: (the bare loss, without the L2 term), ‖θ‖², and the λ and η in force.
CURVE_KEYS = (
    "test_accuracy",
    "test_loss",
    "train_accuracy",
    "train_loss",
    "sq_norm",
    "l2",
    "learning_rate",
)
#: Recorded as well when ``Experiment.eval_train`` is set: accuracy on the whole training set
#: (M, E), the over-parameterized premise measured per member (paper §2: networks that reach
#: training accuracy 1).
TRAIN_CURVE_KEYS = ("full_train_accuracy",)


def curve_keys(eval_train: bool) -> tuple[str, ...]:
    """The curves an experiment records: ``CURVE_KEYS``, plus ``TRAIN_CURVE_KEYS`` with
    ``eval_train``."""
    return CURVE_KEYS + (TRAIN_CURVE_KEYS if eval_train else ())


#: Seeds key ``jax.random.PRNGKey`` as unsigned 32-bit integers: [0, 2**32).
SEED_LIMIT = 2**32
#: Data sets whose examples are 1-D signals (augmentation needs images).
SIGNAL_DATASETS = ("mnist1d", "digits")


class InvalidInputError(ValueError):
    """Bad input — a config field, the data, an environment setting — found before anything is
    trained or stored: the message is one line naming the field and the fix."""


def _fail(owner: str, name: str, value: Any, why: str) -> None:
    raise InvalidInputError(f"{owner}.{name}={value!r}: {why}")


# Type checks: an int is an int (a bool is not), a real number is a finite int or float (not
# a bool, not a string), a flag is a bool. ``from_dict`` builds configs from JSON, where a
# wrongly typed field would otherwise train as if valid ("false" is truthy, True == 1).


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _need_bool(owner: str, name: str, v: Any) -> None:
    if not isinstance(v, bool):
        _fail(owner, name, v, "must be True or False")


def _need_choice(owner: str, name: str, v: Any, choices: tuple[Any, ...]) -> None:
    if not any(v is c or (type(v) is type(c) and v == c) for c in choices):
        _fail(owner, name, v, f"use one of {choices}")


def _need_real_tuple(owner: str, name: str, v: Any) -> None:
    if not isinstance(v, tuple) or not all(_is_real(x) for x in v):
        _fail(owner, name, v, "must be a tuple of finite numbers")


@dataclass(frozen=True)
class DataConfig:
    """Which data set, and how much of it.

    Attributes:
      name: one of ``DATASETS``. ``mnist1d`` and ``digits`` are generated locally; the others
        come from TensorFlow Datasets and need a ``data_dir`` holding them (or Colab).
      num_train: keep the first ``num_train`` training examples (``None``: all).
      num_test: keep the first ``num_test`` test examples (``None``: all).
      data_dir: TFDS data directory (ignored for the local data sets); with ``source="idx"``
        the directory holding the four IDX files (``None``: the Debian package's directory).
      augment: flip, pad-and-crop and mixup as in the authors' CIFAR-10 code (images only).
      source: ``None`` (the data set's default source) or ``"idx"`` (MNIST / Fashion-MNIST from
        their original IDX files, e.g. Debian's ``dataset-fashion-mnist``). The same images as
        TFDS's, in another order, so a different config (and hash).
    """

    name: str = "mnist1d"
    num_train: int | None = None
    num_test: int | None = None
    data_dir: str | None = None
    augment: bool = False
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in DATASETS:
            _fail("data", "name", self.name, f"unknown data set; use one of {DATASETS}")
        _need_choice("data", "source", self.source, DATA_SOURCES)
        if self.source == "idx" and self.name not in IDX_DATASETS:
            _fail("data", "source", self.source, f"IDX files exist only for {IDX_DATASETS}")
        for f in ("num_train", "num_test"):
            v = getattr(self, f)
            if v is not None and (not _is_int(v) or v <= 0):
                _fail("data", f, v, "must be a positive integer or None")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            _fail("data", "data_dir", self.data_dir, "must be a directory path (a string) or None")
        _need_bool("data", "augment", self.augment)
        if self.augment and self.name in SIGNAL_DATASETS:
            _fail(
                "data",
                "augment",
                self.augment,
                f"{self.name} examples are 1-D signals and augmentation needs images "
                f"({', '.join(n for n in DATASETS if n not in SIGNAL_DATASETS)}); set it False",
            )


@dataclass(frozen=True)
class ModelConfig:
    """The network.

    Attributes:
      kind: ``mlp``, ``cnn`` or ``wrn`` (the authors' pre-activation Wide ResNet).
      width: hidden units (MLP), channels of the first stage (CNN), or the widening factor (WRN).
      depth: hidden layers (MLP), convolution layers (CNN), or total depth 6n+4 (WRN, e.g. 28).
      use_bias: biases on or off (off makes a ReLU MLP homogeneous in its parameters).
      parameterization: ``standard`` (weights ~ N(0, 1/fan_in)) or ``ntk`` (weights ~ N(0, 1),
        pre-activations scaled by 1/√fan_in).
      batch_norm: batch norm on batch statistics (CNN; the WRN always has it).
      activation: ``relu`` (the only one the homogeneity arguments cover) or ``tanh``.
      cnn_head: how the CNN reads out its last feature map: ``pool`` (global average pooling,
        then dense) or ``flatten`` (dense on the whole map, as the MNIST-1D CNN does; position
        matters in MNIST-1D, and pooling throws it away).
    """

    kind: str = "mlp"
    width: int = 256
    depth: int = 2
    use_bias: bool = True
    parameterization: str = "standard"
    batch_norm: bool = False
    activation: str = "relu"
    cnn_head: str = "pool"

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in MODELS:
            _fail("model", "kind", self.kind, f"unknown model; use one of {MODELS}")
        _need_choice("model", "parameterization", self.parameterization, PARAMETERIZATIONS)
        if not _is_int(self.width) or self.width <= 0:
            _fail("model", "width", self.width, "must be a positive integer")
        if not _is_int(self.depth) or self.depth <= 0:
            _fail("model", "depth", self.depth, "must be a positive integer")
        if self.kind == "wrn" and (self.depth - 4) % 6 != 0:
            _fail("model", "depth", self.depth, "a Wide ResNet has depth 6n+4 (e.g. 16, 28)")
        _need_bool("model", "use_bias", self.use_bias)
        _need_bool("model", "batch_norm", self.batch_norm)
        _need_choice("model", "cnn_head", self.cnn_head, ("pool", "flatten"))
        _need_choice("model", "activation", self.activation, ("relu", "tanh"))


@dataclass(frozen=True)
class OptimizerConfig:
    """SGD with optional heavy-ball momentum, on loss + ½·λ·‖θ‖².

    Attributes:
      momentum: heavy-ball coefficient μ (0: plain SGD).
      batch_size: examples per step.
      loss: ``cross_entropy`` (mean over the batch) or ``mse`` (½‖f − y‖² summed over classes,
        mean over the batch).
      schedule: learning-rate schedule: ``constant``, ``step`` (×``step_factor`` at the
        fractions ``step_boundaries`` of the member's duration) or ``cosine`` (to 0).
    """

    momentum: float = 0.0
    batch_size: int = 128
    loss: str = "cross_entropy"
    schedule: str = "constant"
    step_boundaries: tuple[float, ...] = (0.3, 0.6, 0.9)
    step_factor: float = 0.2

    def __post_init__(self) -> None:
        if not (_is_real(self.momentum) and 0.0 <= self.momentum < 1.0):
            _fail("optimizer", "momentum", self.momentum, "must be a number in [0, 1)")
        if not _is_int(self.batch_size) or self.batch_size <= 0:
            _fail("optimizer", "batch_size", self.batch_size, "must be a positive integer")
        _need_choice("optimizer", "loss", self.loss, LOSSES)
        _need_choice("optimizer", "schedule", self.schedule, SCHEDULES)
        _need_real_tuple("optimizer", "step_boundaries", self.step_boundaries)
        if not all(0.0 <= b <= 1.0 for b in self.step_boundaries):
            _fail(
                "optimizer",
                "step_boundaries",
                self.step_boundaries,
                "fractions of the duration: every one in [0, 1]",
            )
        if not (_is_real(self.step_factor) and self.step_factor > 0):
            _fail("optimizer", "step_factor", self.step_factor, "must be a finite number > 0")


@dataclass(frozen=True)
class AutoL2Config:
    """The authors' AutoL2 rule (see :mod:`l2lib.autol2`); every constant is theirs by default.

    Attributes:
      every: measure the bare training loss and batch accuracy every ``every`` steps.
      factor: divide λ by this at a decay.
      refractory: after a decay, wait ``refractory / λ`` steps (``refractory_units='l2_steps'``,
        the authors' rule) or until λ·η·(t − t_decay) ≥ ``refractory``
        (``refractory_units='l2_eta_t'``).
      patience: a metric "has not improved" when it did not beat its best in this many of the
        latest measurements.
      min_measurements: no decay before more than this many measurements.
    """

    every: int = 10
    factor: float = 10.0
    refractory: float = 0.1
    refractory_units: str = "l2_steps"
    patience: int = 2
    min_measurements: int = 2

    def __post_init__(self) -> None:
        if not _is_int(self.every) or self.every <= 0:
            _fail("autol2", "every", self.every, "must be a positive integer")
        if not (_is_real(self.factor) and self.factor > 1.0):
            _fail("autol2", "factor", self.factor, "must be a finite number > 1")
        _need_choice("autol2", "refractory_units", self.refractory_units, ("l2_steps", "l2_eta_t"))
        if not (_is_real(self.refractory) and self.refractory >= 0):
            _fail("autol2", "refractory", self.refractory, "must be finite and ≥ 0")
        if not _is_int(self.patience) or self.patience < 1:
            _fail("autol2", "patience", self.patience, "must be a positive integer")
        if not _is_int(self.min_measurements) or self.min_measurements < 0:
            _fail("autol2", "min_measurements", self.min_measurements, "must be an integer ≥ 0")


@dataclass(frozen=True)
class GridConfig:
    """The members of a sweep: the product l2 × learning_rate × seeds.

    Members are ordered with the seed varying fastest, then η, then λ (``itertools.product``
    order of ``(l2, learning_rate, seeds)``).
    """

    l2: tuple[float, ...] = (1e-3,)
    learning_rate: tuple[float, ...] = (0.1,)
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        for name in ("l2", "learning_rate", "seeds"):
            v = getattr(self, name)
            if not isinstance(v, tuple) or len(v) == 0:
                _fail("grid", name, v, "must be a non-empty tuple")
        for v in self.l2:
            if not (_is_real(v) and v >= 0):
                _fail("grid", "l2", v, "every λ must be a finite number ≥ 0")
        for v in self.learning_rate:
            if not (_is_real(v) and v > 0):
                _fail("grid", "learning_rate", v, "every η must be a finite number > 0")
        for v in self.seeds:
            if not (_is_int(v) and 0 <= v < SEED_LIMIT):
                _fail("grid", "seeds", v, "every seed must be an integer in [0, 2**32)")

    def members(self) -> list[tuple[float, float, int]]:
        """All (λ, η, seed) triples in member order."""
        return list(itertools.product(self.l2, self.learning_rate, self.seeds))

    @property
    def size(self) -> int:
        return len(self.l2) * len(self.learning_rate) * len(self.seeds)


@dataclass(frozen=True)
class DurationConfig:
    """How long each member trains.

    Exactly one of ``num_steps`` (a fixed budget for every member) and ``horizon`` (each member
    trains until its own λ·η·t reaches ``horizon``) is set. ``max_steps`` caps every member
    (members with λ = 0 under a horizon run exactly ``max_steps``); ``min_steps`` is a floor.
    """

    num_steps: int | None = 1000
    horizon: float | None = None
    max_steps: int = 100_000
    min_steps: int = 0

    def __post_init__(self) -> None:
        if (self.num_steps is None) == (self.horizon is None):
            _fail("duration", "num_steps", self.num_steps, "set exactly one of num_steps, horizon")
        if self.num_steps is not None and (not _is_int(self.num_steps) or self.num_steps <= 0):
            _fail("duration", "num_steps", self.num_steps, "must be a positive integer")
        if self.horizon is not None and not (_is_real(self.horizon) and self.horizon > 0):
            _fail("duration", "horizon", self.horizon, "must be a finite number > 0")
        if not _is_int(self.max_steps) or self.max_steps <= 0:
            _fail("duration", "max_steps", self.max_steps, "must be a positive integer")
        if not _is_int(self.min_steps) or not 0 <= self.min_steps <= self.max_steps:
            _fail("duration", "min_steps", self.min_steps, "must be an integer in [0, max_steps]")

    def steps_for(self, l2: float, learning_rate: float) -> int:
        """The number of steps one member trains."""
        if self.num_steps is not None:
            n = self.num_steps
        elif l2 == 0:
            n = self.max_steps
        else:
            n = math.ceil(self.horizon / (l2 * learning_rate))
        return int(min(max(n, self.min_steps, 1), self.max_steps))


@dataclass(frozen=True)
class Experiment:
    """A whole sweep. ``hash()`` is its content address in the results store.

    Attributes:
      name: the experiment's name (see :mod:`l2lib.registry`).
      scale: ``ci``, ``cpu`` or ``paper`` (see ``shared/design.md``).
      eval_every: record metrics every ``eval_every`` steps; every member's duration is rounded
        up to a multiple of it, so each member ends on an evaluation.
      eval_batch_size: test examples per forward pass at evaluation (batch norm uses the
        statistics of these batches, as the authors' code does).
      group_size: members compiled together; members of similar length are grouped.
      autol2: if set, λ follows the AutoL2 rule starting from each member's grid λ.
      eval_train: also evaluate every member on the whole training set at each evaluation
        (``full_train_accuracy``): whether it is inside the paper's over-parameterized premise.
        A forward pass over the training set per evaluation; off by default.
    """

    name: str = "unnamed"
    scale: str = "ci"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    duration: DurationConfig = field(default_factory=DurationConfig)
    eval_every: int = 50
    eval_batch_size: int = 1000
    group_size: int = 64
    autol2: AutoL2Config | None = None
    eval_train: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            _fail("experiment", "name", self.name, "must be a non-empty string")
        _need_bool("experiment", "eval_train", self.eval_train)
        _need_choice("experiment", "scale", self.scale, SCALES)
        parts = {
            "data": DataConfig,
            "model": ModelConfig,
            "optimizer": OptimizerConfig,
            "grid": GridConfig,
            "duration": DurationConfig,
        }
        for f, cls in parts.items():
            if not isinstance(getattr(self, f), cls):
                _fail("experiment", f, getattr(self, f), f"must be a {cls.__name__}")
        if self.autol2 is not None and not isinstance(self.autol2, AutoL2Config):
            _fail("experiment", "autol2", self.autol2, "must be an AutoL2Config or None")
        if not _is_int(self.eval_every) or self.eval_every <= 0:
            _fail("experiment", "eval_every", self.eval_every, "must be a positive integer")
        if not _is_int(self.eval_batch_size) or self.eval_batch_size <= 0:
            _fail("experiment", "eval_batch_size", self.eval_batch_size, "must be positive")
        if not _is_int(self.group_size) or self.group_size <= 0:
            _fail("experiment", "group_size", self.group_size, "must be a positive integer")
        # Cross-field: a batch cannot hold more examples than the training set keeps (the data
        # set's own size is checked against the loaded data by l2lib.validate).
        n = self.data.num_train
        if n is not None and self.optimizer.batch_size > n:
            _fail(
                "optimizer",
                "batch_size",
                self.optimizer.batch_size,
                f"larger than data.num_train={n}; lower it or keep more training examples",
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Experiment:
        """Inverse of :meth:`to_dict` (lists become tuples again)."""
        subs = {
            "data": DataConfig,
            "model": ModelConfig,
            "optimizer": OptimizerConfig,
            "grid": GridConfig,
            "duration": DurationConfig,
            "autol2": AutoL2Config,
        }
        kw = {}
        for k, v in d.items():
            if k in subs and v is not None:
                v = subs[k](**{kk: _tuplify(vv) for kk, vv in v.items()})
            kw[k] = v
        return cls(**kw)

    def hash(self) -> str:
        """A stable content hash: same config → same hash across processes and machines.

        ``data.data_dir`` is where data lives, not what it is, so it is left out; so are
        ``data.source`` and ``eval_train`` when they are the defaults (``None``, ``False``),
        which keeps the hashes of configs made before those fields existed.
        """
        return self._digest(self._hashed_fields())

    def content_hash(self) -> str:
        """The hash of what is trained: :meth:`hash` without ``name``, which is a label.

        The results store keys its entries on this, so renaming an experiment finds the entry
        made under its old name instead of training it again.
        """
        d = self._hashed_fields()
        del d["name"]
        return self._digest(d)

    def _hashed_fields(self) -> dict[str, Any]:
        d = self.to_dict()
        if not d["eval_train"]:
            del d["eval_train"]
        d["data"] = {
            k: v
            for k, v in d["data"].items()
            if k != "data_dir" and not (k == "source" and v is None)
        }
        return d

    @staticmethod
    def _digest(d: dict[str, Any]) -> str:
        text = json.dumps(d, sort_keys=True, separators=(",", ":"), default=_canon)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def members(self) -> list[tuple[float, float, int]]:
        return self.grid.members()

    def steps_per_member(self) -> list[int]:
        """Steps each member trains, rounded up to a multiple of ``eval_every``."""
        k = self.eval_every
        return [-(-self.duration.steps_for(l2, lr) // k) * k for l2, lr, _ in self.members()]

    @property
    def curve_keys(self) -> tuple[str, ...]:
        """The per-evaluation curves this experiment records (see :func:`curve_keys`)."""
        return curve_keys(self.eval_train)

    @property
    def num_evals(self) -> int:
        """Evaluations of the longest member (the length E of every recorded curve)."""
        return max(self.steps_per_member()) // self.eval_every


def _tuplify(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _canon(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v)
    raise TypeError(f"cannot hash {type(v).__name__}")


# Named constructors per scale: the base configs that experiments specialise.


def ci(**overrides: Any) -> Experiment:
    """A tiny experiment that trains in seconds (tests)."""
    base = Experiment(
        name="ci",
        scale="ci",
        data=DataConfig(name="mnist1d", num_train=512, num_test=256),
        model=ModelConfig(kind="mlp", width=32, depth=2),
        optimizer=OptimizerConfig(batch_size=32),
        grid=GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1,), seeds=(0,)),
        duration=DurationConfig(num_steps=40),
        eval_every=10,
    )
    return dataclasses.replace(base, **overrides)


def cpu(**overrides: Any) -> Experiment:
    """The scale the book's cached runs use: an MLP on MNIST-1D, minutes on 2 cores."""
    base = Experiment(
        name="cpu",
        scale="cpu",
        data=DataConfig(name="mnist1d"),
        model=ModelConfig(kind="mlp", width=256, depth=2),
        optimizer=OptimizerConfig(batch_size=128),
        grid=GridConfig(l2=(1e-3,), learning_rate=(0.1,), seeds=(0,)),
        duration=DurationConfig(num_steps=5000),
        eval_every=50,
    )
    return dataclasses.replace(base, **overrides)


def paper(**overrides: Any) -> Experiment:
    """The authors' WRN-28-10 on CIFAR-10 (their code's hyper-parameters; needs a GPU + TFDS)."""
    base = Experiment(
        name="paper",
        scale="paper",
        data=DataConfig(name="cifar10", augment=True),
        model=ModelConfig(kind="wrn", width=10, depth=28, use_bias=True, batch_norm=True),
        optimizer=OptimizerConfig(momentum=0.9, batch_size=128),
        grid=GridConfig(l2=(5e-4,), learning_rate=(0.2,), seeds=(0,)),
        duration=DurationConfig(num_steps=200 * 390),
        eval_every=100,
        group_size=1,
    )
    return dataclasses.replace(base, **overrides)
