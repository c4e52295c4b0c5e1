"""The registry: named experiments, artifacts and claims, grouped by the chapter that owns them.

``get(name, scale)`` returns the :class:`~l2lib.config.Experiment` that ``python -m l2lib sweep
NAME --scale SCALE`` runs and that a chapter loads from the store; ``store.load_registered_artifact(name)``
does the same for results that are not a λ × η grid; ``claims()`` lists every quantitative claim
``python -m l2lib check`` judges. Code never builds a grid it means to share: it names an
experiment here, so the book, the command line and the tests agree.

The registry is part of the library and imports nothing of the book. Whoever owns experiments
registers them: the book's chapters (:mod:`l2lib.paper`) do it when imported, and they are
found through the ``l2lib.registry`` entry-point group of the installed package (``pyproject.toml``:
``paper = "l2lib.paper"``), loaded the first time the registry is asked a question. A
researcher's own package can publish experiments the same way, or simply call
:func:`register` before using the command line's Python API::

    from l2lib import config, registry

    @registry.register("my_sweep", "cpu", chapter="mine")
    def _my_sweep():
        return config.cpu(grid=config.GridConfig(l2=(1e-3, 1e-2), learning_rate=(0.1,)))

Scales (``shared/design.md``): ``ci`` (seconds, tests), ``cpu`` (the cached runs the book
renders from: minutes on 2 cores), ``paper`` (the authors' setups, a GPU with TFDS data).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from l2lib import config as C
from l2lib.config import Experiment

__all__ = [
    "ENTRY_POINT_GROUP",
    "ClaimSource",
    "artifact_formerly",
    "artifact_names",
    "artifact_spec",
    "by_chapter",
    "chapter_of",
    "claims",
    "claims_of",
    "get",
    "names",
    "register",
    "register_artifact",
    "register_claims",
    "registrar",
    "retire",
    "retire_prefixed",
    "retired",
    "retired_names",
    "scales",
]

#: The entry-point group through which packages publish experiments, artifacts and claims.
ENTRY_POINT_GROUP = "l2lib.registry"

_EXPERIMENTS: dict[str, dict[str, Callable[[], Experiment]]] = {}
_CHAPTER: dict[str, str] = {}  # experiment or artifact name -> its chapter (its group)
_ARTIFACTS: dict[str, tuple[Callable[[str], Any], Callable[[Any], dict[str, np.ndarray]]]] = {}
_RETIRED: dict[str, set[str]] = {}  # scale -> names
_FORMERLY: dict[str, tuple[str, ...]] = {}  # artifact name -> the names it had before
_CLAIMS: list[ClaimSource] = []
_loaded = False


class ClaimSource(NamedTuple):
    """One registered source of claims: ``claims(name, scale, root)`` yields the
    :class:`~l2lib.claims.Claim` s of experiment ``name`` (listed under ``chapter``)."""

    chapter: str
    name: str
    claims: Callable[[str, str, object], Iterator[Any]]


def _load_plugins() -> None:
    """Import every module published in :data:`ENTRY_POINT_GROUP` (once; importing registers)."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # before importing: a plugin may ask the registry while it registers
    for ep in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        ep.load()


# --- registering ----------------------------------------------------------------------------


def register(name: str, scale: str, chapter: str = "other"):
    """Decorator: register a zero-argument config factory as ``name`` at ``scale`` (listed
    under ``chapter`` by ``python -m l2lib sweep --help``)."""

    def deco(fn: Callable[[], Experiment]) -> Callable[[], Experiment]:
        _EXPERIMENTS.setdefault(name, {})[scale] = fn
        _CHAPTER[name] = chapter
        return fn

    return deco


def registrar(chapter: str) -> Callable[[str, str], Callable]:
    """:func:`register` with ``chapter`` filled in: a chapter module's ``register``."""

    def reg(name: str, scale: str):
        return register(name, scale, chapter)

    return reg


def register_claims(
    chapter: str, name: str, claims: Callable[[str, str, object], Iterator[Any]]
) -> None:
    """Add a source of claims: ``claims(name, scale, root)`` is called by ``check`` (in the
    order of registration) unless ``name`` is an experiment of other scales only, or retired."""
    _CLAIMS.append(ClaimSource(chapter, name, claims))


