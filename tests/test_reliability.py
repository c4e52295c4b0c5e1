"""Reliability of the store and the command line: SIGKILLs at random points, concurrent writers
and readers, and every class of bad input (exit 2, one line, nothing stored touched).

The kill and concurrency tests run the real store and the real ``sweep`` command in
subprocesses; the kill test swaps the engine (``l2lib.train``) for a deterministic NumPy stand-in
so that a process costs a fraction of a second instead of a JAX start-up, which is what makes
two dozen kills affordable in CI (the engine's own kill-and-resume, bit for bit, is
``tests/test_cli.py::test_killed_sweep_resumes_to_identical_results``).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from store_fakes import fake_arrays, snapshot

from l2lib import analysis, cli, config, registry, store, validate
from l2lib import data as data_lib
from l2lib.config import InvalidInputError
from l2lib.store import Store

TESTS = Path(__file__).parent
REPO = TESTS.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("L2LIB_STORE",)}
    env.pop("L2LIB_MEMBERS_PER_DEVICE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS)])
    return {**env, **extra}


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_bitwise_equal(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k


# --- SIGKILL at random points, then resume ---------------------------------------------------

# The sweep command with a NumPy engine (deterministic per member) and a kill switch:
#   KILL=time:<s>            SIGKILL after <s> seconds of the sweep
#   KILL=write:<n>:<phase>   SIGKILL at the n-th file write of the store, <phase> being
#                            before (nothing written), half (half of the temporary file) or
#                            replaced (renamed into place, directory not yet fsynced)
_CHILD = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time, types
    import numpy as np
    import l2lib
    import l2lib.data
    from l2lib import store, validate

    GROUP_S = 0.02

    def plan_groups(cfg, members_per_device=None, num_devices=None):
        size = validate.members_per_device(cfg, members_per_device)
        steps = cfg.steps_per_member()
        order = sorted(range(len(steps)), key=lambda i: (-steps[i], i))
        return [order[i : i + size] for i in range(0, len(order), size)]

    def run_group(cfg, members, dataset=None, progress=None):
        time.sleep(GROUP_S)
        e, triples, steps = cfg.num_evals, cfg.members(), cfg.steps_per_member()
        out = {
            k: np.stack(
                [np.random.default_rng([i, j]).standard_normal(e).astype(np.float32)
                 for i in members]
            )
            for j, k in enumerate(cfg.curve_keys)
        }
        out["eval_step"] = cfg.eval_every * np.arange(1, e + 1, dtype=np.int64)
        out["num_steps"] = np.array([steps[i] for i in members], np.int64)
        out["diverged_step"] = -np.ones(len(members), np.int64)
        out["member_l2"] = np.array([triples[i][0] for i in members], np.float64)
        out["member_learning_rate"] = np.array([triples[i][1] for i in members], np.float64)
        out["member_seed"] = np.array([triples[i][2] for i in members], np.int64)
        out["member_index"] = np.array(members, np.int64)
        if progress is not None:
            progress(len(members) * max(steps[i] for i in members))
        return out

    def concat_results(parts):
        out = {}
        for k in parts[0]:
            out[k] = parts[0][k] if k == "eval_step" else np.concatenate([p[k] for p in parts])
        order = np.argsort(out["member_index"], kind="stable")
        return {k: (v if k == "eval_step" else v[order]) for k, v in out.items()}

    # The generator's arguments, as the parent computed them: importing the mnist1d package
    # (and matplotlib with it) would cost more than the whole sweep.
    l2lib.data.mnist1d_args = lambda: json.loads(os.environ["MNIST1D_ARGS"])

    fake = types.ModuleType("l2lib.train")
    fake.plan_groups, fake.run_group, fake.concat_results = plan_groups, run_group, concat_results
    sys.modules["l2lib.train"] = fake
    l2lib.train = fake

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    kill = os.environ.get("KILL", "")
    if kill.startswith("time:"):
        threading.Timer(float(kill.split(":")[1]), die).start()
    elif kill.startswith("write:"):
        _, n, phase = kill.split(":")
        n, calls, real = int(n), [0], store._write_atomic

        def write_atomic(path, data):
            calls[0] += 1
            if calls[0] == n:
                if phase == "before":
                    die()
                if phase == "half":
                    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                    with open(tmp, "wb") as f:
                        f.write(data[: len(data) // 2])
                    die()
                real(path, data)
                die()
            real(path, data)

        store._write_atomic = write_atomic

    from l2lib.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)

# Twelve members in groups of two: a six-group sweep.
KILL_CFG = config.ci(
    name="killme",
    grid=config.GridConfig(l2=(1e-2, 1e-3, 1e-4), learning_rate=(0.1, 0.05), seeds=(0, 1)),
    group_size=2,
)
# Files a whole sweep writes: 6 groups × (.npz, .json) + the entry's staged .npz and .json.
KILL_WRITES = 6 * 2 + 2


def _child(args: list[str], kill: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        env=_env(KILL=kill, MNIST1D_ARGS=json.dumps(data_lib.mnist1d_args())),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _random_kill(rng: random.Random, sweep_s: float, writes: int = KILL_WRITES) -> str:
    if rng.random() < 0.4:
        return f"time:{rng.uniform(0.0, sweep_s):.4f}"
    phase = rng.choice(["before", "half", "replaced"])
    return f"write:{rng.randint(1, writes)}:{phase}"


def test_sigkill_at_random_points_resumes_to_bit_identical_results(tmp_path):
    rng = random.Random(20260)
    cfg_json = tmp_path / "cfg.json"
    cfg_json.write_text(json.dumps(KILL_CFG.to_dict()))
    args = ["sweep", "--config-json", str(cfg_json), "--store"]

    t0 = time.perf_counter()
    ref = _child([*args, str(tmp_path / "ref")])
    sweep_s = time.perf_counter() - t0
    assert ref.returncode == 0, ref.stderr
    reference = Store(tmp_path / "ref").load(KILL_CFG).arrays

    # Chains of up to six killed runs of one sweep, each killed run resumed by the next; a
    # chain ends when a run gets through, then one more run must find the finished entry.
    kills = chains = 0
    while kills < 24:
        assert chains < 15, f"{kills} kills in {chains} chains"
        root = tmp_path / f"run{chains}"
        chains += 1
        s = Store(root)
        for _ in range(6):
            r = _child([*args, str(root)], _random_kill(rng, sweep_s))
            if r.returncode == 0:
                break
            assert r.returncode == -9, r.stderr
            kills += 1
            # After any kill: no entry, or a whole valid one; never a problem to report.
            assert not root.exists() or s.verify() == [], s.verify()
            if s.exists(KILL_CFG):
                assert_bitwise_equal(s.load(KILL_CFG).arrays, reference)
        done = _child([*args, str(root)])
        assert done.returncode == 0, done.stderr
        assert_bitwise_equal(s.load(KILL_CFG).arrays, reference)
        assert s.verify() == [] and not list(root.glob(".*.tmp"))
    print(f"{kills} SIGKILLs in {chains} chains, each resumed to bit-identical arrays")
    assert kills >= 20


def test_force_killed_at_random_points_keeps_the_old_entry(tmp_path):
    rng = random.Random(17)
    cfg_json = tmp_path / "cfg.json"
    cfg_json.write_text(json.dumps(KILL_CFG.to_dict()))
    root = tmp_path / "runs"
    s = Store(root)
    old = fake_arrays(KILL_CFG)
    s.save(KILL_CFG, old)
    args = ["sweep", "--config-json", str(cfg_json), "--store", str(root), "--force"]
    kills = 0
    for _ in range(8):
        # One more write than a plain sweep (the FORCED mark), and the kill may come after
        # the entry's .json committed (write KILL_WRITES + 1).
        r = _child(args, _random_kill(rng, 0.1, KILL_WRITES + 1))
        kills += r.returncode == -9
        # Killed anywhere — mid-training or mid-replace — the store serves a whole entry:
        # the old one until the new .json commits, the new one after.
        got = s.load(KILL_CFG).arrays
        assert s.verify() == []
        if r.returncode == 0:
            break
        assert got["test_loss"].tobytes() in (
            old["test_loss"].tobytes(),
            _reference_test_loss(tmp_path, cfg_json),
        )
    assert kills >= 3
    r = _child(args)
    assert r.returncode == 0, r.stderr
    assert s.load(KILL_CFG)["test_loss"].tobytes() == _reference_test_loss(tmp_path, cfg_json)


_REF: dict[str, bytes] = {}


def _reference_test_loss(tmp_path: Path, cfg_json: Path) -> bytes:
    if "loss" not in _REF:
        ref = _child(["sweep", "--config-json", str(cfg_json), "--store", str(tmp_path / "ref")])
        assert ref.returncode == 0, ref.stderr
        _REF["loss"] = Store(tmp_path / "ref").load(KILL_CFG)["test_loss"].tobytes()
    return _REF["loss"]


# --- concurrent writers and readers ----------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from l2lib import config, store
    from store_fakes import fake_arrays

    s, value, stop = store.Store(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
    cfg = config.ci(name="shared")
    n = 0
    while not stop.exists():
        if value < 0:  # first writes and deletions of new keys, again and again
            new = config.ci(name=f"new{n % 4}")
            s.save(new, fake_arrays(new, value))
            s.delete(new)
        else:
            s.save(cfg, fake_arrays(cfg, value), {"wall_s": value})
        n += 1
    print(n)
    """
)


