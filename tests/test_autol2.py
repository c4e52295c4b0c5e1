"""AutoL2 decays at exactly the steps a scripted loss/accuracy sequence dictates.

Every expected step list below was derived by hand from the authors' rule (see the module
docstring of :mod:`l2lib.autol2`). Notation in the comments: measurement m is at step 10·m,
L[m] and A[m] its loss and accuracy, "best" the running best at the time of the check; a decay
needs count = m + 1 > 2, step > 0.1/λ + last decay step, and (best_L ≤ L[m], L[m−1] or
best_A ≥ A[m], A[m−1]); without a decay, L[m−1], A[m−1] are folded into the best.
"""

from __future__ import annotations

import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from l2lib import autol2
from l2lib import config as C
from l2lib.config import AutoL2Config

CFG = AutoL2Config()  # the authors' constants: every 10, factor 10, 0.1/λ steps, 2, > 2
ETA = 0.2  # η; unused by the authors' units
update_jit = jax.jit(autol2.update, static_argnames="cfg")


@pytest.fixture(autouse=True)
def _strict_ranks():
    with jax.numpy_rank_promotion("raise"):
        yield


def run(
    l2, losses, accuracies, num_steps, cfg=CFG, learning_rate=ETA, fn=update_jit, every_step=True
):
    """Call the rule at every step; measurement m (step m·every) sees losses[m], accuracies[m].

    Between measurements it is fed values that would decay λ if they were (wrongly) measured,
    and the state must come back unchanged. ``every_step=False`` calls it only at measurement
    steps (documented as equivalent; used for the long refractory scripts).
    Returns the decay steps, λ after each call, and the final state.
    """
    state = autol2.init(l2, cfg)
    host = jax.device_get(state)
    decays, l2s = [], []
    for step in range(0, num_steps, 1 if every_step else cfg.every):
        if step % cfg.every == 0:
            loss, acc = losses[step // cfg.every], accuracies[step // cfg.every]
        else:
            loss, acc = 1e9, 0.0
        state = fn(state, step, loss, acc, learning_rate, cfg=cfg)
        new = jax.device_get(state)
        if step % cfg.every:
            for a, b in zip(host, new, strict=True):
                np.testing.assert_array_equal(a, b)
        if new.num_decays > host.num_decays:
            decays.append(step)
        l2s.append(new.l2)
        host = new
    return decays, np.array(l2s, np.float32), state


def increasing(n, start=0.1, stride=0.01):
    return [start + stride * m for m in range(n)]


def decreasing(n):
    return [1.0 / (m + 1) for m in range(n)]


# (a) ---------------------------------------------------------------------------------------


def test_monotone_improvement_never_decays():
    # best_L = L[m−2] > L[m−1], L[m] and best_A = A[m−2] < A[m−1], A[m]: never stalled.
    decays, l2s, state = run(0.1, decreasing(40), increasing(40), 400)
    assert decays == []
    assert np.all(l2s == np.float32(0.1))
    assert int(state.num_measurements) == 40


def test_one_bad_measurement_is_not_enough():
    # m=3: best 0.9 (L[1]) ≤ L[3]=0.95 but not ≤ L[2]=0.8; later the loss improves again.
    losses = [1.0, 0.9, 0.8, 0.95, 0.7, 0.6, 0.5, 0.4]
    decays, _, _ = run(0.1, losses, increasing(8), 80)
    assert decays == []


# (b), (c) and which measurement the best is made of -----------------------------------------


def test_loss_plateau_alone_decays():
    # L: 1, .9, .8, .8, .8, then improving; A keeps improving.
    # m=2: best 1.0 vs .8 no, fold .9; m=3: .9 vs .8,.8 no, fold .8; m=4: .8 ≤ .8,.8 → decay 40.
    # m=5: 50 > 10 + 40 fails (λ=0.01); afterwards the loss improves: no more decays.
    losses = [1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3]
    decays, l2s, state = run(0.1, losses, increasing(12), 120)
    assert decays == [40]
    assert l2s[39] == np.float32(0.1) and l2s[40] == np.float32(0.01)
    assert float(state.l2) == pytest.approx(0.01, rel=1e-7)


def test_accuracy_drop_alone_decays():
    # A: .1, .2, .5, .4, .45, then improving; L keeps improving.
    # m=2: best .1, fold .2; m=3: .2 ≥ .4? no, fold .5; m=4: .5 ≥ .45 and ≥ .4 → decay at 40.
    accs = [0.1, 0.2, 0.5, 0.4, 0.45] + [0.5 + 0.04 * m for m in range(5, 12)]
    decays, _, _ = run(0.1, decreasing(12), accs, 120)
    assert decays == [40]


def test_best_is_made_of_the_measurement_before_last():
    # L: 1, .5, .6, .6. m=2: best is L[0]=1 (L[1]=.5 not folded yet) → no decay; fold .5.
    # m=3: .5 ≤ .6, .6 → decay at 30. (A best that included L[m−1] would decay at 20.)
    decays, _, _ = run(0.1, [1.0, 0.5, 0.6, 0.6], increasing(4), 40)
    assert decays == [30]


def test_best_is_not_updated_at_a_decay():
    # Accuracy triggers a decay at m=4 (as above) while L[3]=.5 is a new loss minimum; L[3] is
    # never folded (the decay skips the fold), so best_L goes 1 → .9 → .8 → (decay) → .7 → .6 …
    # and the later losses .55, .52, … never look stalled. Folding L[3] would decay at 60.
    losses = [1.0, 0.9, 0.8, 0.5, 0.7, 0.6, 0.55, 0.52, 0.51, 0.505, 0.5025]
    accs = [0.1, 0.2, 0.5, 0.4, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97]
    decays, _, state = run(0.1, losses, accs, 110)
    assert decays == [40]
    assert float(state.best_loss) == pytest.approx(0.505)  # L[9], folded at m=10


# (d) refractory --------------------------------------------------------------------------


def test_refractory_blocks_then_releases():
    # λ=0.001: refractory 0.1/λ = 100 steps (exactly 100.0, in float32 and in the authors'
    # float64). Constant script: stalled from m=2 on. Decay needs step > 100 → 110 (100 is
    # blocked: strictly greater). Then λ=1e-4: step > 110 + 1000 → 1120. Then > 11120.
    n = 125
    decays, l2s, _ = run(0.001, [1.0] * n, [0.5] * n, 10 * n, every_step=False)
    assert decays == [110, 1120]
    assert np.all(l2s[:11] == np.float32(0.001))  # λ after the calls at steps 0, 10, …, 100
    assert run(0.001, [1.0] * 13, [0.5] * 13, 130)[0] == [110]  # the same, called every step


def test_refractory_equal_boundary_is_blocked_at_lambda_0p1():
    # λ=0.1: refractory 1 step; worsening loss decays at the first possible measurement, 20.
    # λ=0.01: 10 steps, 30 > 20 + 10 fails; 40 decays. λ=0.001: 100 steps → > 140 → 150.
    losses = [1.0 + m for m in range(20)]
    decays, _, _ = run(0.1, losses, increasing(20), 200)
    assert decays == [20, 40, 150]


# (e) --------------------------------------------------------------------------------------


def test_no_decay_before_three_measurements():
    # The worsening script is "stalled" as soon as a best exists; still the first decay is at
    # the third measurement (step 20), never at 0 or 10.
    losses = [1.0 + m for m in range(3)]
    accs = [0.9 - 0.1 * m for m in range(3)]
    decays, l2s, _ = run(0.1, losses, accs, 21)
    assert decays == [20]
    assert np.all(l2s[:20] == np.float32(0.1))


def test_min_measurements_generalises():
    # min_measurements=3: count > 3, so the first possible decay is at m=3 (step 30).
    cfg = AutoL2Config(min_measurements=3)
    decays, _, _ = run(0.1, [1.0 + m for m in range(4)], increasing(4), 40, cfg=cfg)
    assert decays == [30]


# (f) --------------------------------------------------------------------------------------


def test_refractory_in_l2_eta_t_units():
    # Dyadic numbers, so the ties are exact: λ₀=0.5, η=0.25, factor 2, refractory 2.5 in λ·η·t:
    # wait 2.5/(λη) = 20, 40, 80, 160 steps (≥, ties pass). Constant script (stalled from m=2):
    # 20 (20−0 ≥ 20), 60 (40 ≥ 40), 140 (80 ≥ 80), 300 (160 ≥ 160).
    cfg = AutoL2Config(factor=2.0, refractory=2.5, refractory_units="l2_eta_t")
    n = 32
    decays, l2s, _ = run(0.5, [1.0] * n, [0.5] * n, 10 * n, cfg=cfg, learning_rate=0.25)
    assert decays == [20, 60, 140, 300]
    assert l2s[-1] == np.float32(0.03125)
    # η enters: η=0.5 halves every wait (10, 20, 40, 80, 160): 20, 40, 80, 160 (+160 = 320).
    decays, _, _ = run(0.5, [1.0] * n, [0.5] * n, 10 * n, cfg=cfg, learning_rate=0.5)
    assert decays == [20, 40, 80, 160]


def test_authors_units_ignore_learning_rate():
    n = 125
    a = run(0.001, [1.0] * n, [0.5] * n, 10 * n, learning_rate=0.01, every_step=False)[0]
    b = run(0.001, [1.0] * n, [0.5] * n, 10 * n, learning_rate=10.0, every_step=False)[0]
    assert a == b == [110, 1120]


# (g), (h) -------------------------------------------------------------------------------


def _scripts():
    """Three members: (λ₀, losses, accuracies) per measurement, 130 measurements each."""
    n = 130
    rng = np.random.default_rng(0)
    noisy = 1.0 / np.arange(1, n + 1) + 0.3 * rng.random(n)
    return [
        (0.1, np.array([1.0 + m for m in range(n)]), np.array(increasing(n, 0.0, 0.001))),
        (0.001, np.full(n, 1.0), np.full(n, 0.5)),
        (0.05, noisy, rng.random(n)),
    ]


def _per_step(values, every, num_steps):
    """Measurement values at measurement steps, junk between."""
    out = jnp.full(num_steps, 1e9, jnp.float32)
    return out.at[::every].set(values[: (num_steps + every - 1) // every])


def _scan_run(l2, losses, accs, num_steps, cfg=CFG):
    """The whole run as one jit(lax.scan) over per-step inputs; returns λ after every step."""
    steps = jnp.arange(num_steps)
    xs = (steps, _per_step(losses, cfg.every, num_steps), _per_step(accs, cfg.every, num_steps))

    def body(state, x):
        step, loss, acc = x
        state = autol2.update(state, step, loss, acc, ETA, cfg)
        return state, state.l2

    return jax.lax.scan(body, autol2.init(l2, cfg), xs)


NUM_STEPS = 1300


@pytest.fixture(scope="module")
def alone():
    """Each script run alone by the Python loop (every step, jitted rule)."""
    return [run(*s, NUM_STEPS) for s in _scripts()]


def test_scan_equals_python_loop(alone):
    scan_run = jax.jit(_scan_run, static_argnums=3)
    for (l2, losses, accs), (_, l2s_loop, state_loop) in zip(_scripts(), alone, strict=True):
        state_scan, l2s_scan = scan_run(l2, losses, accs, NUM_STEPS)
        np.testing.assert_array_equal(l2s_scan, l2s_loop)
        for a, b in zip(state_scan, state_loop, strict=True):
            np.testing.assert_array_equal(a, b)
    # The eager (un-jitted) rule agrees too.
    l2, losses, accs = _scripts()[0]
    assert run(l2, losses, accs, 50, fn=autol2.update)[0] == [20, 40]


def test_vmap_members_equal_runs_alone(alone):
    scripts = _scripts()
    l2s = jnp.array([s[0] for s in scripts])
    losses = np.stack([s[1] for s in scripts])
    accs = np.stack([s[2] for s in scripts])
    vrun = jax.jit(jax.vmap(_scan_run, in_axes=(0, 0, 0, None)), static_argnums=3)
    _, traj = vrun(l2s, losses, accs, NUM_STEPS)
    for i, (_, l2s_alone, _) in enumerate(alone):
        np.testing.assert_array_equal(traj[i], l2s_alone)
    # The members really differ (so the comparison is not vacuous).
    assert alone[0][0] == [20, 40, 150, 1160]  # λ=1e-4 after 150: step > 150 + 1000
    assert alone[1][0] == [110, 1120]
    assert len({tuple(a[0]) for a in alone}) == 3


# (i) the Optax wrapper ---------------------------------------------------------------------

THETA0 = {"w": np.array([1.0, -2.0], np.float32), "b": np.array([4.0], np.float32)}
C_LIN = {"w": np.array([0.5, 1.0], np.float32), "b": np.array([-1.0], np.float32)}
# every=1 and factor 2 so λ changes at step 2: measurements 0, 1 build the best (count ≤ 2);
# at step 2 the constant loss is stalled and the refractory (0.1/0.5 = 0.2 steps) is over.
CFG_FAST = AutoL2Config(every=1, factor=2.0)


def bare_loss(params):
    return sum(jnp.sum(C_LIN[k] * params[k]) for k in params)


def _wrapper_run(momentum, num_steps=3):
    tx = autol2.autol2_sgd(0.25, CFG_FAST, l2_init=0.5, momentum=momentum)
    params = jax.tree.map(jnp.asarray, THETA0)
    opt_state = tx.init(params)
    l2s = []
    for step in range(num_steps):
        grads = jax.grad(bare_loss)(params)
        opt_state = tx.observe(opt_state, step, 1.0, 0.5)
        l2s.append(float(opt_state.inner.hyperparams["l2"]))
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
    return params, l2s


@pytest.mark.parametrize(
    ("momentum", "w", "b"),
    [
        # θ ← θ − η(c + λθ), η=0.25, λ=0.5, 0.5, 0.25:
        # w: [1, −2] → [.75, −2] → [.53125, −2] → [.373046875, −2.125]; b: 4 → 3.75 → …
        (0.0, [0.373046875, -2.125], [3.560546875]),
        # v ← 0.5·v + (c + λθ), θ ← θ − η·v:
        # w: [1, −2] → [.75, −2] → [.40625, −2] → [.083984375, −2.125]; b: 4 → 3.75 → 3.40625 → …
        (0.5, [0.083984375, -2.125], [3.271484375]),
    ],
)
def test_wrapper_is_sgd_on_loss_plus_half_l2_norm(momentum, w, b):
    params, l2s = _wrapper_run(momentum)
    assert l2s == [0.5, 0.5, 0.25]
    np.testing.assert_array_equal(params["w"], np.array(w, np.float32))
    np.testing.assert_array_equal(params["b"], np.array(b, np.float32))

    # The same three steps written by hand with jax.grad of loss + ½λ‖θ‖².
    theta = jax.tree.map(jnp.asarray, THETA0)
    velocity = jax.tree.map(jnp.zeros_like, theta)
    for l2 in l2s:
        g = jax.grad(lambda p, l2=l2: bare_loss(p) + 0.5 * l2 * optax.tree.norm(p, squared=True))(
            theta
        )
        velocity = jax.tree.map(lambda v, gi: momentum * v + gi, velocity, g)
        theta = jax.tree.map(lambda t, v: t - 0.25 * v, theta, velocity)
    for k in params:
        np.testing.assert_array_equal(params[k], theta[k])


def test_observe_changes_l2_without_retracing():
    traces = []
    tx = autol2.autol2_sgd(0.1, CFG_FAST, l2_init=0.5, momentum=0.9)

    @jax.jit
    def step_fn(params, opt_state, step, loss, acc):
        traces.append(1)  # runs only while tracing
        grads = jax.grad(bare_loss)(params)
        opt_state = tx.observe(opt_state, step, loss, acc)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    params = jax.tree.map(jnp.asarray, THETA0)
    opt_state = tx.init(params)
    l2s = []
    for step in range(12):
        params, opt_state = step_fn(params, opt_state, step, 1.0, 0.5)
        l2s.append(float(opt_state.inner.hyperparams["l2"]))
    # Constant script, every=1: first decay at 2 (λ→.25); then step > last + 0.1/λ:
    # 3 > 2.4, 4 > 3.8, 5 > 5.6 no, 6 > 5.6, 7..9 > 9.2 no, 10 > 9.2, 11 > 16.4 no.
    assert l2s[:4] == [0.5, 0.5, 0.25, 0.125]
    assert int(opt_state.autol2.num_decays) == 5  # at 2, 3, 4, 6, 10
    assert int(opt_state.autol2.last_decay_step) == 10
    assert len(traces) == 1
    l2 = opt_state.inner.hyperparams["l2"]
    assert l2.dtype == jnp.float32 and not l2.weak_type
    assert float(l2) == float(opt_state.autol2.l2)


def test_vmapped_wrapper_members_keep_their_own_l2():
    tx = autol2.autol2_sgd(0.25, CFG_FAST, l2_init=0.5)
    params = jax.tree.map(jnp.asarray, THETA0)
    opt_state = tx.init(params)
    # Two members: one stalls (constant loss), one improves; only the first decays at step 2.
    stacked = jax.tree.map(lambda x: jnp.stack([x, x]), opt_state)
    observe = jax.jit(jax.vmap(tx.observe, in_axes=(0, None, 0, 0)))
    for step, losses in enumerate([[1.0, 1.0], [1.0, 0.5], [1.0, 0.25]]):
        stacked = observe(stacked, step, jnp.array(losses), jnp.array([0.5, 0.5 + step]))
    np.testing.assert_array_equal(stacked.inner.hyperparams["l2"], np.array([0.25, 0.5]))


def test_module_docstring_example_runs():
    marker = "Example — a user's own Flax NNX training loop with λ in the optimizer state::\n"
    code = textwrap.dedent(autol2.__doc__.split(marker)[1])
    namespace: dict = {}
    exec(compile(code, "autol2-example", "exec"), namespace)
    assert namespace["opt_state"].autol2.num_measurements == 5


def test_init_is_vmappable_and_validates_dtypes():
    states = jax.vmap(autol2.init)(jnp.array([0.1, 0.01]))
    assert states.loss_history.shape == (2, CFG.patience)
    assert states.l2.dtype == jnp.float32
    s = autol2.init(0.1)
    assert not s.l2.weak_type
    assert float(s.best_loss) == np.inf and float(s.best_accuracy) == -np.inf


# (j) the fastest schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("l2", "cfg", "learning_rate", "num_steps"),
    [
        (0.1, CFG, ETA, 1300),
        (0.001, CFG, ETA, 1300),
        (0.05, AutoL2Config(every=5, factor=3.0, refractory=0.3), ETA, 1000),
        (0.5, AutoL2Config(factor=2.0, refractory=2.5, refractory_units="l2_eta_t"), 0.25, 400),
    ],
)
def test_earliest_decays_is_the_rule_on_a_script_that_never_improves(
    l2, cfg, learning_rate, num_steps
):
    n = -(-num_steps // cfg.every)
    state = autol2.init(l2, cfg)
    decays = []
    for step in range(0, num_steps, cfg.every):
        new = update_jit(state, step, 1.0, 0.5, learning_rate, cfg=cfg)
        if int(new.num_decays) > int(state.num_decays):
            decays.append(step)
        state = new
    assert n > 0 and decays
    assert autol2.earliest_decays(l2, num_steps, cfg, learning_rate) == decays


def test_earliest_decays_defaults():
    assert autol2.earliest_decays(0.1, 20_000) == [20, 40, 150, 1160, 11170]
    assert autol2.earliest_decays(0.0, 1000) == []
    with pytest.raises(ValueError, match="learning_rate"):
        autol2.earliest_decays(0.1, 100, AutoL2Config(refractory_units="l2_eta_t"))


# (k) inside the grid engine ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_ds():
    from l2lib import data

    return data.load(C.DataConfig(name="mnist1d", num_train=512, num_test=256))


def _engine_cfg() -> C.Experiment:
    # eval_every = every: the recorded λ is that of every measurement interval.
    return C.ci(
        model=C.ModelConfig(kind="mlp", width=16, depth=2),
        optimizer=C.OptimizerConfig(batch_size=32),
        grid=C.GridConfig(l2=(0.1, 0.02, 0.003), learning_rate=(0.1,), seeds=(0,)),
        duration=C.DurationConfig(num_steps=300),
        eval_every=10,
        group_size=3,
        autol2=AutoL2Config(),
    )


@pytest.fixture(scope="module")
def engine_runs(small_ds):
    from l2lib import train

    cfg = _engine_cfg()
    grid = train.train_grid(cfg, small_ds)
    alone = [train.run_group(cfg, [i], small_ds) for i in range(cfg.grid.size)]
    return cfg, grid, alone


def test_engine_members_follow_their_own_lambda_as_when_run_alone(engine_runs):
    from l2lib import analysis, train

    cfg, grid, alone = engine_runs
    assert train.plan_groups(cfg) == [[0, 1, 2]]  # the three members vmapped together
    for i, one in enumerate(alone):
        np.testing.assert_array_equal(grid["l2"][i], one["l2"][0])
    decays = [analysis.decay_steps(x, grid["eval_step"]) for x in grid["l2"]]
    # Every member decays, not all at the same steps (so the comparison is not vacuous), and
    # never faster than the refractory period allows.
    assert all(decays) and len({tuple(d) for d in decays}) == 3, decays
    for l2, d in zip(cfg.grid.l2, decays, strict=True):
        fastest = autol2.earliest_decays(l2, 300)
        assert all(a >= b for a, b in zip(d, fastest)), (d, fastest)
        assert grid["l2"][cfg.grid.l2.index(l2), -1] == pytest.approx(l2 / 10 ** len(d), rel=1e-6)


def test_engine_lambda_equals_a_user_loop_with_the_optax_wrapper(engine_runs, small_ds):
    """The engine's member 0 against the docstring's kind of loop (autol2_sgd), same data order."""
    from flax import nnx

    from l2lib import models, train

    cfg, grid, _ = engine_runs
    l2, lr, seed = cfg.members()[0]
    init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
    x, y = small_ds.x_train, small_ds.y_train
    model = models.build(cfg.model, x.shape[1:], small_ds.num_classes, nnx.Rngs(params=init_key))
    graphdef, params = nnx.split(model)
    tx = autol2.autol2_sgd(lr, cfg.autol2, l2_init=l2)
    opt_state = tx.init(params)

    @jax.jit
    def step_fn(params, opt_state, step, xb, yb):
        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(xb)
            return train.data_loss("cross_entropy", logits, yb, small_ds.num_classes), logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        acc = jnp.mean((jnp.argmax(logits, -1) == yb).astype(jnp.float32))
        opt_state = tx.observe(opt_state, step, loss, acc)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    n, b = x.shape[0], cfg.optimizer.batch_size
    l2_at_eval = []
    for t in range(300):
        epoch, pos = divmod(t, n // b)
        idx = jax.random.permutation(jax.random.fold_in(data_key, epoch), n)[
            pos * b : (pos + 1) * b
        ]
        params, opt_state = step_fn(params, opt_state, t, x[idx], y[idx])
        if (t + 1) % cfg.eval_every == 0:
            l2_at_eval.append(float(opt_state.inner.hyperparams["l2"]))
    np.testing.assert_array_equal(np.array(l2_at_eval, np.float32), grid["l2"][0])


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"every": 0}, "every"),
        ({"every": 2.5}, "every"),
        ({"factor": 1.0}, "factor"),
        ({"refractory": -0.1}, "refractory"),
        ({"refractory_units": "epochs"}, "refractory_units"),
        ({"patience": 0}, "patience"),
        ({"min_measurements": -1}, "min_measurements"),
    ],
)
def test_config_rejects_bad_constants_naming_the_field(kw, field):
    with pytest.raises(ValueError, match=rf"^autol2\.{field}="):
        AutoL2Config(**kw)
