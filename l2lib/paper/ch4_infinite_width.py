"""Chapter 4: finite networks against the infinite-width theory of L2, and the Hessian
check (``book/ch4_infinite_width.ipynb``, paper §3).

Three computations, each stored as an artifact (:mod:`l2lib.store`, ``artifacts/``) and
registered with :func:`l2lib.registry.register_artifact` (``python -m l2lib artifact NAME``):

* :func:`width_experiment` (``ch4_width_ntk``): bias-free ReLU MLPs in NTK parameterisation
  (k = depth + 1 homogeneous) of several widths, trained by small-step full-batch gradient
  descent on ``½ Σ_i ‖f(x_i) − y_i‖² + ½λ‖θ‖²`` (one-hot targets; flow time ``t = η · steps``).
  At fixed times it records the empirical NTK (class-averaged, train × train), and the train and
  test outputs; beside them the theory (:func:`l2lib.theory.mse_solution`) started from the same
  network's empirical Θ₀ and f₀. A random-features model (only the read-out trains: linear in its
  parameters, k = 1) shows the contrast: its kernel is frozen and its outputs go to kernel ridge
  regression, while for k ≥ 2 they go to 0.
* :func:`theory_curves` (``ch4_width_theory``): test loss and accuracy under the infinite-width
  theory for a grid of λ × k, with one fixed kernel (the analytic ReLU NTK), f₀ = 0.
* :func:`hessian_experiment` (``ch4_hessian_min_eig``): a tiny over-parameterised net trained on the
  bare loss to (near) interpolation; the extreme eigenvalues of ``∇²(L + ½λ‖θ‖²)`` there.

The networks are plain JAX (a list of weight matrices, no Flax): the k-homogeneity and the
σ_w² = 2 NTK scaling are then visible in ten lines and match :func:`l2lib.theory.relu_ntk`
exactly (``f = √(2/n_L) W_out·relu(… √(2/d) W₁x)``, all weights N(0, 1)). Inputs are scaled to
the sphere of radius √d (:func:`l2lib.data.sphere_data`). Claims: the kernel's decay rate at
the widest net within ``KERNEL_RATE_TOLERANCE`` of 2(k−1)λ, the error falling with width, and
the Hessian's smallest eigenvalue within ``HESSIAN_TOLERANCE`` of λ. Views: the width, random
features and Hessian tables and the chapter's figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from l2lib import registry
from l2lib import store as store_lib
from l2lib.analysis import Arrays
from l2lib.claims import Claim
from l2lib.data import sphere_data
from l2lib.figures import add_grid_sliders, color_for, fmt_value
from l2lib.paper import common

#: (chapter, experiment, claims generator) of this chapter in the book's order; registered
#: with l2lib.registry at the end of the module.
CLAIMS: list[tuple[str, str, Callable[[str, str, object], Iterator[Claim]]]] = []


@dataclasses.dataclass(frozen=True)
class WidthConfig:
    """The width experiment. Times are flow times ``t = learning_rate · steps``.

    Attributes:
      num_train, num_test: the first examples of MNIST-1D.
      widths: hidden widths of the MLPs trained (one network each).
      depth: hidden layers (k = depth + 1).
      l2: λ of ½λ‖θ‖².
      learning_rate: the GD step η (small: GD ≈ gradient flow); checked against 1/max eig Θ₀.
      horizon: the last flow time recorded.
      num_times: evaluation times, evenly spaced in [0, horizon].
      rf_width: features of the random-features (k = 1) model.
      seed: initialisation seed (the same key for every width).
    """

    num_train: int = 64
    num_test: int = 256
    widths: tuple[int, ...] = (256, 1024, 4096, 16384)
    depth: int = 1
    l2: float = 0.1
    learning_rate: float = 0.005
    horizon: float = 30.0
    num_times: int = 31
    rf_width: int = 1024
    seed: int = 0

    @property
    def k(self) -> int:
        return self.depth + 1

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TheoryConfig:
    """Test curves under the infinite-width theory for each λ × k (one kernel for every k)."""

    num_train: int = 128
    num_test: int = 500
    kernel_depth: int = 1
    l2: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)
    k: tuple[int, ...] = (1, 2, 3, 4)
    num_times: int = 61
    lambda_t_min: float = 1e-3
    lambda_t_max: float = 100.0

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HessianConfig:
    """A tiny over-parameterised MLP (more parameters than outputs to fit) and its Hessian."""

    num_train: int = 8
    width: int = 32
    depth: int = 1
    l2: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    learning_rate: float = 0.02
    num_steps: int = 20000
    seed: int = 0

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def width_config(scale: str) -> WidthConfig:
    """``ci``: seconds (tests); ``cpu``: what the book shows."""
    if scale == "ci":
        return WidthConfig(
            num_train=8, num_test=16, widths=(16, 32), horizon=1.0, num_times=3, rf_width=16
        )
    if scale in ("cpu", "paper"):
        return WidthConfig()
    raise ValueError(f"scale={scale!r}: use ci, cpu or paper")


def theory_config(scale: str) -> TheoryConfig:
    if scale == "ci":
        return TheoryConfig(num_train=8, num_test=16, l2=(0.1, 1.0), k=(1, 2), num_times=5)
    if scale in ("cpu", "paper"):
        return TheoryConfig()
    raise ValueError(f"scale={scale!r}: use ci, cpu or paper")


def hessian_config(scale: str) -> HessianConfig:
    if scale == "ci":
        return HessianConfig(num_train=2, width=4, num_steps=200, l2=(1e-2,))
    if scale in ("cpu", "paper"):
        return HessianConfig()
    raise ValueError(f"scale={scale!r}: use ci, cpu or paper")


def init_mlp(key, d: int, width: int, depth: int, num_classes: int) -> list:
    """Weights N(0, 1) of a bias-free MLP d → width (× depth) → num_classes."""
    import jax

    sizes = [d] + [width] * depth + [num_classes]
    keys = jax.random.split(key, len(sizes) - 1)
    return [jax.random.normal(k, (a, b)) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]


def apply_mlp(params: list, x):
    """NTK parameterisation, σ_w² = 2: ``h ← √(2/fan_in) · relu(h) @ W`` (no relu on the
    input). Homogeneous of degree ``len(params)`` in the weights."""
    import jax
    import jax.numpy as jnp

    h = x
    for i, w in enumerate(params):
        if i > 0:
            h = jax.nn.relu(h)
        h = jnp.sqrt(2.0 / w.shape[0]) * (h @ w)
    return h


def width_experiment(cfg: WidthConfig) -> dict[str, np.ndarray]:
    """Train one MLP per width and the random-features model; measure against the theory.

    Returns arrays (W = len(widths), T = num_times, n/m = train/test examples, c = classes):
    ``times`` (T,); ``widths`` (W,); ``kernel_trace`` (W, T) the trace of the class-averaged
    empirical NTK on the training set; ``kernel_init`` (W, n, n); ``f_train`` (W, T, n, c),
    ``f_test`` (W, T, m, c) measured; ``theory_train``, ``theory_test`` the same from
    :func:`~l2lib.theory.mse_solution` with each network's own Θ₀ and f₀; ``rate`` (W,) the
    fitted kernel decay rate (:func:`~l2lib.theory.kernel_decay_rate`); ``eta_max_eig`` (W,)
    η · max eig Θ₀; ``y_train``, ``y_test``; and for the random-features model ``rf_*``
    (``rf_f_train``, ``rf_f_test``, ``rf_theory_train``, ``rf_theory_test``, ``rf_ridge_train``,
    ``rf_ridge_test`` the kernel-ridge limit, ``rf_kernel_trace``).
    """
    import jax
    import jax.numpy as jnp

    from l2lib import theory

    store_lib.forbid_training()
    x, y, xt, yt = (jnp.asarray(a) for a in sphere_data(cfg.num_train, cfg.num_test))
    n, c = y.shape
    steps_total = int(round(cfg.horizon / cfg.learning_rate))
    steps_per = steps_total // (cfg.num_times - 1)
    times = cfg.learning_rate * steps_per * np.arange(cfg.num_times)
    key = jax.random.key(cfg.seed)
    out: dict[str, list] = {
        k: []
        for k in (
            "kernel_trace",
            "kernel_init",
            "f_train",
            "f_test",
            "theory_train",
            "theory_test",
            "rate",
            "eta_max_eig",
        )
    }
    for width in cfg.widths:
        params = init_mlp(key, x.shape[1], width, cfg.depth, c)
        out_w = _train_and_measure(
            apply_mlp,
            params,
            x,
            y,
            xt,
            cfg.l2,
            cfg.learning_rate,
            steps_per,
            cfg.num_times,
            hidden_units=width * cfg.depth,
        )
        k0, k0_test = out_w["k0"], out_w["k0_test"]
        th_train, th_test = theory.mse_solution(
            k0, k0_test, y, out_w["f_train"][0], out_w["f_test"][0], times, cfg.l2, cfg.k
        )
        out["kernel_trace"].append(out_w["kernel_trace"])
        out["kernel_init"].append(k0)
        out["f_train"].append(out_w["f_train"])
        out["f_test"].append(out_w["f_test"])
        out["theory_train"].append(th_train)
        out["theory_test"].append(th_test)
        out["rate"].append(theory.kernel_decay_rate(times, out_w["kernel_trace"]))
        out["eta_max_eig"].append(out_w["eta_max_eig"])

    # Random features: fixed first layer, only the read-out (linear in θ: k = 1) trains.
    k1, k2 = jax.random.split(jax.random.fold_in(key, 1))
    w1 = jax.random.normal(k1, (x.shape[1], cfg.rf_width))

    def features(z):
        return jax.nn.relu(jnp.sqrt(2.0 / z.shape[1]) * (z @ w1))

    def apply_rf(p, z):
        return apply_mlp(p, features(z))

    rf = _train_and_measure(
        apply_rf,
        [jax.random.normal(k2, (cfg.rf_width, c))],
        x,
        y,
        xt,
        cfg.l2,
        cfg.learning_rate,
        steps_per,
        cfg.num_times,
        hidden_units=cfg.rf_width,
    )
    rf_th_train, rf_th_test = theory.mse_solution(
        rf["k0"], rf["k0_test"], y, rf["f_train"][0], rf["f_test"][0], times, cfg.l2, 1
    )
    result = {k: np.asarray(jnp.stack([jnp.asarray(a) for a in v])) for k, v in out.items()}
    result.update(
        times=np.asarray(times),
        widths=np.asarray(cfg.widths),
        y_train=np.asarray(y),
        y_test=np.asarray(yt),
        rf_f_train=np.asarray(rf["f_train"]),
        rf_f_test=np.asarray(rf["f_test"]),
        rf_kernel_trace=np.asarray(rf["kernel_trace"]),
        rf_theory_train=np.asarray(rf_th_train),
        rf_theory_test=np.asarray(rf_th_test),
        rf_ridge_train=np.asarray(theory.kernel_ridge(rf["k0"], rf["k0"], y, cfg.l2)),
        rf_ridge_test=np.asarray(theory.kernel_ridge(rf["k0"], rf["k0_test"], y, cfg.l2)),
    )
    return result


#: Floats of hidden activations one vectorised NTK pass may hold (2**27 ≈ 512 MiB in float32):
#: the widest network (16384) would otherwise need ~11 GiB per pass on the test set.
NTK_PASS_FLOATS = 2**27


def ntk_batch_size(num_outputs: int, num_inputs: int, hidden_units: int) -> int:
    """Kernel columns per vectorised pass so that one pass holds ≲ ``NTK_PASS_FLOATS`` floats.

    A pass over ``b`` columns carries ``b × num_inputs × hidden_units`` activations (the
    Jacobian-vector product on the larger input set), so ``b`` shrinks as the width grows.
    """
    per_column = max(1, num_inputs * hidden_units)
    return int(max(1, min(num_outputs, NTK_PASS_FLOATS // per_column)))


def _train_and_measure(
    apply_fn, params, x, y, xt, l2, learning_rate, steps_per, num_times, hidden_units=None
):
    """GD on ½Σ‖f − y‖² + ½λ‖θ‖², recording kernel trace and outputs ``num_times`` times.

    ``hidden_units`` (total hidden activations per example) bounds the memory of the NTK passes
    (:func:`ntk_batch_size`); ``None`` computes all columns in one pass.
    """
    import jax
    import jax.numpy as jnp

    from l2lib import theory

    def loss(p):
        f = apply_fn(p, x)
        sq = sum(jnp.vdot(w, w) for w in jax.tree.leaves(p))
        return 0.5 * jnp.sum((f - y) ** 2) + 0.5 * l2 * sq

    grad = jax.grad(loss)

    @jax.jit
    def advance(p):
        def step(p, _):
            return jax.tree.map(lambda a, b: a - learning_rate * b, p, grad(p)), None

        return jax.lax.scan(step, p, None, length=steps_per)[0]

    batch = (
        y.size
        if hidden_units is None
        else ntk_batch_size(y.size, max(x.shape[0], xt.shape[0]), hidden_units)
    )

    def ntk(p, x1, x2=None):
        return theory.empirical_ntk(apply_fn, p, x1, x2, batch_size=batch)

    k0 = ntk(params, x)
    k0_test = ntk(params, xt, x)
    eta_max = learning_rate * float(jnp.linalg.eigvalsh(k0)[-1])
    if eta_max > 1.0:
        raise ValueError(f"learning_rate · max eig Θ₀ = {eta_max:.2f} > 1: GD is not ≈ flow")
    traces, f_train, f_test = [], [], []
    for i in range(num_times):
        if i > 0:
            params = advance(params)
        kern = k0 if i == 0 else ntk(params, x)
        traces.append(jnp.trace(kern))
        f_train.append(apply_fn(params, x))
        f_test.append(apply_fn(params, xt))
    return {
        "k0": k0,
        "k0_test": k0_test,
        "eta_max_eig": eta_max,
        "kernel_trace": jnp.stack(traces),
        "f_train": jnp.stack(f_train),
        "f_test": jnp.stack(f_test),
    }


def theory_curves(cfg: TheoryConfig) -> dict[str, np.ndarray]:
    """Test MSE loss (½Σ‖f − y‖², per example) and accuracy under the theory, λ × k × time.

    One kernel for every k (the analytic ReLU NTK of ``kernel_depth`` hidden layers), f₀ = 0, so
    only the L2 terms −kλf and −2(k−1)λΘ differ between k. Times are ``λt`` on a log grid.

    Returns ``lambda_t`` (T,), ``l2`` (L,), ``k`` (K,), ``test_loss`` and ``test_accuracy``
    (L, K, T), ``train_loss`` (L, K, T).
    """
    import jax.numpy as jnp

    from l2lib import theory

    store_lib.forbid_training()
    x, y, xt, yt = (jnp.asarray(a) for a in sphere_data(cfg.num_train, cfg.num_test))
    kern = theory.relu_ntk(x, depth=cfg.kernel_depth)
    cross = theory.relu_ntk(xt, x, depth=cfg.kernel_depth)
    eig = jnp.linalg.eigh(kern)
    lam_t = np.geomspace(cfg.lambda_t_min, cfg.lambda_t_max, cfg.num_times)
    shape = (len(cfg.l2), len(cfg.k), cfg.num_times)
    test_loss, test_acc, train_loss = (np.zeros(shape) for _ in range(3))
    for i, l2 in enumerate(cfg.l2):
        for j, k in enumerate(cfg.k):
            f, ft = theory.mse_solution(eig, cross, y, None, None, lam_t / l2, l2, k)
            test_loss[i, j] = 0.5 * np.sum((np.asarray(ft) - yt) ** 2, axis=(1, 2)) / len(yt)
            train_loss[i, j] = 0.5 * np.sum((np.asarray(f) - y) ** 2, axis=(1, 2)) / len(y)
            test_acc[i, j] = np.mean(
                np.argmax(np.asarray(ft), -1) == np.argmax(np.asarray(yt), -1), axis=-1
            )
    return {
        "lambda_t": lam_t,
        "l2": np.asarray(cfg.l2),
        "k": np.asarray(cfg.k),
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "train_loss": train_loss,
    }


def hessian_experiment(cfg: HessianConfig) -> dict[str, np.ndarray]:
    """Train a tiny MLP on the bare MSE by GD to (near) interpolation, then the regularised
    Hessian's extreme eigenvalues there for each λ (paper §2 heuristic: smallest ≈ λ).

    Returns ``l2`` (L,), ``smallest`` and ``largest`` (L, 3), ``train_loss`` (scalar, at the
    point), ``initial_loss``, ``num_params``, ``num_outputs`` (n · c, the rank bound of the
    Gauss–Newton part).
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    from l2lib import theory

    store_lib.forbid_training()
    x, y, _, _ = (jnp.asarray(a) for a in sphere_data(cfg.num_train, 1))
    params = init_mlp(jax.random.key(cfg.seed), x.shape[1], cfg.width, cfg.depth, y.shape[1])

    def loss(p):
        return 0.5 * jnp.sum((apply_mlp(p, x) - y) ** 2)

    grad = jax.grad(loss)

    @jax.jit
    def run(p):
        def step(p, _):
            return jax.tree.map(lambda a, b: a - cfg.learning_rate * b, p, grad(p)), None

        return jax.lax.scan(step, p, None, length=cfg.num_steps)[0]

    initial = float(loss(params))
    params = run(params)
    small, large = [], []
    for l2 in cfg.l2:
        e = theory.hessian_extreme_eigs(loss, params, l2, num=3)
        small.append(np.asarray(e.smallest))
        large.append(np.asarray(e.largest))
    return {
        "l2": np.asarray(cfg.l2),
        "smallest": np.stack(small),
        "largest": np.stack(large),
        "train_loss": np.asarray(float(loss(params))),
        "initial_loss": np.asarray(initial),
        "num_params": np.asarray(ravel_pytree(params)[0].size),
        "num_outputs": np.asarray(y.size),
    }


