"""Tests for l2lib.theory: closed form vs RK4, limits, analytic vs empirical NTK, Hessian."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from l2lib import theory

N_TRAIN, N_TEST, N_CLASSES, DIM = 6, 3, 2, 5


@pytest.fixture(autouse=True)
def strict_float64():
    """float64 and no implicit rank promotion, restored afterwards."""
    old_x64 = jax.config.jax_enable_x64
    old_rank = jax.config.jax_numpy_rank_promotion
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_rank_promotion", "raise")
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", old_x64)
        jax.config.update("jax_numpy_rank_promotion", old_rank)


def sphere(rng: np.random.Generator, n: int, d: int = DIM) -> np.ndarray:
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def problem():
    """A depth-2 ReLU NTK on the sphere, scaled so eigenvalues span ~0.3 to ~20."""
    rng = np.random.default_rng(0)
    x = sphere(rng, N_TRAIN + N_TEST)
    kernel = 8.0 * np.asarray(theory.relu_ntk(x, x, depth=2))
    return dict(
        kernel_train=kernel[:N_TRAIN, :N_TRAIN],
        kernel_test_train=kernel[N_TRAIN:, :N_TRAIN],
        y_train=rng.normal(size=(N_TRAIN, N_CLASSES)),
        f0_train=0.5 * rng.normal(size=(N_TRAIN, N_CLASSES)),
        f0_test=0.5 * rng.normal(size=(N_TEST, N_CLASSES)),
    )


def rel_err(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))


# --- closed form ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("l2", [0.0, 0.05, 0.5])
def test_mse_closed_form_matches_rk4(problem, k, l2):
    eigs = np.linalg.eigvalsh(problem["kernel_train"])
    assert eigs.min() > 0.1 and eigs.max() > 10  # all regimes of the incomplete gamma
    times = jnp.linspace(0.0, 12.0, 9)
    exact = theory.mse_solution(**problem, times=times, l2=l2, k=k)
    rk4 = theory.ode_solution(**problem, times=times, l2=l2, k=k, num_substeps=300)
    assert exact[0].shape == (9, N_TRAIN, N_CLASSES)
    assert exact[1].shape == (9, N_TEST, N_CLASSES)
    assert rel_err(exact[0], rk4[0]) < 1e-6
    assert rel_err(exact[1], rk4[1]) < 1e-6


@pytest.mark.parametrize("k", [1, 2, 4])
def test_t0_gives_f0(problem, k):
    f_train, f_test = theory.mse_solution(**problem, times=jnp.zeros(1), l2=0.1, k=k)
    np.testing.assert_allclose(f_train[0], problem["f0_train"], atol=1e-12)
    np.testing.assert_allclose(f_test[0], problem["f0_test"], atol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_late_time_outputs_vanish_for_k_ge_2(problem, k):
    f_train, f_test = theory.mse_solution(**problem, times=jnp.array([2e3]), l2=0.05, k=k)
    assert np.max(np.abs(f_train)) < 1e-6
    assert np.max(np.abs(f_test)) < 1e-6


def test_late_time_k1_is_kernel_ridge(problem):
    l2 = 0.3
    f_train, f_test = theory.mse_solution(**problem, times=jnp.array([500.0]), l2=l2, k=1)
    ridge_train = theory.kernel_ridge(
        problem["kernel_train"], problem["kernel_train"], problem["y_train"], l2
    )
    ridge_test = theory.kernel_ridge(
        problem["kernel_train"], problem["kernel_test_train"], problem["y_train"], l2
    )
    np.testing.assert_allclose(f_train[0], ridge_train, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(f_test[0], ridge_test, atol=1e-6, rtol=1e-6)
    # On the train set this is Θ(Θ + λI)⁻¹Y, which is not Y: λ > 0 prevents interpolation.
    assert np.max(np.abs(ridge_train - problem["y_train"])) > 1e-2


@pytest.mark.parametrize("k", [1, 2])
def test_vectorised_over_times_equals_loop(problem, k):
    times = jnp.array([3.0, 0.0, 0.7, 40.0, 11.0])  # any order
    f_train, f_test = theory.mse_solution(**problem, times=times, l2=0.2, k=k)
    for i, t in enumerate(times):
        one_train, one_test = theory.mse_solution(**problem, times=t[None], l2=0.2, k=k)
        np.testing.assert_allclose(f_train[i], one_train[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(f_test[i], one_test[0], rtol=1e-12, atol=1e-13)


def test_zero_initial_outputs_and_no_test_kernel(problem):
    times = jnp.array([0.0, 1.0])
    f_train, f_test = theory.mse_solution(
        problem["kernel_train"], None, problem["y_train"], None, None, times, 0.1, 2
    )
    assert f_test is None
    np.testing.assert_allclose(f_train[0], 0.0, atol=1e-14)
    full, _ = theory.mse_solution(
        problem["kernel_train"],
        problem["kernel_test_train"],
        problem["y_train"],
        jnp.zeros((N_TRAIN, N_CLASSES)),
        None,
        times,
        0.1,
        2,
    )
    np.testing.assert_allclose(f_train, full, rtol=1e-13)


def test_precomputed_eigendecomposition_gives_same_outputs(problem):
    times = jnp.array([0.5, 5.0])
    direct = theory.mse_solution(**problem, times=times, l2=0.1, k=3)
    eig = jnp.linalg.eigh(jnp.asarray(problem["kernel_train"]))
    args = dict(problem, kernel_train=(eig.eigenvalues, eig.eigenvectors))
    via_eigh = theory.mse_solution(**args, times=times, l2=0.1, k=3)
    np.testing.assert_allclose(via_eigh[0], direct[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(via_eigh[1], direct[1], rtol=1e-12, atol=1e-13)


def test_invalid_homogeneity_raises(problem):
    with pytest.raises(ValueError, match="homogeneity"):
        theory.mse_solution(**problem, times=jnp.ones(1), l2=0.1, k=1.5)


def test_kernel_at_scales_by_exp():
    theta0 = jnp.array([[2.0, 1.0], [1.0, 3.0]])
    out = theory.kernel_at(theta0, jnp.array([0.0, 2.0]), 0.1, 3)
    assert out.shape == (2, 2, 2)
    np.testing.assert_allclose(out[0], theta0)
    np.testing.assert_allclose(out[1], np.exp(-2 * 2 * 0.1 * 2.0) * theta0, rtol=1e-14)
    np.testing.assert_allclose(theory.kernel_at(theta0, 5.0, 0.1, 1), theta0)


# --- cross-entropy ODE -----------------------------------------------------------------------


def test_cross_entropy_ode(problem):
    y = jax.nn.one_hot(jnp.arange(N_TRAIN) % N_CLASSES, N_CLASSES)
    args = dict(problem, y_train=y)
    times = jnp.array([0.0, 1.0, 5.0, 1500.0])
    coarse = theory.ode_solution(**args, times=times, l2=0.05, k=2, loss="cross_entropy")
    fine = theory.ode_solution(
        **args, times=times, l2=0.05, k=2, loss="cross_entropy", num_substeps=400
    )
    np.testing.assert_allclose(coarse[0][0], problem["f0_train"], atol=1e-14)
    assert rel_err(coarse[0][:3], fine[0][:3]) < 1e-6
    assert rel_err(coarse[1][:3], fine[1][:3]) < 1e-6
    # Training fits the labels first, then the k ≥ 2 decay drives every output to 0.
    margin = jnp.sum(fine[0][1] * y, -1) - jnp.sum(fine[0][1] * (1 - y), -1)
    assert bool(jnp.all(margin > 0))
    assert float(jnp.max(jnp.abs(fine[0][-1]))) < 1e-6
    assert float(jnp.max(jnp.abs(fine[1][-1]))) < 1e-6


# --- analytic vs empirical NTK ---------------------------------------------------------------


def init_mlp(seed: int, dim: int, width: int, depth: int, bias: bool = False):
    """N(0, 1) weights (and biases) in float32, drawn with NumPy (fast for 16M parameters)."""
    rng = np.random.default_rng(seed)
    sizes = [dim] + [width] * depth + [1]
    weights = [rng.standard_normal((a, b), np.float32) for a, b in zip(sizes, sizes[1:])]
    biases = [rng.standard_normal(b, np.float32) for b in sizes[1:]] if bias else []
    return jax.tree.map(jnp.asarray, {"w": weights, "b": biases})


def mlp_apply(params, x, weight_variance=2.0, bias_variance=0.1):
    """NTK-parameterised ReLU MLP: h = σ_w/√fan_in · h W (+ σ_b b), ReLU between layers."""
    h = x
    num_layers = len(params["w"])
    for i, w in enumerate(params["w"]):
        h = jnp.sqrt(weight_variance / w.shape[0]) * h @ w
        if params["b"]:
            h = h + jnp.sqrt(bias_variance) * params["b"][i][None, :]
        if i < num_layers - 1:
            h = jax.nn.relu(h)
    return h[:, 0]


@pytest.mark.parametrize("depth,bias", [(1, False), (2, False), (1, True)])
def test_relu_ntk_matches_wide_network(depth, bias):
    """Width 4096, kernels averaged over 3 initialisations, 5 % relative (Frobenius) tolerance.

    One network's NTK fluctuates by O(1/√width) (≈ 2-6 % here, more at depth 2), so the test
    compares the Monte-Carlo mean over seeds 0, 1, 2 with the analytic kernel.
    """
    x = sphere(np.random.default_rng(1), 5).astype(np.float32)
    analytic = theory.relu_ntk(x, x, depth=depth, bias=bias, get="both")
    ntks, nngps = [], []
    for seed in (0, 1, 2):
        params = init_mlp(seed, DIM, 4096, depth, bias)
        ntks.append(theory.empirical_ntk(mlp_apply, params, x))
        # The read-out layer's share of the NTK is the empirical NNGP of the last hidden layer.
        readout = {"w": params["w"][-1:], "b": params["b"][-1:]}

        def apply_readout(p, xs, params=params):
            return mlp_apply({"w": params["w"][:-1] + p["w"], "b": params["b"][:-1] + p["b"]}, xs)

        nngps.append(theory.empirical_ntk(apply_readout, readout, x))
    for emp, exact in ((np.mean(ntks, 0), analytic.ntk), (np.mean(nngps, 0), analytic.nngp)):
        assert np.linalg.norm(emp - exact) / np.linalg.norm(exact) < 0.05


def test_relu_ntk_depth0_is_linear_kernel_and_symmetric():
    x = sphere(np.random.default_rng(2), 4)
    np.testing.assert_allclose(theory.relu_ntk(x, depth=0), 2.0 * x @ x.T / DIM, rtol=1e-14)
    k = theory.relu_ntk(x, x, depth=3)
    np.testing.assert_allclose(k, k.T, rtol=1e-14)
    assert np.linalg.eigvalsh(np.asarray(k)).min() > 0


def test_empirical_ntk_vector_outputs_reductions():
    """For a linear map x ↦ xW with W (d, c), Θ_full = (x·x') I_c."""
    x = sphere(np.random.default_rng(3), 4)
    w = jnp.ones((DIM, 3))

    def apply(p, xs):
        return xs @ p

    full = theory.empirical_ntk(apply, w, x, x[:2], reduce="full")
    assert full.shape == (4, 2, 3, 3)
    gram = x @ x[:2].T
    np.testing.assert_allclose(full, gram[:, :, None, None] * np.eye(3), atol=1e-14)
    np.testing.assert_allclose(theory.empirical_ntk(apply, w, x, x[:2]), gram, atol=1e-14)
    np.testing.assert_allclose(
        theory.empirical_ntk(apply, w, x, x[:2], reduce="trace", batch_size=4), 3 * gram, atol=1e-14
    )


# --- Hessian ---------------------------------------------------------------------------------


def test_hessian_dense_and_lanczos_agree_on_tiny_net():
    rng = np.random.default_rng(4)
    x, y = sphere(rng, 4, 3), jnp.asarray(rng.normal(size=4))
    params = jax.tree.map(lambda a: a.astype(jnp.float64), init_mlp(0, 3, 6, 1))  # 24 params

    def loss(p):
        return 0.5 * jnp.sum((mlp_apply(p, x) - y) ** 2)

    dense = theory.hessian_extreme_eigs(loss, params, 1e-2, num=3, method="dense")
    lanczos = theory.hessian_extreme_eigs(loss, params, 1e-2, num=3, method="lanczos")
    np.testing.assert_allclose(lanczos.smallest, dense.smallest, atol=1e-9)
    np.testing.assert_allclose(lanczos.largest, dense.largest, rtol=1e-9)
    # Fewer Lanczos steps than parameters: the extreme Ritz values converge first.
    short = theory.hessian_extreme_eigs(loss, params, 1e-2, method="lanczos", num_iterations=15)
    np.testing.assert_allclose(short.largest, dense.largest[:1], rtol=1e-6)


@pytest.mark.parametrize("method", ["dense", "lanczos"])
def test_overparameterised_linear_model_smallest_eig_is_l2(method):
    """f(x) = x·w with 12 parameters and 5 examples: ∇²L = XᵀX has rank 5, so min eig = λ."""
    rng = np.random.default_rng(5)
    x, y = jnp.asarray(rng.normal(size=(5, 12))), jnp.asarray(rng.normal(size=5))
    l2 = 3e-3

    def loss(w):
        return 0.5 * jnp.sum((x @ w - y) ** 2)

    w_interp = jnp.linalg.lstsq(x, y)[0]  # an interpolating point
    eigs = theory.hessian_extreme_eigs(loss, w_interp, l2, num=2, method=method)
    np.testing.assert_allclose(eigs.smallest, [l2, l2], rtol=1e-9)
    top = np.linalg.eigvalsh(np.asarray(x.T @ x)).max() + l2
    np.testing.assert_allclose(eigs.largest[0], top, rtol=1e-9)


# --- kernel decay ----------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["trace", "fro"])
def test_kernel_decay_rate_recovers_rate(norm):
    theta0 = np.asarray(theory.relu_ntk(sphere(np.random.default_rng(6), 4), depth=2))
    times = np.linspace(0.0, 50.0, 11)
    l2, k = 0.01, 3
    kernels = theory.kernel_at(theta0, times, l2, k)
    assert theory.kernel_decay_rate(times, kernels, norm) == pytest.approx(
        2 * (k - 1) * l2, rel=1e-9
    )
    traces = np.trace(np.asarray(kernels), axis1=1, axis2=2)
    assert theory.kernel_decay_rate(times, traces) == pytest.approx(0.04, rel=1e-9)
