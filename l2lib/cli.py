"""The command line: ``python -m l2lib COMMAND`` (also installed as ``l2lib``).

Commands::

    sweep NAME [--scale ci|cpu|paper] [--force] [--store PATH]   train (or find) a sweep
          [--data-dir DIR] [--members-per-device N]              (TFDS data; memory knob)
    sweep --config-json FILE [--force] [--store PATH]            the same, for a config file
    sweep ... --distributed | --coordinator H:P --num-processes N --process-id I
                                                                 one sweep over several
                                                                 processes (l2lib.distributed)
    artifact NAME [--scale S] [--force] [--store PATH]           compute (or find) a non-grid
                                                                 result (l2lib.registry.register_artifact)
    list [--store PATH]                                          one line per entry
    verify [--store PATH]                                        check every entry
    rekey [--store PATH]                                         move entries to the current
                                                                 keys / registered names
    golden [--write]                                             check / rewrite golden numbers
    check [--scale S] [--chapter chN] [--store PATH]             the book's claims: PASS/FAIL

``--config-json FILE`` takes an :class:`~l2lib.config.Experiment` as written by ``to_dict()``
(JSON), or a store entry's own ``.json`` (its ``config``); it sweeps configs that are not
registered in :mod:`l2lib.registry` (the tests use it), and it is what the rerun hints of
such entries name. The store defaults to ``$L2LIB_STORE``, else ``book/runs`` of the
repository; every hint names ``--store``.

Exit codes: 0 done; 1 a problem was found (verify, golden, a corrupt entry, missing data);
2 bad input — a wrong argument, config field, environment setting (``L2LIB_MEMBERS_PER_DEVICE``)
or data file, or a store that cannot be used: one line on stderr naming the fix, found before
any lock is taken, and nothing in the store is touched; 130 interrupted (finished groups are
kept: the same command resumes, ``--force`` included).

A store that is only readable serves what it holds: ``sweep`` of a cached entry, ``list``,
``verify`` and ``check`` work; only adding to it is refused (exit 2).

Adding a command: register a :class:`Command` in ``COMMANDS``, e.g.::

    @command("check", "check the cached runs against the paper", arguments=_check_arguments)
    def _check(args: argparse.Namespace) -> int:
        from l2lib import check
        return claims.main(args)

Raise :class:`UsageError` for bad input (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from l2lib import claims, registry
from l2lib import config as config_lib
from l2lib import progress as progress_lib
from l2lib import store as store_lib

PROG = "python -m l2lib"


class UsageError(Exception):
    """Bad input: the message (one line) names the fix; the exit code is 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (and still exit with 2)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