# --- summaries (what the chapter's tables and claims report) --------------------------------


@dataclasses.dataclass(frozen=True)
class WidthSummary:
    """Per width: measured kernel decay rate, its relative error against ``2(k − 1)λ``, and the
    largest deviation of the training outputs from the theory, ``max_t ‖f_t − f_t^th‖ / ‖Y‖``."""

    widths: np.ndarray
    rate: np.ndarray
    theory_rate: float
    rate_error: np.ndarray
    output_error: np.ndarray
    test_output_error: np.ndarray


def width_summary(arrays, cfg: WidthConfig) -> WidthSummary:
    """Summarise a ``ch4_width_ntk`` artifact (see :func:`width_experiment`)."""
    theory_rate = 2.0 * (cfg.k - 1) * cfg.l2
    rate = np.asarray(arrays["rate"], float)
    y_norm = np.linalg.norm(arrays["y_train"])
    yt_norm = np.linalg.norm(arrays["y_test"])

    def err(measured, predicted, norm):
        d = np.asarray(measured) - np.asarray(predicted)
        return np.max(np.sqrt(np.sum(d**2, axis=(-2, -1))), axis=-1) / norm

    return WidthSummary(
        widths=np.asarray(arrays["widths"]),
        rate=rate,
        theory_rate=theory_rate,
        rate_error=np.abs(rate - theory_rate) / theory_rate,
        output_error=err(arrays["f_train"], arrays["theory_train"], y_norm),
        test_output_error=err(arrays["f_test"], arrays["theory_test"], yt_norm),
    )