def test_concurrent_writers_and_500_reads_never_see_a_false_corrupt(tmp_path, capsys):
    root = tmp_path / "runs"
    s = Store(root)
    shared = config.ci(name="shared")
    s.save(shared, fake_arrays(shared, 1.0), {"wall_s": 1.0})
    stop = tmp_path / "stop"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(root), v, str(stop)],
            env=_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for v in ("1.0", "2.0", "-1.0")
    ]
    reads = verifies = lists = 0
    false = []
    waited = [0]
    real_wait = store._wait_for_writer

    def wait_for_writer(*a, **k):  # counts the reads that met a writer at work
        held = real_wait(*a, **k)
        waited[0] += held
        return held

    store._wait_for_writer = wait_for_writer
    try:
        while reads < 500 or verifies < 60:
            try:
                r = s.load(shared)  # never missing: a replaced entry does not vanish
                value = float(r["sq_norm"][0, 0])
                assert r.meta["wall_s"] == value and value in (1.0, 2.0)
                reads += 1
                if reads % 8 == 0:
                    problems = s.verify()
                    verifies += 1
                    false += [str(p) for p in problems]
                    false += [e.key for e in s.entries() if e.status == "corrupt"]
            except store.StoreError as e:
                false.append(f"{type(e).__name__}: {e}")
            if reads % 50 == 0:
                rc, out, err = run_main(capsys, "verify", "--store", str(root))
                lists += 1
                false += [out] if rc != 0 else []
                rc, out, err = run_main(capsys, "list", "--store", str(root))
                false += [line for line in out.splitlines() if "CORRUPT" in line]
    finally:
        store._wait_for_writer = real_wait
        stop.touch()
        counts = [int(w.communicate(timeout=60)[0]) for w in writers]
    print(
        f"{reads} loads, {verifies} verify+entries, {2 * lists} CLI verify/list calls during "
        f"{sum(counts)} writes {counts}; {waited[0]} reads waited for a writer"
    )
    assert [w.returncode for w in writers] == [0, 0, 0]
    assert false == [], false[:5]
    assert reads >= 500 and verifies >= 60 and min(counts) > 5, (reads, verifies, counts)
    assert s.verify() == [] and not list(root.glob(".*.tmp"))


