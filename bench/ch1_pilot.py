"""Chapter 1's pilot: which setups keep every grid member inside the paper's premise?

The paper's relations are stated for networks that fit their training set. Before chapter 1's
fixed-budget sweeps are chosen, this trains the *hardest* members of a candidate grid — the
largest λ at the smallest and largest η, one seed, a few thousand steps (past λη·t ≈ 4 for
every member) — with ``eval_train`` on, and prints, per member, the best full-training-set
accuracy, when it first reached 0.99, and where test accuracy peaked. Its output, committed in
``notes/ch1_pilot.md`` before the main runs, is what the setups in ``l2lib.registry`` were
chosen from.

    python bench/ch1_pilot.py mnist1d 256 mlp      # data, training examples, model
    python bench/ch1_pilot.py fashion_mnist 1000 mlp
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from l2lib import config as C
from l2lib import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", choices=("mnist1d", "fashion_mnist"))
    ap.add_argument("num_train", type=int)
    ap.add_argument("model", choices=("mlp", "cnn"))
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--l2", type=float, nargs="+", default=[1e-2, 3e-2, 1e-1])
    ap.add_argument("--lr", type=float, nargs="+", default=[0.1, 0.4])
    a = ap.parse_args()
    if a.model == "mlp":
        model = C.ModelConfig(kind="mlp", width=a.width or 256, depth=2)
    else:
        model = C.ModelConfig(kind="cnn", width=a.width or 16, depth=2, cnn_head="flatten")
    source = "idx" if a.data == "fashion_mnist" else None
    cfg = C.cpu(
        name="ch1_pilot",
        data=C.DataConfig(name=a.data, num_train=a.num_train, source=source),
        model=model,
        grid=C.GridConfig(l2=tuple(a.l2), learning_rate=tuple(a.lr), seeds=(0,)),
        duration=C.DurationConfig(num_steps=a.steps),
        eval_every=50,
        eval_train=True,
        group_size=len(a.l2) * len(a.lr),
    )
    t0 = time.perf_counter()
    r = train.train_grid(cfg)
    wall = time.perf_counter() - t0
    print(
        f"{a.data}, first {a.num_train} training examples, {a.model} width {model.width}: "
        f"{cfg.grid.size} members × {a.steps} steps, {wall:.0f} s"
    )
    steps = r["eval_step"]
    for i, (l2, lr, _) in enumerate(cfg.members()):
        fta, ta = r["full_train_accuracy"][i], r["test_accuracy"][i]
        if not np.isfinite(fta).any():
            print(f"  λ={l2:g} η={lr:g}: diverged")
            continue
        j = int(np.nanargmax(ta))
        hit = np.flatnonzero(fta >= 0.99)
        first = f"{steps[hit[0]]}" if hit.size else "never"
        print(
            f"  λ={l2:g} η={lr:g} (λη={l2 * lr:.1e}): full-train max {np.nanmax(fta):.3f}, "
            f"≥0.99 first at {first}, last {fta[-1]:.3f}; best test {ta[j]:.3f} at step "
            f"{steps[j]} (λη·t={l2 * lr * steps[j]:.2f}), last {ta[-1]:.3f}"
        )


if __name__ == "__main__":
    main()
