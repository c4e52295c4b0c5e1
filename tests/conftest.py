"""Test-suite settings shared by every test module.

JAX compiles each tiny training program once per process; a persistent compilation cache
(kept under .pytest_cache, shared with the subprocesses the CLI tests start) lets later tests
and later runs reuse those compilations. Numerics do not depend on it.
"""

from __future__ import annotations

import os
import pathlib

_CACHE = pathlib.Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_CACHE))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