def test_threads_of_one_process_exclude_each_other(tmp_path):
    # The lock is re-entrant per thread, not per process: two threads writing one key take
    # turns, as two processes do.
    s = Store(tmp_path)
    cfg = config.ci(name="threads")
    inside, overlap = [0], []

    def writer(value: float) -> None:
        for _ in range(20):
            with s.lock(cfg):
                inside[0] += 1
                overlap.append(inside[0])
                s.save(cfg, fake_arrays(cfg, value))
                inside[0] -= 1

    threads = [threading.Thread(target=writer, args=(v,)) for v in (1.0, 2.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(overlap) == 1 and s.verify() == []


def test_an_entry_being_written_is_not_corrupt(tmp_path, capsys):
    # An .npz without its .json while the key's write lock is held (a writer at work): verify
    # and list must not call it corrupt.
    s = Store(tmp_path)
    cfg = config.ci(name="midwrite")
    key = store.entry_key(cfg)
    (tmp_path / f"{key}.npz").write_bytes(b"half an npz")
    seen: list = []

    def read() -> None:  # another thread: it does not hold this thread's lock
        cli_rc = cli.main(["verify", "--store", str(tmp_path)])
        seen.append((s.verify(), [e.status for e in s.entries()], cli_rc))

    with store._flock(s._write_lock_path(key)):
        t = threading.Thread(target=read)
        t.start()
        t.join()
    problems, statuses, rc = seen[0]
    assert problems == [] and statuses == [] and rc == 0  # no entry yet, and no problem
    # Nobody writing any more: now it is an interrupted write, reported with its fix.
    (p,) = s.verify()
    assert "without its .json" in p.message


# --- bad input: exit 2, one line, nothing touched -------------------------------------------


def _cfg_json(tmp_path: Path, change) -> str:
    d = config.ci(name="bad").to_dict()
    change(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    return str(p)


def _set(path: str, value):
    def change(d):
        *head, last = path.split(".")
        for k in head:
            d = d[k]
        d[last] = value

    return change


# Wrongly typed or out-of-range config fields (--config-json), each with the field named.
BAD_FIELDS = {
    "eval_every bool": ("eval_every", True),
    "eval_every float": ("eval_every", 10.0),
    "eval_train int": ("eval_train", 1),
    "group_size str": ("group_size", "4"),
    "name empty": ("name", ""),
    "scale unknown": ("scale", "huge"),
    "data null": ("data", None),
    "augment str": ("data.augment", "yes"),
    "augment on 1-D data": ("data.augment", True),
    "num_train bool": ("data.num_train", True),
    "data_dir int": ("data.data_dir", 5),
    "use_bias int": ("model.use_bias", 1),
    "batch_norm str": ("model.batch_norm", "false"),
    "width float": ("model.width", 32.0),
    "activation": ("model.activation", "gelu"),
    "momentum str": ("optimizer.momentum", "0.9"),
    "momentum bool": ("optimizer.momentum", True),
    "batch_size float": ("optimizer.batch_size", 32.5),
    "batch over num_train": ("optimizer.batch_size", 1024),
    "step_factor str": ("optimizer.step_factor", "x"),
    "step_boundaries > 1": ("optimizer.step_boundaries", [0.5, 2.0]),
    "seed negative": ("grid.seeds", [-1]),
    "seed too large": ("grid.seeds", [2**32]),
    "seed float": ("grid.seeds", [0.5]),
    "seed bool": ("grid.seeds", [True]),
    "l2 bool": ("grid.l2", [True]),
    "learning_rate zero": ("grid.learning_rate", [0]),
    "num_steps float": ("duration.num_steps", 40.5),
    "min_steps over max": ("duration.min_steps", 10**6),
    "max_steps str": ("duration.max_steps", "1e5"),
    "autol2 every bool": ("autol2", {"every": True}),
    "unknown field": ("frobnicate", 1),
}


def _bad_case(capsys, tmp_path, args: list[str], needle: str, env: dict | None = None):
    root = tmp_path / "runs"
    s = Store(root)
    keep = config.ci(name="keep")
    s.save(keep, fake_arrays(keep))
    before = snapshot(root)
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        rc, out, err = run_main(capsys, *args, "--store", str(root))
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert rc == 2, err
    assert out == "" and err.endswith("\n") and err.count("\n") == 1, err
    assert needle in err and "error" in err, err
    assert snapshot(root) == before
    assert s.load(keep) is not None


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_bad_config_field_is_exit_2_one_line_naming_it(tmp_path, capsys, case):
    field, value = BAD_FIELDS[case]
    path = _cfg_json(tmp_path, _set(field, value))
    needle = field.split(".")[-1] if case != "autol2 every bool" else "autol2.every"
    _bad_case(capsys, tmp_path, ["sweep", "--config-json", path], needle)


def _idx(path: Path, arr: np.ndarray, gz: bool = True) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


def _idx_dir(tmp_path: Path, how: str) -> Path:
    """Four IDX files of a tiny image data set, one of them broken as ``how`` says."""
    d = tmp_path / f"idx-{how}"
    d.mkdir()
    rng = np.random.default_rng(0)
    n_train, n_test = 64, 32
    images = {
        "train": rng.integers(0, 255, (n_train, 28, 28)),
        "test": rng.integers(0, 255, (n_test, 28, 28)),
    }
    if how == "constant":
        images = {k: np.zeros_like(v) for k, v in images.items()}
    for split, (img, lab) in data_lib.IDX_FILES.items():
        _idx(d / img, images[split])
        labels = rng.integers(0, 10, len(images[split]))
        _idx(d / lab, labels[:-1] if how == "count" and split == "train" else labels)
    target = d / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(target.read_bytes())
    if how == "header":
        target.write_bytes(gzip.compress(b"\x12\x34" + raw[2:]))
    elif how == "short":
        target.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    elif how == "gzip":
        target.write_bytes(b"not gzip at all")
    elif how == "truncated-gzip":
        target.write_bytes(target.read_bytes()[:100])
    elif how == "cut-header":
        target.write_bytes(gzip.compress(raw[:6]))
    return d


BAD_DATA = {
    "header": "not an unsigned-byte IDX file",
    "short": "bytes of data for shape",
    "gzip": "not a readable gzip file",
    "truncated-gzip": "not a readable gzip file",
    "cut-header": "header cut short",
    "count": "do not match",
    "constant": "zero variance",
}


@pytest.mark.parametrize("how", sorted(BAD_DATA))
def test_malformed_data_is_exit_2_one_line(tmp_path, capsys, how):
    d = _idx_dir(tmp_path, how)
    cfg = config.ci(
        name="idx",
        data=config.DataConfig(name="fashion_mnist", source="idx", data_dir=str(d), num_train=64),
    )
    path = tmp_path / "idx.json"
    path.write_text(json.dumps(cfg.to_dict()))
    _bad_case(capsys, tmp_path, ["sweep", "--config-json", str(path)], BAD_DATA[how])


BAD_ENV = {"abc": "L2LIB_MEMBERS_PER_DEVICE", "0": "positive", "-2": "positive", "1.5": "1.5"}


@pytest.mark.parametrize("value", sorted(BAD_ENV))
def test_bad_members_per_device_env_is_exit_2_one_line(tmp_path, capsys, value):
    args = ["sweep", "smoke", "--scale", "ci"]
    _bad_case(capsys, tmp_path, args, BAD_ENV[value], {"L2LIB_MEMBERS_PER_DEVICE": value})


def test_batch_larger_than_the_data_set_is_exit_2(tmp_path, capsys):
    # digits keeps 1297 training examples: known only once the data are loaded.
    cfg = config.ci(
        name="bigbatch",
        data=config.DataConfig(name="digits"),
        optimizer=config.OptimizerConfig(batch_size=2000),
    )
    path = tmp_path / "big.json"
    path.write_text(json.dumps(cfg.to_dict()))
    _bad_case(capsys, tmp_path, ["sweep", "--config-json", str(path)], "1297 training examples")


def test_bad_json_shapes_are_exit_2(tmp_path, capsys):
    for body, needle in (("[1, 2]", "JSON object"), ('{"data": 5}', "Experiment")):
        p = tmp_path / "shape.json"
        p.write_text(body)
        _bad_case(capsys, tmp_path, ["sweep", "--config-json", str(p)], needle)


def test_the_library_raises_the_same_one_line_error_before_the_lock(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    d = _idx_dir(tmp_path, "short")
    bad_data = config.ci(
        name="idx", data=config.DataConfig(name="fashion_mnist", source="idx", data_dir=str(d))
    )
    with pytest.raises(InvalidInputError, match="bytes of data") as e:
        store.load_or_run(bad_data, root)
    assert "\n" not in str(e.value) and isinstance(e.value, data_lib.MalformedDataError)
    monkeypatch.setenv("L2LIB_MEMBERS_PER_DEVICE", "many")
    with pytest.raises(InvalidInputError, match="L2LIB_MEMBERS_PER_DEVICE='many'"):
        store.load_or_run(config.ci(name="env"), root)
    assert not root.exists()  # no lock file, no directory: nothing was touched
    with pytest.raises(InvalidInputError, match=r"^grid\.seeds=-1"):
        config.GridConfig(seeds=(-1,))
    with pytest.raises(InvalidInputError, match=r"^model\.batch_norm='no'"):
        config.ModelConfig(batch_norm="no")


def test_every_registered_experiment_still_validates():
    n = 0
    for name in registry.names():
        for scale in config.SCALES:
            try:
                cfg = registry.get(name, scale)
            except ValueError:
                continue  # no such scale, or built from a run not in this store
            n += 1
            assert validate.members_per_device(cfg) == cfg.group_size
            assert config.Experiment.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert n > 50


# --- rerun hints, read-only and missing stores -----------------------------------------------


def test_hint_of_a_config_json_entry_names_config_json_and_store_and_works(tmp_path, capsys):
    root = tmp_path / "runs"
    cfg = config.ci(name="fromjson")
    s = Store(root)
    path = s.save(cfg, fake_arrays(cfg))
    npz = path.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:-10])
    (problem,) = s.verify()
    cmd = problem.message.split("`")[1]
    assert cmd == (f"python -m l2lib sweep --config-json {path} --store {root} --force"), (
        problem.message
    )
    # The hint's --config-json accepts the entry's own .json: it names a real config.
    assert cli._config_from_args(cli.parser().parse_args(cmd.split()[3:])) == cfg
    smoke = registry.get("smoke", "ci")
    damaged = s.save(smoke, fake_arrays(smoke))
    damaged.write_text("{")
    msgs = [p.message for p in s.verify() if p.path == damaged]
    assert f"`python -m l2lib sweep smoke --scale ci --store {root} --force`" in msgs[0]


def _deny_writes(monkeypatch, root: Path) -> None:
    """Make ``root`` read-only; as root (who may write anyway), make os.access honour it."""
    root.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    if os.getuid() == 0:
        real = os.access

        def access(path, mode, *a, **k):
            if mode & os.W_OK and Path(path).resolve() == root.resolve():
                return False
            return real(path, mode, *a, **k)

        monkeypatch.setattr(os, "access", access)


def test_read_only_store_serves_what_it_holds(tmp_path, capsys, monkeypatch):
    root = tmp_path / "ro"
    smoke = registry.get("smoke", "ci")
    s = Store(root)
    path = s.save(smoke, fake_arrays(smoke))
    _deny_writes(monkeypatch, root)
    try:
        before = snapshot(root)
        rc, out, err = run_main(capsys, "sweep", "smoke", "--scale", "ci", "--store", str(root))
        assert rc == 0 and out.strip() == str(path), err
        assert store.load_or_run(smoke, root).path == path
        for cmd in ("verify", "list"):
            rc, out, err = run_main(capsys, cmd, "--store", str(root))
            assert rc == 0, err
        other = config.ci(name="absent")
        with pytest.raises(store.ReadOnlyStoreError, match="not writable"):
            store.load_or_run(other, root)
        rc, out, err = run_main(
            capsys, "sweep", "smoke", "--scale", "ci", "--force", "--store", str(root)
        )
        assert rc == 2 and err.count("\n") == 1 and "not writable" in err
        assert snapshot(root) == before
    finally:
        root.chmod(0o755)


def test_verify_of_a_missing_store_is_an_error(tmp_path, capsys):
    with pytest.raises(store.StoreError, match="no store at"):
        Store(tmp_path / "nowhere").verify()
    rc, out, err = run_main(capsys, "verify", "--store", str(tmp_path / "nowhere"))
    assert rc == 2 and "no store at" in err and not (tmp_path / "nowhere").exists()


# --- --force trains first -------------------------------------------------------------------


def test_force_serves_the_old_entry_until_the_new_one_is_written(tmp_path, monkeypatch):
    from l2lib import train

    cfg = store.golden_configs()["sgd"]
    s = Store(tmp_path)
    old = fake_arrays(cfg)
    s.save(cfg, old)
    seen = []
    real = train.run_group

    def run_group(*args, **kwargs):
        seen.append(s.load(cfg)["sq_norm"].tobytes())  # mid-retrain, readers get the old one
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "run_group", run_group)
    new = store.load_or_run(cfg, s, force=True)
    assert seen and set(seen) == {old["sq_norm"].tobytes()}
    assert new["sq_norm"].tobytes() != old["sq_norm"].tobytes() and s.verify() == []


# --- analysis: diverged members stay out of fits --------------------------------------------


def test_fit_timescale_leaves_diverged_members_out_by_default():
    l2 = np.array([1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    lr = np.full(5, 0.1)
    t = 1.0 / (l2 * lr)
    t_div = t.copy()
    t_div[-1] = 5.0  # its last finite evaluation, not a peak
    steps = np.arange(1, 2001) * 10.0
    acc = np.full((5, len(steps)), np.nan)
    for i, ti in enumerate(t_div):
        j = int(np.searchsorted(steps, ti))
        acc[i, : j + 2] = np.where(np.arange(j + 2) == j, 1.0, 0.5)
    results = {
        "test_accuracy": acc,
        "eval_step": steps,
        "diverged_step": np.array([-1, -1, -1, -1, 6]),
    }
    pk = analysis.peaks(results)
    fit = analysis.fit_timescale(l2, lr, pk)
    assert not fit.used[-1] and fit.n == 4
    assert fit.slope == pytest.approx(-1.0, abs=0.05)
    assert analysis.fit_timescale(l2, lr, pk.t_star, diverged=pk.diverged).n == 4
    assert analysis.fit_timescale(l2, lr, pk.t_star).n == 5  # no divergence record given
