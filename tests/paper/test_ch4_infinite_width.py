"""Chapter 4: the artifact store API, the width experiment at tiny size, its figures, claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from store_fakes import damage

from l2lib import claims as claims_lib
from l2lib import registry, store
from l2lib.paper import ch4_infinite_width
from l2lib.store import CorruptEntryError, MissingEntryError, StaleEntryError, Store

PARAMS = {"widths": (4, 8), "l2": 0.1, "name": "x"}


def arrays():
    return {
        "a": np.arange(6.0).reshape(2, 3),
        "b": np.array([1, 2], np.int64),
        "n": np.array(np.nan),
    }


def test_artifact_round_trip_and_provenance(tmp_path):
    st = Store(tmp_path)
    path = st.save_artifact("demo", "ci", PARAMS, arrays(), {"wall_s": 1.5})
    assert path.parent == tmp_path / "artifacts" and path.name.startswith("demo-ci-")
    art = st.load_artifact("demo", "ci", {"name": "x", "l2": 0.1, "widths": [4, 8]})  # canonical
    for k, v in arrays().items():
        assert art[k].dtype == v.dtype and art[k].tobytes() == v.tobytes()
    for field in store.ARTIFACT_META_FIELDS:
        assert field in art.meta, field
    assert art.meta["wall_s"] == 1.5 and art.params == {"l2": 0.1, "name": "x", "widths": [4, 8]}
    assert art.meta["git"].keys() >= {"commit", "dirty"} and art.meta["created"]
    # The key changes with the params, the scale and the engine version.
    keys = {
        store.artifact_key("demo", "ci", PARAMS),
        store.artifact_key("demo", "ci", {**PARAMS, "l2": 0.2}),
        store.artifact_key("demo", "cpu", PARAMS),
        store.artifact_key("demo", "ci", PARAMS, store.ENGINE_VERSION + 1),
    }
    assert len(keys) == 4
    with pytest.raises(MissingEntryError, match="python -m l2lib artifact demo --scale ci"):
        st.load_artifact("demo", "ci", {**PARAMS, "l2": 0.2})
    with pytest.raises(ValueError, match="plain JSON"):
        st.save_artifact("demo", "ci", {"f": object()}, arrays())
    # list and verify cover artifacts.
    (info,) = st.entries()
    assert (info.name, info.scale, info.status) == ("demo", "ci", "current")
    assert st.verify() == []


@pytest.mark.parametrize("target,how", [("npz", "flip"), ("npz", "truncate"), ("json", "flip")])
def test_artifact_corruption_is_caught(tmp_path, target, how):
    st = Store(tmp_path)
    path = st.save_artifact("demo", "ci", PARAMS, arrays())
    damage(path.with_suffix(f".{target}"), how)
    with pytest.raises(CorruptEntryError, match="--force"):
        st.load_artifact("demo", "ci", PARAMS)
    with pytest.raises(CorruptEntryError):  # never silently recomputed
        store.load_or_compute_artifact("demo", "ci", PARAMS, arrays, store=st)
    (problem,) = st.verify()
    assert "corrupt" in problem.message
    # --force recomputes over it.
    art = store.load_or_compute_artifact("demo", "ci", PARAMS, arrays, store=st, force=True)
    assert art["a"].shape == (2, 3) and st.verify() == []


def test_stale_artifact_is_refused_and_listed(tmp_path, monkeypatch):
    st = Store(tmp_path)
    st.save_artifact("demo", "ci", PARAMS, arrays())
    monkeypatch.setattr(store, "ENGINE_VERSION", store.ENGINE_VERSION + 1)
    with pytest.raises(MissingEntryError):  # a new engine looks under a new key
        st.load_artifact("demo", "ci", PARAMS)
    (path,) = (tmp_path / "artifacts").glob("*.json")
    with pytest.raises(StaleEntryError):
        st.read_artifact(path)
    assert [e.status for e in st.entries()] == ["stale"]
    assert "stale" in st.verify()[0].message


def test_load_or_compute_caches_and_forbidden_training_raises(tmp_path, monkeypatch):
    calls = []

    def fn():
        calls.append(1)
        return arrays()

    a = store.load_or_compute_artifact("demo", "ci", PARAMS, fn, store=tmp_path)
    b = store.load_or_compute_artifact("demo", "ci", PARAMS, fn, store=tmp_path)
    assert len(calls) == 1 and a.path == b.path and isinstance(a.meta["wall_s"], float)
    monkeypatch.setenv("L2LIB_FORBID_TRAINING", "1")
    assert store.load_or_compute_artifact("demo", "ci", PARAMS, fn, store=tmp_path).path == a.path
    with pytest.raises(MissingEntryError, match="forbidden"):
        store.load_or_compute_artifact("demo", "ci", {**PARAMS, "l2": 1.0}, fn, store=tmp_path)
    assert len(calls) == 1
    with pytest.raises(RuntimeError, match="forbidden"):
        ch4_infinite_width.width_experiment(ch4_infinite_width.width_config("ci"))


@pytest.fixture(scope="module")
def ci_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("ch4")
    for name in registry.artifact_names():
        store.load_registered_artifact(name, "ci", root=root)
    return root


def test_width_experiment_shapes(ci_store):
    cfg, art = store.load_registered_artifact("ch4_width_ntk", "ci", root=ci_store, compute=False)
    n, m, c, t, w = cfg.num_train, cfg.num_test, 10, cfg.num_times, len(cfg.widths)
    a = art.arrays
    assert a["times"].shape == (t,) and a["times"][0] == 0
    assert np.allclose(a["times"][-1], cfg.horizon)
    assert a["kernel_trace"].shape == (w, t) and a["kernel_init"].shape == (w, n, n)
    for key, shape in (("f_train", (w, t, n, c)), ("f_test", (w, t, m, c))):
        assert a[key].shape == shape and a[key.replace("f_", "theory_")].shape == shape
        # The theory starts from the network's own f₀.
        assert np.allclose(a[key][:, 0], a[key.replace("f_", "theory_")][:, 0], atol=1e-5)
    assert a["rf_f_train"].shape == (t, n, c) and a["rf_ridge_test"].shape == (m, c)
    # The random-features kernel (k = 1) does not move; the k = 2 kernels shrink.
    assert np.allclose(a["rf_kernel_trace"], a["rf_kernel_trace"][0], rtol=1e-5)
    assert np.all(a["kernel_trace"][:, -1] < a["kernel_trace"][:, 0])
    s = ch4_infinite_width.width_summary(a, cfg)
    assert s.rate.shape == s.rate_error.shape == s.output_error.shape == (w,)
    assert s.theory_rate == pytest.approx(2 * (cfg.k - 1) * cfg.l2)


def test_ntk_batching_bounds_memory_without_changing_the_kernel(monkeypatch):
    # 640 kernel columns for 64 × 10 outputs; a wide net on 256 inputs gets fewer per pass.
    assert ch4_infinite_width.ntk_batch_size(640, 256, 16384) == 2**27 // (256 * 16384) == 32
    assert ch4_infinite_width.ntk_batch_size(640, 8, 4) == 640
    assert ch4_infinite_width.ntk_batch_size(640, 10**6, 10**6) == 1
    cfg = ch4_infinite_width.width_config("ci")
    full = ch4_infinite_width.width_experiment(cfg)
    monkeypatch.setattr(ch4_infinite_width, "NTK_PASS_FLOATS", 16 * 16)  # 1 column per pass here
    assert ch4_infinite_width.ntk_batch_size(80, 16, 16) == 1
    split = ch4_infinite_width.width_experiment(cfg)
    for key in ("kernel_init", "kernel_trace", "f_test", "rate"):
        np.testing.assert_allclose(split[key], full[key], rtol=1e-5, atol=1e-6)


def test_theory_and_hessian_artifacts(ci_store):
    cfg, art = store.load_registered_artifact(
        "ch4_width_theory", "ci", root=ci_store, compute=False
    )
    shape = (len(cfg.l2), len(cfg.k), cfg.num_times)
    assert art["test_accuracy"].shape == art["test_loss"].shape == shape
    assert np.all((art["test_accuracy"] >= 0) & (art["test_accuracy"] <= 1))
    hcfg, h = store.load_registered_artifact(
        "ch4_hessian_min_eig", "ci", root=ci_store, compute=False
    )
    assert h["smallest"].shape == h["largest"].shape == (len(hcfg.l2), 3)
    assert np.all(np.diff(h["smallest"], axis=1) >= 0)


def test_claims_read_the_artifacts(ci_store):
    claims = list(ch4_infinite_width._width_claims("ch4_width_ntk", "ci", ci_store))
    claims += list(ch4_infinite_width._hessian_claims("ch4_hessian_min_eig", "ci", ci_store))
    assert [c.chapter for c in claims] == ["ch4"] * len(claims) and len(claims) == 3
    assert all("goal" not in c.measured for c in claims)


def test_claims_missing_artifact_fails_without_computing(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_CLAIMS", [s for s in registry.claims() if s.chapter == "ch4"])
    claims = claims_lib.run("ci", tmp_path)
    assert claims and not any(c.passed for c in claims)
    assert not (tmp_path / "artifacts").exists()


def _sliders_work(fig, first_prefix: str, second_prefix: str) -> None:
    s1, s2 = fig.layout.sliders
    assert s1.currentvalue.prefix == first_prefix and s2.currentvalue.prefix == second_prefix
    n = len(fig.data)
    for step in s1.steps:
        assert len(step.args[0]["visible"]) == n
    assert sum(s1.steps[1].args[0]["visible"]) < n
    for step in s2.steps:
        assert len(step.args[0]["opacity"]) == n
    assert min(s2.steps[1].args[0]["opacity"]) < 0.5


def test_figures_have_their_traces_and_sliders(ci_store):
    fig = ch4_infinite_width.l2_decay([0.1, 0.3], [1, 2, 3], 10.0)
    assert len(fig.data) == 2 * 2 * 3
    _sliders_work(fig, "λ = ", "k = ")
    k1 = [t for t in fig.data if t.name.startswith("Θ_t/Θ₀") and t.name.endswith("k=1")]
    assert all(np.allclose(t.y, 1.0) for t in k1)  # k = 1: the kernel does not move

    _, th = store.load_registered_artifact("ch4_width_theory", "ci", root=ci_store, compute=False)
    for metric in ("test_accuracy", "test_loss"):
        fig = ch4_infinite_width.theory_test_curves(th.arrays, metric)
        assert len(fig.data) == th["l2"].size * th["k"].size
        _sliders_work(fig, "λ = ", "k = ")

    cfg, art = store.load_registered_artifact("ch4_width_ntk", "ci", root=ci_store, compute=False)
    w = len(cfg.widths)
    fig = ch4_infinite_width.kernel_vs_width(art.arrays, cfg.l2, cfg.k)
    assert len(fig.data) == w + 2
    fig = ch4_infinite_width.outputs_vs_width(art.arrays)
    assert len(fig.data) == 2 * w + 3
    fig = ch4_infinite_width.width_errors(ch4_infinite_width.width_summary(art.arrays, cfg))
    assert len(fig.data) == 3 and all(len(t.x) == w for t in fig.data)
    _, h = store.load_registered_artifact("ch4_hessian_min_eig", "ci", root=ci_store, compute=False)
    fig = ch4_infinite_width.hessian_eigs(h.arrays)
    assert len(fig.data) == 4


def test_cli_artifact_command(tmp_path, capsys):
    from l2lib import cli

    assert cli.main(["artifact", "nope", "--store", str(tmp_path)]) == 2
    assert (
        cli.main(["artifact", "ch4_hessian_min_eig", "--scale", "ci", "--store", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out.strip()
    assert (
        out.endswith(".json") and json.loads(Path(out).read_text())["name"] == "ch4_hessian_min_eig"
    )
    assert cli.main(["list", "--store", str(tmp_path)]) == 0
    assert "ch4_hessian_min_eig" in capsys.readouterr().out
    assert cli.main(["verify", "--store", str(tmp_path)]) == 0