# --- what the chapter prints (all numbers from the store) -----------------------------------


def provenance(art) -> str:
    """One line: where, when and how an artifact was made (from its store metadata)."""
    from l2lib import store as store_lib

    m = art.meta
    wall = m.get("wall_s")
    secs = f"{wall:.0f} s" if isinstance(wall, (int, float)) else "? s"
    return f"Artifact {m['name']} ({m['scale']}): {secs} on {store_lib.made_on(m)}"


def width_table(arrays, cfg: WidthConfig):
    """Per width: η·max eig Θ₀, the fitted kernel decay rate against 2(k − 1)λ, and the largest
    output deviation from the theory (train and test), relative to ‖Y‖."""

    s = width_summary(arrays, cfg)
    rows = [
        [
            int(w),
            f"{float(e):.3f}",
            f"{r:.4f}",
            f"{s.theory_rate:.4f}",
            f"{re:.1%}",
            f"{oe:.3f}",
            f"{te:.3f}",
        ]
        for w, e, r, re, oe, te in zip(
            s.widths,
            np.asarray(arrays["eta_max_eig"]),
            s.rate,
            s.rate_error,
            s.output_error,
            s.test_output_error,
            strict=True,
        )
    ]
    return common.table(
        [
            "width",
            "η · max eig Θ₀",
            "fitted rate",
            "2(k−1)λ",
            "rate error",
            "output dev. (train)",
            "output dev. (test)",
        ],
        rows,
        caption="Finite networks against the infinite-width theory (each from its own Θ₀, f₀)",
    )


