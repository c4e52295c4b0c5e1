"""Chapter 1 inside the paper's premise: fixed-budget t* claims with their nulls, and the
theory's own regime, where each member's t* is predicted with no fitted parameter.

Two parts, both reading the store only:

* **Fixed-budget sweeps** (``experiments.PREMISE_SETUPS``): every member trains the same T
  steps, t* is read on the seed mean (:func:`l2lib.analysis.seed_peaks`), only (λ, η) inside
  the premise (every seed ≥ 0.99 on its whole training set by t*) enter a claim, and each claim
  — slope, per-η c, collapse, horizon independence (T against T/2 of the same runs) — is tested
  against its null (:func:`l2lib.analysis.null_test`).
* **The theory regime** (``experiments.ch1_theory_ntk``): a bias-free ReLU MLP in NTK
  parameterization, MSE, full-batch gradient descent. Its prediction (the artifact
  ``ch1_theory_prediction``) is :func:`l2lib.theory.mse_solution` on each member's own
  empirical NTK and outputs at initialisation. Conversions: the engine's loss is the *mean*
  over the n training examples of ½‖f − y‖², the theory's the *sum*; gradient descent on
  mean-loss + ½λ‖θ‖² with step η is the flow ∂_t f = −kλf − (Θ_t/n)(f − y) at t = η·steps, so
  the theory is run with the kernel Θ₀/n, the engine's λ, and times η·steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from l2lib import analysis, experiments
from l2lib import store as store_lib

#: The budget must leave every fitted member this many multiples of its c: λη·T ≥ 4c.
BUDGET_MULTIPLE = 4.0
#: Theory regime: measured t* within this fraction of the predicted t*.
THEORY_TOLERANCE = 0.25
#: The test MSE must rise after t* by more than this multiple of its noise floor (its spread
#: over seeds at the minimum).
RISE_FLOOR_MULTIPLE = 1.0


# --- the fixed-budget sweeps ------------------------------------------------------------------


class BudgetReading(NamedTuple):
    """t* of a fixed-budget sweep read at one budget, and the claims' inputs."""

    budget: int
    peaks: analysis.SeedPeaks
    used: np.ndarray  # (G,) bool: in the premise, not censored, not diverged
    c: float  # geometric mean of λη·t* over the used (λ, η)
    c_per_lr: dict[float, float]
    fitted_after: np.ndarray  # (G,) fraction of evaluations after t* still fitted (a description)


def read_budget(arrays: analysis.Arrays, budget: int) -> BudgetReading:
    """The sweep truncated at ``budget`` steps and read by :func:`analysis.seed_peaks`."""
    cut = analysis.truncate(arrays, budget)
    pk = analysis.seed_peaks(cut)
    used = pk.in_premise & ~pk.censored & ~pk.diverged & np.isfinite(pk.t_star)
    lam_eta = pk.l2 * pk.learning_rate
    c = float(10 ** np.mean(np.log10(lam_eta[used] * pk.t_star[used]))) if used.any() else np.nan
    per = analysis.c_per_learning_rate(pk.l2, pk.learning_rate, pk.t_star, used)
    return BudgetReading(int(budget), pk, used, c, per, analysis.fitted_after(cut, pk))


@dataclasses.dataclass(frozen=True)
class PremiseSummary:
    """What chapter 1 reports for one fixed-budget setup."""

    name: str
    full: BudgetReading  # at T
    half: BudgetReading  # at T/2 (the same runs)
    fit: analysis.TimescaleFit | None
    slope_null: analysis.NullTest | None
    c_null: analysis.NullTest | None
    collapse: analysis.Collapse | None
    collapse_null: analysis.NullTest | None
    horizon_used: np.ndarray  # (G,) bool: used at both budgets
    horizon_ratio: float  # median t*(T)/t*(T/2)
    horizon_null: analysis.NullTest | None

    @property
    def budget_ok(self) -> bool:
        """λη·T ≥ 4c for every used (λ, η)."""
        pk = self.full.peaks
        lam_eta = (pk.l2 * pk.learning_rate)[self.full.used]
        return bool(lam_eta.size) and bool(
            np.all(lam_eta * self.full.budget >= BUDGET_MULTIPLE * self.full.c)
        )


