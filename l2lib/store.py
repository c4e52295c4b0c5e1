"""The results store: content-addressed sweep results on disk, safe to kill and to share.

An *entry* is one finished sweep, two files in the store's root::

    <name>-<scale>-<hash12>.npz    the arrays of train.train_grid (plain .npy members, no pickle)
    <name>-<scale>-<hash12>.json   the config, provenance, ENGINE_VERSION and the .npz's SHA-256

``hash12`` is ``sha256(f"{cfg.content_hash()}:engine{ENGINE_VERSION}")[:12]``: the key changes
with what is trained *and* with the engine's numerics, so a cached run made by an older engine is
never mistaken for a current one — but not with the experiment's name, which is a label: a
renamed experiment finds the entry made under its old name (``python -m l2lib rekey`` renames
the files to match, arrays untouched). The ``.json`` is written last (and checked on every read, together
with its own SHA-256 and the .npz's), so an entry exists exactly when its ``.json`` exists and
matches; every file is written to a temporary file, fsynced and renamed into place, so no
reader ever sees half a file.

A sweep trains group by group (:func:`l2lib.train.plan_groups`); each finished group is written
at once to ``<root>/.partial/<key>/group-<i>.npz`` (+ ``.json``). A sweep that is killed at any
moment and started again skips the finished groups and ends with the same arrays, bit for bit,
as an uninterrupted run; the partial directory is removed once the entry is written. Sweeps of
one key are serialised by an ``fcntl.flock`` on ``<root>/.locks/<key>.lock`` (the kernel drops
it when a process dies), so concurrent writers leave exactly one valid entry.

Readers take no lock, yet never mistake an entry being written for a damaged one: an entry's
files are replaced only while ``<root>/.locks/<key>.write.lock`` is held — the new ``.npz``
staged as ``.<key>.npz.next``, then the ``.json`` (the commit), then the staged file renamed
into place, so a valid entry exists at every moment, even across a SIGKILL — and a reader that
finds the files disagreeing (an ``.npz`` without its ``.json``, a checksum that does not match)
looks at that lock: held, it waits for the writer and reads again; free, it reads once more
(the writer may just have finished) and only then calls the entry corrupt. ``--force`` trains first and then replaces the entry the same way, so readers
see the old entry or the new one, never none, and a ``--force`` run killed midway leaves the
old entry in place (and its finished groups, which the same command resumes).

Before any lock is taken, :func:`load_or_run` checks its inputs in one pass
(:mod:`l2lib.validate`: environment and data; the config checked itself when it was built):
bad input raises :class:`~l2lib.config.InvalidInputError` (one line naming the fix) with
nothing stored touched. A store that is only readable serves its entries; training into it
raises :class:`ReadOnlyStoreError`.

Failure policy: a corrupt entry (checksum or parse failure, wrong schema) raises
:class:`CorruptEntryError` from :meth:`Store.load` *and* from :func:`load_or_run`, naming the
file and ``--force``: a corrupt cache is a fact to look at, not something to retrain over
silently. An entry made under another ``ENGINE_VERSION`` is *stale*: listed as such, reported
by :meth:`Store.verify`, refused by :meth:`Store.load` unless ``allow_stale=True``.

``ENGINE_VERSION`` is bumped whenever the numbers the engine produces change; the golden test
(``tests/test_golden.py``, numbers in ``l2lib/golden/golden_ci.json``) fails when they change
without a bump. Regenerate with ``python -m l2lib golden --write``.

*Artifacts* — results that are not a λ × η grid — live beside the entries in
``<root>/artifacts/``, keyed by (name, scale, params, ENGINE_VERSION), with the same atomic
writes, checksums and provenance (:meth:`Store.save_artifact`, :meth:`Store.load_artifact`,
:func:`load_or_compute_artifact`); ``list`` and ``verify`` cover them.

Reading the store never imports JAX; training does (lazily).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

import l2lib
from l2lib import config as config_lib
from l2lib import registry
from l2lib.config import Experiment, InvalidInputError
from l2lib.progress import SweepProgress

#: Bump whenever the engine's numbers change (model init, data order, update rule, metrics...).
ENGINE_VERSION = 1
#: Version of the on-disk layout of an entry (file names, .json fields).
FORMAT_VERSION = 1

#: Arrays of shape (members, evals), defined in the JAX-free config module.
CURVE_KEYS = config_lib.CURVE_KEYS
#: Arrays of shape (members,).
MEMBER_KEYS = (
    "num_steps",
    "diverged_step",
    "member_l2",
    "member_learning_rate",
    "member_seed",
    "member_index",
)
#: Fields every entry's .json carries.
META_FIELDS = (
    "format_version",
    "key",
    "name",
    "scale",
    "config",
    "config_hash",
    "engine_version",
    "l2lib_version",
    "versions",
    "device",
    "git",
    "wall_s",
    "member_steps",
    "member_steps_run",
    "num_members",
    "num_groups",
    "resumed_groups",
    "groups",
    "created",
    "dataset",
    "npz_sha256",
    "npz_bytes",
)

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same arrays give the same .npz bytes


class StoreError(RuntimeError):
    """Something about the store prevents this operation; the message names the fix."""


class CorruptEntryError(StoreError):
    """An entry's files fail their checksum, do not parse, or hold the wrong arrays."""


class StaleEntryError(StoreError):
    """The entry was made by another ``ENGINE_VERSION``: its numbers may differ from today's."""


class MissingEntryError(StoreError, LookupError):
    """No entry for this config."""


class ReadOnlyStoreError(StoreError):
    """The store can be read but not written: a run that is not in it cannot be added."""


#: How long a reader waits for a writer replacing an entry's files (seconds); a write takes
#: milliseconds, so this only bounds a writer stuck on a dying disk.
WRITER_WAIT_S = 60.0
#: Reads of an entry before its files' disagreement is believed (see the module docstring).
READ_ATTEMPTS = 20

# InvalidInputError is re-exported: load_or_run raises it for bad input.
__all__ = [
    "CURVE_KEYS",
    "ENGINE_VERSION",
    "FORCED_MARK",
    "FORMAT_VERSION",
    "MEMBER_KEYS",
    "META_FIELDS",
    "READ_ATTEMPTS",
    "WRITER_WAIT_S",
    "Artifact",
    "artifact_command",
    "artifact_key",
    "check_arrays",
    "check_golden",
    "compare_golden",
    "compute_golden",
    "CorruptEntryError",
    "dataset_fingerprint",
    "default_root",
    "device_info",
    "entry_key",
    "legacy_entry_key",
    "EntryInfo",
    "environment",
    "golden_configs",
    "golden_numbers",
    "InvalidInputError",
    "load_or_compute_artifact",
    "load_or_run",
    "made_on",
    "MissingEntryError",
    "Problem",
    "read_golden",
    "ReadOnlyStoreError",
    "registered",
    "repo_root",
    "rerun_command",
    "Results",
    "StaleEntryError",
    "Store",
    "StoreError",
    "sweep_command",
    "forbid_training",
    "load_registered_artifact",
    "write_golden",
]


def rerun_command(
    name: str,
    scale: str,
    force: bool = False,
    store: str | os.PathLike[str] | None = None,
    config_json: str | os.PathLike[str] | None = None,
) -> str:
    """The command that (re)produces an entry: ``sweep NAME --scale SCALE``, or ``sweep
    --config-json FILE`` for a config that is not registered in :mod:`l2lib.registry`; with
    ``--store`` when ``store`` is given (a hint must not send the run into another store)."""
    cmd = ["python", "-m", "l2lib", "sweep"]
    cmd += ["--config-json", str(config_json)] if config_json else [name, "--scale", scale]
    if store is not None:
        cmd += ["--store", str(store)]
    if force:
        cmd.append("--force")
    return shlex.join(cmd)


def registered(name: str, scale: str, config_hash: str) -> bool:
    """Whether ``sweep NAME --scale SCALE`` makes exactly the config of ``config_hash``."""

    try:
        return registry.get(name, scale).hash() == config_hash
    except (ValueError, KeyError, LookupError):
        return False


def sweep_command(
    cfg: Experiment,
    store: str | os.PathLike[str] | None = None,
    force: bool = False,
    config_json: str | os.PathLike[str] | None = None,
) -> str:
    """The command that (re)produces ``cfg``'s entry: by name when the registry's
    ``NAME/SCALE`` is this very config, else ``--config-json`` (``config_json``: a file holding
    it, e.g. the entry's own ``.json``; ``CONFIG.json`` as a placeholder otherwise)."""
    if registered(cfg.name, cfg.scale, cfg.hash()):
        return rerun_command(cfg.name, cfg.scale, force, store)
    return rerun_command(cfg.name, cfg.scale, force, store, config_json or "CONFIG.json")


