"""The paper's tools on a model l2lib does not define (l2lib.anymodel): the same c as the
library's own probe for the same network, the refusals, the store, and t* of a user's curve."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from l2lib import analysis, anymodel, autol2, data, models, store, train
from l2lib import config as C

L2, ETA, HORIZON, EVERY, BATCH = 0.1, 0.1, 4.0, 10, 32

#: The library's probe of a tiny MLP on MNIST-1D (400 steps, 40 evaluations).
CFG = C.ci(
    name="anymodel_test",
    grid=C.GridConfig(l2=(L2,), learning_rate=(ETA,)),
    duration=C.DurationConfig(num_steps=None, horizon=HORIZON, max_steps=2000),
    eval_every=EVERY,
)


class Linear(nnx.Module):
    """A dense layer initialised as l2lib's standard parameterization: W ~ N(0, 1/fan_in) (the
    first entries of a power-of-two-long draw), b = 0."""

    def __init__(self, fan_in: int, fan_out: int, rngs: nnx.Rngs):
        size = fan_in * fan_out
        draw = jax.random.normal(rngs.params(), (1 << (size - 1).bit_length(),), jnp.float32)
        self.w = nnx.Param(draw[:size].reshape(fan_in, fan_out) / math.sqrt(fan_in))
        self.b = nnx.Param(jnp.zeros((fan_out,), jnp.float32))

    def __call__(self, x):
        return x @ self.w[...] + self.b[...]


class MyMLP(nnx.Module):
    """A ReLU MLP written here, not in l2lib.models."""

    def __init__(self, sizes, rngs: nnx.Rngs):
        self.layers = nnx.List([Linear(a, b, rngs) for a, b in zip(sizes[:-1], sizes[1:])])

    def __call__(self, x):
        h = x.reshape(x.shape[0], -1)
        for layer in self.layers[:-1]:
            h = jax.nn.relu(layer(h))
        return self.layers[-1](h)


def cross_entropy(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


@pytest.fixture(scope="module")
def ds():
    return data.load(CFG.data)


@pytest.fixture(scope="module")
def library(ds, tmp_path_factory):
    """c and the stored probe of the library's own path (analysis.measure_c)."""
    root = tmp_path_factory.mktemp("lib")
    c = analysis.measure_c(CFG, L2, horizon=HORIZON, store=root)
    probe = analysis.probe_config(CFG, L2, HORIZON)
    return c, store.Store(root).load(probe).arrays


def my_model(seed: int = 0) -> MyMLP:
    # The engine's keys: k_init, k_data = split(PRNGKey(seed)).
    init_key = jax.random.split(jax.random.PRNGKey(seed))[0]
    return MyMLP([40, CFG.model.width, CFG.model.width, 10], nnx.Rngs(params=init_key))


def probe(ds, model, optimizer=None, **kw):
    kw = {"l2": L2, "learning_rate": ETA, "eval_every": EVERY, "batch_size": BATCH, **kw}
    return anymodel.measure_c(
        model,
        optax.sgd(ETA) if optimizer is None else optimizer,
        cross_entropy,
        (ds.x_train, ds.y_train),
        (ds.x_test, ds.y_test),
        **kw,
    )


def test_a_model_defined_here_gives_the_librarys_c(ds, library):
    ref, arrays = library
    got = probe(ds, my_model())
    assert got == ref  # c, λ₀, η, t*, best accuracy, steps and the sentence, all equal
    assert got.t_star == 220 and got.num_steps == 400
    # The whole curve, not only its peak: the same run.
    curves = anymodel.train_l2(
        my_model(),
        optax.sgd(ETA),
        cross_entropy,
        (ds.x_train, ds.y_train),
        (ds.x_test, ds.y_test),
        l2=L2,
        num_steps=400,
        eval_every=EVERY,
        batch_size=BATCH,
        learning_rate=ETA,
    )
    np.testing.assert_allclose(curves.test_accuracy, arrays["test_accuracy"][0], atol=1e-6)
    np.testing.assert_allclose(curves.sq_norm, arrays["sq_norm"][0], rtol=1e-5)


