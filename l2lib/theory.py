"""Infinite-width gradient flow with L2 regularization (paper Section 3).

Setting and conventions, used by every function here:

* Gradient flow in continuous time ``t`` on ``L(θ) + ½·λ·‖θ‖²``; SGD at learning rate η
  corresponds to ``t = η · num_steps``. ``l2`` is λ.
* The loss is a **sum over training examples**: MSE is ``½ Σ_i ‖f(x_i) − y_i‖²`` and softmax
  cross-entropy is ``Σ_i −y_i · log softmax(f(x_i))``, so ``∂ℓ/∂f = f − y`` or
  ``softmax(f) − y``. (With a mean over ``n`` examples every λ below becomes ``n·λ`` relative to
  the kernel; we never use that normalisation.)
* The network is k-homogeneous in its parameters, ``f(x; aθ) = a^k f(x; θ)`` (a bias-free ReLU
  MLP with ``depth`` hidden layers has ``k = depth + 1``), in NTK parameterisation.
* ``Θ(x, x') = Σ_p ∂_p f(x) ∂_p f(x')`` is the neural tangent kernel (NTK). Euler's identity
  ``θ·∇_θ f = k f`` turns the L2 gradient ``λθ`` into an output drift ``−kλ f`` and a kernel drift
  ``−2(k−1)λ Θ``. At infinite width the remaining kernel motion vanishes (the Dyer & Gur-Ari
  conjecture), so

      Θ_t = e^{−2(k−1)λt} Θ₀,      ∂_t f = −kλ f − Θ_t ∂ℓ/∂f.

  Eigenvectors of Θ₀ stay fixed and its eigenvalues shrink. For k ≥ 2 every output decays to 0
  as t → ∞; for k = 1 (a linear model) the kernel is frozen and the late-time predictor is
  kernel ridge regression.

Functions: :func:`kernel_at`, :func:`mse_solution` (closed form), :func:`ode_solution` (RK4,
MSE or cross-entropy), :func:`kernel_ridge`, :func:`relu_ntk` (analytic NTK / NNGP),
:func:`empirical_ntk`, :func:`hessian_extreme_eigs`, :func:`kernel_decay_rate`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

__all__ = [
    "HessianExtremes",
    "ReluKernels",
    "empirical_ntk",
    "hessian_extreme_eigs",
    "kernel_at",
    "kernel_decay_rate",
    "kernel_ridge",
    "relu_ntk",
]

Array = jax.Array
ArrayLike = jax.typing.ArrayLike

_EULER_GAMMA = 0.5772156649015329
# Regions of the scaled incomplete gamma function _scaled_gamma (see there): power series below
# _X_SMALL, Legendre continued fraction up to _X_LARGE, asymptotic series above. The term counts
# give full float64 accuracy in each region (checked against SciPy to ~1e-14 relative).
_X_SMALL = 2.0
_X_LARGE = 40.0
_NUM_SERIES = 40
_NUM_CONTINUED_FRACTION = 60
_NUM_ASYMPTOTIC = 36


class ReluKernels(NamedTuple):
    """Infinite-width kernels of a ReLU MLP: ``ntk`` (Θ) and ``nngp`` (Σ), each (n, m)."""

    ntk: Array
    nngp: Array


class HessianExtremes(NamedTuple):
    """Extreme eigenvalues of a Hessian.

    Attributes:
      smallest: the ``num`` smallest eigenvalues, ascending.
      largest: the ``num`` largest eigenvalues, descending.
    """

    smallest: Array
    largest: Array


# ---------------------------------------------------------------------------------------------
# Kernel decay and the closed-form MSE dynamics
# ---------------------------------------------------------------------------------------------


def _check_k(k: float) -> None:
    if not (k == 1 or k >= 2):
        raise ValueError(f"k={k!r}: the homogeneity degree must be 1 or >= 2")


def kernel_at(theta0: ArrayLike, t: ArrayLike, l2: ArrayLike, k: float) -> Array:
    """Infinite-width NTK at time ``t`` under L2: ``Θ_t = e^{−2(k−1)λt} Θ₀`` (paper §3).

    The L2 gradient λθ moves each Jacobian entry ``∂_p f`` (a (k−1)-homogeneous function) by
    ``−(k−1)λ ∂_p f``, so Θ shrinks at rate ``2(k−1)λ``; eigenvectors do not move. Assumes
    infinite width (Dyer & Gur-Ari conjecture) and gradient flow on ``L + ½λ‖θ‖²``.

    Args:
      theta0: Θ₀ of any shape: a kernel matrix, or its eigenvalues.
      t: flow time ``η · num_steps``, scalar or shape (T,).
      l2: λ.
      k: homogeneity degree of the network in its parameters.

    Returns:
      ``theta0`` scaled, of shape ``t.shape + theta0.shape``.
    """
    _check_k(k)
    theta0 = jnp.asarray(theta0)
    t = jnp.asarray(t)
    decay = jnp.exp(-2.0 * (k - 1) * l2 * t)
    lead = (1,) * decay.ndim
    return jnp.reshape(decay, decay.shape + (1,) * theta0.ndim) * jnp.reshape(
        theta0, lead + theta0.shape
    )


def _phi1(rate: Array, t: Array) -> Array:
    """``(1 − e^{−rate·t}) / rate``, equal to ``t`` at ``rate = 0`` (no cancellation)."""
    zero = rate == 0
    safe = jnp.where(zero, 1.0, rate)
    return jnp.where(zero, t, -jnp.expm1(-safe * t) / safe)


def _scaled_gamma(x: Array, a: float) -> Array:
    """``F(x) = x^{1−a} e^x Γ(a, x) = ∫₀^∞ (1 + v/x)^{a−1} e^{−v} dv`` for ``0 ≤ a < 1``.

    ``Γ(a, x)`` is the upper incomplete gamma function (``Γ(0, x) = E₁(x)``, the exponential
    integral). ``F`` rises from ``F(0) = 0`` to ``F(∞) = 1`` and is evaluated without overflow:
    power series for ``x < 2``, the Legendre continued fraction (evaluated backwards with a fixed
    number of terms) for ``2 ≤ x < 40``, the asymptotic series ``Σ (−1)^j (1−a)_j / x^j`` above.
    Fixed term counts keep it branch-free and vectorised (no while loops).
    """
    dtype = x.dtype
    # Small x: Γ(a, x) = C_a − (x^a − 1)/a − x^a Σ_{j≥1} (−x)^j / (j! (a + j)),
    # C_a = (Γ(1 + a) − 1)/a; at a = 0 this is E₁(x) = −γ − ln x − Σ ... .
    xs = jnp.clip(x, jnp.finfo(dtype).tiny, _X_SMALL)
    log_xs = jnp.log(xs)
    if a == 0:
        const, log_term = -_EULER_GAMMA, log_xs
    else:
        const, log_term = math.expm1(math.lgamma(1.0 + a)) / a, jnp.expm1(a * log_xs) / a

    def series_step(j, carry):
        term, series = carry
        j = j.astype(dtype)
        term = term * (-xs) / j
        return term, series + term / (a + j)

    _, series = jax.lax.fori_loop(
        1, _NUM_SERIES + 1, series_step, (jnp.ones_like(xs), jnp.zeros_like(xs))
    )
    upper_gamma = const - log_term - jnp.exp(a * log_xs) * series
    small = jnp.exp((1.0 - a) * log_xs + xs) * upper_gamma
    # Medium x: x^{-a} e^x Γ(a, x) = 1/(x + 1 − a − 1(1 − a)/(x + 3 − a − 2(2 − a)/(x + 5 − a − …))).
    xm = jnp.clip(x, _X_SMALL, _X_LARGE)

    def fraction_step(i, tail):
        j = (_NUM_CONTINUED_FRACTION - i).astype(dtype)
        return j * (j - a) / (xm + 2 * j + 1 - a - tail)

    tail = jax.lax.fori_loop(0, _NUM_CONTINUED_FRACTION, fraction_step, jnp.zeros_like(xm))
    medium = xm / (xm + 1 - a - tail)
    # Large x: asymptotic series in Horner form.
    xl = jnp.maximum(x, _X_LARGE)

    def asymptotic_step(i, large):
        j = (_NUM_ASYMPTOTIC - i).astype(dtype)
        return 1.0 - (j - a) / xl * large

    large = jax.lax.fori_loop(0, _NUM_ASYMPTOTIC, asymptotic_step, jnp.ones_like(xl))
    return jnp.where(
        x < _X_SMALL,
        jnp.where(x > 0, small, jnp.zeros_like(small)),
        jnp.where(x < _X_LARGE, medium, large),
    )


def _mode_coefficients(
    mu: Array, times: Array, l2: Array, k: float, rcond: float
) -> tuple[Array, Array, Array, Array]:
    """Per-(time, mode) coefficients of the closed form; all outputs have shape (T, n).

    Returns ``(decay, gain, test_f0, test_gain)`` with ``g(t) = decay·g₀ + gain·ỹ`` and
    ``(g(t) − e^{−kλt} g₀)/μ = −test_f0·g₀ + test_gain·ỹ`` (see :func:`mse_solution`).
    """
    t = times[:, None]
    mu = mu[None, :]
    k_l2 = k * l2
    drift = jnp.exp(-k_l2 * t)
    # No kernel decay (k = 1, or λ = 0): the mode ODE has constant coefficients.
    flat_gain_over_mu = _phi1(k_l2 + mu, t)
    if k == 1:
        area = jnp.broadcast_to(t, flat_gain_over_mu.shape)
        decay = jnp.exp(-(k_l2 + mu) * t)
        gain_over_mu = flat_gain_over_mu
        gain = mu * gain_over_mu
    else:
        beta = 2.0 * (k - 1) * l2
        decays = beta > 0
        beta_safe = jnp.where(decays, beta, 1.0)
        area = _phi1(beta, t)  # ∫₀ᵗ e^{−βs} ds
        decay = drift * jnp.exp(-mu * area)  # e^{−Φ(t)}
        a = 1.0 - k / (2.0 * (k - 1))  # incomplete-gamma order 1 − p, p = kλ/β
        c = mu / beta_safe
        u = c * jnp.exp(-beta_safe * t)
        f_u, f_c = jnp.split(_scaled_gamma(jnp.concatenate([u, c]), a), [u.shape[0]])
        decaying_gain = f_u - decay * f_c
        gain = jnp.where(decays, decaying_gain, mu * flat_gain_over_mu)
        # gain/μ loses accuracy as μ → 0; for modes at the eigen-solver's noise floor use its
        # μ → 0 limit ∫₀ᵗ e^{−kλ(t−s)} e^{−βs} ds (their cross-kernel weight is ≈ 0 anyway).
        tiny = mu <= rcond * jnp.max(mu)
        mu_safe = jnp.where(tiny, 1.0, mu)
        limit = drift * _phi1((k - 2) * l2, t)
        decaying_over_mu = jnp.where(tiny, limit, decaying_gain / mu_safe)
        gain_over_mu = jnp.where(decays, decaying_over_mu, flat_gain_over_mu)
    test_f0 = drift * _phi1(mu, area)
    return decay, gain, test_f0, gain_over_mu


@functools.partial(jax.jit, static_argnames=("k", "rcond"))
def mse_solution(
    kernel_train: ArrayLike | tuple[ArrayLike, ArrayLike],
    kernel_test_train: ArrayLike | None,
    y_train: ArrayLike,
    f0_train: ArrayLike | None,
    f0_test: ArrayLike | None,
    times: ArrayLike,
    l2: ArrayLike,
    k: float,
    *,
    rcond: float | None = None,
) -> tuple[Array, Array | None]:
    """Closed-form infinite-width MSE dynamics with L2 (paper §3), all times at once.

    Loss ``½ Σ_i ‖f(x_i) − y_i‖²`` (sum over examples) plus ``½λ‖θ‖²``, gradient flow:

        ∂_t f = −kλ f − e^{−βt} Θ₀ (f − y),   β = 2(k − 1)λ.

    In the eigenbasis ``Θ₀ = V diag(μ) Vᵀ`` (fixed), ``g = Vᵀ f`` and ``ỹ = Vᵀ y`` obey one
    scalar linear ODE per mode, ``∂_t g = −kλ g − μ e^{−βt} (g − ỹ)``. With the integrating
    factor ``e^{Φ(t)}``, ``Φ(t) = kλt + μ A(t)``, ``A(t) = ∫₀ᵗ e^{−βs} ds = (1 − e^{−βt})/β``:

        g(t) = e^{−Φ(t)} g₀ + I(t) ỹ,   I(t) = μ ∫₀ᵗ e^{−kλ(t−s) − μ(A(t) − A(s))} e^{−βs} ds.

    * k = 1 (or λ = 0): ``I(t) = μ/(kλ + μ) · (1 − e^{−(kλ+μ)t})``.
    * k ≥ 2, λ > 0: substituting ``u = (μ/β) e^{−βs}`` gives, **exactly**,

          I(t) = F(u_t) − e^{−Φ(t)} F(μ/β),   u_t = (μ/β) e^{−βt},
          F(x) = x^p e^x Γ(1 − p, x) = ∫₀^∞ (1 + v/x)^{−p} e^{−v} dv,   p = k / (2(k − 1)),

      with Γ the upper incomplete gamma function (k = 2: ``F(x) = x e^x E₁(x)``). ``F`` is
      evaluated in closed form by series / continued fraction / asymptotic expansion (no
      quadrature); the integrating factor is ``e^{Φ} ∝ e^{kλt} exp(−μ e^{−βt}/β)``.

    Test outputs integrate the training residual against the decaying cross-kernel,
    ``∂_t f_test = −kλ f_test − e^{−βt} Θ₀(x, X)(f − y)``. Using the mode ODE to eliminate the
    residual, ``f_test(t) = e^{−kλt} f0_test + Θ₀(x, X) V diag(1/μ) (g(t) − e^{−kλt} g₀)``, with
    ``(g(t) − e^{−kλt}g₀)/μ = −e^{−kλt}(1 − e^{−μA})/μ · g₀ + (I/μ) ỹ`` evaluated without the
    division where possible (modes with ``μ ≤ rcond·max μ`` use the μ → 0 limit).

    Limits: ``t = 0`` gives ``f0``. For k ≥ 2, ``f → 0`` as ``t → ∞``. For k = 1,
    ``g → μ/(λ + μ) ỹ``, i.e. ``f_∞(x) = Θ(x, X)(Θ(X, X) + λI)^{−1} Y`` at test points **and**
    at the training points (where it equals ``Θ(Θ + λI)^{−1} Y``): the paper's kernel-ridge
    statement holds for every x with the sum-over-examples loss (a mean over n examples would
    give ``Θ + nλI``), and the initial outputs f0 decay away as ``e^{−(λ+μ)t}``.

    Assumes infinite width (Dyer & Gur-Ari), NTK parameterisation, gradient flow, k-homogeneity.

    Args:
      kernel_train: Θ₀(X, X), (n, n), symmetric positive semi-definite; or its
        eigendecomposition ``(eigenvalues (n,), eigenvectors (n, n))`` as returned by
        ``jnp.linalg.eigh``, which skips the O(n³) step (a slider over λ needs it only once).
      kernel_test_train: Θ₀(x, X), (m, n), or ``None`` (no test outputs).
      y_train: targets, (n, c).
      f0_train: outputs at initialisation, (n, c), or ``None`` for zeros (the mean
        infinite-width network).
      f0_test: (m, c) or ``None`` for zeros.
      times: flow times ``η · num_steps``, (T,), any order.
      l2: λ (may be traced: changing it does not recompile).
      k: homogeneity degree, 1 or ≥ 2 (static).
      rcond: relative eigenvalue floor for the test-output division (default ``10·n·eps``).

    Returns:
      ``(f_train, f_test)`` of shapes (T, n, c) and (T, m, c) (``f_test`` is ``None`` when
      ``kernel_test_train`` is).
    """
    _check_k(k)
    y_train = jnp.asarray(y_train)
    if isinstance(kernel_train, tuple):
        mu, vecs = (jnp.asarray(a) for a in kernel_train)
        dtype = jnp.result_type(mu, vecs, y_train, jnp.float32)
        mu, vecs = mu.astype(dtype), vecs.astype(dtype)
    else:
        kernel_train = jnp.asarray(kernel_train)
        dtype = jnp.result_type(kernel_train, y_train, jnp.float32)
        mu, vecs = jnp.linalg.eigh(kernel_train.astype(dtype))
    y_train = y_train.astype(dtype)
    times = jnp.asarray(times, dtype)
    l2 = jnp.asarray(l2, dtype)
    n = vecs.shape[0]
    if rcond is None:
        rcond = 10.0 * n * float(jnp.finfo(dtype).eps)
    f0_train = jnp.zeros_like(y_train) if f0_train is None else jnp.asarray(f0_train, dtype)

    mu = jnp.maximum(mu, 0.0)  # round-off can make a PSD kernel's eigenvalues slightly < 0
    y_modes = vecs.T @ y_train
    g0 = vecs.T @ f0_train
    # The barriers stop XLA from fusing the (costly, elementwise) mode coefficients and the
    # cross-kernel product into the contractions below, which recomputes them per output
    # entry (10x slower on CPU).
    decay, gain, test_f0, test_gain = jax.lax.optimization_barrier(
        _mode_coefficients(mu, times, l2, k, rcond)
    )
    g = decay[..., None] * g0[None] + gain[..., None] * y_modes[None]
    f_train = jnp.einsum("ij,tjc->tic", vecs, g)
    if kernel_test_train is None:
        return f_train, None

    kernel_test_train = jnp.asarray(kernel_test_train, dtype)
    m = kernel_test_train.shape[0]
    f0_test = (
        jnp.zeros((m, y_train.shape[1]), dtype) if f0_test is None else jnp.asarray(f0_test, dtype)
    )
    h = test_gain[..., None] * y_modes[None] - test_f0[..., None] * g0[None]
    drift = jnp.exp(-k * l2 * times)
    cross_modes = jax.lax.optimization_barrier(kernel_test_train @ vecs)
    f_test = drift[:, None, None] * f0_test[None] + jnp.einsum("mj,tjc->tmc", cross_modes, h)
    return f_train, f_test


# ---------------------------------------------------------------------------------------------
# Numerical ODE (RK4) for MSE and cross-entropy
# ---------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("k", "loss", "num_substeps"))
def ode_solution(
    kernel_train: ArrayLike,
    kernel_test_train: ArrayLike | None,
    y_train: ArrayLike,
    f0_train: ArrayLike | None,
    f0_test: ArrayLike | None,
    times: ArrayLike,
    l2: ArrayLike,
    k: float,
    loss: str = "mse",
    num_substeps: int = 100,
) -> tuple[Array, Array | None]:
    """Infinite-width dynamics with L2 by classical RK4 (paper §3), MSE or cross-entropy.

    Integrates ``∂_t f = −kλ f − e^{−2(k−1)λt} Θ₀ ∂ℓ/∂f`` on the training set and
    ``∂_t f_test = −kλ f_test − e^{−2(k−1)λt} Θ₀(x, X) ∂ℓ/∂f`` at test points, with the loss
    summed over examples: ``∂ℓ/∂f = f − y`` (``'mse'``, ½Σ‖f − y‖²) or ``softmax(f) − y``
    (``'cross_entropy'``, y one-hot or soft labels). L2 term ½λ‖θ‖²; infinite width (Dyer &
    Gur-Ari), gradient flow.

    Integration starts at t = 0 and runs through ``times`` in order, ``num_substeps`` RK4 steps
    between consecutive output times (``lax.scan`` over times, ``fori_loop`` over substeps).
    RK4 is stable while ``h · max eig Θ₀ ≲ 2.8`` with ``h`` the substep; its error is O(h⁴).

    Args:
      kernel_train: Θ₀(X, X), (n, n).
      kernel_test_train: Θ₀(x, X), (m, n), or ``None``.
      y_train: (n, c).
      f0_train: (n, c) or ``None`` for zeros.
      f0_test: (m, c) or ``None`` for zeros.
      times: (T,) non-decreasing, ≥ 0.
      l2: λ.
      k: homogeneity degree, 1 or ≥ 2.
      loss: ``'mse'`` or ``'cross_entropy'``.
      num_substeps: RK4 steps per output interval.

    Returns:
      ``(f_train, f_test)`` of shapes (T, n, c), (T, m, c) (``f_test`` ``None`` if no test
      kernel).
    """
    _check_k(k)
    if loss not in ("mse", "cross_entropy"):
        raise ValueError(f"loss={loss!r}: use 'mse' or 'cross_entropy'")
    kernel_train = jnp.asarray(kernel_train)
    y_train = jnp.asarray(y_train)
    dtype = jnp.result_type(kernel_train, y_train, jnp.float32)
    kernel_train = kernel_train.astype(dtype)
    y_train = y_train.astype(dtype)
    times = jnp.asarray(times, dtype)
    l2 = jnp.asarray(l2, dtype)
    n, c = y_train.shape
    has_test = kernel_test_train is not None
    kernel_cross = jnp.asarray(kernel_test_train, dtype) if has_test else jnp.zeros((0, n), dtype)
    m = kernel_cross.shape[0]
    f0_train = jnp.zeros((n, c), dtype) if f0_train is None else jnp.asarray(f0_train, dtype)
    f0_test = jnp.zeros((m, c), dtype) if f0_test is None else jnp.asarray(f0_test, dtype)
    beta = 2.0 * (k - 1) * l2

    def loss_grad(f: Array) -> Array:
        if loss == "mse":
            return f - y_train
        return jax.nn.softmax(f, axis=-1) - y_train

    def rhs(t: Array, state: tuple[Array, Array]) -> tuple[Array, Array]:
        f, f_test = state
        residual = jnp.exp(-beta * t) * loss_grad(f)
        return (-k * l2 * f - kernel_train @ residual, -k * l2 * f_test - kernel_cross @ residual)

    def rk4_step(t: Array, state: tuple[Array, Array], h: Array) -> tuple[Array, Array]:
        def shift(s, d, scale):
            return jax.tree.map(lambda a, b: a + scale * b, s, d)

        k1 = rhs(t, state)
        k2 = rhs(t + h / 2, shift(state, k1, h / 2))
        k3 = rhs(t + h / 2, shift(state, k2, h / 2))
        k4 = rhs(t + h, shift(state, k3, h))
        return jax.tree.map(
            lambda s, a, b, cc, d: s + h / 6 * (a + 2 * b + 2 * cc + d), state, k1, k2, k3, k4
        )

    def interval(carry, t_next):
        state, t_prev = carry
        h = (t_next - t_prev) / num_substeps
        state = jax.lax.fori_loop(
            0, num_substeps, lambda i, s: rk4_step(t_prev + i * h, s, h), state
        )
        return (state, t_next), state

    _, (f_train, f_test) = jax.lax.scan(
        interval, ((f0_train, f0_test), jnp.zeros((), dtype)), times
    )
    return f_train, (f_test if has_test else None)


def kernel_ridge(
    kernel_train: ArrayLike, kernel_test_train: ArrayLike, y_train: ArrayLike, l2: ArrayLike
) -> Array:
    """Kernel ridge regression ``Θ(x, X)(Θ(X, X) + λI)^{−1} Y`` (paper §3, k = 1 limit).

    This is the t → ∞ limit of :func:`mse_solution` for k = 1 with the sum-over-examples loss
    ``½ Σ_i ‖f(x_i) − y_i‖² + ½λ‖θ‖²``, at any x (pass ``kernel_train`` as ``kernel_test_train``
    for the training outputs ``Θ(Θ + λI)^{−1} Y``).

    Args:
      kernel_train: Θ(X, X), (n, n), positive semi-definite (positive definite if λ = 0).
      kernel_test_train: Θ(x, X), (m, n).
      y_train: (n, c).
      l2: λ ≥ 0.

    Returns:
      Predictions, (m, c).
    """
    kernel_train = jnp.asarray(kernel_train)
    n = kernel_train.shape[0]
    regularised = kernel_train + l2 * jnp.eye(n, dtype=kernel_train.dtype)
    factor = jax.scipy.linalg.cho_factor(regularised, lower=True)
    return jnp.asarray(kernel_test_train) @ jax.scipy.linalg.cho_solve(factor, jnp.asarray(y_train))


# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------


def relu_ntk(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    depth: int = 1,
    bias: bool = False,
    *,
    weight_variance: float = 2.0,
    bias_variance: float = 0.1,
    get: str = "ntk",
) -> Array | ReluKernels:
    """Infinite-width NTK and NNGP of a ReLU MLP in NTK parameterisation (arc-cosine recursion).

    Network (``depth`` hidden layers, all weights N(0, 1), ``σ_w² = weight_variance``):
    ``h¹ = σ_w/√d · W¹ x (+ σ_b b¹)``, ``h^{l+1} = σ_w/√n · W^{l+1} relu(h^l) (+ σ_b b^{l+1})``,
    output ``f = h^{depth+1}``. Bias-free (``bias=False``) it is k-homogeneous in its
    parameters with ``k = depth + 1``, the setting of paper §3. Recursion (Jacot et al. 2018;
    Arora et al. 2019), with ``θ = arccos(Σ^l(x,x')/√(Σ^l(x,x) Σ^l(x',x')))``:

        Σ¹ = σ_w² x·x'/d + σ_b²,                      Θ¹ = Σ¹,
        Σ^{l+1} = σ_w² √(Σ^l(x,x) Σ^l(x',x')) (sin θ + (π − θ) cos θ)/(2π) + σ_b²,
        Σ̇^{l+1} = σ_w² (π − θ)/(2π),                   Θ^{l+1} = Σ^{l+1} + Σ̇^{l+1} Θ^l.

    Returns ``Θ^{depth+1}`` (NTK) and ``Σ^{depth+1}`` (NNGP). For several outputs the kernels
    are these times the identity over outputs.

    Args:
      x1: (n, d) inputs.
      x2: (m, d) inputs; ``None`` for ``x1``.
      depth: number of hidden layers (0 gives the linear kernel).
      bias: include biases of variance ``bias_variance`` (the network is then not homogeneous).
      weight_variance: σ_w² (2 keeps ‖h‖ constant through ReLU layers).
      bias_variance: σ_b², used only when ``bias``.
      get: ``'ntk'``, ``'nngp'`` or ``'both'`` (a :class:`ReluKernels`).

    Returns:
      (n, m) kernel, or :class:`ReluKernels` for ``get='both'``.
    """
    if get not in ("ntk", "nngp", "both"):
        raise ValueError(f"get={get!r}: use 'ntk', 'nngp' or 'both'")
    x1 = jnp.asarray(x1)
    x2 = x1 if x2 is None else jnp.asarray(x2)
    d = x1.shape[-1]
    s_w = weight_variance
    s_b = bias_variance if bias else 0.0
    nngp = s_w * (x1 @ x2.T) / d + s_b
    q1 = s_w * jnp.sum(x1 * x1, axis=-1) / d + s_b
    q2 = s_w * jnp.sum(x2 * x2, axis=-1) / d + s_b
    ntk = nngp
    for _ in range(depth):
        scale = jnp.sqrt(q1[:, None] * q2[None, :])
        cos = jnp.clip(nngp / jnp.where(scale > 0, scale, 1.0), -1.0, 1.0)
        angle = jnp.arccos(cos)
        nngp = s_w * scale * (jnp.sin(angle) + (jnp.pi - angle) * cos) / (2 * jnp.pi) + s_b
        derivative = s_w * (jnp.pi - angle) / (2 * jnp.pi)
        ntk = nngp + derivative * ntk
        q1 = s_w * q1 / 2 + s_b  # E[relu(u)²] = Var(u)/2
        q2 = s_w * q2 / 2 + s_b
    if get == "ntk":
        return ntk
    if get == "nngp":
        return nngp
    return ReluKernels(ntk=ntk, nngp=nngp)


def empirical_ntk(
    apply_fn: Callable[[Any, Array], Array],
    params: Any,
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    reduce: str = "mean",
    batch_size: int = 1,
) -> Array:
    """Finite-width NTK ``Θ(x1, x2) = J(x1) J(x2)ᵀ``, ``J = ∂f/∂θ`` (paper §3).

    Computed without materialising J (vector-Jacobian then Jacobian-vector products, one output
    of ``x2`` at a time in batches of ``batch_size``), so memory is ``O(batch_size · #params)``.

    Args:
      apply_fn: ``apply_fn(params, x) -> outputs`` of shape (B,) or (B, c).
      params: any pytree of arrays.
      x1: (n, ...) inputs.
      x2: (m, ...) inputs; ``None`` for ``x1``.
      reduce: for (B, c) outputs: ``'mean'`` gives ``(1/c) Σ_j J_j(x1) J_j(x2)ᵀ`` (n, m), which
        equals Θ at infinite width where the full kernel is ``Θ ⊗ I_c``; ``'trace'`` the sum over
        classes; ``'full'`` the (n, m, c, c) kernel. Ignored for scalar outputs (n, m).
      batch_size: outputs of ``x2`` handled per vectorised pass.

    Returns:
      (n, m) kernel, or (n, m, c, c) for ``reduce='full'``.
    """
    if reduce not in ("mean", "trace", "full"):
        raise ValueError(f"reduce={reduce!r}: use 'mean', 'trace' or 'full'")
    x1 = jnp.asarray(x1)
    x2 = x1 if x2 is None else jnp.asarray(x2)
    out2, vjp_fn = jax.vjp(lambda p: apply_fn(p, x2), params)

    def column(cotangent: Array) -> Array:
        (tangent,) = vjp_fn(cotangent)
        return jax.jvp(lambda p: apply_fn(p, x1), (params,), (tangent,))[1]

    basis = jnp.eye(out2.size, dtype=out2.dtype).reshape((out2.size,) + out2.shape)
    cols = jax.lax.map(column, basis, batch_size=batch_size)  # (m·c, n[, c])
    if out2.ndim == 1:
        return cols.T
    m, c = out2.shape
    full = jnp.transpose(cols.reshape(m, c, -1, c), (2, 0, 3, 1))  # (n, m, c, c)
    if reduce == "full":
        return full
    trace = jnp.trace(full, axis1=2, axis2=3)
    return trace / c if reduce == "mean" else trace


# ---------------------------------------------------------------------------------------------
# Hessian spectrum and kernel decay measurements
# ---------------------------------------------------------------------------------------------


def _lanczos_ritz_values(
    matvec: Callable[[Array], Array], size: int, num_iterations: int, key: Array, dtype: Any
) -> Array:
    """Ritz values (ascending) of Lanczos with full re-orthogonalisation.

    On breakdown (an invariant Krylov subspace, β ≈ 0) it continues from a fresh random vector
    orthogonal to the basis with β = 0, so the tridiagonal matrix stays exactly ``Vᵀ H V``.
    """
    eps = float(jnp.finfo(dtype).eps)

    def orthogonalise(basis: Array, w: Array) -> Array:
        for _ in range(2):  # "twice is enough" (Kahan–Parlett)
            w = w - basis.T @ (basis @ w)
        return w

    def body(j, state):
        basis, alphas, betas, v, v_prev, beta_prev, scale = state
        basis = basis.at[j].set(v)
        w = matvec(v)
        alpha = jnp.vdot(v, w)
        w = orthogonalise(basis, w - alpha * v - beta_prev * v_prev)
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(alpha) + beta)
        fresh = orthogonalise(
            basis, jax.random.normal(jax.random.fold_in(key, j + 1), (size,), dtype)
        )
        fresh_norm = jnp.linalg.norm(fresh)
        fresh = fresh / jnp.where(fresh_norm > 0, fresh_norm, 1.0)
        broke = beta <= 100 * eps * scale
        beta = jnp.where(broke, 0.0, beta)
        v_next = jnp.where(broke, fresh, w / jnp.where(broke, 1.0, beta))
        return (
            basis,
            alphas.at[j].set(alpha),
            betas.at[j].set(beta),
            v_next,
            v,
            beta,
            scale,
        )

    v0 = jax.random.normal(key, (size,), dtype)
    v0 = v0 / jnp.linalg.norm(v0)
    state = (
        jnp.zeros((num_iterations, size), dtype),
        jnp.zeros(num_iterations, dtype),
        jnp.zeros(num_iterations, dtype),
        v0,
        jnp.zeros(size, dtype),
        jnp.zeros((), dtype),
        jnp.zeros((), dtype),
    )
    _, alphas, betas, *_ = jax.lax.fori_loop(0, num_iterations, body, state)
    off = betas[:-1]
    tridiagonal = jnp.diag(alphas) + jnp.diag(off, 1) + jnp.diag(off, -1)
    return jnp.linalg.eigvalsh(tridiagonal)


def hessian_extreme_eigs(
    loss_fn: Callable[[Any], Array],
    params: Any,
    l2: float,
    num: int = 1,
    method: str = "dense",
    *,
    num_iterations: int | None = None,
    seed: int = 0,
) -> HessianExtremes:
    """Extreme eigenvalues of the regularised Hessian ``∇²(L(θ) + ½λ‖θ‖²) = ∇²L + λI``.

    The heuristic of paper §2 (and §3): in an over-parameterised model ∇²L has many (near-)zero
    eigenvalues, so the smallest eigenvalue of the regularised Hessian is ≈ λ and the slowest
    mode relaxes on the time scale 1/λ (1/(ηλ) steps). For a linear model with more parameters
    than data it is exactly λ.

    Args:
      loss_fn: ``loss_fn(params) -> scalar``, the bare loss L (no L2 term).
      params: pytree; flattened with ``ravel_pytree``.
      l2: λ.
      num: how many eigenvalues to return at each end.
      method: ``'dense'`` (``jax.hessian`` of the flattened loss and ``eigvalsh``; tiny nets)
        or ``'lanczos'`` (Hessian-vector products ``jvp(grad)``, full re-orthogonalisation;
        returns extreme Ritz values, which converge first).
      num_iterations: Lanczos steps (default ``min(#params, 100)``); with ``#params`` steps
        the Ritz values are the exact spectrum.
      seed: seed of the Lanczos start vector.

    Returns:
      :class:`HessianExtremes` (``smallest`` ascending, ``largest`` descending).
    """
    flat, unravel = ravel_pytree(params)
    size = flat.size

    def regularised(v: Array) -> Array:
        return loss_fn(unravel(v)) + 0.5 * l2 * jnp.vdot(v, v)

    if method == "dense":
        eigs = jax.jit(lambda v: jnp.linalg.eigvalsh(jax.hessian(regularised)(v)))(flat)
    elif method == "lanczos":
        steps = min(size, 100) if num_iterations is None else min(num_iterations, size)
        grad = jax.grad(regularised)

        def hvp(v: Array) -> Array:
            return jax.jvp(grad, (flat,), (v,))[1]

        ritz = jax.jit(_lanczos_ritz_values, static_argnums=(0, 1, 2, 4))
        eigs = ritz(hvp, size, steps, jax.random.key(seed), flat.dtype)
    else:
        raise ValueError(f"method={method!r}: use 'dense' or 'lanczos'")
    return HessianExtremes(smallest=eigs[:num], largest=eigs[::-1][:num])


def kernel_decay_rate(times: ArrayLike, kernels: ArrayLike, norm: str = "trace") -> float:
    """Measured exponential decay rate of a kernel, to compare with ``2(k − 1)λ`` (paper §3).

    Least-squares fit of ``log s(t) = log s(0) − rate · t``, where ``s`` is the trace
    (``norm='trace'``) or Frobenius norm (``'fro'``) of each kernel, or the value itself for
    scalar entries. At infinite width ``Θ_t = e^{−2(k−1)λt} Θ₀`` gives ``rate = 2(k − 1)λ``;
    finite-width corrections are O(1/width).

    Args:
      times: (T,) flow times ``η · num_steps``.
      kernels: (T,) positive scalars, or (T, n, n) kernels (``'fro'`` also accepts (T, n, m)).
      norm: ``'trace'`` or ``'fro'``.

    Returns:
      The fitted rate (positive for a shrinking kernel).
    """
    times = np.asarray(times, np.float64)
    kernels = np.asarray(kernels, np.float64)
    if kernels.ndim == 1:
        size = kernels
    elif norm == "trace":
        size = np.trace(kernels, axis1=-2, axis2=-1)
    elif norm == "fro":
        size = np.sqrt(np.sum(kernels**2, axis=(-2, -1)))
    else:
        raise ValueError(f"norm={norm!r}: use 'trace' or 'fro'")
    slope, _ = np.polyfit(times, np.log(size), 1)
    return float(-slope)


# --- data and the network -------------------------------------------------------------------
