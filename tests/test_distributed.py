"""One sweep in two processes (2 forced CPU devices each, 4 global devices) joined by
``jax.distributed`` on 127.0.0.1: equal to the single-process sweep bit for bit, stored once by
process 0, a killed peer stops the survivor within seconds, and a rerun resumes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from l2lib import config, distributed
from l2lib.store import Store

REPO = Path(__file__).resolve().parents[1]
#: The survivor must stop within this (the coordinator's heartbeat timeout given to both).
HEARTBEAT_S = 5

# 16 members, 2 per device: two groups of 8 over the 4 global devices, each device vmapping
# 2 members, as the single-process reference (1 device, 2 members at a time, 8 groups) does.
CFG = config.ci(
    name="multihost",
    grid=config.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1, 0.05), seeds=(0, 1, 2, 3)),
    duration=config.DurationConfig(num_steps=400),
    group_size=2,
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("multihost")
    cfg_json = root / "cfg.json"
    cfg_json.write_text(json.dumps(CFG.to_dict()))
    # A store path no process can create (its parent is a file): the follower gets it, so any
    # attempt of it to write would fail.
    (root / "a-file").write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("L2LIB_", "SLURM_"))},
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
        "JAX_COMPILATION_CACHE_DIR": str(root / "jax-cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "PYTHONUNBUFFERED": "1",
    }
    return root, cfg_json, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env, cfg_json: Path, store: Path, port: int, pid: int, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "l2lib", "sweep", "--config-json", str(cfg_json)]
    args += ["--store", str(store), "--coordinator", f"127.0.0.1:{port}"]
    args += ["--num-processes", "2", "--process-id", str(pid)]
    args += ["--heartbeat-timeout", str(HEARTBEAT_S)]
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )


def _pair(root: Path, cfg_json: Path, env, store: Path, tag: str):
    port = _free_port()
    follower_store = root / "a-file" / "store"
    p0 = _start(env, cfg_json, store, port, 0, root / f"{tag}-0.log")
    p1 = _start(env, cfg_json, follower_store, port, 1, root / f"{tag}-1.log")
    return p0, p1


def _wait(p: subprocess.Popen, timeout: float = 120) -> int:
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise


def _arrays(store: Path) -> dict[str, np.ndarray]:
    return dict(Store(store).load(CFG).arrays)


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)  # bit for bit (NaN = NaN)


def test_two_processes_equal_single_store_once_kill_and_resume(setup):
    root, cfg_json, env = setup
    t0 = time.perf_counter()
    # The reference: one process, one device, the members 2 at a time (8 groups).
    ref_env = {**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    r = subprocess.run(
        [sys.executable, "-m", "l2lib", "sweep", "--config-json", str(cfg_json)]
        + ["--store", str(root / "ref"), "--members-per-device", "2"],
        cwd=REPO,
        env=ref_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    ref = _arrays(root / "ref")

    # Two processes, uninterrupted.
    p0, p1 = _pair(root, cfg_json, env, root / "two", "two")
    assert _wait(p0) == 0, (root / "two-0.log").read_text()
    assert _wait(p1) == 0, (root / "two-1.log").read_text()
    _assert_same(_arrays(root / "two"), ref)
    meta = Store(root / "two").load(CFG).meta
    assert meta["device"]["count"] == 4  # the members were spread over the 4 global devices
    assert [g["members"] for g in meta["groups"]] == [list(range(8)), list(range(8, 16))]
    assert [e.name for e in Store(root / "two").entries()] == ["multihost"]
    assert (root / "a-file").is_file()  # the follower wrote nothing: it could not
    log1 = (root / "two-1.log").read_text()
    assert "process 1 of 2 (2 of 4 devices): trained 2 group(s)" in log1

    # Two processes again; process 1 is killed once group 0 is stored.
    store = root / "killed"
    p0, p1 = _pair(root, cfg_json, env, store, "kill")
    partial = Store(store).partial_dir(CFG)
    deadline = time.monotonic() + 90
    while not (partial / "group-0.json").is_file():
        assert time.monotonic() < deadline and p0.poll() is None, (root / "kill-0.log").read_text()
        time.sleep(0.02)
    p1.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    rc = _wait(p0, HEARTBEAT_S + 30)
    stopped_after = time.monotonic() - killed
    p1.wait()
    log0 = (root / "kill-0.log").read_text()
    assert rc == distributed.PEER_LOST_EXIT, log0
    assert stopped_after < HEARTBEAT_S, f"survivor stopped {stopped_after:.1f} s after the kill"
    assert "another process of this run stopped or lost contact" in log0
    assert "run the same command again in every process to resume" in log0
    assert not Store(store).exists(CFG) and (partial / "group-0.json").is_file()

    # The same command again: group 0 is resumed, group 1 trained; the result is the same.
    p0, p1 = _pair(root, cfg_json, env, store, "resume")
    assert _wait(p0) == 0, (root / "resume-0.log").read_text()
    assert _wait(p1) == 0, (root / "resume-1.log").read_text()
    assert (
        "resuming multihost/ci: 1 of 2 groups already finished"
        in (root / "resume-0.log").read_text()
    )
    res = Store(store).load(CFG)
    assert res.meta["resumed_groups"] == 1
    _assert_same(dict(res.arrays), ref)
    assert not partial.exists()
    print(
        f"two-process test: {time.perf_counter() - t0:.1f} s; survivor stopped "
        f"{stopped_after:.2f} s after the kill"
    )


# --- the settings, without processes --------------------------------------------------------


def test_settings_from_flags_and_environment():
    assert distributed.settings_from(False, None, None, None, None, environ={}) is None
    s = distributed.settings_from(True, None, None, None, None, environ={})
    assert s == distributed.Settings(heartbeat_timeout_s=distributed.HEARTBEAT_TIMEOUT_S)
    env = {
        "JAX_COORDINATOR_ADDRESS": "h0:1234",
        "L2LIB_NUM_PROCESSES": "4",
        "L2LIB_PROCESS_ID": "3",
        "L2LIB_HEARTBEAT_TIMEOUT_S": "30",
    }
    assert distributed.settings_from(False, None, None, None, None, environ=env) == (
        distributed.Settings("h0:1234", 4, 3, 30)
    )
    flags = distributed.settings_from(False, "h1:99", "2", "1", "7", environ=env)
    assert flags == distributed.Settings("h1:99", 2, 1, 7)
    for bad in [("x", None), ("2", "2"), ("0", None), (None, "-1")]:
        with pytest.raises(ValueError):
            distributed.settings_from(True, None, bad[0], bad[1], None, environ={})


def test_cli_rejects_bad_distributed_flags(capsys):
    from l2lib import cli

    rc = cli.main(["sweep", "smoke", "--scale", "ci", "--num-processes", "2", "--process-id", "5"])
    assert rc == 2
    assert "--process-id 5: must be below --num-processes 2" in capsys.readouterr().err