def test_an_init_apply_pair_of_the_librarys_network_gives_the_same_c(ds, library):
    graphdef = nnx.split(models.build(CFG.model, (40,), 10, nnx.Rngs(0)))[0]

    def init(key):
        return nnx.split(models.build(CFG.model, (40,), 10, nnx.Rngs(params=key)))[1]

    def apply(params, x):
        return nnx.merge(graphdef, params)(x)

    # η read from an injected-hyper-parameter optimizer's state.
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=ETA)
    got = probe(ds, (init, apply), sgd, learning_rate=None)
    assert got == library[0]


def test_an_iterator_of_batches_gives_the_same_c(ds, library):
    key = jax.random.split(jax.random.PRNGKey(0))[1]
    order = anymodel._batches_from_arrays(ds.x_train, ds.y_train, BATCH, key)

    def batches():
        for s in range(10**6):
            idx = order(s, 1)[0]
            yield ds.x_train[idx], ds.y_train[idx]

    model = my_model()
    got = anymodel.measure_c(
        model,
        optax.sgd(ETA),
        cross_entropy,
        batches(),
        (ds.x_test, ds.y_test),
        l2=L2,
        learning_rate=ETA,
        eval_every=EVERY,
    )
    assert got.c == library[0].c
    with pytest.raises(ValueError, match="iterator cannot be hashed"):
        anymodel.measure_c(
            model,
            optax.sgd(ETA),
            cross_entropy,
            batches(),
            (ds.x_test, ds.y_test),
            l2=L2,
            learning_rate=ETA,
            eval_every=EVERY,
            name="it",
        )


def test_cached_runs_are_read_back_and_never_retrained(ds, library, tmp_path, monkeypatch):
    first = probe(ds, my_model(), name="my_mlp", store=tmp_path)
    assert first == library[0]
    run = anymodel.probe(
        my_model(), optax.sgd(ETA), cross_entropy, (ds.x_train, ds.y_train),
        (ds.x_test, ds.y_test), l2=L2, learning_rate=ETA, eval_every=EVERY, batch_size=BATCH,
        name="my_mlp", store=tmp_path,
    )  # fmt: skip
    assert anymodel.read_c(run) == first and run.path is not None
    assert "400 member-steps" in run.provenance() and run.meta["l2lib_version"]
    (entry,) = store.Store(tmp_path).entries()
    assert entry.name == "my_mlp" and entry.scale == anymodel.SCALE and entry.status == "current"
    monkeypatch.setenv("L2LIB_FORBID_TRAINING", "1")
    before = train.TRAIN_STEPS
    assert probe(ds, my_model(), name="my_mlp", store=tmp_path) == first
    assert train.TRAIN_STEPS == before
    # Another initialisation, data set or λ₀ is another entry: missing, and training forbidden.
    for other in (
        dict(model=my_model(seed=1), name="my_mlp"),
        dict(model=my_model(), name="my_mlp", l2=0.2),
    ):
        model = other.pop("model")
        with pytest.raises(store.MissingEntryError, match="my_mlp"):
            probe(ds, model, store=tmp_path, **other)
    with pytest.raises(RuntimeError, match="L2LIB_FORBID_TRAINING"):
        probe(ds, my_model())  # not cached: forbidden too


