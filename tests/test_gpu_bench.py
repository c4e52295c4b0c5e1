"""``bench/gpu.sh --dry``: every part of the GPU campaign at ci size on the CPU, results under
one folder, chapter 1's in-premise sweep stored with its provenance, data read from a bundle
made by ``--prepare-data`` (as on a GPU machine without the mnist1d package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from l2lib import data, registry, store

REPO = Path(__file__).resolve().parents[1]


def test_gpu_campaign_dry(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("L2LIB_")},
        "PYTHON": sys.executable,
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache"),
    }
    script = str(REPO / "bench" / "gpu.sh")
    bundle, out = tmp_path / "data", tmp_path / "out"
    r = subprocess.run(
        [script, "--prepare-data", str(bundle), "--dry"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [script, "--out", str(out), "--dry", "--data", str(bundle)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("part1", "part2", "part3", "summary", "meta"):
        assert (out / f"{name}.json").is_file(), name
    log = (out / "log.txt").read_text()
    assert "expected on one H200" in log and "done in" in log
    summary = json.loads((out / "summary.json").read_text())
    p1, p2, p3 = summary["part1"], summary["part2"], summary["part3"]
    assert p1["speedup"] > 0 and 0 < p1["model_fraction_of_matmul"]
    assert p1["vmapped_member_steps_per_s"] > 0 and p1["matmul_flops"] > 0
    assert p2["step_s"] > 0 and p2["peak_memory_gib"] > 0 and p2["batch"] == 8
    assert "stand-in" in p2["model"]
    assert {r["experiment"] for r in p2["paper_hours_at_this_step"]} >= {"ch2_budget_wrn_fixed"}
    # Part 3: a store entry under the output folder, its provenance recorded by the store.
    cfg = registry.get("ch1_premise_mlp", "ci")
    res = store.Store(out / "store").load(cfg)
    assert res.meta["device"]["platform"] == "cpu" and res.meta["versions"]["jax"]
    # The bundle's arrays are those l2lib.data makes: the same data fingerprint.
    assert res.meta["dataset"]["sha256"] == store.dataset_fingerprint(data.load(cfg.data))
    assert p3["entry"] == str(res.path) and p3["members"] == len(cfg.members())
    assert summary["total_s"] < 60