def _placeholder_note(command: str) -> str:
    return (
        " (CONFIG.json: the config's Experiment.to_dict() as JSON)"
        if "CONFIG.json" in command
        else ""
    )


def _corrupt(path: Path, why: str, command: str, what: str = "store entry") -> CorruptEntryError:
    """The error for a damaged file: what it is, why, and the command that replaces it."""
    return CorruptEntryError(f"corrupt {what} {path} ({why}): replace it with `{command}`")


def made_on(meta: Mapping[str, Any]) -> str:
    """Where, with what and when a stored result was made, from its metadata: ``"cpu (cpu);
    jax 0.10.2, l2lib 0.1.0, commit 1234abcd56; made 2026-11-28T11:53."``"""
    dev = meta.get("device") or {}
    ver = meta.get("versions") or {}
    git = meta.get("git") or {}
    dirty = " (uncommitted changes)" if git.get("dirty") else ""
    return (
        f"{dev.get('platform', '?')} ({dev.get('kind', '?')}); jax {ver.get('jax', '?')}, "
        f"l2lib {meta.get('l2lib_version', '?')}, commit {str(git.get('commit') or '?')[:10]}"
        f"{dirty}; made {str(meta.get('created', '?'))[:16]}."
    )


# --- keys and paths -------------------------------------------------------------------------


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", s) or "_"


def entry_key(cfg: Experiment, engine_version: int | None = None) -> str:
    """``<name>-<scale>-<hash12>``: the name and scale for a reader, ``hash12`` for what was
    trained — the SHA-256 of :meth:`~l2lib.config.Experiment.content_hash` (the config without
    its name) and the engine version. An experiment renamed in the registry therefore finds
    the entry made under its old name (:meth:`Store.path_for`) instead of training again;
    ``python -m l2lib rekey`` renames the files to match."""
    v = ENGINE_VERSION if engine_version is None else engine_version
    h = hashlib.sha256(f"{cfg.content_hash()}:engine{v}".encode()).hexdigest()[:12]
    return f"{_safe(cfg.name)}-{_safe(cfg.scale)}-{h}"


def legacy_entry_key(cfg: Experiment, engine_version: int | None = None) -> str:
    """The key stores written before the name left the hash gave ``cfg`` (``hash12`` of
    :meth:`~l2lib.config.Experiment.hash`, name included): still read, and moved to
    :func:`entry_key` by ``python -m l2lib rekey``."""
    v = ENGINE_VERSION if engine_version is None else engine_version
    h = hashlib.sha256(f"{cfg.hash()}:engine{v}".encode()).hexdigest()[:12]
    return f"{_safe(cfg.name)}-{_safe(cfg.scale)}-{h}"


def _split_key(key: str) -> tuple[str, str]:
    parts = key.rsplit("-", 2)
    return (parts[0], parts[1]) if len(parts) == 3 else (key, "?")


def repo_root() -> Path | None:
    """The repository holding this package (editable install), or ``None``."""
    p = Path(l2lib.__file__).resolve().parents[1]
    return p if (p / "pyproject.toml").is_file() and (p / "book").is_dir() else None


def default_root() -> Path:
    """``$L2LIB_STORE``; else ``book/runs`` of the repository holding the package; else the
    first ``book/runs`` found from the working directory upwards; else ``./book/runs``."""
    env = os.environ.get("L2LIB_STORE")
    if env:
        return Path(env)
    repo = repo_root()
    if repo is not None:
        return repo / "book" / "runs"
    cwd = Path.cwd()
    for d in (cwd, *cwd.parents):
        if (d / "book" / "runs").is_dir():
            return d / "book" / "runs"
    return cwd / "book" / "runs"


# --- bytes on disk --------------------------------------------------------------------------


def _sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An .npz (deflated) whose bytes depend only on the arrays (fixed zip timestamps)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()


