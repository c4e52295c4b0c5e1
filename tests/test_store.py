"""The results store: round trips, provenance, corruption, staleness, concurrent writers."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from store_fakes import damage, fake_arrays, snapshot

from l2lib import config, data, registry, store
from l2lib.store import CorruptEntryError, MissingEntryError, StaleEntryError, Store


@pytest.fixture
def cfg():
    return config.ci(name="unit")


def assert_same_arrays(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k  # bit for bit, NaNs included


def test_curve_keys_are_the_engines():
    from l2lib import train

    assert store.CURVE_KEYS is train.CURVE_KEYS


def test_key_is_readable_and_changes_with_config_and_engine(cfg, monkeypatch):
    k = store.entry_key(cfg)
    assert k.startswith("unit-ci-") and len(k) == len("unit-ci-") + 12
    assert store.entry_key(dataclasses.replace(cfg, eval_every=20)) != k
    monkeypatch.setattr(store, "ENGINE_VERSION", store.ENGINE_VERSION + 1)
    assert store.entry_key(cfg) != k


def test_save_then_load_round_trips(tmp_path, cfg):
    s = Store(tmp_path)
    arrays = fake_arrays(cfg)
    path = s.save(cfg, arrays, {"wall_s": 1.5})
    assert path == s.path_for(cfg) and s.exists(cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name, path.name.replace(".json", ".npz"), ".locks"]
    )
    r = s.load(cfg)
    assert_same_arrays(r.arrays, arrays)
    assert r.config == cfg and r.meta["wall_s"] == 1.5 and not r.stale
    assert r.grid("sq_norm").shape == (2, 1, 1, cfg.num_evals)
    # Same arrays, same bytes: re-running a sweep does not churn the files under git.
    npz = path.with_suffix(".npz").read_bytes()
    s.save(cfg, arrays)
    assert path.with_suffix(".npz").read_bytes() == npz


def test_save_refuses_arrays_that_do_not_fit(tmp_path, cfg):
    arrays = fake_arrays(cfg)
    arrays["sq_norm"] = arrays["sq_norm"][:, :2]
    with pytest.raises(ValueError, match="sq_norm"):
        Store(tmp_path).save(cfg, arrays)
    assert snapshot(tmp_path) == {}


# Training tests use the golden "sgd" config: the engine compiles its program once per
# process (test_golden trains it too), and compiling dominates the cost of these tests.
TRAINED = store.golden_configs()["sgd"]


def test_load_or_run_trains_once_and_records_provenance(tmp_path):
    from l2lib import train

    cfg = TRAINED

    s = Store(tmp_path)
    ticks = []

    class Recorder:
        def start(self, label, total, done, members, members_done):
            ticks.append(("start", total, done))

        def advance(self, n):
            ticks.append(n)

        def group_done(self, members):
            pass

        def close(self):
            ticks.append("close")

    before = train.TRAIN_STEPS
    r = store.load_or_run(cfg, s, progress=Recorder())
    trained = train.TRAIN_STEPS - before
    assert trained == 2 * 40
    assert ticks[0] == ("start", trained, 0) and sum(t for t in ticks[1:-1]) == trained
    assert ticks[-1] == "close"
    # Every provenance field is there and filled in.
    meta = r.meta
    for f in store.META_FIELDS:
        assert f in meta, f
    for f in ("jax", "jaxlib", "flax", "optax", "numpy", "python"):
        assert meta["versions"][f], f
    assert meta["device"]["platform"] == "cpu" and meta["device"]["kind"]
    assert set(meta["git"]) == {"commit", "dirty"}
    assert meta["engine_version"] == store.ENGINE_VERSION
    assert meta["config"] == json.loads(json.dumps(cfg.to_dict())) and r.config == cfg
    assert meta["config_hash"] == cfg.hash()
    assert meta["member_steps"] == 80 and meta["member_steps_run"] == 80
    assert meta["num_members"] == 2 and meta["wall_s"] > 0
    assert meta["dataset"]["name"] and meta["dataset"]["num_train"] == 512
    # which data ran: the fingerprint of the arrays the engine was given
    assert meta["dataset"]["sha256"] == store.dataset_fingerprint(data.load(cfg.data))
    assert meta["created"].endswith("+00:00")
    assert not s.partial_dir(cfg).exists()
    # The second call reads the store: no training, same arrays.
    again = store.load_or_run(cfg, s)
    assert train.TRAIN_STEPS - before == trained
    assert_same_arrays(again.arrays, r.arrays)


@pytest.mark.parametrize("which", ["npz", "json"])
@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_damage_is_caught_and_never_returned(tmp_path, cfg, which, how):
    s = Store(tmp_path)
    path = s.save(cfg, fake_arrays(cfg)).with_suffix(f".{which}")
    damage(path, how)
    for call in (lambda: s.load(cfg), lambda: store.load_or_run(cfg, s)):
        with pytest.raises(CorruptEntryError) as e:
            call()
        msg = str(e.value)
        assert "\n" not in msg and str(path) in msg and "--force" in msg
    problems = s.verify()
    assert len(problems) == 1 and problems[0].path.stem == path.stem
    assert [e.status for e in s.entries()] == ["corrupt"]


def test_force_replaces_a_corrupt_entry(tmp_path):
    cfg = TRAINED
    s = Store(tmp_path)
    damage(s.save(cfg, fake_arrays(cfg)).with_suffix(".npz"), "flip")
    r = store.load_or_run(cfg, s, force=True)
    assert np.isfinite(r["sq_norm"]).all() and s.verify() == []


def test_orphan_npz_is_reported(tmp_path, cfg):
    s = Store(tmp_path)
    s.save(cfg, fake_arrays(cfg)).unlink()
    assert not s.exists(cfg)
    (p,) = s.verify()
    assert p.path.suffix == ".npz" and "without its .json" in p.message


def test_stale_entries_are_listed_refused_and_inspectable(tmp_path, cfg, monkeypatch):
    s = Store(tmp_path)
    s.save(cfg, fake_arrays(cfg))
    monkeypatch.setattr(store, "ENGINE_VERSION", store.ENGINE_VERSION + 1)
    assert not s.exists(cfg)
    assert [e.status for e in s.entries()] == ["stale"]
    (p,) = s.verify()
    assert "stale" in p.message
    with pytest.raises(StaleEntryError, match="engine version"):
        s.load(cfg)
    r = s.load(cfg, allow_stale=True)
    assert r.stale and r.meta["engine_version"] == store.ENGINE_VERSION - 1


def test_missing_entry_names_the_command_with_its_store(tmp_path, cfg):

    smoke = registry.get("smoke", "ci")
    with pytest.raises(MissingEntryError) as e:
        Store(tmp_path).load(smoke)
    assert f"`python -m l2lib sweep smoke --scale ci --store {tmp_path}`" in str(e.value)
    # "unit" is no registered experiment: the hint is --config-json, never a NAME that fails.
    with pytest.raises(MissingEntryError) as e:
        Store(tmp_path).load(cfg)
    assert "sweep --config-json CONFIG.json --store" in str(e.value)
    assert "sweep unit" not in str(e.value)


def test_forbidden_training_fails_before_touching_the_store(tmp_path, cfg, monkeypatch):
    monkeypatch.setenv("L2LIB_FORBID_TRAINING", "1")
    with pytest.raises(MissingEntryError, match="L2LIB_FORBID_TRAINING"):
        store.load_or_run(cfg, Store(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


_WRITER = textwrap.dedent(
    """
    import sys
    from l2lib import config, store
    from store_fakes import fake_arrays

    cfg = config.ci(name="unit")
    s = store.Store(sys.argv[1])
    value = float(sys.argv[2])
    for _ in range(25):
        s.save(cfg, fake_arrays(cfg, value), {"wall_s": value})
    """
)


def test_two_concurrent_writers_leave_one_valid_entry(tmp_path, cfg):
    root = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(v)], env=env)
        for v in (1.0, 2.0)
    ]
    s = Store(root)
    seen = set()
    # Read while they write: every read is one writer's whole entry, or nothing.
    while any(p.poll() is None for p in procs):
        try:
            r = s.load(cfg)
        except MissingEntryError:
            continue
        value = float(r["sq_norm"][0, 0])
        assert r.meta["wall_s"] == value and value in (1.0, 2.0)
        seen.add(value)
        time.sleep(0.001)
    assert [p.returncode for p in procs] == [0, 0]
    assert s.verify() == []
    files = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert files == [s.path_for(cfg).name, s.path_for(cfg).with_suffix(".npz").name]
    assert not list(root.glob(".*.tmp"))
    assert s.load(cfg)["sq_norm"][0, 0] in (1.0, 2.0)


def test_dataset_fingerprint_changes_with_any_array():
    from l2lib.data import Dataset

    x = np.zeros((4, 3), np.float32)
    y = np.arange(4, dtype=np.int32)
    base = Dataset(x, y, x[:2], y[:2], 4, "t")
    fp = store.dataset_fingerprint(base)
    assert fp == store.dataset_fingerprint(Dataset(x.copy(), y.copy(), x[:2], y[:2], 4, "t"))
    assert fp != store.dataset_fingerprint(base._replace(y_train=y[::-1].copy()))
    assert fp != store.dataset_fingerprint(base._replace(x_test=x[:2].reshape(2, 3, 1)))


# --- keys hold what was trained, not its name --------------------------------------------------


def test_a_renamed_experiment_finds_its_entry_and_rekey_renames_the_files(tmp_path, cfg):
    """Renaming an experiment must not force retraining: the key's hash leaves the name out,
    so the entry made under the old name is found by content; ``rekey`` then moves its files
    to the new name with the arrays untouched."""
    s = Store(tmp_path)
    old = s.save(cfg, fake_arrays(cfg))
    renamed = dataclasses.replace(cfg, name="ch9_unit_renamed")
    assert store.entry_key(renamed).rsplit("-", 1)[1] == store.entry_key(cfg).rsplit("-", 1)[1]
    assert s.exists(renamed) and s.path_for(renamed) == old
    r = s.load(renamed)
    assert r.config.name == "ch9_unit_renamed" and r.meta["name"] == cfg.name
    assert store.load_or_run(renamed, tmp_path).path == old  # found, not trained
    npz = old.with_suffix(".npz").read_bytes()
    moved = s.rekey(
        lambda c: "ch9_unit_renamed" if c.content_hash() == cfg.content_hash() else None
    )
    assert moved == [(store.entry_key(cfg), store.entry_key(renamed))]
    new = s.path_for(renamed)
    assert new.name.startswith("ch9_unit_renamed-") and not old.exists()
    assert new.with_suffix(".npz").read_bytes() == npz
    meta = s.load(renamed).meta
    assert meta["renamed_from"] == [store.entry_key(cfg)] and meta["created"] == r.meta["created"]
    assert s.verify() == [] and s.rekey() == []  # nothing left to move
    # A different config is not mistaken for it, whatever its name.
    other = dataclasses.replace(renamed, eval_every=renamed.eval_every * 2)
    assert not s.exists(other)


def test_entries_under_the_older_key_scheme_are_read_and_rekeyed(tmp_path, cfg):
    s = Store(tmp_path)
    path = s.save(cfg, fake_arrays(cfg))
    legacy = store.legacy_entry_key(cfg)
    assert legacy != store.entry_key(cfg)
    # Written by a store of the older scheme: the same files under the key that hashed the name.
    meta = json.loads(path.read_text())
    meta.pop("meta_sha256")
    meta["key"] = legacy
    (tmp_path / f"{legacy}.json").write_bytes(store._json_bytes(meta))
    path.with_suffix(".npz").rename(tmp_path / f"{legacy}.npz")
    path.unlink()
    assert s.path_for(cfg).name == f"{legacy}.json" and s.verify() == []
    assert np.array_equal(s.load(cfg)["test_accuracy"], fake_arrays(cfg)["test_accuracy"])
    assert s.rekey() == [(legacy, store.entry_key(cfg))]
    assert s.path_for(cfg).name == f"{store.entry_key(cfg)}.json" and s.verify() == []
