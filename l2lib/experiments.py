"""Named experiments: the sweeps behind each chapter, at each scale.

``get(name, scale)`` returns the :class:`~l2lib.config.Experiment` that ``python -m l2lib sweep
NAME --scale SCALE`` runs and that a chapter loads from the store. A chapter never builds its
own grid: it names an experiment here, so the book, the command line and the tests agree.

Scales (``shared/design.md``): ``ci`` (seconds, tests), ``cpu`` (the cached runs the book
renders from: minutes on 2 cores), ``paper`` (the authors' setups, a GPU with TFDS data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from l2lib import config as C
from l2lib.config import Experiment

_REGISTRY: dict[str, dict[str, Callable[[], Experiment]]] = {}


def register(name: str, scale: str):
    """Decorator: register a zero-argument config factory as ``name`` at ``scale``."""

    def deco(fn: Callable[[], Experiment]) -> Callable[[], Experiment]:
        _REGISTRY.setdefault(name, {})[scale] = fn
        return fn

    return deco


def names() -> list[str]:
    """Every registered experiment name."""
    return sorted(_REGISTRY)


def scales(name: str) -> list[str]:
    """The scales at which ``name`` exists."""
    return sorted(_REGISTRY.get(name, {}))


def get(name: str, scale: str = "cpu") -> Experiment:
    """The experiment ``name`` at ``scale``; a ``ValueError`` names the valid choices."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(names())}")
    if scale not in _REGISTRY[name]:
        raise ValueError(
            f"experiment {name!r} has no scale {scale!r}; choose one of: {', '.join(scales(name))}"
        )
    cfg = _REGISTRY[name][scale]()
    return dataclasses.replace(cfg, name=name, scale=scale)


# --- smoke: the smallest experiment, for the command line's own checks -----------------------


@register("smoke", "ci")
def _smoke_ci() -> Experiment:
    return C.ci(grid=C.GridConfig(l2=(1e-2, 1e-3), learning_rate=(0.1, 0.05), seeds=(0,)))
