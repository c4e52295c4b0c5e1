"""The command line: exit codes, one-line errors, a real sweep, and kill-and-resume."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from store_fakes import damage, fake_arrays, snapshot

from l2lib import cli, config, registry, store
from l2lib.store import Store

# Subprocesses share a persistent JAX compilation cache: each would otherwise compile the same
# program again, which costs far more than these tiny sweeps train.
_JAX_CACHE = {
    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    cache = {**_JAX_CACHE, "JAX_COMPILATION_CACHE_DIR": str(tmp_path_factory.mktemp("jax"))}
    return {**{k: v for k, v in os.environ.items() if k != "L2LIB_STORE"}, **cache}


def python_m_l2lib(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "l2lib", *args], capture_output=True, text=True, env=env, timeout=300
    )


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


# --- bad input: exit 2, one line, store untouched -------------------------------------------


BAD = {
    "unknown experiment": (["sweep", "nosuch", "--scale", "ci"], "unknown experiment"),
    "bad scale": (["sweep", "smoke", "--scale", "huge"], "invalid choice"),
    "scale not defined": (["sweep", "smoke", "--scale", "paper"], "has no scale"),
    "no name": (["sweep", "--scale", "ci"], "name an experiment"),
    "name and json": (["sweep", "smoke", "--config-json", "x.json"], "not both"),
    "missing json": (["sweep", "--config-json", "/nonexistent/x.json"], "cannot read"),
    "unknown command": (["frobnicate"], "invalid choice"),
    "unknown option": (["list", "--colour"], "unrecognized arguments"),
    "no command": ([], "choose a command"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_touches_nothing(tmp_path, capsys, case):
    args, needle = BAD[case]
    root = tmp_path / "runs"
    cfg = config.ci(name="unit")
    Store(root).save(cfg, fake_arrays(cfg))
    before = snapshot(root)
    rc, out, err = run_main(capsys, *args, *(["--store", str(root)] if args else []))
    assert rc == 2, err
    assert out == "" and err.endswith("\n") and err.count("\n") == 1, err
    assert needle in err and "error" in err
    assert snapshot(root) == before


def test_bad_config_json_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"scale": "galactic"}))
    rc, out, err = run_main(capsys, "sweep", "--config-json", str(bad), "--store", str(tmp_path))
    assert rc == 2 and err.count("\n") == 1 and "not an Experiment" in err
    bad.write_text("{not json")
    rc, out, err = run_main(capsys, "sweep", "--config-json", str(bad), "--store", str(tmp_path))
    assert rc == 2 and err.count("\n") == 1 and "not JSON" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


@pytest.mark.parametrize("cmd", ["sweep", "list", "verify"])
def test_store_that_is_not_a_directory(tmp_path, capsys, cmd):
    f = tmp_path / "file"
    f.write_bytes(b"x")
    args = [cmd, *(["smoke", "--scale", "ci"] if cmd == "sweep" else []), "--store", str(f)]
    rc, out, err = run_main(capsys, *args)
    assert rc == 2 and err.count("\n") == 1 and "not a directory" in err
    assert f.read_bytes() == b"x"


@pytest.mark.parametrize("cmd", ["list", "verify"])
def test_missing_store_for_reading(tmp_path, capsys, cmd):
    rc, out, err = run_main(capsys, cmd, "--store", str(tmp_path / "nowhere"))
    assert rc == 2 and err.count("\n") == 1 and "no store at" in err
    assert not (tmp_path / "nowhere").exists()


# --- list and verify ------------------------------------------------------------------------


def test_verify_and_list_report_damage_and_staleness(tmp_path, capsys, monkeypatch):
    s = Store(tmp_path)
    good, bad = config.ci(name="good"), config.ci(name="bad")
    s.save(good, fake_arrays(good))
    bad_npz = s.save(bad, fake_arrays(bad)).with_suffix(".npz")
    rc, out, err = run_main(capsys, "verify", "--store", str(tmp_path))
    assert rc == 0 and out == ""
    damage(bad_npz, "flip")
    rc, out, err = run_main(capsys, "verify", "--store", str(tmp_path))
    assert rc == 1 and out.count("\n") == 1 and str(bad_npz) in out
    rc, out, err = run_main(capsys, "list", "--store", str(tmp_path))
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 3  # header + 2 entries
    assert lines[1].split()[:2] == ["-", "bad"] and lines[1].endswith("CORRUPT")
    assert lines[2].split()[:4] == ["-", "good", "ci", "2"] and lines[2].endswith("current")
    monkeypatch.setattr(store, "ENGINE_VERSION", store.ENGINE_VERSION + 1)
    rc, out, err = run_main(capsys, "list", "--store", str(tmp_path))
    assert out.splitlines()[2].endswith("stale")
    rc, out, err = run_main(capsys, "verify", "--store", str(tmp_path))
    assert rc == 1 and out.count("\n") == 2 and "stale" in out


# --- real sweeps in subprocesses ------------------------------------------------------------


def test_sweep_smoke_then_verify(tmp_path, env):
    root = str(tmp_path / "runs")
    r = python_m_l2lib(env, "sweep", "smoke", "--scale", "ci", "--store", root)
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip())
    assert path.is_file() and path.parent == tmp_path / "runs"
    assert "member-steps" in r.stderr and "ETA" in r.stderr  # plain lines: not a terminal
    v = python_m_l2lib(env, "verify", "--store", root)
    assert v.returncode == 0 and v.stdout == "", v.stdout + v.stderr
    lst = python_m_l2lib(env, "list", "--store", root)
    (row,) = lst.stdout.splitlines()[1:]
    assert row.split()[:5] == ["library", "smoke", "ci", "4", "40"] and row.endswith("current")
    again = python_m_l2lib(env, "sweep", "smoke", "--scale", "ci", "--store", root)
    assert again.returncode == 0 and Path(again.stdout.strip()) == path
    assert "found in the store" in again.stderr


# Trains the first group normally, then hangs before the second: the test kills it there.
_HANG_AFTER_FIRST_GROUP = textwrap.dedent(
    """
    import sys, time
    import l2lib.train as train

    _run_group, calls = train.run_group, []

    def run_group(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            time.sleep(600)
        return _run_group(*args, **kwargs)

    train.run_group = run_group
    from l2lib.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


def test_killed_sweep_resumes_to_identical_results(tmp_path, env):
    # Three groups of four members: the same compiled program as the smoke sweep above.
    cfg = config.ci(
        name="resume",
        grid=config.GridConfig(l2=(1e-2, 1e-3, 1e-4), learning_rate=(0.1, 0.05), seeds=(0, 1)),
        group_size=4,
    )
    cfg_json = tmp_path / "cfg.json"
    cfg_json.write_text(json.dumps(cfg.to_dict()))
    ref_root, root = tmp_path / "ref", tmp_path / "run"
    common = ["sweep", "--config-json", str(cfg_json), "--store"]
    victim = subprocess.Popen(
        [sys.executable, "-c", _HANG_AFTER_FIRST_GROUP, *common, str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    s = Store(root)
    partial = s.partial_dir(cfg)
    deadline = time.monotonic() + 180
    while not (partial / "group-0.json").exists():
        assert victim.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline, "no group was ever written"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert sorted(p.name for p in partial.iterdir() if not p.name.startswith(".")) == [
        "group-0.json",
        "group-0.npz",
    ]
    assert not s.exists(cfg)
    first = json.loads((partial / "group-0.json").read_text())

    resumed = python_m_l2lib(env, *common, str(root))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming resume/ci: 1 of 3 groups already finished" in resumed.stderr
    ref = python_m_l2lib(env, *common, str(ref_root))  # the same sweep, never interrupted
    assert ref.returncode == 0, ref.stderr

    a, b = Store(ref_root).load(cfg), s.load(cfg)
    assert sorted(a.arrays) == sorted(b.arrays)
    for k in a.arrays:  # bit for bit
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k
    # The finished group was read back, not trained again; the others were trained once.
    assert b.meta["resumed_groups"] == 1 and a.meta["resumed_groups"] == 0
    groups = b.meta["groups"]
    assert [g["resumed"] for g in groups] == [True, False, False]
    assert groups[0]["created"] == first["created"] and groups[0]["wall_s"] == first["wall_s"]
    assert not partial.exists() and s.verify() == []


def test_sweep_and_artifact_help_list_the_registry_by_chapter(capsys):
    assert cli.main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    listing = out[out.index("experiments by chapter") :]
    chapters = [
        line.split(":")[0].strip() for line in listing.splitlines()[1:] if line[2:4] != "  "
    ]
    assert chapters == ["ch1", "ch2", "ch3", "ch5", "library"]
    assert "ch1_premise_mlp" in listing and "ch2_optimal_l2_fmnist4k_probe" in listing
    assert cli.main(["artifact", "--help"]) == 0
    assert "ch4:     ch4_hessian_min_eig, ch4_width_ntk" in capsys.readouterr().out


def test_rekey_moves_an_entry_to_the_name_the_registry_gives_its_content(tmp_path, capsys):
    cfg = registry.get("smoke", "ci")
    s = Store(tmp_path)
    s.save(dataclasses.replace(cfg, name="old_smoke"), fake_arrays(cfg))
    rc, out, err = run_main(capsys, "rekey", "--store", str(tmp_path))
    assert rc == 0 and out.startswith("old_smoke-ci-") and "-> smoke-ci-" in out
    assert s.path_for(cfg).name.startswith("smoke-ci-") and s.verify() == []
    rc, out, err = run_main(capsys, "rekey", "--store", str(tmp_path))
    assert rc == 0 and out == "" and "0 entries moved" in err