def random_features_table(arrays):
    """The k = 1 model at the last time: distance to the theory and to kernel ridge regression,
    and ‖f‖ against the k ≥ 2 networks' (all relative to ‖Y‖)."""

    y = np.linalg.norm(arrays["y_train"])
    yt = np.linalg.norm(arrays["y_test"])
    rows = []
    for split, norm in (("train", y), ("test", yt)):
        f = np.asarray(arrays[f"rf_f_{split}"][-1])
        rows.append(
            [
                split,
                f"{np.linalg.norm(f - arrays[f'rf_theory_{split}'][-1]) / norm:.2e}",
                f"{np.linalg.norm(f - arrays[f'rf_ridge_{split}']) / norm:.2e}",
                f"{np.linalg.norm(f) / norm:.3f}",
                f"{np.linalg.norm(arrays[f'f_{split}'][-1, -1]) / norm:.3f}",
            ]
        )
    t = float(arrays["times"][-1])
    return common.table(
        ["set", "‖f − theory‖", "‖f − ridge‖", "‖f‖ (k=1)", "‖f‖ (k=2, widest)"],
        rows,
        caption=f"At the last time t = {t:g}, all relative to ‖Y‖",
    )


def hessian_table(arrays):
    """Per λ: the smallest eigenvalues of ∇²(L + ½λ‖θ‖²) at the trained point, their ratio to
    λ, and the largest one; with the point's training loss and the parameter count."""

    rows = [
        [f"{l2:g}", ", ".join(f"{v:.5g}" for v in s), f"{s[0] / l2:.4f}", f"{g[0]:.4g}"]
        for l2, s, g in zip(arrays["l2"], arrays["smallest"], arrays["largest"], strict=True)
    ]
    cap = (
        f"{int(arrays['num_params'])} parameters, {int(arrays['num_outputs'])} outputs fitted; "
        f"training loss {float(arrays['initial_loss']):.3g} at init, "
        f"{float(arrays['train_loss']):.2e} at the point"
    )
    return common.table(["λ", "smallest three", "smallest / λ", "largest"], rows, caption=cap)