def premise_summary(res: store_lib.Results) -> PremiseSummary:
    """Every chapter-1 claim's numbers and nulls for a fixed-budget sweep."""
    cfg = res.config
    budget = int(cfg.duration.num_steps)
    half_budget = int(budget * experiments.PREMISE_HORIZON_FRACTION)
    full = read_budget(res.arrays, budget)
    half = read_budget(res.arrays, half_budget)
    pk, u = full.peaks, full.used
    fit = slope_null = c_null = col = col_null = None
    if u.sum() >= 3 and np.ptp(np.log10(pk.l2[u] * pk.learning_rate[u])) > 0:
        fit = analysis.fit_timescale(pk.l2[u], pk.learning_rate[u], pk.t_star[u])
        cands = [pk.candidates[i] for i in np.flatnonzero(u)]
        slope_null = analysis.null_test(
            analysis.slope_score(pk.l2[u], pk.learning_rate[u]), pk.t_star[u], cands
        )
        if len(set(pk.learning_rate[u].tolist())) > 1:
            c_null = analysis.null_test(
                analysis.c_spread_score(pk.l2[u], pk.learning_rate[u]), pk.t_star[u], cands
            )
        col = analysis.collapse(pk.l2[u], pk.learning_rate[u], pk.t_star[u], np.ones(u.sum()))
        col_null = analysis.null_test(
            analysis.collapse_score(pk.l2[u], pk.learning_rate[u]), pk.t_star[u], cands
        )
    both = u & half.used
    ratio, h_null = float("nan"), None
    if both.any():
        g = int(both.sum())
        t2 = np.concatenate([pk.t_star[both], half.peaks.t_star[both]])
        ratio = float(np.median(pk.t_star[both] / half.peaks.t_star[both]))
        cands = [pk.candidates[i] for i in np.flatnonzero(both)] + [
            half.peaks.candidates[i] for i in np.flatnonzero(both)
        ]
        h_null = analysis.null_test(analysis.horizon_score(g), t2, cands)
    return PremiseSummary(
        cfg.name, full, half, fit, slope_null, c_null, col, col_null, both, ratio, h_null
    )


# --- the theory regime: the empirical NTK and the prediction ----------------------------------


def mlp_kernels(model) -> tuple[list[np.ndarray], list[float]]:
    """The weight matrices and multipliers of a bias-free :class:`l2lib.models.MLP` without
    batch norm, input layer first (raises ``ValueError`` for any other model)."""
    layers = list(model.hidden) + [model.head]
    if len(model.norms) or any(layer.bias is not None for layer in layers):
        raise ValueError("mlp_ntk: needs a bias-free MLP without batch norm (use_bias=False)")
    if model.activation != "relu":
        raise ValueError("mlp_ntk: needs ReLU activations")
    return [np.asarray(layer.kernel[...], np.float64) for layer in layers], [
        float(layer.multiplier) for layer in layers
    ]