def test_train_l2_records_a_budget_and_its_best_accuracy(ds):
    run = anymodel.train_l2(
        my_model(),
        optax.sgd(ETA, momentum=0.9),
        cross_entropy,
        (ds.x_train, ds.y_train),
        (ds.x_test, ds.y_test),
        l2=0.0,
        num_steps=55,
        learning_rate=ETA,
        eval_every=EVERY,
        batch_size=BATCH,
    )
    assert run.num_steps == 60 and list(run.eval_step) == list(range(10, 61, 10))
    assert run.diverged_step == -1 and np.isfinite(run.test_accuracy).all()
    assert run.best_within(30) == pytest.approx(np.max(run.test_accuracy[:3]))
    assert run.best_within() == pytest.approx(np.max(run.test_accuracy))


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "optimizer, kw, match",
    [
        (optax.sgd(optax.exponential_decay(ETA, 100, 0.5)), {}, "schedule"),
        (
            optax.inject_hyperparams(optax.sgd)(
                learning_rate=optax.cosine_decay_schedule(ETA, 400)
            ),
            {"learning_rate": None},
            "schedule",
        ),
        (optax.sgd(ETA), {"learning_rate": lambda t: ETA}, "learning_rate is a schedule"),
        (optax.adamw(1e-3, weight_decay=1e-2), {"learning_rate": 1e-3}, "weight decay"),
        (optax.chain(optax.add_decayed_weights(1e-3), optax.sgd(ETA)), {}, "weight decay"),
        (autol2.autol2_sgd(ETA), {}, "AutoL2"),
        ("sgd", {}, "pass an optax optimizer"),
        (optax.sgd(ETA), {"learning_rate": None}, "pass learning_rate=η"),
        (optax.inject_hyperparams(optax.sgd)(learning_rate=0.2), {}, "state says η = 0.2"),
        (None, {"l2": 1e-4}, "max_steps"),
        (None, {"eval_every": 50}, "lower eval_every"),
        (None, {"l2": 0.0}, "l2=0.0 must be finite and > 0"),
        (None, {"batch_size": 10_000}, "batch_size=10000"),
    ],
)
def test_what_cannot_give_c_is_refused_in_one_line(ds, optimizer, kw, match):
    with pytest.raises(ValueError, match=match) as e:
        probe(ds, my_model(), optimizer, **kw)
    assert "\n" not in str(e.value) and str(e.value).startswith("measure_c: ")


def test_a_model_that_is_neither_a_module_nor_a_pair_is_refused(ds):
    with pytest.raises(ValueError, match=r"nnx.Module or an \(init, apply\) pair"):
        probe(ds, lambda x: x)


def test_a_diverged_probe_is_refused(ds):
    with pytest.raises(ValueError, match="diverged; use a smaller λ₀ or η"):
        probe(ds, my_model(), optax.sgd(1e3), learning_rate=1e3, l2=1e-4, eval_every=1)


# --- t* of a user's own curve ----------------------------------------------------------------


def _curve(steps, t_star):
    return 0.6 - 0.1 * np.abs(np.log(steps / t_star))


def test_read_t_star_of_a_recorded_curve():
    steps = np.arange(50, 2001, 50)
    r = anymodel.read_t_star(steps, _curve(steps, 700))
    assert r.t_star == 700 and r.best_accuracy == pytest.approx(0.6) and r.num_evals == 40
    assert "maximum test accuracy" in r.how
    two = anymodel.read_t_star(steps, np.stack([_curve(steps, 400), _curve(steps, 900)]))
    assert two.t_star == pytest.approx(600) and list(two.t_stars) == [400, 900]
    # c of a constant-λ run of one's own, and the λ it predicts for a budget.
    c = 1e-3 * 0.1 * r.t_star
    assert anymodel.predict_l2(c, 0.1, 7000) == pytest.approx(1e-3 * 700 / 7000)


def test_read_t_star_refuses_what_it_cannot_read():
    steps = np.arange(50, 2001, 50)
    with pytest.raises(ValueError, match="last evaluation.*train longer"):
        anymodel.read_t_star(steps, np.linspace(0.1, 0.6, 40))
    with pytest.raises(ValueError, match="first evaluation.*evaluate more often"):
        anymodel.read_t_star(steps, np.linspace(0.6, 0.1, 40))
    with pytest.raises(ValueError, match="diverged"):
        anymodel.read_t_star(steps, _curve(steps, 700), diverged=[True])
    with pytest.raises(ValueError, match="diverged"):
        anymodel.read_t_star(steps, np.full(40, np.nan))
    with pytest.raises(ValueError, match="do not match"):
        anymodel.read_t_star(steps, _curve(steps, 700)[:-1])
    with pytest.raises(ValueError, match="must increase"):
        anymodel.read_t_star(steps[::-1], _curve(steps, 700))