# --- chapter 4: infinite width against finite networks ---------------------------------------

#: The widest network's fitted kernel decay rate within this fraction of 2(k − 1)λ.
KERNEL_RATE_TOLERANCE = 0.05


#: The regularised Hessian's smallest eigenvalue within this fraction of λ.
HESSIAN_TOLERANCE = 0.10


def _width_claims(name: str, scale: str, root) -> Iterator[Claim]:

    cfg, art = store_lib.load_registered_artifact(name, scale, root=root, compute=False)
    s = width_summary(art.arrays, cfg)
    per = ", ".join(
        f"W={int(w)}: {r:.4f} ({e:.1%})"
        for w, r, e in zip(s.widths, s.rate, s.rate_error, strict=True)
    )
    yield Claim(
        "ch4",
        "kernel decay rate, widest net",
        bool(s.rate_error[-1] <= KERNEL_RATE_TOLERANCE),
        f"rate {s.rate[-1]:.4f} vs 2(k−1)λ = {s.theory_rate:.4f} ({s.rate_error[-1]:.1%}); {per}",
        f"within {KERNEL_RATE_TOLERANCE:.0%}",
    )
    yield Claim(
        "ch4",
        "kernel-rate error falls with width",
        bool(np.all(np.diff(s.rate_error) < 0)),
        "errors " + " > ".join(f"{e:.1%}" for e in s.rate_error),
        "strictly decreasing in width",
    )