def _read_npz(b: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(b), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _canonical(d: Mapping[str, Any]) -> bytes:
    return json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _json_bytes(meta: Mapping[str, Any]) -> bytes:
    """Readable JSON that carries the SHA-256 of its own canonical form (``meta_sha256``)."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    body["meta_sha256"] = _sha256(_canonical(body))
    return (json.dumps(body, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


def _parse_json(b: bytes) -> dict[str, Any]:
    """Parse and check ``meta_sha256``; ``ValueError`` saying why on any failure."""
    try:
        meta = json.loads(b.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"unreadable JSON: {e}") from None
    if not isinstance(meta, dict) or "meta_sha256" not in meta:
        raise ValueError("JSON without meta_sha256")
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    if _sha256(_canonical(body)) != meta["meta_sha256"]:
        raise ValueError("JSON checksum mismatch")
    return meta


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _staged(npz_path: Path) -> Path:
    """Where a writer puts an entry's new ``.npz`` before its ``.json`` commits to it."""
    return npz_path.with_name(f".{npz_path.name}.next")


def _leftovers(d: Path, key: str) -> list[Path]:
    """Temporary files of writers of ``key`` that were killed mid-write: ``.{key}.json.PID.tmp``
    and, of the staged ``.npz`` (itself a dot-file), ``..{key}.npz.next.PID.tmp``."""
    return [*d.glob(f".{key}.*.tmp"), *d.glob(f"..{key}.*.tmp")]


def _replace_entry(d: Path, key: str, npz: bytes, meta_json: bytes) -> None:
    """Replace the files of entry ``key`` in ``d`` so that a valid entry exists at every
    moment, even if this process is killed (caller holds the key's write lock).

    1. the new ``.npz`` is staged as ``.<key>.npz.next``;
    2. the new ``.json`` replaces the old one: the commit (it names the staged bytes' SHA-256);
    3. the staged file is renamed onto ``<key>.npz``.

    Killed before 2, the old entry is intact (the staged file is overwritten next time);
    killed after 2, readers find the committed ``.npz`` as the staged file (see
    :func:`_committed_npz`).
    """
    npz_path = d / f"{key}.npz"
    _write_atomic(_staged(npz_path), npz)
    _write_atomic(d / f"{key}.json", meta_json)
    os.replace(_staged(npz_path), npz_path)
    _fsync_dir(d)


def _committed_npz(npz_path: Path, npz: bytes | None, sha256: str) -> bytes | None:
    """The ``.npz`` bytes a ``.json`` commits to: ``npz`` when it matches, else the staged file
    of a writer between steps 2 and 3 of :func:`_replace_entry` (at work or killed)."""
    if npz is not None and _sha256(npz) == sha256:
        return npz
    try:
        staged = _staged(npz_path).read_bytes()
    except OSError:
        return npz
    return staged if _sha256(staged) == sha256 else npz


# Locks this thread holds (re-entrance). Per thread, not per process: two threads of one
# process must exclude each other as two processes do (a flock belongs to an open file, so a
# second thread's own open() of the lock file does wait for the first's).
_LOCAL = threading.local()


def _held_locks() -> dict[str, int]:
    if not hasattr(_LOCAL, "held"):
        _LOCAL.held = {}
    return _LOCAL.held


@contextlib.contextmanager
def _flock(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, re-entrant within this thread."""
    k = str(path.resolve())
    _HELD_LOCKS = _held_locks()
    if k in _HELD_LOCKS:
        _HELD_LOCKS[k] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[k] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD_LOCKS[k] = 1
        try:
            yield
        finally:
            del _HELD_LOCKS[k]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for_writer(path: Path, timeout: float = WRITER_WAIT_S) -> bool:
    """Whether someone held the lock ``path`` (then wait until they let go, or ``timeout``).

    Probes with a shared lock on a read-only descriptor, so it works in a read-only store and
    never creates the lock file (no lock file: nobody is writing).
    """
    if str(path.resolve()) in _held_locks():
        return False  # this thread is the writer
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        deadline = time.monotonic() + timeout
        held = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                held = True
                if time.monotonic() > deadline:
                    return True
                time.sleep(0.005)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return held
    finally:
        os.close(fd)


def _file_state(*paths: Path) -> tuple[Any, ...]:
    """What changes when a file is replaced (inode, size, mtime), or ``None`` when absent."""
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            out.append(None)
            continue
        out.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _read_settled(
    read: Callable[[], Any], write_lock: Path, files: tuple[Path, ...], key_exists: Callable
) -> Any:
    """``read()``, believing a :class:`CorruptEntryError` only when no writer explains it.

    A writer replacing the files holds ``write_lock``: wait for it and read again. Free, read
    again if the files changed since the failed read (the writer just finished); the same
    files failing twice with no writer are damaged.
    """
    seen = None
    for _ in range(READ_ATTEMPTS):
        try:
            return read()
        except CorruptEntryError as e:
            error = e
        if _wait_for_writer(write_lock):
            seen = None
            continue
        if not key_exists():  # deleted meanwhile: gone, not damaged
            raise MissingEntryError(f"no entry {files[0]} (deleted while it was read)")
        state = _file_state(*files)
        if state == seen:
            raise error
        seen = state
    raise StoreError(f"{files[0]} keeps changing under concurrent writers; retry")


# --- schema ---------------------------------------------------------------------------------


def check_arrays(
    cfg: Experiment, arrays: Mapping[str, np.ndarray], members: list[int] | None = None
) -> list[str]:
    """What is wrong with ``arrays`` as the results of ``cfg`` (all members, or ``members``).

    Required: ``eval_step`` (E,), every curve of ``cfg.curve_keys`` (M, E) floating, every
    ``MEMBER_KEYS`` array (M,), ``member_index`` equal to the members, where
    E = ``cfg.num_evals`` and M = the number of members. Extra arrays are allowed.
    """
    idx = list(range(len(cfg.members()))) if members is None else list(members)
    m, e = len(idx), cfg.num_evals
    out = []
    curves = cfg.curve_keys
    missing = [k for k in ("eval_step", *curves, *MEMBER_KEYS) if k not in arrays]
    if missing:
        return [f"missing arrays {missing}"]
    if arrays["eval_step"].shape != (e,):
        out.append(f"eval_step has shape {arrays['eval_step'].shape}, expected {(e,)}")
    for k in curves:
        a = arrays[k]
        if a.shape != (m, e) or not np.issubdtype(a.dtype, np.floating):
            out.append(f"{k} is {a.dtype}{list(a.shape)}, expected float[{m}, {e}]")
    for k in MEMBER_KEYS:
        if arrays[k].shape != (m,):
            out.append(f"{k} has shape {arrays[k].shape}, expected {(m,)}")
    if not out and not np.array_equal(arrays["member_index"], np.asarray(idx)):
        out.append("member_index does not list the expected members")
    return out


# --- results --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Results:
    """A loaded entry: ``arrays`` (see ``notes/interfaces.md``), ``meta`` (provenance) and the
    ``config`` that produced them. ``results["sq_norm"]`` is ``results.arrays["sq_norm"]``."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    config: Experiment
    path: Path

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def keys(self) -> list[str]:
        return sorted(self.arrays)

    @property
    def key(self) -> str:
        return self.meta["key"]

    @property
    def stale(self) -> bool:
        """Made by another ``ENGINE_VERSION`` (only returned by ``load(..., allow_stale=True)``)."""
        return self.meta["engine_version"] != ENGINE_VERSION

    @property
    def num_members(self) -> int:
        return int(self.meta["num_members"])

    def grid(self, name: str) -> np.ndarray:
        """Array ``name`` reshaped to (len(l2), len(learning_rate), len(seeds), ...)."""
        g = self.config.grid
        a = self.arrays[name]
        return a.reshape(len(g.l2), len(g.learning_rate), len(g.seeds), *a.shape[1:])

    def member(self, i: int) -> dict[str, np.ndarray]:
        """Every per-member array of member ``i`` (curves of shape (E,), scalars)."""
        return {k: v[i] for k, v in self.arrays.items() if k != "eval_step"} | {
            "eval_step": self.arrays["eval_step"]
        }


@dataclasses.dataclass(frozen=True)
class EntryInfo:
    """One line of ``python -m l2lib list``. ``status``: current, stale or corrupt."""

    key: str
    path: Path
    name: str
    scale: str
    status: str
    members: int | None = None
    steps: int | None = None
    device: str | None = None
    created: str | None = None
    engine_version: int | None = None
    message: str | None = None


@dataclasses.dataclass(frozen=True)
class Problem:
    """One line of ``python -m l2lib verify``."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# --- provenance -----------------------------------------------------------------------------


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(cwd: Path) -> dict[str, Any]:
    def run(*args: str) -> str | None:
        try:
            r = subprocess.run(
                ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": run("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}


def device_info() -> dict[str, Any] | None:
    """Platform and kind of JAX's first device (``None`` when JAX is not imported)."""
    if "jax" not in sys.modules:
        return None
    import jax

    d = jax.devices()[0]
    return {"platform": d.platform, "kind": d.device_kind, "count": jax.device_count()}


def environment() -> dict[str, Any]:
    """Library versions, device and git state of this process (provenance of a new entry)."""
    repo = repo_root()
    return {
        "l2lib_version": l2lib.__version__,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            **{n: _dist_version(n) for n in ("jax", "jaxlib", "flax", "optax")},
        },
        "device": device_info(),
        "git": _git(repo) if repo is not None else {"commit": None, "dirty": None},
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def dataset_fingerprint(ds: Any) -> str:
    """SHA-256 of a data set's four arrays as the engine receives them (which data ran)."""
    h = hashlib.sha256()
    for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _dataset_info(ds: Any) -> dict[str, Any]:
    return {
        "name": ds.name,
        "sha256": dataset_fingerprint(ds),
        "num_train": int(ds.x_train.shape[0]),
        "num_test": int(ds.x_test.shape[0]),
        "input_shape": [int(s) for s in ds.x_train.shape[1:]],
        "num_classes": int(ds.num_classes),
    }


# --- the store ------------------------------------------------------------------------------


class Store:
    """A directory of entries. ``Store()`` uses :func:`default_root`."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else default_root()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # paths
    def key(self, cfg: Experiment) -> str:
        return entry_key(cfg)

    def path_for(self, cfg: Experiment) -> Path:
        """The entry's ``.json`` (the ``.npz`` lies beside it): under ``cfg``'s own key, else
        an entry of the same content made under another name or the older key scheme; the own
        key's path (not existing yet) when there is none."""
        own = self.root / f"{entry_key(cfg)}.json"
        if own.is_file():
            return own
        return next(iter(self._same_content(cfg)), own)

    def _same_content(self, cfg: Experiment, engine_version: int | None = None) -> list[Path]:
        """Entries holding what ``cfg`` trains under another label (sorted), then under the
        older key scheme."""
        h = entry_key(cfg, engine_version).rsplit("-", 1)[1]
        found = sorted(self.root.glob(f"*-{_safe(cfg.scale)}-{h}.json"))
        legacy = self.root / f"{legacy_entry_key(cfg, engine_version)}.json"
        return found + ([legacy] if legacy.is_file() else [])

    def partial_dir(self, cfg: Experiment) -> Path:
        return self.root / ".partial" / entry_key(cfg)

    def _lock_path(self, key: str) -> Path:
        return self.root / ".locks" / f"{key}.lock"

    def _write_lock_path(self, key: str) -> Path:
        """Held while the files of ``key`` are being replaced (readers look at it)."""
        return self.root / ".locks" / f"{key}.write.lock"

    def command(self, cfg: Experiment, force: bool = False, json_path: Path | None = None) -> str:
        """The command that (re)produces ``cfg``'s entry in this store (see
        :func:`sweep_command`); ``json_path``: a file holding the config."""
        return sweep_command(cfg, self.root, force, json_path)

    def _command_for_key(self, key: str, force: bool = True) -> str:
        """The command for an entry whose config cannot be read: by name when the registry's
        NAME/SCALE has this key, else a description."""
        name, scale = _split_key(key)

        try:
            if entry_key(registry.get(name, scale)) == key:
                return rerun_command(name, scale, force, self.root)
        except (ValueError, KeyError, LookupError):
            pass
        return f"the sweep that made it, with --store {shlex.quote(str(self.root))} --force"

    def lock(self, cfg: Experiment, on_wait: Callable[[], None] | None = None):
        """Context manager: the exclusive lock of ``cfg``'s key (re-entrant in one process)."""
        return _flock(self._lock_path(entry_key(cfg)), on_wait)

    def exists(self, cfg: Experiment) -> bool:
        """An entry (current ``ENGINE_VERSION``) is present; it may still be corrupt."""
        return self.path_for(cfg).is_file()

    # reading
    def load(self, cfg: Experiment, allow_stale: bool = False) -> Results:
        """The entry of ``cfg``, checked (checksums, schema, version).

        Raises:
          MissingEntryError: no entry (the message gives the command that makes it).
          StaleEntryError: only an entry of another ``ENGINE_VERSION`` exists (returned
            instead when ``allow_stale``, for inspection).
          CorruptEntryError: the entry fails its checks.
        """
        p = self.path_for(cfg)
        if not p.is_file():
            stale = self._stale_entries(cfg)
            if stale and allow_stale:
                return self.read(stale[0], allow_stale=True)
            if stale:
                v = json.loads(stale[0].read_bytes())["engine_version"]
                raise StaleEntryError(
                    f"{stale[0]} was made by engine version {v}, this is version "
                    f"{ENGINE_VERSION}: its numbers may differ; recompute with "
                    f"`{self.command(cfg, json_path=stale[0])}` (or load(..., "
                    "allow_stale=True) to inspect it)"
                )
            cmd = self.command(cfg)
            raise MissingEntryError(
                f"no run of {cfg.name}/{cfg.scale} in {self.root}: produce it with "
                f"`{cmd}`{_placeholder_note(cmd)}"
            )
        return self.read(p, expect=cfg, allow_stale=allow_stale)

    def _stale_entries(self, cfg: Experiment) -> list[Path]:
        """Entries of ``cfg`` made by another engine version, newest first."""
        found = []
        content = cfg.content_hash()
        for p in self.root.glob(f"*-{_safe(cfg.scale)}-*.json"):
            try:
                meta = _parse_json(p.read_bytes())
                same = Experiment.from_dict(meta["config"]).content_hash() == content
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if same and meta.get("engine_version") != ENGINE_VERSION:
                found.append((meta.get("created", ""), p))
        return [p for _, p in sorted(found, reverse=True)]

    def read(
        self, json_path: Path, expect: Experiment | None = None, allow_stale: bool = False
    ) -> Results:
        """Read and check one entry by its ``.json`` path (see :meth:`load`).

        An entry whose files are being replaced is waited for, never reported corrupt (see
        the module docstring).
        """
        json_path = Path(json_path)
        key = json_path.name[: -len(".json")]
        return _read_settled(
            lambda: self._read_once(json_path, expect, allow_stale),
            self._write_lock_path(key),
            (
                json_path,
                json_path.with_name(f"{key}.npz"),
                _staged(json_path.with_name(f"{key}.npz")),
            ),
            json_path.exists,
        )

    def _read_once(self, json_path: Path, expect: Experiment | None, allow_stale: bool) -> Results:
        key = json_path.name[: -len(".json")]
        npz_path = json_path.with_name(f"{key}.npz")
        # A concurrent writer replaces the .npz and then the .json; reading the .json before
        # and after the .npz tells whether both reads saw the same entry.
        for _ in range(50):
            try:
                before = json_path.read_bytes()
            except FileNotFoundError:
                raise MissingEntryError(f"no entry {json_path}") from None
            try:
                npz = npz_path.read_bytes()
            except FileNotFoundError:
                npz = None
            try:
                after = json_path.read_bytes()
            except FileNotFoundError:
                after = None
            if before == after:
                break
            time.sleep(0.02)
        else:
            raise StoreError(f"{json_path} keeps changing under a concurrent writer; retry")
        # The command that replaces the entry: from the config asked for, else the one the
        # entry records, else (its .json unreadable) from the key alone.
        known: list[Experiment] = [expect] if expect is not None else []

        def fix(force: bool = True) -> str:
            if known:
                return self.command(known[0], force, json_path if expect is None else None)
            return self._command_for_key(key, force)

        try:
            meta = _parse_json(before)
        except ValueError as e:
            raise _corrupt(json_path, str(e), fix()) from None
        missing = [f for f in META_FIELDS if f not in meta]
        if missing:
            raise _corrupt(json_path, f"metadata lacks {missing}", fix())
        try:
            cfg = Experiment.from_dict(meta["config"])
        except (TypeError, ValueError, AttributeError) as e:
            raise _corrupt(json_path, f"config does not load: {e}", fix()) from None
        v = meta["engine_version"]
        if cfg.hash() != meta["config_hash"] or key not in (
            entry_key(cfg, v),
            legacy_entry_key(cfg, v),
        ):
            raise _corrupt(json_path, "file name does not match its config", fix())
        if not known:
            known.append(cfg)
        npz = _committed_npz(npz_path, npz, str(meta["npz_sha256"]))
        if npz is None:
            raise _corrupt(npz_path, "file missing", fix())
        if _sha256(npz) != meta["npz_sha256"]:
            raise _corrupt(npz_path, "checksum mismatch", fix())
        if expect is not None and cfg.content_hash() != expect.content_hash():
            raise _corrupt(json_path, "config differs from the one asked for", fix())
        try:
            arrays = _read_npz(npz)
        except (ValueError, OSError, zipfile.BadZipFile) as e:
            raise _corrupt(npz_path, f"unreadable .npz: {e}", fix()) from None
        bad = check_arrays(cfg, arrays)
        if bad:
            raise _corrupt(npz_path, "; ".join(bad), fix())
        if meta["engine_version"] != ENGINE_VERSION and not allow_stale:
            raise StaleEntryError(
                f"{json_path} was made by engine version {meta['engine_version']}, this is "
                f"version {ENGINE_VERSION}: recompute with `{fix(False)}`"
            )
        if expect is not None and expect.name != cfg.name:
            # The same content made under another name: the caller sees the name it asked for
            # (the entry's own name stays in ``meta``).
            cfg = dataclasses.replace(cfg, name=expect.name)
        return Results(arrays=arrays, meta=meta, config=cfg, path=json_path)

    def rekey(
        self,
        name_for: Callable[[Experiment], str | None] | None = None,
        artifact_name_for: Callable[[str], str | None] | None = None,
    ) -> list[tuple[str, str]]:
        """Move every readable entry to its current key: the content key (entries written
        under the older scheme) and, where ``name_for(config)`` gives one, the name the
        registry now has for that content; and every artifact whose name
        ``artifact_name_for(name)`` renames. The ``.npz`` bytes are carried over unchanged
        (checksum checked); the ``.json`` keeps its provenance, with the new key and name and
        ``renamed_from``. Returns ``(old key, new key)`` of each entry moved."""
        self._require_writable()
        moved = self._rename_artifacts(artifact_name_for) if artifact_name_for else []
        for info in self.entries():
            if info.status == "corrupt" or info.path.parent != self.root:
                continue  # a damaged entry is verify's business; artifacts keep their keys
            r = self.read(info.path, allow_stale=True)
            cfg = r.config
            name = name_for(cfg) if name_for is not None else None
            if name and name != cfg.name:
                cfg = dataclasses.replace(cfg, name=name)
            old, new = r.meta["key"], entry_key(cfg, r.meta["engine_version"])
            if new == old:
                continue
            changes = dict(name=cfg.name, config=cfg.to_dict(), config_hash=cfg.hash())
            self._move(self.root, old, new, r.meta, changes, "the sweep")
            moved.append((old, new))
        return moved

    def _rename_artifacts(self, new_name: Callable[[str], str | None]) -> list[tuple[str, str]]:
        moved = []
        d = self.artifact_dir()
        for p in sorted(d.glob("*.json")) if d.is_dir() else []:
            try:
                a = self.read_artifact(p, allow_stale=True)
            except StoreError:
                continue  # a damaged artifact is verify's business
            old_name = a.meta["name"]
            name = new_name(old_name)
            if not name or name == old_name:
                continue
            old = a.meta["key"]
            new = artifact_key(name, a.meta["scale"], a.meta["params"], a.meta["engine_version"])
            fix = artifact_command(old_name, a.meta["scale"], True, self.root)
            self._move(d, old, new, a.meta, {"name": name}, fix, what="artifact")
            moved.append((f"artifacts/{old}", f"artifacts/{new}"))
        return moved

    def _move(
        self,
        d: Path,
        old: str,
        new: str,
        meta: Mapping[str, Any],
        changes: Mapping[str, Any],
        fix: str,
        what: str = "store entry",
    ) -> None:
        """Write the files of ``old`` in ``d`` under ``new`` — the ``.npz`` bytes as ``meta``
        checks them, the ``.json`` with ``changes``, the new key and ``renamed_from`` — then
        remove the old files (each key under its locks). ``fix``: the command a damaged
        ``.npz`` names."""
        if (d / f"{new}.json").exists():
            raise StoreError(
                f"cannot move {old} to {new}: an entry of that key exists; remove one of "
                "the two (they hold the same content)"
            )
        npz = (d / f"{old}.npz").read_bytes()
        if _sha256(npz) != meta["npz_sha256"]:
            raise _corrupt(d / f"{old}.npz", "checksum mismatch", fix, what)
        body = {k: v for k, v in meta.items() if k != "meta_sha256"}
        body.update(changes, key=new, renamed_from=[*meta.get("renamed_from", []), old])
        with _flock(self._lock_path(new)), _flock(self._write_lock_path(new)):
            _replace_entry(d, new, npz, _json_bytes(body))
        with _flock(self._lock_path(old)), _flock(self._write_lock_path(old)):
            (d / f"{old}.json").unlink()
            (d / f"{old}.npz").unlink()

    # writing
    def save(
        self,
        cfg: Experiment,
        arrays: Mapping[str, np.ndarray],
        provenance: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write (or replace) the entry of ``cfg`` atomically; return its ``.json`` path.

        ``provenance`` supplies the fields only the caller knows (``wall_s``, ``dataset``,
        ``groups``, ...); the rest is filled in here. The ``.npz`` is written first and the
        ``.json`` (holding its checksum) last, under the key's lock.
        """
        bad = check_arrays(cfg, arrays)
        if bad:
            raise ValueError(f"results of {cfg.name}/{cfg.scale} do not fit its config: {bad}")
        npz = _npz_bytes(arrays)
        key = entry_key(cfg)
        num_steps = np.asarray(arrays["num_steps"])
        meta: dict[str, Any] = {
            "wall_s": None,
            "member_steps": int(num_steps.sum()),
            "member_steps_run": None,
            "num_groups": None,
            "resumed_groups": 0,
            "groups": [],
            "dataset": None,
            **environment(),
            **dict(provenance or {}),
            "format_version": FORMAT_VERSION,
            "key": key,
            "name": cfg.name,
            "scale": cfg.scale,
            "config": cfg.to_dict(),
            "config_hash": cfg.hash(),
            "engine_version": ENGINE_VERSION,
            "num_members": len(cfg.members()),
            "created": _now(),
            "npz_sha256": _sha256(npz),
            "npz_bytes": len(npz),
        }
        json_path = self.root / f"{key}.json"
        self._require_writable()
        with _flock(self._lock_path(key)), _flock(self._write_lock_path(key)):
            for leftover in _leftovers(self.root, key):  # of writers killed mid-write
                leftover.unlink(missing_ok=True)
            # The old entry stays valid until the new .json commits (--force keeps serving it
            # while it retrains); a reader that meets the files mid-replace waits on the
            # write lock, so it gets the old entry or the new one, never a gap.
            _replace_entry(self.root, key, npz, _json_bytes(meta))
        return json_path

    def writable(self) -> bool:
        """Whether entries can be added (the root, or the directory it would be made in)."""
        existing = next(p for p in (self.root, *self.root.resolve().parents) if p.exists())
        return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)

    def _require_writable(self) -> None:
        if not self.writable():
            raise ReadOnlyStoreError(
                f"store {self.root} is not writable: fix its permissions or pass another "
                "store (--store DIR / L2LIB_STORE)"
            )

    def delete(self, cfg: Experiment) -> None:
        """Remove the entry of ``cfg`` and any partial sweep of it."""
        key = entry_key(cfg)
        with _flock(self._lock_path(key)), _flock(self._write_lock_path(key)):
            (self.root / f"{key}.json").unlink(missing_ok=True)
            (self.root / f"{key}.npz").unlink(missing_ok=True)
            _staged(self.root / f"{key}.npz").unlink(missing_ok=True)
            shutil.rmtree(self.partial_dir(cfg), ignore_errors=True)

    # listing and checking
    def entries(self) -> list[EntryInfo]:
        """Every entry in the root (by file name), checked; corrupt ones included.

        ``status``: ``current``, ``stale`` or ``corrupt``. Files of a key being written for
        the first time (its write lock held) are no entry yet and are left out; a sweep's
        progress shows under ``.partial/``.
        """
        if not self.root.is_dir():
            return []
        keys = sorted(
            {
                p.name.rsplit(".", 1)[0]
                for p in [*self.root.glob("*.json"), *self.root.glob("*.npz")]
                if not p.name.startswith(".")
            }
        )
        out = []
        for key in keys:
            json_path = self.root / f"{key}.json"
            name, scale = _split_key(key)
            if not json_path.exists():
                info = self._orphan_npz(key, self.root, self._command_for_key(key, False))
                if info is not None:
                    if info.status != "writing":  # one being written is no entry yet
                        out.append(info)
                    continue
            try:
                r = self.read(json_path, allow_stale=True)
            except MissingEntryError:
                continue  # deleted since the directory was listed: no entry, no problem
            except CorruptEntryError as e:
                out.append(EntryInfo(key, json_path, name, scale, "corrupt", message=str(e)))
                continue
            m = r.meta
            dev = m.get("device") or {}
            out.append(
                EntryInfo(
                    key,
                    json_path,
                    m["name"],
                    m["scale"],
                    "stale" if r.stale else "current",
                    members=m["num_members"],
                    steps=int(max(r.config.steps_per_member())),
                    device=dev.get("kind") or dev.get("platform"),
                    created=m["created"],
                    engine_version=m["engine_version"],
                    message=(
                        f"stale: made by engine version {m['engine_version']}, this is "
                        f"{ENGINE_VERSION}; recompute it with "
                        f"`{self.command(r.config, json_path=json_path)}`"
                    )
                    if r.stale
                    else None,
                )
            )
        return out + self._artifact_entries()

    def _orphan_npz(self, key: str, d: Path, command: str) -> EntryInfo | None:
        """An ``.npz`` without its ``.json``: being written (the write lock is held), gone or
        completed by now (``None``: read it normally), or left by an interrupted write."""
        name, scale = _split_key(key)
        npz_path, json_path = d / f"{key}.npz", d / f"{key}.json"
        if _wait_for_writer(self._write_lock_path(key), timeout=0.0):
            return EntryInfo(
                key, npz_path, name, scale, "writing", message=None
            )  # a writer is at work: not a problem, and not an entry yet
        if json_path.exists():
            return None  # the writer finished between the two looks
        if not npz_path.exists():
            return EntryInfo(key, npz_path, name, scale, "writing", message=None)
        return EntryInfo(
            key,
            npz_path,
            name,
            scale,
            "corrupt",
            message="an .npz without its .json (a write was interrupted): delete it and "
            f"rerun `{command}`",
        )

    def verify(self) -> list[Problem]:
        """One :class:`Problem` per corrupt or stale entry (sweeps and artifacts); empty when
        all is well. Entries being written are not problems.

        Raises:
          StoreError: there is no store at the root (a wrong path must not pass as healthy).
        """
        if not self.root.exists():
            raise StoreError(
                f"no store at {self.root}: pass the right --store DIR (or set L2LIB_STORE)"
            )
        if not self.root.is_dir():
            raise StoreError(f"store {self.root} is not a directory: pass --store DIR")
        return [Problem(e.path, e.message or e.status) for e in self.entries() if e.message]

    # artifacts: results that are not a λ × η grid (see the "Artifacts" section below)
    def artifact_dir(self) -> Path:
        return self.root / ARTIFACT_DIR

    def artifact_path(self, name: str, scale: str, params: Mapping[str, Any]) -> Path:
        """The artifact's ``.json`` (the ``.npz`` lies beside it); it may not exist yet."""
        return self.artifact_dir() / f"{artifact_key(name, scale, params)}.json"

    def save_artifact(
        self,
        name: str,
        scale: str,
        params: Mapping[str, Any],
        arrays: Mapping[str, np.ndarray],
        provenance: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write (or replace) the artifact ``(name, scale, params)`` atomically; return its
        ``.json`` path. ``provenance`` adds caller-known fields (``wall_s``, ``dataset``, ...);
        environment, device, commit and creation time are filled in here."""
        params = _canonical_params(params)
        key = artifact_key(name, scale, params)
        npz = _npz_bytes({k: np.asarray(v) for k, v in arrays.items()})
        meta: dict[str, Any] = {
            "wall_s": None,
            "dataset": None,
            **environment(),
            **dict(provenance or {}),
            "format_version": FORMAT_VERSION,
            "kind": "artifact",
            "key": key,
            "name": name,
            "scale": scale,
            "params": params,
            "engine_version": ENGINE_VERSION,
            "arrays": sorted(arrays),
            "created": _now(),
            "npz_sha256": _sha256(npz),
            "npz_bytes": len(npz),
        }
        d = self.artifact_dir()
        self._require_writable()
        d.mkdir(parents=True, exist_ok=True)
        json_path = d / f"{key}.json"
        with _flock(self._lock_path(key)), _flock(self._write_lock_path(key)):
            for leftover in _leftovers(d, key):
                leftover.unlink(missing_ok=True)
            _replace_entry(d, key, npz, _json_bytes(meta))  # as in save()
        return json_path

    def read_artifact(self, json_path: Path, allow_stale: bool = False) -> Artifact:
        """Read and check one artifact by its ``.json`` path (see :meth:`load_artifact`); one
        being written is waited for, never reported corrupt."""
        json_path = Path(json_path)
        key = json_path.name[: -len(".json")]
        return _read_settled(
            lambda: self._read_artifact_once(json_path, allow_stale),
            self._write_lock_path(key),
            (
                json_path,
                json_path.with_name(f"{key}.npz"),
                _staged(json_path.with_name(f"{key}.npz")),
            ),
            json_path.exists,
        )

    def _read_artifact_once(self, json_path: Path, allow_stale: bool) -> Artifact:
        key = json_path.name[: -len(".json")]
        name, scale = _split_key(key)
        root = self.root
        try:
            meta = _parse_json(json_path.read_bytes())
        except FileNotFoundError:
            raise MissingEntryError(f"no artifact {json_path}") from None
        except ValueError as e:
            raise _corrupt_artifact(json_path, str(e), name, scale, root) from None
        name, scale = meta.get("name", name), meta.get("scale", scale)
        missing = [f for f in ARTIFACT_META_FIELDS if f not in meta]
        if missing:
            raise _corrupt_artifact(json_path, f"metadata lacks {missing}", name, scale, root)
        if artifact_key(name, scale, meta["params"], meta["engine_version"]) != key:
            raise _corrupt_artifact(
                json_path, "file name does not match its params", name, scale, root
            )
        npz_path = json_path.with_name(f"{key}.npz")
        try:
            npz = npz_path.read_bytes()
        except FileNotFoundError:
            npz = None
        npz = _committed_npz(npz_path, npz, str(meta["npz_sha256"]))
        if npz is None:
            raise _corrupt_artifact(npz_path, "file missing", name, scale, root)
        if _sha256(npz) != meta["npz_sha256"]:
            raise _corrupt_artifact(npz_path, "checksum mismatch", name, scale, root)
        try:
            arrays = _read_npz(npz)
        except (ValueError, OSError, zipfile.BadZipFile) as e:
            raise _corrupt_artifact(npz_path, f"unreadable .npz: {e}", name, scale, root) from None
        if sorted(arrays) != meta["arrays"]:
            raise _corrupt_artifact(npz_path, "arrays differ from the metadata", name, scale, root)
        if meta["engine_version"] != ENGINE_VERSION and not allow_stale:
            raise StaleEntryError(
                f"{json_path} was made by engine version {meta['engine_version']}, this is "
                f"version {ENGINE_VERSION}: recompute with "
                f"`{artifact_command(name, scale, store=root)}`"
            )
        return Artifact(arrays=arrays, meta=meta, path=json_path)

    def load_artifact(self, name: str, scale: str, params: Mapping[str, Any]) -> Artifact:
        """The artifact ``(name, scale, params)`` of this ``ENGINE_VERSION``, checked.

        Raises:
          MissingEntryError: none (the message gives the command that makes it).
          CorruptEntryError: it fails its checksums or does not parse.
        """
        p = self.artifact_path(name, scale, params)
        if not p.is_file():
            raise MissingEntryError(
                f"no artifact {name}/{scale} with these parameters in {self.artifact_dir()}: "
                f"produce it with `{artifact_command(name, scale, store=self.root)}`"
            )
        return self.read_artifact(p)

    def _artifact_entries(self) -> list[EntryInfo]:
        d = self.artifact_dir()
        if not d.is_dir():
            return []
        keys = sorted(
            {
                p.name.rsplit(".", 1)[0]
                for p in [*d.glob("*.json"), *d.glob("*.npz")]
                if not p.name.startswith(".")
            }
        )
        out = []
        for key in keys:
            json_path = d / f"{key}.json"
            name, scale = _split_key(key)
            if not json_path.exists():
                info = self._orphan_npz(key, d, artifact_command(name, scale, store=self.root))
                if info is not None:
                    if info.status != "writing":
                        out.append(info)
                    continue
            try:
                a = self.read_artifact(json_path, allow_stale=True)
            except MissingEntryError:
                continue  # deleted since the directory was listed
            except CorruptEntryError as e:
                out.append(EntryInfo(key, json_path, name, scale, "corrupt", message=str(e)))
                continue
            m = a.meta
            dev = m.get("device") or {}
            out.append(
                EntryInfo(
                    key,
                    json_path,
                    m["name"],
                    m["scale"],
                    "stale" if a.stale else "current",
                    device=dev.get("kind") or dev.get("platform"),
                    created=m["created"],
                    engine_version=m["engine_version"],
                    message=(
                        f"stale: made by engine version {m['engine_version']}, this is "
                        f"{ENGINE_VERSION}; delete it and rerun "
                        f"`{artifact_command(m['name'], m['scale'], store=self.root)}`"
                    )
                    if a.stale
                    else None,
                )
            )
        return out

    # partial sweeps
    def _start_forced(self, cfg: Experiment) -> None:
        """Begin a ``force`` retrain: partial groups left by an earlier non-forced run are
        discarded (force means: train again), those of an interrupted forced run are kept.
        The entry itself stays until the retrain replaces it."""
        d = self.partial_dir(cfg)
        if not (d / FORCED_MARK).is_file():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True, exist_ok=True)
            _write_atomic(d / FORCED_MARK, f"{_now()}\n".encode())

    def _group_paths(self, cfg: Experiment, i: int) -> tuple[Path, Path]:
        d = self.partial_dir(cfg)
        return d / f"group-{i}.npz", d / f"group-{i}.json"

    def _write_group(
        self, cfg: Experiment, i: int, arrays: Mapping[str, np.ndarray], info: dict[str, Any]
    ) -> None:
        npz_path, json_path = self._group_paths(cfg, i)
        npz_path.parent.mkdir(parents=True, exist_ok=True)
        npz = _npz_bytes(arrays)
        info = {**info, "npz_sha256": _sha256(npz), "engine_version": ENGINE_VERSION}
        _write_atomic(npz_path, npz)
        _write_atomic(json_path, _json_bytes(info))

    def _finished_groups(
        self, cfg: Experiment, plan: list[list[int]]
    ) -> dict[int, tuple[dict[str, np.ndarray], dict[str, Any]]]:
        """The groups of ``plan`` already on disk and intact (others are ignored)."""
        done = {}
        for i, members in enumerate(plan):
            npz_path, json_path = self._group_paths(cfg, i)
            if not json_path.is_file():
                continue
            try:
                info = _parse_json(json_path.read_bytes())
                npz = npz_path.read_bytes()
                if _sha256(npz) != info["npz_sha256"] or info["members"] != members:
                    raise ValueError("checksum or members mismatch")
                arrays = _read_npz(npz)
                if check_arrays(cfg, arrays, members):
                    raise ValueError("wrong arrays")
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
                print(f"ignoring damaged partial group {json_path} ({e})", file=sys.stderr)
                continue
            done[i] = (arrays, info)
        return done


def _as_store(store: Store | str | os.PathLike[str] | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def load_or_run(
    cfg: Experiment,
    store: Store | str | os.PathLike[str] | None = None,
    progress: SweepProgress | bool | None = None,
    force: bool = False,
) -> Results:
    """The results of ``cfg``: from the store if present, else trained, stored and returned.

    Training is resumable: finished groups are kept under ``<root>/.partial/<key>/`` and an
    interrupted call, run again, continues where it stopped. Concurrent calls for the same
    config wait for each other (one trains, the others then read its entry).

    Args:
      cfg: the experiment.
      store: a :class:`Store` or its root (default: :func:`default_root`).
      progress: ``True`` for a bar (notebook/terminal) or plain lines (logs); or a
        :class:`~l2lib.progress.SweepProgress`; ``None`` for silence.
      force: train again (partial groups of an earlier ``force`` run of this config are
        resumed) and then replace the entry atomically: until the new one is written, readers
        get the old one, and a run killed midway leaves it in place.

    Raises:
      InvalidInputError: bad input (environment, data; see :mod:`l2lib.validate`), found
        before any lock is taken: one line naming the fix, nothing stored touched.
      CorruptEntryError: the cached entry is damaged (rerun with ``force=True`` /
        ``--force``); it is never silently retrained over.
      MissingEntryError: the run is missing and training is forbidden here
        (``L2LIB_FORBID_TRAINING``, as in the book build).
      ReadOnlyStoreError: the run is missing (or ``force``) and the store is not writable.
      l2lib.data.DataUnavailableError: the data set is not available here.
    """
    from l2lib import validate

    store = _as_store(store)
    if not isinstance(cfg, Experiment):
        raise InvalidInputError(f"{cfg!r}: not an l2lib.config.Experiment")
    if not force and store.exists(cfg):
        return store.load(cfg)
    if os.environ.get("L2LIB_FORBID_TRAINING"):
        cmd = store.command(cfg)
        raise MissingEntryError(
            f"no run of {cfg.name}/{cfg.scale} in {store.root} and training is forbidden here "
            f"(L2LIB_FORBID_TRAINING): produce it with `{cmd}`{_placeholder_note(cmd)}"
        )
    # Everything that can be wrong with the inputs is found here, before the lock and before
    # any step: a bad seed or a malformed data file must not surface mid-sweep.
    dataset = validate.validate(cfg)
    store._require_writable()
    if progress is True:
        from l2lib import progress as progress_lib

        progress = progress_lib.auto()
    progress = progress or None

    def waiting() -> None:
        print(
            f"waiting for another process sweeping {cfg.name}/{cfg.scale} in {store.root}",
            file=sys.stderr,
        )

    store.root.mkdir(parents=True, exist_ok=True)
    with store.lock(cfg, on_wait=waiting):
        if not force and store.exists(cfg):
            return store.load(cfg)
        if force:
            store._start_forced(cfg)
        _sweep(cfg, store, progress, dataset)
        return store.load(cfg)


#: Marks a partial sweep made by ``force``: its groups are this retrain's, so the same
#: ``--force`` command resumes them instead of starting over.
FORCED_MARK = "FORCED"


def _sweep(
    cfg: Experiment, store: Store, progress: SweepProgress | None, dataset: Any = None
) -> Path:
    """Train the groups not yet on disk, then write the entry (caller holds the lock)."""
    from l2lib import train, validate

    plan = train.plan_groups(cfg)
    steps = cfg.steps_per_member()
    cost = [len(g) * max(steps[i] for i in g) for g in plan]
    done = store._finished_groups(cfg, plan)
    resumed = sorted(done)
    label = f"{cfg.name}/{cfg.scale}"
    if done:
        print(
            f"resuming {label}: {len(done)} of {len(plan)} groups already finished in "
            f"{store.partial_dir(cfg)}",
            file=sys.stderr,
        )
    if progress is not None:
        progress.start(
            label,
            total=sum(cost),
            done=sum(cost[i] for i in done),
            members=len(steps),
            members_done=sum(len(plan[i]) for i in done),
        )
    try:
        for i, members in enumerate(plan):
            if i in done:
                continue
            if dataset is None:  # callers other than load_or_run
                dataset = validate.validate(cfg)
            t0 = time.perf_counter()
            arrays = train.run_group(
                cfg, members, dataset, progress.advance if progress is not None else None
            )
            info = {
                "index": i,
                "members": members,
                "member_steps_run": cost[i],
                "wall_s": time.perf_counter() - t0,
                "created": _now(),
                "device": device_info(),
                "dataset": _dataset_info(dataset),
                "config_hash": cfg.hash(),
            }
            store._write_group(cfg, i, arrays, info)
            done[i] = (arrays, info)
            if progress is not None:
                progress.group_done(len(members))
    finally:
        if progress is not None:
            progress.close()
    infos = [done[i][1] for i in range(len(plan))]
    provenance = {
        "wall_s": sum(x["wall_s"] for x in infos),
        "member_steps_run": sum(cost),
        "num_groups": len(plan),
        "resumed_groups": len(resumed),
        "groups": [
            {
                "index": x["index"],
                "members": x["members"],
                "wall_s": x["wall_s"],
                "created": x["created"],
                "device": (x["device"] or {}).get("kind"),
                "resumed": x["index"] in resumed,
            }
            for x in infos
        ],
        "dataset": infos[0]["dataset"],
    }
    path = store.save(cfg, train.concat_results([done[i][0] for i in range(len(plan))]), provenance)
    shutil.rmtree(store.partial_dir(cfg), ignore_errors=True)
    return path


# --- artifacts ------------------------------------------------------------------------------
#
# Results that are not a λ × η grid (a width sweep, a Hessian spectrum...) live in
# ``<root>/artifacts/<name>-<scale>-<hash12>.{npz,json}``. ``hash12`` is the SHA-256 of the
# canonical JSON of ``(name, scale, params, ENGINE_VERSION)``; writes are atomic and checksummed
# exactly like sweep entries, and ``list``/``verify`` cover them. The code that computes an
# artifact is registered in ``l2lib.registry.register_artifact``; ``python -m l2lib artifact NAME``
# runs it.

ARTIFACT_DIR = "artifacts"
ARTIFACT_META_FIELDS = (
    "format_version",
    "kind",
    "key",
    "name",
    "scale",
    "params",
    "engine_version",
    "l2lib_version",
    "versions",
    "device",
    "git",
    "wall_s",
    "created",
    "arrays",
    "npz_sha256",
    "npz_bytes",
)


def artifact_command(
    name: str, scale: str, force: bool = False, store: str | os.PathLike[str] | None = None
) -> str:
    """The command that (re)produces an artifact (with ``--store`` when ``store`` is given)."""
    cmd = ["python", "-m", "l2lib", "artifact", name, "--scale", scale]
    if store is not None:
        cmd += ["--store", str(store)]
    if force:
        cmd.append("--force")
    return shlex.join(cmd)


def _corrupt_artifact(
    path: Path, why: str, name: str, scale: str, store: str | os.PathLike[str] | None = None
) -> CorruptEntryError:
    return _corrupt(path, why, artifact_command(name, scale, True, store), what="artifact")


def _canonical_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as plain JSON (tuples → lists); ``ValueError`` if not JSON-able."""
    try:
        return json.loads(json.dumps(dict(params), sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError(f"artifact params must be plain JSON values: {e}") from None


def artifact_key(
    name: str, scale: str, params: Mapping[str, Any], engine_version: int | None = None
) -> str:
    """``<name>-<scale>-<hash12>``, unique per (name, scale, params, engine version)."""
    v = ENGINE_VERSION if engine_version is None else engine_version
    body = _canonical({"name": name, "scale": scale, "params": _canonical_params(params)})
    h = hashlib.sha256(body + f":engine{v}".encode()).hexdigest()[:12]
    return f"{_safe(name)}-{_safe(scale)}-{h}"


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A loaded artifact: ``arrays``, ``meta`` (params and provenance) and its ``.json`` path."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    path: Path

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def params(self) -> dict[str, Any]:
        return self.meta["params"]

    @property
    def stale(self) -> bool:
        return self.meta["engine_version"] != ENGINE_VERSION


def load_or_compute_artifact(
    name: str,
    scale: str,
    params: Mapping[str, Any],
    fn: Callable[[], Mapping[str, np.ndarray]],
    store: Store | str | os.PathLike[str] | None = None,
    force: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> Artifact:
    """The artifact ``(name, scale, params)``: from the store, else ``fn()`` stored and returned.

    ``fn`` takes no arguments and returns the arrays; its wall time is recorded. Concurrent
    calls for one key wait for each other. A corrupt artifact raises (never silently
    recomputed); ``force`` recomputes.

    Raises:
      MissingEntryError: missing and computing is forbidden (``L2LIB_FORBID_TRAINING``).
      CorruptEntryError: the stored artifact is damaged (rerun with ``force``).
    """
    store = _as_store(store)
    params = _canonical_params(params)
    path = store.artifact_path(name, scale, params)
    if not force and path.is_file():
        return store.read_artifact(path)
    if os.environ.get("L2LIB_FORBID_TRAINING"):
        raise MissingEntryError(
            f"no artifact {name}/{scale} in {store.artifact_dir()} and computing is forbidden "
            f"here (L2LIB_FORBID_TRAINING): produce it with "
            f"`{artifact_command(name, scale, store=store.root)}`"
        )
    store._require_writable()
    with _flock(store._lock_path(artifact_key(name, scale, params))):
        if not force and path.is_file():
            return store.read_artifact(path)
        t0 = time.perf_counter()
        arrays = fn()
        wall = time.perf_counter() - t0
        store.save_artifact(name, scale, params, arrays, {"wall_s": wall, **dict(provenance or {})})
    return store.read_artifact(path)


# --- golden numbers -------------------------------------------------------------------------

GOLDEN_PATH = Path(__file__).parent / "golden" / "golden_ci.json"
GOLDEN_RTOL = 1e-5
GOLDEN_ATOL = 1e-7
GOLDEN_COMMAND = "python -m l2lib golden --write"


def golden_configs() -> dict[str, Experiment]:
    """Tiny fixed sweeps whose numbers pin the engine (see ``tests/test_golden.py``).

    Every numerics path a cached run can depend on is in one of them, so that a change to any
    of them (a batch-norm ε, a schedule's boundary comparison...) fails ``golden``:

    ``sgd``: the ``ci`` config (cross-entropy, plain SGD, standard parameterisation, biases,
    ReLU MLP, constant η).
    ``momentum_autol2``: MSE, heavy-ball momentum, cosine schedule, NTK parameterisation without
    biases, AutoL2 on.
    ``cnn_bn_step_full_batch``: a CNN (1-D convolutions, flatten head) with batch norm, the step
    schedule with boundaries that fall exactly on steps (12, 24 and 36 of 40: ``frac >= b``
    against ``frac > b`` differs), full-batch training (batch = the 128 training examples) and
    ``eval_train`` (``full_train_accuracy``).
    ``mlp_bn_tanh``: an MLP with batch norm and tanh.
    ``wrn_augment``: the Wide ResNet at its smallest (depth 10, widening 1) on 28×28 images
    (Fashion-MNIST from its IDX files, Debian's ``dataset-fashion-mnist``) with flip,
    pad-and-crop and mixup, momentum and the cosine schedule.
    ``cnn_pool_images``: a CNN without batch norm, 2-D convolutions on those images, the
    global-average-pool head.
    """
    base = config_lib.ci(name="golden-sgd")
    other = config_lib.ci(
        name="golden-momentum-autol2",
        model=dataclasses.replace(base.model, parameterization="ntk", use_bias=False),
        optimizer=config_lib.OptimizerConfig(
            batch_size=32, momentum=0.9, loss="mse", schedule="cosine"
        ),
        grid=config_lib.GridConfig(l2=(1e-2,), learning_rate=(0.05,), seeds=(1,)),
        autol2=config_lib.AutoL2Config(every=5),
    )
    one = config_lib.GridConfig(l2=(1e-2,), learning_rate=(0.1,), seeds=(0,))
    cnn = config_lib.ci(
        name="golden-cnn-bn-step",
        data=config_lib.DataConfig(name="mnist1d", num_train=128, num_test=128),
        model=config_lib.ModelConfig(
            kind="cnn", width=4, depth=2, batch_norm=True, cnn_head="flatten"
        ),
        optimizer=config_lib.OptimizerConfig(batch_size=128, schedule="step"),
        grid=one,
        eval_train=True,
    )
    mlp_bn = config_lib.ci(
        name="golden-mlp-bn-tanh",
        model=config_lib.ModelConfig(
            kind="mlp", width=32, depth=2, batch_norm=True, activation="tanh"
        ),
        grid=one,
    )
    wrn = config_lib.ci(
        name="golden-wrn-augment",
        data=config_lib.DataConfig(
            name="fashion_mnist", source="idx", num_train=64, num_test=64, augment=True
        ),
        model=config_lib.ModelConfig(kind="wrn", width=1, depth=10, batch_norm=True),
        optimizer=config_lib.OptimizerConfig(batch_size=16, momentum=0.9, schedule="cosine"),
        grid=config_lib.GridConfig(l2=(5e-4,), learning_rate=(0.05,), seeds=(0,)),
        duration=config_lib.DurationConfig(num_steps=20),
        eval_batch_size=64,
    )
    cnn_pool = config_lib.ci(
        name="golden-cnn-pool-images",
        data=dataclasses.replace(wrn.data, augment=False),
        model=config_lib.ModelConfig(kind="cnn", width=4, depth=2, cnn_head="pool"),
        optimizer=config_lib.OptimizerConfig(batch_size=16),
        grid=one,
        duration=config_lib.DurationConfig(num_steps=20),
        eval_batch_size=64,
    )
    return {
        "sgd": base,
        "momentum_autol2": other,
        "cnn_bn_step_full_batch": cnn,
        "mlp_bn_tanh": mlp_bn,
        "wrn_augment": wrn,
        "cnn_pool_images": cnn_pool,
    }


def _sig(x: float, digits: int = 8) -> float | None:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else None


def golden_numbers(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The numbers the golden file keeps: continuous curves (losses, ‖θ‖²), final λ, and the
    accuracies a cached run reports (test, and the whole training set's with ``eval_train``)."""
    out = {
        "test_loss": [[_sig(float(v)) for v in row] for row in arrays["test_loss"]],
        "sq_norm": [[_sig(float(v)) for v in row] for row in arrays["sq_norm"]],
        "train_loss_final": [_sig(float(row[-1])) for row in arrays["train_loss"]],
        "l2_final": [_sig(float(row[-1])) for row in arrays["l2"]],
        "num_steps": [int(v) for v in arrays["num_steps"]],
        "test_accuracy": [[_sig(float(v)) for v in row] for row in arrays["test_accuracy"]],
    }
    if "full_train_accuracy" in arrays:
        out["full_train_accuracy"] = [
            [_sig(float(v)) for v in row] for row in arrays["full_train_accuracy"]
        ]
    return out


def compute_golden() -> dict[str, Any]:
    """Train every golden config (no store involved) and collect its numbers.

    Raises:
      l2lib.data.DataUnavailableError: a golden config's data set is not installed here
        (the message names the package).
    """
    from l2lib import train

    return {
        name: {"config_hash": cfg.hash(), "numbers": golden_numbers(train.train_grid(cfg))}
        for name, cfg in golden_configs().items()
    }


def compare_golden(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Differences between two ``compute_golden()`` results beyond ``GOLDEN_RTOL``."""
    out = []
    for case in sorted(set(expected) | set(actual)):
        if case not in expected or case not in actual:
            out.append(f"case {case} present in only one of the two")
            continue
        e, a = expected[case], actual[case]
        if e["config_hash"] != a["config_hash"]:
            out.append(
                f"{case}: the golden config changed (hash {e['config_hash']} → now "
                f"{a['config_hash']})"
            )
            continue
        for field, ev in e["numbers"].items():
            x = np.asarray(ev, np.float64)
            y = np.asarray(a["numbers"].get(field), np.float64)
            if x.shape != y.shape:
                out.append(f"{case}.{field}: shape {x.shape} → {y.shape}")
            elif not np.allclose(y, x, rtol=GOLDEN_RTOL, atol=GOLDEN_ATOL, equal_nan=True):
                i = np.unravel_index(
                    np.nanargmax(np.abs(np.nan_to_num(y - x, nan=np.inf))), x.shape
                )
                where = ", ".join(str(int(j)) for j in i)
                out.append(f"{case}.{field}[{where}]: golden {float(x[i])!r}, now {float(y[i])!r}")
    return out


def read_golden(path: Path = GOLDEN_PATH) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def check_golden(path: Path = GOLDEN_PATH) -> list[str]:
    """Retrain the golden configs and compare; each problem names the fix."""
    if not Path(path).is_file():
        return [f"no golden file {path}: create it with `{GOLDEN_COMMAND}`"]
    golden = read_golden(path)
    if golden["engine_version"] != ENGINE_VERSION:
        return [
            f"{path} was written by engine version {golden['engine_version']}, this is "
            f"{ENGINE_VERSION}: regenerate it with `{GOLDEN_COMMAND}`"
        ]
    from l2lib import data as data_lib

    try:
        actual = compute_golden()
    except data_lib.DataUnavailableError as e:
        return [f"a golden config's data is not here, so the engine cannot be checked: {e}"]
    diffs = compare_golden(golden["cases"], actual)
    # A golden case added or changed is no change of numerics: its runs have new keys.
    return [
        f"the golden cases changed ({d}): regenerate with `{GOLDEN_COMMAND}`"
        if "present in only" in d or "golden config changed" in d
        else f"numerics changed ({d}): bump ENGINE_VERSION in l2lib/store.py and regenerate "
        f"with `{GOLDEN_COMMAND}`"
        for d in diffs
    ]


def write_golden(path: Path = GOLDEN_PATH) -> list[str]:
    """Write the golden file; refuse (returning why) if numbers changed under the same version.

    New numbers under an unchanged ``ENGINE_VERSION`` would let stale cached runs pass for
    current ones, so a change of numbers requires bumping ``ENGINE_VERSION`` first (a changed
    golden *config* does not: its runs have new keys anyway).
    """
    actual = compute_golden()
    if Path(path).is_file():
        old = read_golden(path)
        if old["engine_version"] == ENGINE_VERSION:
            diffs = [
                d
                for d in compare_golden(old["cases"], actual)
                if "golden config changed" not in d and "present in only" not in d
            ]
            if diffs:
                return [
                    f"numbers changed under engine version {ENGINE_VERSION} ({diffs[0]}): bump "
                    "ENGINE_VERSION in l2lib/store.py first"
                ]
    doc = {
        "engine_version": ENGINE_VERSION,
        "rtol": GOLDEN_RTOL,
        "regenerate": GOLDEN_COMMAND,
        "environment": {k: v for k, v in environment().items() if k != "git"},
        "cases": actual,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(Path(path), (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())
    return []


def forbid_training() -> None:
    """Raise when ``L2LIB_FORBID_TRAINING`` is set (as in the book build): code that is about
    to compute a result calls this first, so a build that needs a missing result fails."""
    if os.environ.get("L2LIB_FORBID_TRAINING"):
        raise RuntimeError(
            "training is forbidden here (L2LIB_FORBID_TRAINING is set, as in the book build): "
            "produce the artifact first with `python -m l2lib artifact NAME --scale cpu`"
        )


def load_registered_artifact(
    name: str,
    scale: str = "cpu",
    recompute: bool = False,
    root=None,
    cfg=None,
    compute: bool = True,
):
    """The registered artifact ``name`` (:func:`l2lib.registry.register_artifact`) at
    ``scale``: computed and stored when missing (unless ``compute=False`` or
    ``L2LIB_FORBID_TRAINING``: then ``MissingEntryError``); ``recompute`` forces it. Returns
    ``(config, Artifact)``."""
    from l2lib import registry

    make_cfg, fn = registry.artifact_spec(name)
    cfg = make_cfg(scale) if cfg is None else cfg
    st = _as_store(root)
    if not recompute and not st.artifact_path(name, scale, cfg.params()).is_file():
        for old in registry.artifact_formerly(name):  # renamed: stored under an old name
            if st.artifact_path(old, scale, cfg.params()).is_file():
                return cfg, st.load_artifact(old, scale, cfg.params())
    if not compute:
        return cfg, st.load_artifact(name, scale, cfg.params())
    art = load_or_compute_artifact(
        name, scale, cfg.params(), lambda: fn(cfg), store=root, force=recompute
    )
    return cfg, art
