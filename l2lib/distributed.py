"""One sweep over several processes (hosts) with JAX's own distributed runtime.

``python -m l2lib sweep NAME --distributed`` (or ``--coordinator HOST:PORT --num-processes N
--process-id I``) runs in every process of a job: :func:`initialize` joins them with
``jax.distributed.initialize``, after which ``jax.devices()`` lists every process's devices and
the engine (:mod:`l2lib.train`) shards each group's members over all of them — each device
trains its own members, the processes exchange nothing but each chunk's metrics
(``multihost_utils.process_allgather``).

Every process must train the same groups in the same order, and only one may touch the store.
So process 0 alone is the *leader* (:func:`lead`): it runs the ordinary
:func:`l2lib.store.load_or_run` — takes the key's lock, finds the groups already stored, trains
the others, writes each finished group and then the entry — and, through
:data:`l2lib.train.GROUP_CONTEXT`, announces each group to the others before it trains it
(``multihost_utils.broadcast_one_to_all``). The other processes are *followers*
(:func:`follow`): they train the announced groups with the leader and never open the store, so
it needs to be on process 0's disk only. A follower stops when the leader says it is done,
with the leader's exit code.

Failure. If a process dies, a survivor stops at its next collective (the next chunk's
metrics, or the next announcement): on CPU (Gloo) the collective fails at once ("Connection
closed by peer"); where a collective would rather wait (NCCL), the coordination service
declares the silent process dead after ``heartbeat_timeout_s`` and terminates the others. The
survivor prints one line naming what happened and exits 1 (:data:`PEER_LOST_EXIT`) with
``os._exit``: a normal exit would wait at JAX's shutdown barrier for the dead peer. The groups
process 0 finished are in its store; the same command, started again in every process,
resumes from them.

Before the first group every process checks that it runs the same config, engine version and
JAX (a digest gathered from all): processes that disagree would train different programs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import numpy as np

from l2lib.config import Experiment

#: JAX's default: seconds without a heartbeat after which a process is declared dead.
HEARTBEAT_TIMEOUT_S = 100
#: Read when the flags are not given (JAX itself reads JAX_COORDINATOR_ADDRESS).
COORDINATOR_ENV = "JAX_COORDINATOR_ADDRESS"
NUM_PROCESSES_ENV = "L2LIB_NUM_PROCESSES"
PROCESS_ID_ENV = "L2LIB_PROCESS_ID"
HEARTBEAT_ENV = "L2LIB_HEARTBEAT_TIMEOUT_S"
#: The exit code of a process whose peer stopped or lost contact.
PEER_LOST_EXIT = 1

# The leader's messages: a header (code, value), then for a group its member indices.
_GROUP, _STOP = 1, 0


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to join: ``None`` fields are left to JAX (SLURM, Open MPI, TPU auto-detection)."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    heartbeat_timeout_s: int = HEARTBEAT_TIMEOUT_S


def settings_from(
    distributed: bool,
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    heartbeat_timeout_s: int | None,
    environ: dict[str, str] | None = None,
) -> Settings | None:
    """The :class:`Settings` from the flags, else the environment; ``None`` for one process.

    A run is distributed when ``distributed`` is set or any of coordinator, process count and
    process id is given (as a flag or in the environment). Raises ``ValueError`` (one line)
    for values that are not numbers or out of range.
    """
    env = os.environ if environ is None else environ

    def number(value: Any, name: str) -> int | None:
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} {value!r}: must be an integer") from None

    coordinator = coordinator or env.get(COORDINATOR_ENV) or None
    num_processes = number(
        num_processes if num_processes is not None else env.get(NUM_PROCESSES_ENV),
        "--num-processes",
    )
    process_id = number(
        process_id if process_id is not None else env.get(PROCESS_ID_ENV), "--process-id"
    )
    heartbeat = number(
        heartbeat_timeout_s if heartbeat_timeout_s is not None else env.get(HEARTBEAT_ENV),
        "--heartbeat-timeout",
    )
    if not (distributed or coordinator or num_processes is not None or process_id is not None):
        return None
    if num_processes is not None and num_processes <= 0:
        raise ValueError(f"--num-processes {num_processes}: must be positive")
    if process_id is not None and process_id < 0:
        raise ValueError(f"--process-id {process_id}: must be 0 or more")
    if num_processes is not None and process_id is not None and process_id >= num_processes:
        raise ValueError(
            f"--process-id {process_id}: must be below --num-processes {num_processes}"
        )
    if heartbeat is not None and heartbeat <= 0:
        raise ValueError(f"--heartbeat-timeout {heartbeat}: must be positive")
    return Settings(coordinator, num_processes, process_id, heartbeat or HEARTBEAT_TIMEOUT_S)


def initialize(s: Settings) -> None:
    """``jax.distributed.initialize`` with ``s`` (before anything else touches JAX's devices).

    On CPU the cross-process collectives are Gloo's (JAX's default since 0.4.3x)."""
    import jax

    jax.distributed.initialize(
        coordinator_address=s.coordinator,
        num_processes=s.num_processes,
        process_id=s.process_id,
        heartbeat_timeout_seconds=s.heartbeat_timeout_s,
    )


def describe() -> str:
    """``process I of N (D of G devices)``."""
    import jax

    return (
        f"process {jax.process_index()} of {jax.process_count()} "
        f"({jax.local_device_count()} of {jax.device_count()} devices)"
    )


# --- messages between the processes ---------------------------------------------------------


def _broadcast(x: np.ndarray) -> np.ndarray:
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.broadcast_one_to_all(x))


def _send(code: int, value: int, members: Sequence[int] = ()) -> None:
    _broadcast(np.array([code, value], np.int32))
    if code == _GROUP:
        _broadcast(np.asarray(members, np.int32))


def _receive() -> tuple[int, int, list[int]]:
    code, value = (int(v) for v in _broadcast(np.zeros(2, np.int32)))
    if code != _GROUP:
        return code, value, []
    return code, value, [int(i) for i in _broadcast(np.zeros(value, np.int32))]


def _digest(cfg: Experiment) -> np.ndarray:
    import jax

    from l2lib import store as store_lib

    text = f"{cfg.hash()}:engine{store_lib.ENGINE_VERSION}:jax{jax.__version__}"
    return np.frombuffer(hashlib.sha256(text.encode()).digest(), np.uint8)


class MismatchError(RuntimeError):
    """The processes do not run the same config, engine or JAX."""


def _handshake(cfg: Experiment) -> None:
    from jax.experimental import multihost_utils

    mine = _digest(cfg)
    every = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1, mine.size)
    differ = [i for i, d in enumerate(every) if not np.array_equal(d, every[0])]
    if differ:
        raise MismatchError(
            f"processes {differ} run another config, engine version or JAX than process 0 "
            f"({cfg.name}/{cfg.scale} here): start the same command, from the same checkout, "
            "in every process"
        )


# --- failure --------------------------------------------------------------------------------


def _peer_errors() -> tuple[type[BaseException], ...]:
    import jax

    return (jax.errors.JaxRuntimeError,)


def _exit_now(code: int, message: str) -> NoReturn:
    """Print ``message`` and leave at once: JAX's exit handler would wait at its shutdown
    barrier for a peer that is gone (until the heartbeat timeout, then abort)."""
    print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _peer_lost(e: BaseException) -> NoReturn:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    _exit_now(
        PEER_LOST_EXIT,
        f"error: {describe()}: another process of this run stopped or lost contact "
        f"({first}); stopping too. The groups already finished are in process 0's store: run "
        "the same command again in every process to resume.",
    )


# --- leader and followers -------------------------------------------------------------------


@dataclasses.dataclass
class _Leader:
    in_group: bool = False
    groups: int = 0

    @contextlib.contextmanager
    def around(self, cfg: Experiment, members: Sequence[int]) -> Iterator[None]:
        _send(_GROUP, len(members), members)
        self.in_group = True
        yield  # an exception leaves in_group set: the followers are mid-group
        self.in_group = False
        self.groups += 1


def lead(cfg: Experiment, run: Callable[[], int]) -> int:
    """Process 0: run ``run()`` (the ordinary sweep, returning an exit code) while announcing
    each group to the other processes; then tell them to stop with that exit code.

    If the sweep fails between groups, the others are told its exit code; if it fails within
    one (or a peer is lost), this process exits at once and they notice the loss."""
    from l2lib import train

    leader = _Leader()
    try:
        _handshake(cfg)
    except _peer_errors() as e:
        _peer_lost(e)
    train.GROUP_CONTEXT = leader.around
    try:
        try:
            rc = run()
        except _peer_errors() as e:
            _peer_lost(e)
        except KeyboardInterrupt:
            if leader.in_group:
                _exit_now(130, f"interrupted: {describe()}; run the same command to resume")
            raise
        except BaseException:
            if leader.in_group:
                import traceback

                traceback.print_exc()
                _exit_now(1, f"error: {describe()} failed while training a group (above)")
            _send(_STOP, 1)
            raise
        if leader.in_group:  # a caller that caught the error mid-group
            _exit_now(rc or 1, f"error: {describe()} stopped while training a group")
        _send(_STOP, rc)
    except _peer_errors() as e:
        _peer_lost(e)
    finally:
        train.GROUP_CONTEXT = None
    return rc


def follow(cfg: Experiment, log: Callable[[str], None] | None = None) -> int:
    """Any process but 0: train the groups process 0 announces until it says stop; return its
    exit code. Opens no store and writes nothing."""
    from l2lib import train, validate

    log = log or (lambda m: print(m, file=sys.stderr))
    dataset = None
    groups = 0
    try:
        _handshake(cfg)
        while True:
            code, value, members = _receive()
            if code == _STOP:
                if value == 0:
                    log(
                        f"{describe()}: trained {groups} group(s) with process 0, which "
                        "keeps the entry in its store"
                    )
                else:
                    log(f"{describe()}: process 0 stopped with exit code {value} (see its output)")
                return value
            if dataset is None:
                dataset = validate.validate(cfg)
            train.run_group(cfg, members, dataset)
            groups += 1
    except _peer_errors() as e:
        _peer_lost(e)
    except KeyboardInterrupt:
        _exit_now(130, f"interrupted: {describe()}; run the same command to resume")
    except MismatchError:
        raise  # every process found it: they all stop the same way
    except BaseException:
        # Process 0 may be inside a group, waiting for this one: leave now, so that it
        # notices the loss instead of waiting.
        import traceback

        traceback.print_exc()
        _exit_now(1, f"error: {describe()} failed (above)")