def _hessian_claims(name: str, scale: str, root) -> Iterator[Claim]:

    _, art = store_lib.load_registered_artifact(name, scale, root=root, compute=False)
    for l2, small in zip(art["l2"], art["smallest"], strict=True):
        ratio = float(small[0] / l2)
        yield Claim(
            "ch4",
            f"Hessian: smallest eig ≈ λ (λ={l2:g})",
            abs(ratio - 1) <= HESSIAN_TOLERANCE,
            f"smallest {small[0]:.4g}, ratio to λ {ratio:.3f} (train loss "
            f"{float(art['train_loss']):.2e})",
            f"ratio 1 ± {HESSIAN_TOLERANCE:g}",
        )


CLAIMS += [
    ("ch4", "ch4_width_ntk", _width_claims),
    ("ch4", "ch4_hessian_min_eig", _hessian_claims),
]


def l2_decay(
    l2_values: Sequence[float],
    k_values: Sequence[int],
    t_max: float,
    title: str = "What L2 does at infinite width",
) -> go.Figure:
    """The two decays of paper §3 against flow time t = η·steps, for a grid of λ × k: the
    kernel Θ_t/Θ₀ = e^{−2(k−1)λt} (solid) and the output drift e^{−kλt} (dotted; what L2 alone
    does to f). λ slider: visibility; k slider: opacity."""
    t = np.linspace(0.0, t_max, 200)
    fig = go.Figure()
    ta, tb = [], []
    for l2 in l2_values:
        for j, k in enumerate(k_values):
            for label, y, dash in (
                ("Θₜ/Θ₀", np.exp(-2 * (k - 1) * l2 * t), "solid"),
                ("exp(−kλt)", np.exp(-k * l2 * t), "dot"),
            ):
                fig.add_trace(
                    go.Scatter(
                        x=t,
                        y=y,
                        mode="lines",
                        line=dict(color=color_for(j), dash=dash),
                        name=f"{label}, λ={fmt_value(l2)}, k={k}",
                    )
                )
                ta.append(l2)
                tb.append(k)
    fig.update_layout(
        title=title,
        xaxis=dict(title="flow time t = η·steps"),
        yaxis=dict(title="factor", type="log", range=[-3, 0.05]),
    )
    return add_grid_sliders(fig, ta, tb, list(l2_values), list(k_values))


