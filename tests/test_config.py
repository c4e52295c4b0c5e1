"""l2lib.config: the content hash, the dict round trip, field checks, durations and the grid.

Pure-Python tests of the frozen dataclasses: no data is loaded and nothing is trained.
(Hash stability across processes and the first field checks live in tests/test_train.py.)
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from l2lib import config as C
from l2lib.config import InvalidInputError


def _json_round_trip(cfg: C.Experiment) -> C.Experiment:
    return C.Experiment.from_dict(json.loads(json.dumps(cfg.to_dict())))


def test_from_dict_rebuilds_every_part_from_json_with_the_same_hash():
    cfg = C.ci(
        name="round",
        data=C.DataConfig(name="fashion_mnist", num_train=512, source="idx", data_dir="/d"),
        optimizer=C.OptimizerConfig(batch_size=32, schedule="step", step_boundaries=(0.5,)),
        grid=C.GridConfig(l2=(1e-2, 0.0), learning_rate=(0.1, 0.05), seeds=(3, 1)),
        autol2=C.AutoL2Config(every=5, refractory_units="l2_eta_t"),
        eval_train=True,
    )
    back = _json_round_trip(cfg)
    assert back == cfg and back.hash() == cfg.hash()
    # JSON lists become tuples again, and nested parts are their dataclasses again.
    assert back.grid.seeds == (3, 1) and isinstance(back.grid.l2, tuple)
    assert back.optimizer.step_boundaries == (0.5,)
    assert isinstance(back.autol2, C.AutoL2Config) and back.autol2.every == 5
    # Key order of the dict does not matter.
    d = cfg.to_dict()
    assert C.Experiment.from_dict(dict(reversed(list(d.items())))).hash() == cfg.hash()
    assert re.fullmatch(r"[0-9a-f]{16}", cfg.hash())
    # No AutoL2: None stays None.
    plain = C.ci()
    assert _json_round_trip(plain).autol2 is None


@pytest.mark.parametrize(
    "change",
    [
        {"name": "other"},
        {"data": C.DataConfig(name="mnist1d", num_train=256, num_test=256)},
        {"model": C.ModelConfig(kind="mlp", width=33, depth=2)},
        {"model": C.ModelConfig(kind="mlp", width=32, depth=2, use_bias=False)},
        {"optimizer": C.OptimizerConfig(batch_size=32, momentum=0.5)},
        {"grid": C.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1,), seeds=(1,))},
        {"grid": C.GridConfig(l2=(1e-3, 1e-2), learning_rate=(0.1,), seeds=(0,))},
        {"duration": C.DurationConfig(num_steps=50)},
        {"autol2": C.AutoL2Config()},
        {"group_size": 8},
    ],
)
def test_hash_changes_with_every_field_that_changes_what_is_trained(change):
    base = C.ci()
    other = dataclasses.replace(base, **change)
    assert other.hash() != base.hash()
    # ...and is a function of the content alone: an equal config built anew hashes the same.
    assert dataclasses.replace(C.ci(), **change).hash() == other.hash()


@pytest.mark.parametrize(
    "make, prefix",
    [
        (lambda: C.DataConfig(name="digits", augment=True), "data.augment=True"),
        (lambda: C.DataConfig(name="mnist1d", source="idx"), "data.source='idx'"),
        (lambda: C.DataConfig(num_test=0), "data.num_test=0"),
        (lambda: C.ModelConfig(kind="wrn", depth=20), "model.depth=20"),
        (lambda: C.ModelConfig(cnn_head="avg"), "model.cnn_head='avg'"),
        (lambda: C.OptimizerConfig(loss="hinge"), "optimizer.loss='hinge'"),
        (lambda: C.AutoL2Config(factor=1.0), "autol2.factor=1.0"),
        (lambda: C.AutoL2Config(patience=0), "autol2.patience=0"),
        (lambda: C.DurationConfig(num_steps=10, horizon=1.0), "duration.num_steps=10"),
        (lambda: C.DurationConfig(horizon=float("inf"), num_steps=None), "duration.horizon=inf"),
        (lambda: C.GridConfig(seeds=[0]), "grid.seeds=[0]"),
        (lambda: C.Experiment(eval_train=1), "experiment.eval_train=1"),
        (lambda: C.ci(autol2={"every": 5}), "experiment.autol2="),
        (lambda: C.ci(data=C.DataConfig(num_train=16)), "optimizer.batch_size=32"),
    ],
)
def test_invalid_fields_raise_one_line_naming_the_field(make, prefix):
    with pytest.raises(InvalidInputError) as e:
        make()
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert msg.startswith(prefix + ("" if prefix.endswith("=") else ":")), msg
    assert "\n" not in msg and len(msg) > len(prefix) + 10  # it says why, on one line


def test_steps_for_a_budget_and_for_a_horizon():
    fixed = C.DurationConfig(num_steps=300, max_steps=200)
    assert fixed.steps_for(0.1, 0.1) == fixed.steps_for(0.0, 1.0) == 200  # capped by max_steps
    assert C.DurationConfig(num_steps=300).steps_for(1e-5, 0.1) == 300
    h = C.DurationConfig(num_steps=None, horizon=1.0, max_steps=1000, min_steps=20)
    assert h.steps_for(0.1, 0.1) == 100  # λ·η·t = 1
    assert h.steps_for(0.3, 0.1) == 34  # ceil(33.3): the member reaches the horizon
    assert h.steps_for(1.0, 1.0) == 20  # one step would do; min_steps is the floor
    assert h.steps_for(1e-6, 0.1) == 1000  # capped
    assert h.steps_for(0.0, 0.1) == 1000  # λ = 0 never reaches a horizon: max_steps
    assert C.DurationConfig(num_steps=None, horizon=1e-9).steps_for(1.0, 1.0) == 1  # at least 1


def test_steps_per_member_round_up_to_an_evaluation_and_set_num_evals():
    cfg = C.ci(
        grid=C.GridConfig(l2=(0.1, 0.3), learning_rate=(0.1,), seeds=(0, 1)),
        duration=C.DurationConfig(num_steps=None, horizon=1.0, max_steps=1000),
        eval_every=15,
    )
    # 100 and 34 steps, each rounded up to a multiple of 15; one entry per member (seed too).
    assert cfg.steps_per_member() == [105, 105, 45, 45]
    assert cfg.num_evals == 7
    assert C.ci().num_evals == 4 and C.ci().steps_per_member() == [40, 40]


def test_grid_members_vary_the_seed_fastest_then_eta_then_lambda():
    g = C.GridConfig(l2=(1e-2, 0.0), learning_rate=(0.1, 0.2, 0.4), seeds=(7, 3))
    m = g.members()
    assert g.size == len(m) == 12
    assert m[:4] == [(1e-2, 0.1, 7), (1e-2, 0.1, 3), (1e-2, 0.2, 7), (1e-2, 0.2, 3)]
    assert m[6] == (0.0, 0.1, 7) and m[-1] == (0.0, 0.4, 3)
    for i, (a, b, s) in enumerate(m):
        assert i == (g.l2.index(a) * 3 + g.learning_rate.index(b)) * 2 + g.seeds.index(s)
    assert C.ci(grid=g).members() == m


def test_scale_constructors_and_curve_keys():
    for make, scale in ((C.ci, "ci"), (C.cpu, "cpu"), (C.paper, "paper")):
        cfg = make()
        assert cfg.scale == scale and cfg.name == scale
        assert make(name="x", eval_every=7).eval_every == 7  # overrides replace fields
    assert C.paper().model.kind == "wrn" and C.paper().data.augment
    assert C.ci().curve_keys == C.CURVE_KEYS and "full_train_accuracy" not in C.CURVE_KEYS
    assert C.ci(eval_train=True).curve_keys == C.CURVE_KEYS + ("full_train_accuracy",)
    assert C.curve_keys(False) == C.CURVE_KEYS
    with pytest.raises(dataclasses.FrozenInstanceError):
        C.ci().eval_every = 3  # type: ignore[misc]