def register_artifact(
    name: str,
    make_config: Callable[[str], Any],
    compute: Callable[[Any], dict[str, np.ndarray]],
    chapter: str = "other",
    formerly: Iterable[str] = (),
) -> None:
    """Register a non-grid result: ``make_config(scale)`` (an object with ``params()``) and
    ``compute(cfg)`` → arrays; ``python -m l2lib artifact NAME`` runs it.

    An artifact's store key holds its name (its params alone do not say what was computed), so
    a renamed artifact lists its old names in ``formerly``: it is then read from the store
    under them until ``python -m l2lib rekey`` moves the files to the new name."""
    _ARTIFACTS[name] = (make_config, compute)
    _CHAPTER[name] = chapter
    _FORMERLY[name] = tuple(formerly)


def retire(names: Iterable[str], scale: str) -> None:
    """Mark ``names`` retired at ``scale``: still registered (other scales, tests), but no
    cached run is expected and ``check`` skips their claims there."""
    _RETIRED.setdefault(scale, set()).update(names)


def retire_prefixed(prefixes: tuple[str, ...], scale: str) -> None:
    """Retire at ``scale`` every experiment registered so far at that scale whose name starts
    with one of ``prefixes`` (a chapter retiring a family of its runs)."""
    retire([n for n, by in _EXPERIMENTS.items() if scale in by and n.startswith(prefixes)], scale)


# --- asking ---------------------------------------------------------------------------------


def names() -> list[str]:
    """Every registered experiment name."""
    _load_plugins()
    return sorted(_EXPERIMENTS)


def scales(name: str) -> list[str]:
    """The scales at which ``name`` exists."""
    _load_plugins()
    return sorted(_EXPERIMENTS.get(name, {}))


def chapter_of(name: str, default: str = "other") -> str:
    """The chapter (group) that registered experiment or artifact ``name``; ``default`` for a
    name nothing registered."""
    _load_plugins()
    return _CHAPTER.get(name, default)


def by_chapter(artifacts: bool = False) -> dict[str, list[str]]:
    """Experiment (or artifact) names grouped by chapter, chapters and names sorted."""
    _load_plugins()
    out: dict[str, list[str]] = {}
    for n in sorted(_ARTIFACTS if artifacts else _EXPERIMENTS):
        out.setdefault(_CHAPTER.get(n, "other"), []).append(n)
    return dict(sorted(out.items()))


def get(name: str, scale: str = "cpu") -> Experiment:
    """The experiment ``name`` at ``scale``; a ``ValueError`` names the valid choices."""
    _load_plugins()
    if name not in _EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(names())}")
    if scale not in _EXPERIMENTS[name]:
        raise ValueError(
            f"experiment {name!r} has no scale {scale!r}; choose one of: {', '.join(scales(name))}"
        )
    cfg = _EXPERIMENTS[name][scale]()
    return dataclasses.replace(cfg, name=name, scale=scale)


def retired(name: str, scale: str) -> bool:
    """Whether ``name`` at ``scale`` is retired (:func:`retire`)."""
    _load_plugins()
    return name in _RETIRED.get(scale, ())


def retired_names(scale: str) -> frozenset[str]:
    """Every name retired at ``scale``."""
    _load_plugins()
    return frozenset(_RETIRED.get(scale, ()))


def claims() -> list[ClaimSource]:
    """Every registered source of claims, in the order registered (the book's order)."""
    _load_plugins()
    return list(_CLAIMS)


def claims_of(name: str) -> Callable[[str, str, object], Iterator[Any]]:
    """The claims generator registered for experiment ``name`` (e.g. for a chapter that judges
    a variant of another chapter's experiment the same way); ``ValueError`` if none."""
    _load_plugins()
    for src in _CLAIMS:
        if src.name == name:
            return src.claims
    raise ValueError(f"no claims are registered for {name!r}")


def artifact_names() -> list[str]:
    """Every registered artifact name, in the order registered."""
    _load_plugins()
    return list(_ARTIFACTS)


def artifact_formerly(name: str) -> tuple[str, ...]:
    """The names artifact ``name`` had before (see :func:`register_artifact`)."""
    _load_plugins()
    return _FORMERLY.get(name, ())


def artifact_spec(name: str):
    """``(make_config, compute)`` of artifact ``name``; a ``ValueError`` names the choices."""
    _load_plugins()
    if name not in _ARTIFACTS:
        raise ValueError(f"unknown artifact {name!r}: one of {', '.join(_ARTIFACTS)}")
    return _ARTIFACTS[name]


# --- smoke: the smallest experiment, for the command line's own checks -----------------------


@register("smoke", "ci", chapter="library")
def _smoke_ci() -> Experiment:
    return C.ci(grid=C.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1, 0.05), seeds=(0,)))