def theory_test_curves(
    arrays: Arrays, metric: str = "test_accuracy", title: str | None = None
) -> go.Figure:
    """A ``ch4_width_theory`` artifact: test ``metric`` against flow time t under the theory, one
    curve per λ × k (color = k). λ slider: visibility; k slider: opacity."""
    l2s = [float(v) for v in arrays["l2"]]
    ks = [int(v) for v in arrays["k"]]
    lam_t = np.asarray(arrays["lambda_t"])
    vals = np.asarray(arrays[metric])
    fig = go.Figure()
    ta, tb = [], []
    for i, l2 in enumerate(l2s):
        for j, k in enumerate(ks):
            fig.add_trace(
                go.Scatter(
                    x=lam_t / l2,
                    y=vals[i, j],
                    mode="lines",
                    line=dict(color=color_for(j)),
                    name=f"λ={fmt_value(l2)}, k={k}",
                    hovertemplate=f"λ={fmt_value(l2)} k={k}<br>t %{{x:.3g}}<br>%{{y:.3f}}<extra></extra>",
                )
            )
            ta.append(l2)
            tb.append(k)
    ylabel = metric.replace("_", " ")
    fig.update_layout(
        title=title or f"Theory: {ylabel} against time, λ × k",
        xaxis=dict(title="flow time t = η·steps", type="log", exponentformat="power"),
        yaxis=dict(title=ylabel),
    )
    return add_grid_sliders(fig, ta, tb, l2s, ks)


def kernel_vs_width(arrays: Arrays, l2: float, k: int, title: str | None = None) -> go.Figure:
    """A ``ch4_width_ntk`` artifact: measured tr Θ_t / tr Θ₀ per width against e^{−2(k−1)λt}, and
    the random-features (k = 1) kernel, which does not move."""
    t = np.asarray(arrays["times"])
    fig = go.Figure()
    for i, w in enumerate(np.asarray(arrays["widths"])):
        tr = np.asarray(arrays["kernel_trace"][i])
        fig.add_trace(
            go.Scatter(
                x=t,
                y=tr / tr[0],
                mode="lines+markers",
                line=dict(color=color_for(i)),
                name=f"width {int(w)} (k={k})",
            )
        )
    rf = np.asarray(arrays["rf_kernel_trace"])
    fig.add_trace(
        go.Scatter(
            x=t,
            y=rf / rf[0],
            mode="lines+markers",
            line=dict(color="gray"),
            name="random features (k=1)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=np.exp(-2 * (k - 1) * l2 * t),
            mode="lines",
            line=dict(color="black", dash="dash"),
            name=f"theory e^(−{2 * (k - 1)}λt)",
        )
    )
    fig.update_layout(
        title=title or f"Kernel decay at λ = {fmt_value(l2)}: measured against theory",
        xaxis=dict(title="flow time t = η·steps"),
        yaxis=dict(title="tr Θₜ / tr Θ₀", type="log", exponentformat="power"),
    )
    return fig


def _fro(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(np.asarray(a) ** 2, axis=(-2, -1)))


