"""Golden numbers: the engine's numerics are pinned to ``l2lib/golden/golden_ci.json``.

When this fails, the numbers the engine produces changed. If that is intended, bump
``ENGINE_VERSION`` in ``l2lib/store.py`` (so every cached run becomes stale instead of being
shown as current) and regenerate with ``python -m l2lib golden --write``.
"""

from __future__ import annotations

import copy
import shutil

from l2lib import store


def test_engine_reproduces_the_golden_numbers():
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