@dataclasses.dataclass(frozen=True)
class Command:
    """A subcommand: its help line, an argument adder and ``run(args) -> exit code``."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None
):
    """Decorator: register ``run(args) -> int`` as the subcommand ``name``."""

    def deco(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = Command(help, arguments or (lambda p: None), run)
        return run

    return deco


# --- the store argument ---------------------------------------------------------------------


def _store_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="PATH",
        help="the store directory (default: $L2LIB_STORE, else book/runs of the repository)",
    )


def _readable_store(path: str | None) -> store_lib.Store:
    s = store_lib.Store(path)
    root = s.root
    if not root.exists():
        raise UsageError(f"no store at {root}: pass --store DIR (or set L2LIB_STORE)")
    if not root.is_dir():
        raise UsageError(f"store {root} is not a directory: pass --store DIR")
    if not os.access(root, os.R_OK | os.X_OK):
        raise UsageError(f"store {root} is not readable: fix its permissions or pass --store DIR")
    return s


def _writable_store(path: str | None) -> store_lib.Store:
    s = store_lib.Store(path)
    root = s.root
    if root.exists() and not root.is_dir():
        raise UsageError(f"store {root} is not a directory: pass --store DIR")
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"store {root} is not writable: fix its permissions or pass --store DIR")
    return s


# --- sweep ----------------------------------------------------------------------------------


def _by_chapter(what: str, groups: dict[str, list[str]], width: int = 96) -> str:
    """``groups`` (chapter → names) as an indented, wrapped listing for a help text."""
    import textwrap

    lines = [f"{what} by chapter (l2lib.registry; the book's are in l2lib/paper/<chapter>.py):"]
    for chapter, names in groups.items():
        lines += textwrap.wrap(
            ", ".join(names),
            width,
            initial_indent=f"  {chapter + ':':<9}",
            subsequent_indent=" " * 11,
            break_on_hyphens=False,
        )
    return "\n".join(lines)


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="a registered experiment (listed below by chapter)")
    p.epilog = _by_chapter("experiments", registry.by_chapter())
    p.add_argument("--scale", choices=config_lib.SCALES, default="cpu", help="default: cpu")
    p.add_argument(
        "--config-json",
        metavar="FILE",
        help="sweep the Experiment in FILE (JSON of Experiment.to_dict()) instead of NAME",
    )
    p.add_argument("--force", action="store_true", help="discard the cached entry and retrain")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="TFDS data directory (mnist, cifar10...); not part of the run's key",
    )
    p.add_argument(
        "--members-per-device",
        metavar="N",
        type=int,
        help="members each device trains at once (default: the config's group_size); "
        "lower it when a large model does not fit; results do not depend on it",
    )
    _store_argument(p)
    d = p.add_argument_group(
        "several processes (hosts)",
        "one sweep over every device of several processes, joined by jax.distributed; run the "
        "same command in each; process 0 alone reads and writes the store "
        "(see l2lib.distributed)",
    )
    d.add_argument(
        "--distributed",
        action="store_true",
        help="join a multi-process run; JAX finds the rest under SLURM, Open MPI or on a TPU "
        "slice (implied by the next three flags)",
    )
    d.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="process 0's address and a free port (default: $JAX_COORDINATOR_ADDRESS)",
    )
    d.add_argument(
        "--num-processes",
        metavar="N",
        help="how many processes (default: $L2LIB_NUM_PROCESSES, else SLURM_NTASKS...)",
    )
    d.add_argument(
        "--process-id",
        metavar="I",
        help="this process, 0..N-1 (default: $L2LIB_PROCESS_ID, else SLURM_PROCID...)",
    )
    d.add_argument(
        "--heartbeat-timeout",
        metavar="S",
        help="seconds of silence after which a process counts as dead and the others stop "
        "(default: $L2LIB_HEARTBEAT_TIMEOUT_S, else 100)",
    )


def _config_from_args(args: argparse.Namespace) -> config_lib.Experiment:
    if args.name and args.config_json:
        raise UsageError("give NAME or --config-json FILE, not both")
    if args.config_json:
        try:
            d = json.loads(Path(args.config_json).read_text())
        except OSError as e:
            raise UsageError(
                f"cannot read --config-json {args.config_json}: {e.strerror}"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"--config-json {args.config_json} is not JSON: {e}") from None
        if isinstance(d, dict) and "config" in d and "config_hash" in d:
            d = d["config"]  # a store entry's .json: the config it records
        if not isinstance(d, dict):
            raise UsageError(
                f"--config-json {args.config_json} is not an Experiment.to_dict(): a JSON "
                f"object is needed, not {type(d).__name__}"
            )
        try:
            return config_lib.Experiment.from_dict(d)
        except (TypeError, ValueError, AttributeError) as e:
            raise UsageError(
                f"--config-json {args.config_json} is not an Experiment.to_dict(): {e}"
            ) from None
    if not args.name:
        raise UsageError(
            f"name an experiment (one of: {', '.join(registry.names())}) or pass --config-json"
        )
    try:
        return registry.get(args.name, args.scale)
    except ValueError as e:
        raise UsageError(str(e)) from None


@contextlib.contextmanager
def _members_per_device(n: int | None):
    """Set ``$L2LIB_MEMBERS_PER_DEVICE`` (read by :func:`l2lib.train.plan_groups`) for a block."""
    name = "L2LIB_MEMBERS_PER_DEVICE"
    before = os.environ.get(name)
    if n is not None:
        os.environ[name] = str(n)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@command("sweep", "train a sweep (or find it in the store)", _sweep_arguments)
def _sweep(args: argparse.Namespace) -> int:
    cfg = _config_from_args(args)
    if args.data_dir:
        try:
            data = dataclasses.replace(cfg.data, data_dir=args.data_dir)
        except ValueError as e:
            raise UsageError(str(e)) from None
        cfg = dataclasses.replace(cfg, data=data)
    if args.members_per_device is not None and args.members_per_device <= 0:
        raise UsageError(f"--members-per-device {args.members_per_device}: must be positive")
    from l2lib import distributed

    try:
        settings = distributed.settings_from(
            args.distributed,
            args.coordinator,
            args.num_processes,
            args.process_id,
            args.heartbeat_timeout,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None
    if settings is None:
        return _sweep_here(args, cfg)
    return _distributed_sweep(args, cfg, settings)


def _distributed_sweep(args: argparse.Namespace, cfg: config_lib.Experiment, settings) -> int:
    """The sweep in one process of several: process 0 leads, the others follow."""
    import jax

    from l2lib import distributed

    try:
        distributed.initialize(settings)
    except (RuntimeError, ValueError) as e:
        raise UsageError(f"cannot join the distributed run: {e}") from None
    print(f"{cfg.name}/{cfg.scale}: {distributed.describe()}", file=sys.stderr)
    try:
        if jax.process_index() != 0:
            with _members_per_device(args.members_per_device):
                return distributed.follow(cfg)

        def run() -> int:
            try:
                return _sweep_here(args, cfg)
            except UsageError as e:
                print(f"{PROG} sweep: error: {e}", file=sys.stderr)
                return 2

        return distributed.lead(cfg, run)
    except distributed.MismatchError as e:
        raise UsageError(str(e)) from None


def _sweep_here(args: argparse.Namespace, cfg: config_lib.Experiment) -> int:
    """The sweep as one process runs it (process 0 of several: see :mod:`l2lib.distributed`)."""
    from l2lib import data as data_lib

    store = store_lib.Store(args.store)
    if store.root.exists() and not store.root.is_dir():
        raise UsageError(f"store {store.root} is not a directory: pass --store DIR")
    # A cached entry is served from a store that is only readable; writing needs more.
    cached = not args.force and store.exists(cfg)
    if not cached:
        store = _writable_store(args.store)
    try:
        with _members_per_device(args.members_per_device):
            res = store_lib.load_or_run(
                cfg, store, progress=progress_lib.auto(sys.stderr), force=args.force
            )
    except config_lib.InvalidInputError as e:
        raise UsageError(str(e)) from None
    except store_lib.ReadOnlyStoreError as e:
        raise UsageError(str(e)) from None
    except (store_lib.StoreError, data_lib.DataUnavailableError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"interrupted: finished groups are kept in {store.partial_dir(cfg)}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    if cached:
        print(f"{cfg.name}/{cfg.scale}: found in the store", file=sys.stderr)
    print(res.path)
    return 0


# --- artifact -------------------------------------------------------------------------------


def _artifact_arguments(p: argparse.ArgumentParser) -> None:

    p.add_argument("name", help="a registered artifact (listed below by chapter)")
    p.epilog = _by_chapter("artifacts", registry.by_chapter(artifacts=True))
    p.add_argument("--scale", choices=config_lib.SCALES, default="cpu", help="default: cpu")
    p.add_argument("--force", action="store_true", help="discard the stored artifact, recompute")
    _store_argument(p)


@command(
    "artifact",
    "compute a non-grid result (width sweep, theory curves, Hessian) or find it in the store",
    _artifact_arguments,
)
def _artifact(args: argparse.Namespace) -> int:

    if args.name not in registry.artifact_names():
        raise UsageError(
            f"unknown artifact {args.name!r}: one of {', '.join(registry.artifact_names())}"
        )
    store = store_lib.Store(args.store)
    if args.force or not _artifact_cached(args.name, args.scale, store):
        store = _writable_store(args.store)
    try:
        _, art = store_lib.load_registered_artifact(
            args.name, args.scale, recompute=args.force, root=store
        )
    except store_lib.ReadOnlyStoreError as e:
        raise UsageError(str(e)) from None
    except store_lib.StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    wall = art.meta.get("wall_s")
    print(f"{args.name}/{args.scale}: wall {wall:.1f} s" if wall else args.name, file=sys.stderr)
    print(art.path)
    return 0


def _artifact_cached(name: str, scale: str, store: store_lib.Store) -> bool:
    """Whether the artifact is already stored (then a read-only store serves it)."""

    try:
        params = registry.artifact_spec(name)[0](scale).params()
    except (AttributeError, KeyError, TypeError, ValueError):
        return False
    return store.artifact_path(name, scale, params).is_file()


# --- list / verify --------------------------------------------------------------------------


@command("list", "one line per entry in the store, grouped by chapter", _store_argument)
def _list(args: argparse.Namespace) -> int:
    store = _readable_store(args.store)
    rows = []
    for e in store.entries():
        date = e.created.replace("T", " ")[:16] if e.created else "-"
        status = "CORRUPT" if e.status == "corrupt" else e.status
        rows.append(
            [
                registry.chapter_of(e.name, "-"),
                e.name,
                e.scale,
                "-" if e.members is None else str(e.members),
                "-" if e.steps is None else str(e.steps),
                e.device or "-",
                date,
                status,
            ]
        )
    partial_root = store.root / ".partial"
    if partial_root.is_dir():
        for d in sorted(partial_root.iterdir()):
            name, scale = store_lib._split_key(d.name)
            n = len(list(d.glob("group-*.json")))
            rows.append(
                [
                    registry.chapter_of(name),
                    name,
                    scale,
                    "-",
                    "-",
                    "-",
                    "-",
                    f"partial ({n} groups done)",
                ]
            )
    if not rows:
        print(f"no entries in {store.root}", file=sys.stderr)
        return 0
    # Grouped by the chapter that registered each entry (stable: the store's order within one).
    rows.sort(key=lambda r: (r[0] == "-", r[0]))
    header = ["chapter", "name", "scale", "members", "steps", "device", "date (UTC)", "status"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def registered_name_for(cfg: config_lib.Experiment, _cache: dict | None = None) -> str | None:
    """The name the registry gives ``cfg``'s content at its scale: ``cfg.name`` when that is
    one of them, else the only one; ``None`` when none (or several) do."""
    cache = {} if _cache is None else _cache
    if cfg.scale not in cache:
        by_content: dict[str, set[str]] = {}
        for name in registry.names():
            if cfg.scale not in registry.scales(name):
                continue
            try:
                c = registry.get(name, cfg.scale)
            except (ValueError, LookupError, store_lib.StoreError):
                continue  # built from another stored run that is not there
            by_content.setdefault(c.content_hash(), set()).add(name)
        cache[cfg.scale] = by_content
    names = cache[cfg.scale].get(cfg.content_hash(), set())
    if cfg.name in names:
        return cfg.name
    return next(iter(names)) if len(names) == 1 else None


@command(
    "rekey",
    "move entries to the current key scheme and to the names the registry gives their content "
    "(after renaming an experiment); arrays untouched",
    _store_argument,
)
def _rekey(args: argparse.Namespace) -> int:
    store = _writable_store(args.store)
    cache: dict = {}
    try:
        renamed = {
            old: a for a in registry.artifact_names() for old in registry.artifact_formerly(a)
        }
        moved = store.rekey(lambda cfg: registered_name_for(cfg, cache), renamed.get)
    except store_lib.StoreError as e:
        raise UsageError(str(e)) from None
    for old, new in moved:
        print(f"{old} -> {new}")
    print(f"{len(moved)} entries moved in {store.root}", file=sys.stderr)
    return 0


@command("verify", "check every entry: checksums, arrays, engine version", _store_argument)
def _verify(args: argparse.Namespace) -> int:
    store = _readable_store(args.store)
    try:
        problems = store.verify()
    except store_lib.StoreError as e:
        raise UsageError(str(e)) from None
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"ok: {len(store.entries())} entries in {store.root}", file=sys.stderr)
    return 0


# --- golden ---------------------------------------------------------------------------------


def _golden_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--write",
        action="store_true",
        help=f"retrain and rewrite {store_lib.GOLDEN_PATH.name} (after bumping ENGINE_VERSION)",
    )


@command("golden", "retrain the golden configs and compare (or --write)", _golden_arguments)
def _golden(args: argparse.Namespace) -> int:
    problems = store_lib.write_golden() if args.write else store_lib.check_golden()
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        verb = "written to" if args.write else "match"
        print(
            f"golden numbers {verb} {store_lib.GOLDEN_PATH} "
            f"(engine version {store_lib.ENGINE_VERSION})",
            file=sys.stderr,
        )
    return 1 if problems else 0


# --- check ----------------------------------------------------------------------------------


def _check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=["ci", "cpu", "paper"])
    p.add_argument("--chapter", default=None, help="only this chapter's claims (e.g. ch1)")
    _store_argument(p)


@command("check", "check every quantitative claim of the book against the store", _check_arguments)
def _check(args: argparse.Namespace) -> int:

    store = _readable_store(args.store)
    return claims.main(args.scale, store.root, args.chapter)


# --- entry point ----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Sweeps and the results store of l2lib.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, c in COMMANDS.items():
        c.arguments(
            sub.add_parser(
                name,
                help=c.help,
                description=c.help,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see the module docstring)."""
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command is None:
        print(
            f"{PROG}: error: choose a command: {', '.join(COMMANDS)} (see `{PROG} --help`)",
            file=sys.stderr,
        )
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except UsageError as e:
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return 2
