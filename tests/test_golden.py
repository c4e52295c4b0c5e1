"""Golden numbers: the engine's numerics are pinned to ``l2lib/golden/golden_ci.json``.

When this fails, the numbers the engine produces changed. If that is intended, bump
``ENGINE_VERSION`` in ``l2lib/store.py`` (so every cached run becomes stale instead of being
shown as current) and regenerate with ``python -m l2lib golden --write``.
"""

from __future__ import annotations

import copy
import os
import shutil

import numpy as np
import pytest

from l2lib import registry, store


def _golden_data_or_skip() -> None:
    """Two golden configs read Debian's Fashion-MNIST IDX files; `.ci/run` installs them. Outside
    CI a machine without them skips (saying so); under CI=true their absence fails."""
    from l2lib import data

    for cfg in store.golden_configs().values():
        try:
            data.load(cfg.data)
        except data.DataUnavailableError as e:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"golden data not installed here ({e})")


def test_engine_reproduces_the_golden_numbers():
    _golden_data_or_skip()
    problems = store.check_golden()
    assert not problems, "\n".join(problems)


def test_golden_file_is_current_and_complete():
    golden = store.read_golden()
    assert golden["engine_version"] == store.ENGINE_VERSION, (
        f"bump done: regenerate with `{store.GOLDEN_COMMAND}`"
    )
    configs = store.golden_configs()
    assert sorted(golden["cases"]) == sorted(configs)
    for name, cfg in configs.items():
        assert golden["cases"][name]["config_hash"] == cfg.hash(), name


def _perturbed(cases: dict, rel: float) -> dict:
    out = copy.deepcopy(cases)
    row = out["sgd"]["numbers"]["sq_norm"][0]
    row[-1] *= 1 + rel
    return out


def test_a_change_of_numbers_is_caught():
    cases = store.read_golden()["cases"]
    assert store.compare_golden(cases, copy.deepcopy(cases)) == []
    assert store.compare_golden(cases, _perturbed(cases, 1e-7)) == []  # float noise passes
    (diff,) = store.compare_golden(cases, _perturbed(cases, 1e-4))
    assert diff.startswith("sgd.sq_norm[0, 3]")


def test_rewriting_changed_numbers_needs_a_version_bump(tmp_path, monkeypatch):
    path = tmp_path / "golden.json"
    shutil.copy(store.GOLDEN_PATH, path)
    cases = store.read_golden(path)["cases"]
    monkeypatch.setattr(store, "compute_golden", lambda: _perturbed(cases, 1e-3))
    (why,) = store.write_golden(path)
    assert "bump ENGINE_VERSION" in why
    assert path.read_bytes() == store.GOLDEN_PATH.read_bytes()
    monkeypatch.setattr(store, "ENGINE_VERSION", store.ENGINE_VERSION + 1)
    assert store.write_golden(path) == []
    assert store.read_golden(path)["engine_version"] == store.ENGINE_VERSION


def _paths(cfg) -> set[tuple[str, object]]:
    """The numerics paths a config takes (each a branch of the engine or the model)."""
    m, o, d = cfg.model, cfg.optimizer, cfg.data
    return {
        ("model", m.kind),
        ("batch_norm", (m.kind, m.batch_norm or m.kind == "wrn")),
        ("parameterization", m.parameterization),
        ("use_bias", m.use_bias),
        ("activation", m.activation),
        ("cnn_head", m.cnn_head if m.kind == "cnn" else None),
        ("loss", o.loss),
        ("schedule", o.schedule),
        ("momentum", o.momentum > 0),
        ("autol2", cfg.autol2 is not None),
        ("augment", d.augment),
        ("eval_train", cfg.eval_train),
        ("full_batch", d.num_train is not None and o.batch_size == d.num_train),
        ("images", d.name not in ("mnist1d", "digits")),
    }


def test_golden_configs_cover_every_path_of_the_registered_experiments():
    from l2lib import config

    covered = set().union(*(_paths(c) for c in store.golden_configs().values()))
    missing = {}
    for name in registry.names():
        for scale in config.SCALES:
            try:
                cfg = registry.get(name, scale)
            except ValueError:
                continue
            for p in _paths(cfg) - covered:
                missing.setdefault(p, f"{name}/{scale}")
    assert not missing, f"paths no golden config takes (first experiment using each): {missing}"


def test_golden_step_schedule_meets_its_boundaries_exactly():
    # frac = step / end_step equal to a boundary at some step: `>=` and `>` then differ.
    cfg = store.golden_configs()["cnn_bn_step_full_batch"]
    (end,) = set(cfg.steps_per_member())
    for b in cfg.optimizer.step_boundaries:
        assert any(np.float32(s) / np.float32(end) == np.float32(b) for s in range(end)), b
