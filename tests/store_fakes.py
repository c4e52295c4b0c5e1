"""Helpers for the store tests: results of the right shape without training, directory snapshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from l2lib import store
from l2lib.config import Experiment


def fake_arrays(cfg: Experiment, value: float = 0.5) -> dict[str, np.ndarray]:
    """Arrays with the shapes ``train.train_grid(cfg)`` returns, every curve equal to ``value``."""
    members = cfg.members()
    m, e = len(members), cfg.num_evals
    out: dict[str, np.ndarray] = {k: np.full((m, e), value, np.float32) for k in store.CURVE_KEYS}
    out["test_loss"][0, -1] = np.nan  # NaN must survive the round trip
    out["eval_step"] = cfg.eval_every * np.arange(1, e + 1, dtype=np.int64)
    out["num_steps"] = np.array(cfg.steps_per_member(), np.int64)
    out["diverged_step"] = -np.ones(m, np.int64)
    out["member_l2"] = np.array([t[0] for t in members], np.float64)
    out["member_learning_rate"] = np.array([t[1] for t in members], np.float64)
    out["member_seed"] = np.array([t[2] for t in members], np.int64)
    out["member_index"] = np.arange(m, dtype=np.int64)
    return out


def snapshot(root: Path) -> dict[str, tuple[bytes, int]] | None:
    """Every file under ``root`` with its bytes and mtime (``None`` if ``root`` is absent)."""
    if not root.exists():
        return None
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def damage(path: Path, how: str) -> None:
    """Flip one bit in the middle of ``path`` (``flip``) or cut it in half (``truncate``)."""
    b = bytearray(path.read_bytes())
    if how == "flip":
        b[len(b) // 2] ^= 0x01
    else:
        b = b[: len(b) // 2]
    path.write_bytes(bytes(b))