def mlp_ntk(
    kernels: list[np.ndarray], multipliers: list[float], x1: np.ndarray, x2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical NTK of a bias-free ReLU MLP, averaged over its c outputs, in float64.

    For ``z_l = m_l·h_{l−1} W_l`` (h₀ = x), ``h_l = relu(z_l)``, ``f = z_{L+1}``, the gradient of
    output j with respect to W_l is ``m_l·h_{l−1} ⊗ δ_{l,j}`` with ``δ_{l,j} = ∂f_j/∂z_l``, so

        Θ(x, x') = (1/c) Σ_j J_j(x)·J_j(x') = Σ_l m_l² (h_{l−1}·h'_{l−1}) (1/c) Σ_j δ_{l,j}·δ'_{l,j},

    computed layer by layer without the Jacobian (the same as
    :func:`l2lib.theory.empirical_ntk` with ``reduce='mean'``, far cheaper for a wide MLP).

    Returns:
      ``(Θ(x1, x2) (n1, n2), f(x1) (n1, c), f(x2) (n2, c))``.
    """

    def forward(x):
        h, hs, gates = x.reshape(x.shape[0], -1).astype(np.float64), [], []
        for w, m in zip(kernels[:-1], multipliers[:-1]):
            hs.append(h)
            z = m * (h @ w)
            gates.append((z > 0).astype(np.float64))
            h = np.maximum(z, 0.0)
        hs.append(h)
        return hs, gates, multipliers[-1] * (h @ kernels[-1])

    (h1, g1, f1), (h2, g2, f2) = forward(x1), forward(x2)
    c = kernels[-1].shape[1]
    depth = len(kernels)
    # δ at the output is e_j for each j: one (n, c, width) array per layer, going down.
    d1 = np.broadcast_to(np.eye(c), (x1.shape[0], c, c))
    d2 = np.broadcast_to(np.eye(c), (x2.shape[0], c, c))
    theta = np.zeros((x1.shape[0], x2.shape[0]))
    for layer in range(depth - 1, -1, -1):
        m = multipliers[layer]
        delta = np.einsum("njc,mjc->nm", d1, d2) / c
        theta += m**2 * (h1[layer] @ h2[layer].T) * delta
        if layer > 0:
            w = kernels[layer]
            d1 = np.einsum("njc,wc->njw", d1, m * w) * g1[layer - 1][:, None, :]
            d2 = np.einsum("njc,wc->njw", d2, m * w) * g2[layer - 1][:, None, :]
    return theta, f1, f2


def init_model(cfg, seed: int, input_shape: tuple[int, ...], num_classes: int):
    """The network a member of seed ``seed`` starts from, exactly as the engine builds it."""
    import jax
    from flax import nnx

    from l2lib import models

    init_key, _ = jax.random.split(jax.random.PRNGKey(seed))
    return models.build(cfg.model, input_shape, num_classes, nnx.Rngs(params=init_key))


def homogeneity(cfg) -> int:
    """k of a bias-free ReLU MLP: its number of weight layers (hidden layers + 1)."""
    return cfg.model.depth + 1


def theory_prediction(cfg) -> dict[str, np.ndarray]:
    """The infinite-width prediction for every member of ``cfg`` (an NTK-parameterized,
    bias-free ReLU MLP trained on MSE with full-batch gradient descent).

    Per member: :func:`l2lib.theory.mse_solution` with the kernel Θ₀/n and outputs f₀ of the
    member's own network at initialisation (its seed), its λ, k = depth + 1, at the flow times
    η·(evaluation steps) — no fitted parameter. Returns the predicted ``test_loss`` (mean over
    test examples of ½‖f − y‖², the engine's), ``test_accuracy`` and ``train_loss`` (M, E), and
    per seed the kernel's largest eigenvalue of Θ₀/n (``eig_max``: η·eig_max ≪ 2 is where
    gradient descent follows the flow).
    """
    import jax.numpy as jnp

    from l2lib import data as data_lib
    from l2lib import theory

    if cfg.optimizer.loss != "mse" or cfg.optimizer.batch_size < (cfg.data.num_train or 0):
        raise ValueError("theory_prediction: needs MSE and full-batch gradient descent")
    ds = data_lib.load(cfg.data)
    n = ds.x_train.shape[0]
    if cfg.optimizer.batch_size != n:
        raise ValueError("theory_prediction: batch_size must equal the number of training examples")
    k = homogeneity(cfg)
    y = np.eye(ds.num_classes)[ds.y_train]
    yt = np.eye(ds.num_classes)[ds.y_test]
    steps = cfg.eval_every * np.arange(1, cfg.num_evals + 1)
    members = cfg.members()
    m, e = len(members), len(steps)
    out = {k_: np.full((m, e), np.nan) for k_ in ("test_loss", "test_accuracy", "train_loss")}
    seeds = sorted(set(cfg.grid.seeds))
    eig_max = np.zeros(len(seeds))
    spectra = {}
    for si, seed in enumerate(seeds):
        model = init_model(cfg, seed, tuple(ds.x_train.shape[1:]), int(ds.num_classes))
        ws, ms = mlp_kernels(model)
        both = np.concatenate([ds.x_train, ds.x_test])
        theta, f_all, _ = mlp_ntk(ws, ms, both, ds.x_train)
        k_train, k_test = theta[:n] / n, theta[n:] / n
        mu, vecs = np.linalg.eigh(k_train)
        eig_max[si] = mu[-1]
        spectra[seed] = (mu, vecs, k_test, f_all[:n], f_all[n:])
    for i, (l2, lr, seed) in enumerate(members):
        mu, vecs, k_test, f0, f0t = spectra[seed]
        f, ft = theory.mse_solution(
            (jnp.asarray(mu, jnp.float32), jnp.asarray(vecs, jnp.float32)),
            jnp.asarray(k_test, jnp.float32),
            jnp.asarray(y, jnp.float32),
            jnp.asarray(f0, jnp.float32),
            jnp.asarray(f0t, jnp.float32),
            jnp.asarray(lr * steps, jnp.float32),
            l2,
            k,
        )
        f, ft = np.asarray(f, np.float64), np.asarray(ft, np.float64)
        out["test_loss"][i] = 0.5 * np.sum((ft - yt) ** 2, axis=(1, 2)) / len(yt)
        out["train_loss"][i] = 0.5 * np.sum((f - y) ** 2, axis=(1, 2)) / n
        out["test_accuracy"][i] = np.mean(np.argmax(ft, -1) == ds.y_test[None], axis=1)
    out.update(
        eval_step=steps,
        member_l2=np.array([a for a, _, _ in members]),
        member_learning_rate=np.array([b for _, b, _ in members]),
        member_seed=np.array([s for _, _, s in members]),
        seeds=np.array(seeds),
        eig_max=eig_max,
        k=np.asarray(k),
    )
    return out


@dataclasses.dataclass(frozen=True)
class PredictionConfig:
    """The artifact ``ch1_theory_prediction``: the prediction for one stored theory sweep."""

    experiment: Any  # the Experiment whose members are predicted

    def params(self) -> dict[str, Any]:
        return {"experiment": self.experiment.name, "hash": self.experiment.hash()}


def prediction_config(scale: str) -> PredictionConfig:
    return PredictionConfig(experiments.get("ch1_theory_ntk", scale))


def prediction_artifact(cfg: PredictionConfig) -> dict[str, np.ndarray]:
    return theory_prediction(cfg.experiment)


class TheoryMember(NamedTuple):
    """One member of the theory sweep: measured and predicted t* (steps) of both curves."""

    l2: float
    learning_rate: float
    seed: int
    t_mse: float
    t_mse_pred: float
    interior_mse: bool  # the predicted test MSE has its minimum strictly inside the run
    t_acc: float
    t_acc_pred: float
    interior_acc: bool
    rise: float  # test MSE at the end minus its minimum
    min_mse: float
    min_mse_pred: float


@dataclasses.dataclass(frozen=True)
class TheorySummary:
    members: list[TheoryMember]
    peaks: analysis.SeedPeaks  # seed-mean test-MSE t* per (λ, η)
    floor: np.ndarray  # (G,) std over seeds of the test MSE at the minimum
    fit: analysis.TimescaleFit
    slope_null: analysis.NullTest
    eig_max: np.ndarray
    full_train_accuracy: np.ndarray  # (M,) at the end of the run
    max_full_train_accuracy: float  # the best any member reached at any evaluation

    @property
    def member_floor(self) -> np.ndarray:
        """(M,) each member's noise floor: that of its (λ, η) (``floor``), in member order."""
        out = np.empty(len(self.members))
        for g, idx in enumerate(self.peaks.members):
            out[idx] = self.floor[g]
        return out

    def errors(self, which: str) -> np.ndarray:
        """|measured/predicted − 1| of t* for the members whose prediction is interior."""
        out = []
        for m in self.members:
            t, p, ok = (
                (m.t_mse, m.t_mse_pred, m.interior_mse)
                if which == "mse"
                else (m.t_acc, m.t_acc_pred, m.interior_acc)
            )
            if ok:
                out.append(abs(t / p - 1))
        return np.array(out)


def _extremum(curve, steps, mode):
    t, v, j = analysis.extremum_step(curve, steps, mode, experiments.PREMISE_THEORY_SMOOTH)
    return t, v, 0 < j < int(np.flatnonzero(np.isfinite(curve))[-1])


def theory_summary(res: store_lib.Results, prediction) -> TheorySummary:
    """Measured against predicted t* for every member, the slope with its null, the rise."""
    a, p = res.arrays, prediction
    steps = np.asarray(a["eval_step"], np.float64)
    if not np.array_equal(np.asarray(p["eval_step"], np.float64), steps):
        raise ValueError("theory_summary: prediction and run have different evaluation steps")
    members = []
    for i, (l2, lr, seed) in enumerate(
        zip(a["member_l2"], a["member_learning_rate"], a["member_seed"], strict=True)
    ):
        t_m, v_m, _ = _extremum(a["test_loss"][i], steps, "min")
        t_mp, v_mp, int_m = _extremum(p["test_loss"][i], steps, "min")
        t_a, _, _ = _extremum(a["test_accuracy"][i], steps, "max")
        t_ap, _, int_a = _extremum(p["test_accuracy"][i], steps, "max")
        last = np.asarray(a["test_loss"][i], np.float64)
        last = last[np.isfinite(last)][-1]
        members.append(
            TheoryMember(
                float(l2), float(lr), int(seed), t_m, t_mp, int_m, t_a, t_ap, int_a,
                float(last - v_m), v_m, v_mp,
            )
        )  # fmt: skip
    pk = analysis.seed_peaks(
        a, key="test_loss", mode="min", window=experiments.PREMISE_THEORY_SMOOTH
    )
    floor = np.array(
        [np.std([members[j].min_mse for j in idx], ddof=1) for idx in pk.members], np.float64
    )
    fit = analysis.fit_timescale(pk.l2, pk.learning_rate, pk.t_star)
    null = analysis.null_test(
        analysis.slope_score(pk.l2, pk.learning_rate), pk.t_star, pk.candidates
    )
    fta = np.asarray(a["full_train_accuracy"], np.float64)
    return TheorySummary(
        members,
        pk,
        floor,
        fit,
        null,
        np.asarray(p["eig_max"]),
        fta[np.arange(len(fta)), -1],
        float(np.nanmax(fta)),
    )


def load_theory(scale: str = "cpu", root=None, compute: bool = False):
    """(run, prediction) of the theory regime from the store (never trains; the prediction is
    computed only with ``compute=True``)."""
    from l2lib import widthexp

    res = store_lib.Store(root).load(experiments.get("ch1_theory_ntk", scale))
    _, art = widthexp.load("ch1_theory_prediction", scale, root=root, compute=compute)
    return res, art