def outputs_vs_width(arrays: Arrays, split: str = "train", title: str | None = None) -> go.Figure:
    """A ``ch4_width_ntk`` artifact: ‖f_t‖ on the training (or test) set against t, measured (solid)
    and theory from the same network's Θ₀, f₀ (dashed), per width; the random-features model
    (k = 1) with its kernel-ridge limit (dotted)."""
    t = np.asarray(arrays["times"])
    fig = go.Figure()
    # Measured lines first and wide, the theory on top, thin and dashed, so that where they
    # agree the theory is still seen; log axes keep the t = 0 transient from hiding the rest.
    for kind, dash, width in (("f", "solid", 4), ("theory", "dash", 1.5)):
        for i, w in enumerate(np.asarray(arrays["widths"])):
            a = arrays[f"f_{split}" if kind == "f" else f"theory_{split}"][i]
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=_fro(a),
                    mode="lines",
                    line=dict(color=color_for(i), dash=dash, width=width),
                    opacity=0.45 if kind == "f" else 1.0,
                    name=f"width {int(w)}: " + ("measured" if kind == "f" else "theory"),
                )
            )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=_fro(arrays[f"rf_f_{split}"]),
            mode="lines",
            line=dict(color="gray"),
            name="random features (k=1): measured",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=_fro(arrays[f"rf_theory_{split}"]),
            mode="lines",
            line=dict(color="gray", dash="dash"),
            name="random features: theory",
        )
    )
    ridge = float(np.sqrt(np.sum(np.asarray(arrays[f"rf_ridge_{split}"]) ** 2)))
    fig.add_trace(
        go.Scatter(
            x=[t[0], t[-1]],
            y=[ridge, ridge],
            mode="lines",
            line=dict(color="black", dash="dot"),
            name="kernel ridge limit (k=1)",
        )
    )
    fig.update_layout(
        title=title or f"Outputs on the {split} set: ‖fₜ‖ measured and theory",
        xaxis=dict(title="flow time t = η·steps", type="log"),
        yaxis=dict(title="‖fₜ‖ (Frobenius over examples × classes)", type="log"),
    )
    return fig


def width_errors(summary, title: str = "Distance from the theory against width") -> go.Figure:
    """A :class:`~l2lib.paper.ch4_infinite_width.WidthSummary`: relative error of the kernel decay rate and the
    largest output deviation (train, test) against width, log–log."""
    w = np.asarray(summary.widths)
    fig = go.Figure()
    for i, (name, y) in enumerate(
        (
            ("|rate − 2(k−1)λ| / 2(k−1)λ", summary.rate_error),
            ("max_t ‖f_t − f_t^th‖ / ‖Y‖ (train)", summary.output_error),
            ("the same, test", summary.test_output_error),
        )
    ):
        fig.add_trace(
            go.Scatter(x=w, y=y, mode="lines+markers", line=dict(color=color_for(i)), name=name)
        )
    fig.update_layout(
        title=title,
        xaxis=dict(title="width", type="log"),
        yaxis=dict(title="relative error", type="log", exponentformat="power"),
    )
    return fig


def hessian_eigs(
    arrays: Arrays, title: str = "Smallest eigenvalues of ∇²(L + ½λ‖θ‖²), over λ"
) -> go.Figure:
    """A ``ch4_hessian_min_eig`` artifact: the three smallest eigenvalues of the regularised Hessian
    at a near-interpolating point, divided by λ, against λ (the heuristic: ratio 1)."""
    l2 = np.asarray(arrays["l2"], float)
    small = np.asarray(arrays["smallest"])
    fig = go.Figure()
    for j in range(small.shape[1]):
        fig.add_trace(
            go.Scatter(
                x=l2,
                y=small[:, j] / l2,
                mode="markers",
                marker=dict(size=12 - 2 * j, color=color_for(j)),
                name=f"eigenvalue #{j + 1} from the bottom, / λ",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[l2.min() / 2, l2.max() * 2],
            y=[1.0, 1.0],
            mode="lines",
            line=dict(color="black", dash="dash"),
            name="eigenvalue = λ",
        )
    )
    fig.update_layout(
        title=title,
        xaxis=dict(title="λ", type="log", exponentformat="power"),
        yaxis=dict(title="eigenvalue / λ"),
    )
    return fig


registry.register_artifact(
    "ch4_width_ntk", width_config, width_experiment, "ch4", formerly=("width_ntk",)
)
registry.register_artifact(
    "ch4_width_theory", theory_config, theory_curves, "ch4", formerly=("width_theory",)
)
registry.register_artifact(
    "ch4_hessian_min_eig", hessian_config, hessian_experiment, "ch4", formerly=("hessian_min_eig",)
)


for _claims in CLAIMS:
    registry.register_claims(*_claims)
